"""``scripts/screens``: the README's screenshots, taken from the real thing on the local stack.

Each screen is a function that stages what it shows with real processes and a real browser
(the same harness as the browser tests) and writes one PNG into ``docs/images``. Run them all,
or name some: ``scripts/screens drop-page``. Needs the local stack's Redis and Kafka.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from gavel import money
from gavel_devstack import install
from gavel_devstack.harness.browser import chromium
from gavel_devstack.harness.page import running_page_stack
from gavel_devstack.harness.processes import stack_env


def drop_page(out: Path) -> None:
    """A drop a few bids in, seen by a signed-in bidder who was just outbid."""
    env = stack_env()
    region = env["GAVEL_REGIONS"].split(",")[0]
    with (
        tempfile.TemporaryDirectory(prefix="gavel-screens-") as logs,
        running_page_stack(env, region, Path(logs)) as ps,
        chromium(width=1100, height=1020) as browser,
    ):
        drop = ps.open_drop().drop_id
        for n, amount in enumerate([100_000, 120_000, 150_000, 180_000, 210_000]):
            ps.bid(drop, f"collector{n % 3}", amount)
        wait = WebDriverWait(browser, 30, poll_frequency=0.05)
        browser.get(ps.page(drop))
        wait.until(ec.text_to_be_present_in_element((By.ID, "connection"), "Live"))
        browser.find_element(By.ID, "bidder-name").send_keys("alice", Keys.ENTER)
        wait.until(ec.visibility_of_element_located((By.ID, "amount")))
        browser.find_element(By.ID, "amount").send_keys(Keys.ENTER)  # the minimum, prefilled
        wait.until(ec.text_to_be_present_in_element((By.ID, "bid-message"), "high bid"))
        ps.bid(drop, "collector1", 230_000)
        wait.until(ec.visibility_of_element_located((By.ID, "outbid")))
        shown = money.display(230_000, "EUR")
        wait.until(ec.text_to_be_present_in_element((By.ID, "price"), shown))
        browser.execute_script("document.activeElement.blur()")
        browser.save_screenshot(str(out / "drop-page.png"))


SCREENS: dict[str, Callable[[Path], None]] = {"drop-page": drop_page}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"of {', '.join(SCREENS)}; default: all")
    parser.add_argument("--out", type=Path, default=install.repo_root() / "docs" / "images")
    args = parser.parse_args()
    unknown = set(args.names) - set(SCREENS)
    if unknown:
        parser.error(f"no screen {', '.join(sorted(unknown))}; there are {', '.join(SCREENS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or SCREENS:
        SCREENS[name](args.out)
        print(f"wrote {args.out / name}.png")


if __name__ == "__main__":
    main()
