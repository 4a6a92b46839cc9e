"""The operator while a regional API server is down: the Region and its Drops degraded, then
caught up when it is back; a region gone for good abandoned so a Drop can be deleted.

Every check polls the real clusters (kubectl as the admin); nothing sleeps a fixed time.
"""

from __future__ import annotations

import time
from functools import partial

from gavel_devstack.harness.waiting import poll
from tests.support.clusters import DROPS_NS, REGIONS, Clusters, Operator
from tests.support.operator_checks import (
    condition,
    drop_manifest,
    drop_status,
    new_name,
    record,
    record_gone,
    region_ready,
)


def test_a_stopped_region_is_degraded_and_catches_up(world: tuple[Clusters, Operator]) -> None:
    clusters, operator = world
    clusters.stop_apiserver("ap")
    try:

        def ap_degraded() -> bool:
            ap = clusters.get("hub", "region", "ap") or {}
            status = ap.get("status", {})
            return status.get("reachable") is False and (
                condition(status, "Degraded").get("status") == "True"
            )

        poll(ap_degraded, timeout_s=30, what="Region ap marked unreachable")

        def warned() -> bool:
            events = clusters.get(
                "hub", "events", "-n", "default", "--field-selector", "involvedObject.name=ap"
            )
            return any(
                e["type"] == "Warning" and e["reason"] == "Unreachable"
                for e in (events or {"items": []})["items"]
            )

        poll(warned, timeout_s=20, what="a Warning event on Region ap")
        assert 'gavel_operator_region_reachable{region="ap"} 0.0' in operator.metrics()
        now = time.time()
        name = new_name("far")
        clusters.apply(
            "hub",
            [
                drop_manifest(
                    name, starts_at=now + 3600, ends_at=now + 7200, lead_s=60, cooldown_s=5
                )
            ],
        )
        # The four others converge; the Drop names the one that does not.
        for region in ("us", "eu", "in", "sa"):
            poll(
                partial(record, clusters, region, name),
                timeout_s=30,
                what=f"the drop's record in {region}",
            )

        def drop_degraded_by_ap() -> bool:
            status = drop_status(clusters, name)
            degraded = condition(status, "Degraded")
            return (
                degraded.get("status") == "True"
                and "ap:" in degraded.get("message", "")
                and status.get("regionsReady") == "4/5"
            )

        poll(drop_degraded_by_ap, timeout_s=30, what="the Drop degraded by ap")
    finally:
        clusters.restart_stopped()

    poll(
        lambda: region_ready(clusters, "ap"),
        timeout_s=90,
        what=f"Region ap Ready again; log:\n{operator.log_tail()}",
    )
    poll(
        partial(record, clusters, "ap", name),
        timeout_s=90,
        what="the drop's record in ap after it came back",
    )
    poll(
        lambda: drop_status(clusters, name).get("regionsReady") == "5/5",
        timeout_s=30,
        what="all five regions ready",
    )
    clusters.kubectl("hub", "delete", "drop", name, "-n", DROPS_NS, "--timeout=60s")
    for region in REGIONS:
        assert record_gone(clusters, region, name)


def test_a_region_gone_for_good_can_be_abandoned(world: tuple[Clusters, Operator]) -> None:
    clusters, _ = world
    now = time.time()
    name = new_name("gone")
    clusters.apply(
        "hub",
        [drop_manifest(name, starts_at=now + 3600, ends_at=now + 7200, lead_s=60, cooldown_s=5)],
    )
    poll(
        lambda: drop_status(clusters, name).get("regionsReady") == "5/5",
        timeout_s=30,
        what="the drop in all five regions",
    )
    clusters.stop_apiserver("sa")
    try:
        clusters.kubectl("hub", "delete", "drop", name, "-n", DROPS_NS, "--wait=false")
        for region in ("us", "eu", "in", "ap"):
            poll(
                partial(record_gone, clusters, region, name),
                timeout_s=30,
                what=f"clean-up in {region}",
            )

        # sa cannot be cleaned: the Drop waits for it, and says so...
        def waiting_for_sa() -> bool:
            cleaned = condition(drop_status(clusters, name), "CleanedUp")
            return cleaned.get("status") == "False" and cleaned["message"].startswith("sa ")

        poll(waiting_for_sa, timeout_s=30, what="the Drop to say it waits for sa")
        # ...until someone declares it gone for good.
        clusters.kubectl(
            "hub", "annotate", "drop", name, "-n", DROPS_NS, "gavel.dev/abandon-regions=sa"
        )
        poll(
            lambda: clusters.get("hub", "drop", name, "-n", DROPS_NS) is None,
            timeout_s=60,
            what="the Drop to be deleted without sa",
        )
    finally:  # the world as the other tests expect it
        clusters.restart_stopped()
        poll(lambda: region_ready(clusters, "sa"), timeout_s=90, what="Region sa back")
