from __future__ import annotations

import dataclasses
import re

import pytest

from gavel.auction import IncrementStep, Rules
from gavel.drop_rules import Listing
from gavel.events import PriceEvent
from gavel.fanout import page
from gavel_devstack.harness.fanout import price_event

OPENS, ENDS = 1_000_000, 2_000_000
RULES = Rules(
    drop_id="daytona-1963",
    home_region="us",
    currency="EUR",
    start_price=100_000,
    reserve=250_000,
    increments=(IncrementStep(0, 1_000),),
    opens_at_ms=OPENS,
    ends_at_ms=ENDS,
)
LISTING = Listing("Rolex Daytona 6239", "DAYTONA-6239")


def priced(seq: int, *, high: int, ends: int = ENDS, reserve_met: bool = False) -> PriceEvent:
    e = price_event("daytona-1963", seq, decided_ms=OPENS + seq)
    d = dataclasses.replace(
        e.decision, high_bid=high, min_next=high + 1_000, ends_at_ms=ends, reserve_met=reserve_met
    )
    return dataclasses.replace(e, decision=d)


def view(
    latest: PriceEvent | None = None,
    recent: list[PriceEvent] | None = None,
    *,
    now: int = OPENS + 10_000,
    rules: Rules = RULES,
    gateway: str | None = "http://gw:8080",
) -> page.DropPage:
    return page.drop_page(
        rules,
        LISTING,
        latest,
        recent or [],
        now_ms=now,
        gateway=gateway,
        demo_login=None,
    )


def data(html: str, name: str) -> str:
    found = re.search(rf'data-{name}="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found is not None, element_id
    return found.group(1)


def test_a_drop_without_bids_shows_its_start_price_as_the_minimum() -> None:
    v = view()
    assert (v.seq, v.high_bid, v.leader_alias, v.min_next, v.status) == (
        0,
        None,
        None,
        100_000,
        "live",
    )
    html = page.render(v)
    assert text_of(html, "price") == "No bids yet"
    assert text_of(html, "min-next") == "EUR 1,000.00"
    assert 'value="1000.00"' in html
    assert text_of(html, "reserve") == "Not met"
    assert data(html, "seq") == "0"


def test_the_latest_price_its_leader_bids_and_reserve_are_rendered() -> None:
    latest = priced(3, high=260_000, reserve_met=True)
    v = view(latest, [priced(1, high=100_000), priced(2, high=101_000), latest])
    html = page.render(v)
    assert text_of(html, "price") == "EUR 2,600.00"
    assert text_of(html, "leader") == latest.leader_alias
    assert text_of(html, "bids") == "3"
    assert text_of(html, "reserve") == "Met"
    assert text_of(html, "min-next") == "EUR 2,610.00"
    assert (data(html, "seq"), data(html, "high-bid"), data(html, "min-next")) == (
        "3",
        "260000",
        "261000",
    )
    assert re.findall(r'<li data-seq="(\d+)"', html) == ["3", "2", "1"]  # newest first


def test_the_countdown_follows_a_soft_close_extension_from_the_feed() -> None:
    extended = ENDS + 60_000
    v = view(priced(1, high=100_000, ends=extended), now=ENDS - 1_000)
    assert v.ends_at_ms == extended
    assert v.status == "live"  # the scheduled end passed, the extended one did not
    html = page.render(v)
    assert data(html, "ends-at") == str(extended)
    assert text_of(html, "countdown") == "00:01:01"


@pytest.mark.parametrize(
    ("now", "cancelled", "status", "label"),
    [
        (OPENS - 90_061_000, False, "scheduled", "Opens in"),
        (OPENS + 1, False, "live", "Ends in"),
        (ENDS, False, "closed", "Closed"),
        (OPENS + 1, True, "cancelled", "Cancelled"),
    ],
)
def test_status_and_countdown_label(now: int, cancelled: bool, status: str, label: str) -> None:
    v = view(now=now, rules=dataclasses.replace(RULES, cancelled=cancelled))
    html = page.render(v)
    assert v.status == status
    assert text_of(html, "countdown-label") == label
    if status == "scheduled":
        assert text_of(html, "countdown") == "1d 01:01:01"


def test_countdown_text() -> None:
    assert page.countdown(-5) == "00:00:00"
    assert page.countdown(59_999) == "00:00:59"
    assert page.countdown(3_600_000) == "01:00:00"
    assert page.countdown(2 * 86_400_000 + 3_723_000) == "2d 01:02:03"


def test_everything_from_outside_is_escaped() -> None:
    nasty = Listing('<script>alert("x")</script>', "a&b")
    v = dataclasses.replace(
        view(), title=nasty.title or "", sku=nasty.sku, gateway='http://gw/"><script>'
    )
    html = page.render(v)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "a&amp;b" in html
    assert '"><script>' not in html


def test_the_page_has_no_inline_script_style_or_handler() -> None:
    html = page.render(view(priced(1, high=100_000)))
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/drop.js" defer>']
    assert "<style" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_bidding_is_offered_only_with_a_gateway() -> None:
    with_gateway = page.render(view())
    without = page.render(view(gateway=None))
    assert re.search(r'<div id="bidding"\s*>', with_gateway)
    assert re.search(r'<div id="bidding" hidden>', without)
    assert re.search(r'<p id="no-bidding" hidden>', with_gateway)
    assert data(with_gateway, "gateway") == "http://gw:8080"
    assert data(with_gateway, "demo-login") == ""


def test_bids_go_to_the_home_regions_gateway_else_to_this_regions() -> None:
    urls = {"us": "http://us", "eu": "http://eu"}
    assert page.gateway_for("us", "eu", urls) == "http://us"
    assert page.gateway_for("ap", "eu", urls) == "http://eu"
    assert page.gateway_for("ap", "sa", urls) is None


def test_an_unknown_drop_gets_a_page_that_says_so_escaped() -> None:
    html = page.not_found("<b>nope</b>")
    assert "No such drop" in html
    assert "&lt;b&gt;nope&lt;/b&gt;" in html
    assert "<script" not in html
