"""The live drop page's view model and HTML. Pure.

Called by :mod:`gavel.fanout.web` for ``GET /drops/{drop}``: :func:`drop_page` turns a drop's
rules and listing (from Redis, :mod:`gavel.fanout.catalog`) and its feed's latest state into a
:class:`DropPage`, and :func:`render` into HTML. The page is complete without its script: the
price, leader, bids, countdown and reserve as they are now. ``/static/drop.js`` then follows the
drop over the observer socket from the ``seq`` rendered here (``?since=SEQ``), so nothing between
the render and the socket is missed. Values reach the script through ``data-`` attributes: the
page has no inline script, which its Content-Security-Policy forbids.
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template

from gavel import auction, money
from gavel.drop_rules import Listing
from gavel.events import PriceEvent

_ASSETS = resources.files("gavel.fanout") / "assets"
_DROP = Template((_ASSETS / "drop.html").read_text(encoding="utf-8"))
_MESSAGE = Template((_ASSETS / "message.html").read_text(encoding="utf-8"))

STATUS_TEXT = {
    "scheduled": "Opens in",
    "live": "Ends in",
    "closed": "Closed",
    "cancelled": "Cancelled",
}


@dataclass(frozen=True, slots=True)
class Bid:
    seq: int
    amount: int
    alias: str
    decided_ms: int


@dataclass(frozen=True, slots=True)
class DropPage:
    """Everything the page shows, as numbers; :func:`render` formats them."""

    drop: str
    title: str
    sku: str | None
    currency: str
    status: str
    seq: int
    high_bid: int | None
    leader_alias: str | None
    min_next: int
    opens_at_ms: int
    ends_at_ms: int
    reserve_met: bool
    recent: tuple[Bid, ...]
    now_ms: int
    gateway: str | None
    """Where bids go (http(s) base URL); None: no bidding on this page."""
    demo_login: str | None

    @property
    def countdown_target_ms(self) -> int:
        return self.opens_at_ms if self.status == "scheduled" else self.ends_at_ms


def gateway_for(home: str, region: str, gateway_urls: Mapping[str, str]) -> str | None:
    """The gateway a page sends bids to: the drop's home region's (its Redis decides them),
    else this region's (it forwards them there); None if neither is known."""
    return gateway_urls.get(home) or gateway_urls.get(region)


def drop_page(
    rules: auction.Rules,
    listing: Listing,
    latest: PriceEvent | None,
    recent: Sequence[PriceEvent],
    *,
    now_ms: int,
    gateway: str | None,
    demo_login: str | None,
) -> DropPage:
    d = latest.decision if latest else None
    # The live end moves with soft close; price events carry it, the rules only the schedule.
    ends = max(rules.ends_at_ms, d.ends_at_ms or 0) if d else rules.ends_at_ms
    return DropPage(
        drop=rules.drop_id,
        title=listing.title_or(rules.drop_id),
        sku=listing.sku,
        currency=rules.currency,
        status=auction.status_at(rules, ends, now_ms),
        seq=d.seq if d else 0,
        high_bid=d.high_bid if d else None,
        leader_alias=latest.leader_alias if latest else None,
        min_next=(d.min_next if d and d.min_next is not None else rules.start_price),
        opens_at_ms=rules.opens_at_ms,
        ends_at_ms=ends,
        reserve_met=bool(d and d.reserve_met),
        recent=tuple(
            Bid(e.decision.seq, e.decision.high_bid or 0, e.leader_alias, e.decision.decided_ms)
            for e in reversed(recent)
        ),
        now_ms=now_ms,
        gateway=gateway,
        demo_login=demo_login,
    )


def countdown(remaining_ms: int) -> str:
    """``2d 03:04:05`` / ``03:04:05`` / ``00:00:00``: the same as drop.js shows."""
    seconds = max(0, remaining_ms) // 1000
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{days}d {clock}" if days else clock


def _utc(ms: int) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(ms / 1000))


def _bid_item(bid: Bid, currency: str) -> str:
    e = html.escape
    return (
        f'<li data-seq="{bid.seq}" data-ms="{bid.decided_ms}">'
        f'<span class="amount">{e(money.display(bid.amount, currency))}</span> '
        f'<span class="alias">{e(bid.alias)}</span> '
        f'<time class="at">{_utc(bid.decided_ms)}</time></li>'
    )


def render(page: DropPage) -> str:
    """The page's HTML; every value from outside is escaped."""
    e = html.escape
    countdown_text = (
        countdown(page.countdown_target_ms - page.now_ms)
        if page.status in ("scheduled", "live")
        else ""
    )
    values = {
        "drop": e(page.drop),
        "title": e(page.title),
        "sku": e(f"{page.sku} · {page.drop}" if page.sku else page.drop),
        "currency": e(page.currency),
        "digits": str(money.minor_digits(page.currency)),
        "seq": str(page.seq),
        "status": e(page.status),
        "high_bid": "" if page.high_bid is None else str(page.high_bid),
        "min_next": str(page.min_next),
        "opens_at": str(page.opens_at_ms),
        "ends_at": str(page.ends_at_ms),
        "now": str(page.now_ms),
        "reserve_met": "true" if page.reserve_met else "false",
        "gateway": e(page.gateway or ""),
        "demo_login": e(page.demo_login or ""),
        "price": e(
            "No bids yet" if page.high_bid is None else money.display(page.high_bid, page.currency)
        ),
        "start_price_text": e(money.display(page.min_next, page.currency)),
        "min_next_plain": e(money.plain(page.min_next, page.currency)),
        "leader": e(page.leader_alias or "—"),
        "bids": str(page.seq),
        "countdown_label": STATUS_TEXT[page.status],
        "countdown": countdown_text,
        "reserve": "Met" if page.reserve_met else "Not met",
        "reserve_class": "met" if page.reserve_met else "unmet",
        "recent": "".join(_bid_item(b, page.currency) for b in page.recent),
        "bidding_hidden": "" if page.gateway else "hidden",
        "no_bidding_hidden": "hidden" if page.gateway else "",
        "demo_hidden": "" if page.demo_login else "hidden",
    }
    return _DROP.substitute(values)


def render_message(heading: str, text: str) -> str:
    """A page that only says something: an unknown drop, details unavailable."""
    return _MESSAGE.substitute(heading=html.escape(heading), text=html.escape(text))


def not_found(drop: str) -> str:
    return render_message(
        "No such drop",
        f"There is no drop called “{drop}” here. Check the address: the name is the last part "
        "of the link you were given, in lower case.",
    )
