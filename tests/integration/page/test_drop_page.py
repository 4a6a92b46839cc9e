"""The live drop page in a real browser (Debian's Chromium) against real processes: a gateway,
a relay and a fan-out on the local stack's Redis and Kafka."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets
import websockets.sync.client
import yaml
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from gavel import money
from gavel_devstack.harness.browser import chromium
from gavel_devstack.harness.page import PageStack, running_page_stack
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import poll

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / ".artifacts"
"""Screenshots the tests keep (gitignored); CI leaves them in its clone."""

# Records every price the page shows, from before a fan-out restart until after it: WebDriver's
# scripts run outside the page's CSP, the page itself has no inline script.
RECORD_PRICES = """
window.__prices = [];
new MutationObserver(() => window.__prices.push(document.getElementById('price').textContent))
  .observe(document.getElementById('price'), {childList: true, characterData: true, subtree: true});
"""


@pytest.fixture(scope="module")
def page_stack(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageStack]:
    with running_page_stack(
        stack.env, stack.regions[0], tmp_path_factory.mktemp("page-logs")
    ) as ps:
        yield ps


@pytest.fixture(scope="module")
def browser() -> Iterator[Chrome]:
    with chromium() as driver:
        yield driver


def wait(driver: Chrome, seconds: float = 10) -> WebDriverWait[Chrome]:
    return WebDriverWait(driver, seconds, poll_frequency=0.02)


def text(driver: Chrome, element_id: str) -> str:
    """The element's text, shown or not (the bid form is hidden until one signs in)."""
    return str(driver.find_element(By.ID, element_id).get_attribute("textContent")).strip()


def shows(driver: Chrome, element_id: str, expected: str, seconds: float = 10) -> None:
    wait(driver, seconds).until(ec.text_to_be_present_in_element((By.ID, element_id), expected))


def open_page(driver: Chrome, url: str) -> None:
    driver.get(url)
    driver.get_log("browser")  # start each page with an empty console
    shows(driver, "connection", "Live")


def eur(amount: int) -> str:
    return money.display(amount, "EUR")


def recent_seqs(driver: Chrome) -> list[int]:
    items = driver.find_elements(By.CSS_SELECTOR, "#recent li")
    return [int(li.get_attribute("data-seq")) for li in items]


def console_errors(driver: Chrome) -> list[str]:
    """Script errors and CSP refusals; not the network log of a refused bid's 409."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]
    ]


def test_the_price_follows_bids_through_the_gateway_within_a_second(
    page_stack: PageStack, browser: Chrome
) -> None:
    drop = page_stack.open_drop().drop_id
    open_page(browser, page_stack.page(drop))
    assert text(browser, "price") == "No bids yet"
    assert text(browser, "min-next") == eur(100_000)
    for n, amount in enumerate([100_000, 101_000, 105_000], start=1):
        assert page_stack.bid(drop, f"bidder{n}", amount).status_code == 201
        answered = time.monotonic()
        shows(browser, "price", eur(amount), seconds=1.0)
        assert time.monotonic() - answered < 1.0
        assert text(browser, "bids") == str(n)
    assert text(browser, "leader").startswith("bidder-")
    assert text(browser, "min-next") == eur(106_000)
    assert text(browser, "reserve") == "Not met"
    assert recent_seqs(browser) == [3, 2, 1]
    page_stack.bid(drop, "bidder9", 250_000)
    shows(browser, "reserve", "Met", seconds=1.0)
    assert console_errors(browser) == []  # nothing refused by the CSP, no script error


def test_a_fanout_restart_resumes_from_the_last_seq_without_a_gap(
    page_stack: PageStack, browser: Chrome
) -> None:
    drop = page_stack.open_drop().drop_id
    amounts = [100_000 + 1_000 * n for n in range(6)]
    for amount in amounts[:2]:
        assert page_stack.bid(drop, "early", amount).status_code == 201
    open_page(browser, page_stack.page(drop))
    shows(browser, "price", eur(amounts[1]))
    browser.execute_script(RECORD_PRICES)

    page_stack.stop_fanout()
    shows(browser, "connection", "Reconnecting")
    for n, amount in enumerate(amounts[2:]):
        assert page_stack.bid(drop, f"while-down-{n}", amount).status_code == 201
    page_stack.start_fanout()

    shows(browser, "price", eur(amounts[-1]), seconds=30)
    shows(browser, "connection", "Live")
    assert recent_seqs(browser) == [6, 5, 4, 3, 2, 1]  # every bid, none twice, none missing
    assert text(browser, "bids") == "6"
    seen = [
        int(p.split(" ", 1)[1].replace(",", "").replace(".", ""))
        for p in browser.execute_script("return window.__prices")
    ]
    assert seen == sorted(seen), f"the price went backwards: {seen}"
    assert seen[-1] == amounts[-1]


def test_a_bidder_signs_in_bids_sees_a_refusal_in_words_and_is_told_when_outbid(
    page_stack: PageStack, browser: Chrome
) -> None:
    drop = page_stack.open_drop().drop_id
    for n, price in enumerate([100_000, 120_000, 150_000, 180_000]):
        page_stack.bid(drop, f"collector{n}", price)
    open_page(browser, page_stack.page(drop))
    shows(browser, "price", eur(180_000))

    name = browser.find_element(By.ID, "bidder-name")
    name.send_keys("alice", Keys.ENTER)  # keyboard only
    shows(browser, "signed-in", "Signed in as alice")
    amount = browser.find_element(By.ID, "amount")
    assert amount.get_attribute("value") == "1810.00"  # prefilled with the minimum next bid
    assert browser.switch_to.active_element == amount

    amount.clear()
    amount.send_keys("1805", Keys.ENTER)
    shows(browser, "bid-message", "The bid is below the minimum next bid")
    assert "EUR 1,810.00" in text(browser, "bid-message")

    amount.clear()
    amount.send_keys("1900.50", Keys.ENTER)
    shows(browser, "bid-message", "Your bid of EUR 1,900.50 is the high bid")
    shows(browser, "price", eur(190_050), seconds=1.0)

    assert page_stack.bid(drop, "bob", 200_000).status_code == 201
    wait(browser).until(ec.visibility_of_element_located((By.ID, "outbid")))
    assert "You were outbid" in text(browser, "outbid")
    assert "EUR 2,000.00" in text(browser, "outbid")
    shows(browser, "price", eur(200_000))
    assert amount.get_attribute("value") == "2010.00"  # the form follows the new minimum
    assert text(browser, "bid-message") == ""  # "you are the high bid" is gone
    assert console_errors(browser) == []
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "drop-page.png"))

    browser.find_element(By.ID, "signout").click()
    wait(browser).until(ec.visibility_of_element_located((By.ID, "bidder-name")))


def test_a_closed_drop_refuses_bids_with_its_message(
    page_stack: PageStack, browser: Chrome
) -> None:
    rules = page_stack.open_drop(minutes=0)  # ended as it opened... a minute ago
    open_page(browser, page_stack.page(rules.drop_id))
    shows(browser, "countdown-label", "Closed")
    browser.find_element(By.ID, "bidder-name").send_keys("carol", Keys.ENTER)
    shows(browser, "signed-in", "Signed in as carol")
    browser.find_element(By.ID, "amount").send_keys(Keys.ENTER)
    shows(browser, "bid-message", "The drop has closed")


def test_an_unknown_drop_gets_a_not_found_page(page_stack: PageStack, browser: Chrome) -> None:
    for name in ("no-such-drop", "Not_A_Name", "x" * 300):
        response = httpx.get(page_stack.page(name), timeout=5)
        assert response.status_code == 404, name
        assert response.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "No such drop" in response.text
        assert "Traceback" not in response.text
    metrics = httpx.get(f"{page_stack.fanout}/metrics", timeout=5).text
    assert 'gavel_fanout_pages_total{status="404"} ' in metrics
    browser.get(page_stack.page("no-such-drop"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "No such drop"
    assert "no-such-drop" in browser.find_element(By.TAG_NAME, "main").text


def test_assets_are_served_from_the_wheel_with_the_policy(page_stack: PageStack) -> None:
    for path, kind in [
        ("/static/drop.js", "text/javascript"),
        ("/static/drop.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
    ]:
        response = httpx.get(page_stack.fanout + path, timeout=5)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(kind)
        assert response.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(page_stack.fanout + "/static/../settings.py", timeout=5).status_code == 404
    assert httpx.get(page_stack.fanout + "/static/drop.html", timeout=5).status_code == 404


def test_the_gateway_lets_only_the_pages_origin_bid_from_a_browser(page_stack: PageStack) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    url = f"{page_stack.gateway}/v1/drops/any/bids"
    ours = httpx.options(url, headers={"Origin": page_stack.fanout, **preflight}, timeout=5)
    assert ours.status_code == 200
    assert ours.headers["access-control-allow-origin"] == page_stack.fanout
    assert "access-control-allow-credentials" not in ours.headers
    theirs = httpx.options(url, headers={"Origin": "https://evil.example", **preflight}, timeout=5)
    assert "access-control-allow-origin" not in theirs.headers
    with (
        pytest.raises(websockets.InvalidStatus),
        websockets.sync.client.connect(
            f"{page_stack.gateway.replace('http', 'ws')}/v1/drops/any/bidder",
            origin=websockets.typing.Origin("https://evil.example"),
            open_timeout=5,
        ),
    ):
        pass


def test_gavel_drops_open_gives_the_page_its_title_and_a_changed_title_shows(
    page_stack: PageStack, tmp_path: Path
) -> None:
    name = f"page-cli-{uuid.uuid4().hex[:6]}"

    def open_with(title: str) -> None:
        manifest = tmp_path / f"{name}.yaml"
        manifest.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "gavel.dev/v1alpha1",
                    "kind": "Drop",
                    "metadata": {"name": name},
                    "spec": {
                        "product": {"sku": "PP-5711", "title": title},
                        "homeRegion": page_stack.region,
                        "startsAt": "2026-01-01T00:00:00Z",
                        "endsAt": "2031-01-01T00:00:00Z",
                        "auction": {
                            "currency": "JPY",
                            "startPrice": 5_000_000,
                            "increments": [{"from": 0, "step": 10_000}],
                        },
                    },
                }
            )
        )
        subprocess.run(
            [sys.executable, "-m", "gavel", "drops", "open", str(manifest)],
            env={**os.environ, **page_stack.env},
            check=True,
            capture_output=True,
        )

    open_with("Patek Philippe <5711>")
    html = httpx.get(page_stack.page(name), timeout=5).text
    assert '<h1 id="title">Patek Philippe &lt;5711&gt;</h1>' in html
    assert "PP-5711" in html
    assert "JPY 5,000,000" in html  # no minor digits in yen
    open_with("Patek Philippe Nautilus 5711")  # after opening: the rules are frozen, not the title

    def retitled() -> bool:
        return "Nautilus 5711" in httpx.get(page_stack.page(name), timeout=5).text

    # The fan-out caches a drop's details for 5 s.
    poll(retitled, timeout_s=10, what="the new title on the page", every_s=0.2)
