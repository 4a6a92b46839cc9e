"""The operator and a Drop's life: refused when invalid; else pre-scaled, live, closed, back to
baseline, and deleted only once the relay has taken its outcomes to Kafka.

Every check polls the real clusters (kubectl as the admin) and Redis; nothing sleeps a fixed
time. A check that something did not happen watches for :attr:`Operator.settle_s` (three
reconcile ticks) after the operator has visibly reacted.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import yaml

from gavel import bidding, keys, redis_client
from gavel.auction import Outcome
from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness.relay import UNLIMITED, relay_settings, running_relay
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import holds, poll
from tests.support.clusters import DROPS_NS, REGIONS, Clusters, Operator
from tests.support.operator_checks import (
    BASELINE,
    drop_manifest,
    drop_status,
    hpa_minimums,
    new_name,
    record,
    record_gone,
    replicas,
    scale_to_baseline,
)


def test_invalid_drops_are_refused_with_the_cel_message(world: tuple[Clusters, Operator]) -> None:
    clusters, _ = world
    now = time.time()
    backwards = drop_manifest(
        new_name("bad"), starts_at=now + 60, ends_at=now + 30, lead_s=10, cooldown_s=5
    )
    proc = clusters.kubectl("hub", "apply", "-f", "-", stdin=_yaml(backwards), check=False)
    assert proc.returncode != 0
    assert "endsAt must be after startsAt" in proc.stderr
    elsewhere = drop_manifest(
        new_name("bad"),
        starts_at=now + 60,
        ends_at=now + 90,
        lead_s=10,
        cooldown_s=5,
        regions=["eu", "in"],
    )
    proc = clusters.kubectl("hub", "apply", "-f", "-", stdin=_yaml(elsewhere), check=False)
    assert proc.returncode != 0
    assert "homeRegion must be one of regions" in proc.stderr


def _yaml(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj)


# us has half the weight, eu a fifth, the rest a tenth each: 200k observers and 20k bids/s with
# 20% headroom over the example Regions' 20k observers and 3k bids/s per pod, never below the
# baseline of 2 (at one price a second, 40k deliveries/s per fan-out pod are never the tighter
# bound).
FANOUTS = {"us": 6, "eu": 3, "in": 2, "ap": 2, "sa": 2}
GATEWAYS = {"us": 4, "eu": 2, "in": 2, "ap": 2, "sa": 2}


async def test_a_drop_prescales_goes_live_closes_returns_to_baseline_and_is_deleted_once_relayed(
    world: tuple[Clusters, Operator], stack: Stack
) -> None:
    clusters, operator = world
    name = new_name("drop")
    lead_s, cooldown_s = 6, 4
    starts_at = float(int(time.time()) + lead_s + 8)
    ends_at = starts_at + 10
    clusters.apply(
        "hub",
        [
            drop_manifest(
                name, starts_at=starts_at, ends_at=ends_at, lead_s=lead_s, cooldown_s=cooldown_s
            )
        ],
    )

    def phase() -> str:
        return str(drop_status(clusters, name).get("phase", ""))

    def scheduled_everywhere() -> bool:
        status = drop_status(clusters, name)
        return status.get("phase") == "Scheduled" and status.get("regionsReady") == "5/5"

    await asyncio.to_thread(poll, scheduled_everywhere, timeout_s=30, what="Scheduled, 5/5")
    for region in REGIONS:  # the drop's record and rules in every region
        assert record(clusters, region, name) is not None
        regional = redis_client.connect(clusters.redis_url(region))
        assert await regional.hget(keys.for_drop(name).rules, "home_region") == b"us"
        await regional.aclose()

    def raised() -> bool:
        return all(
            hpa_minimums(clusters, r) == {"gavel-gateway": GATEWAYS[r], "gavel-fanout": FANOUTS[r]}
            and replicas(clusters, r, "gavel-gateway") >= GATEWAYS[r]
            and replicas(clusters, r, "gavel-fanout") >= FANOUTS[r]
            for r in REGIONS
        )

    await asyncio.to_thread(poll, lambda: phase() == "PreScaling", timeout_s=30, what="PreScaling")
    await asyncio.to_thread(poll, raised, timeout_s=30, what="replicas raised as computed")

    def running_in_us() -> bool:
        pods = clusters.get(
            "us",
            "pods",
            "-n",
            "gavel",
            "-l",
            "app.kubernetes.io/name=gateway",
            "--field-selector",
            "status.phase=Running",
        )
        return len((pods or {"items": []})["items"]) == GATEWAYS["us"]

    await asyncio.to_thread(poll, running_in_us, timeout_s=30, what="four gateway pods running")
    assert time.time() < starts_at, "capacity must be there before the drop opens"
    status = drop_status(clusters, name)
    assert {r: s["gatewayReplicas"] for r, s in status["regions"].items()} == GATEWAYS

    await asyncio.to_thread(poll, lambda: phase() == "Live", timeout_s=30, what="Live")
    home = redis_client.connect(clusters.redis_url("us"))
    result = await bidding.place_bid(
        home,
        bidding.bid_call(
            name,
            "bidder-1",
            "b-1",
            5_000,
            event_id=uuid.uuid4().hex,
            received_ms=int(time.time() * 1000),
            region="us",
            limit=UNLIMITED,
        ),
    )
    await home.aclose()
    assert result.decision.outcome is Outcome.ACCEPTED, result
    await asyncio.to_thread(
        poll,
        lambda: drop_status(clusters, name).get("highBid") == 5_000,
        timeout_s=20,
        what="the high bid in the Drop's status",
    )

    await asyncio.to_thread(poll, lambda: phase() == "Closed", timeout_s=40, what="Closed")
    closed = await asyncio.to_thread(
        poll,
        lambda: (s := drop_status(clusters, name)).get("winnerAlias") and s,
        timeout_s=10,
        what="the winner",
    )
    assert closed["bids"] == 1
    assert closed["reserveMet"] is True

    def history() -> list[str]:
        events = clusters.get(
            "hub", "events", "-n", DROPS_NS, "--field-selector", f"involvedObject.name={name}"
        )
        return [e["reason"] for e in (events or {"items": []})["items"]]

    await asyncio.to_thread(
        poll,
        lambda: {"PreScaling", "Live", "Closed"} <= set(history()),
        timeout_s=20,
        what="the drop's phases as events (kubectl describe drop)",
    )

    def baseline() -> bool:
        return all(
            hpa_minimums(clusters, r) == {"gavel-gateway": BASELINE, "gavel-fanout": BASELINE}
            for r in REGIONS
        )

    await asyncio.to_thread(poll, baseline, timeout_s=40, what="HPA minimums back to baseline")
    assert time.time() >= ends_at + cooldown_s

    await _delete_once_relayed(clusters, operator, stack, name)
    scale_to_baseline(clusters, REGIONS)  # the world as the other tests expect it


async def _delete_once_relayed(
    clusters: Clusters, operator: Operator, stack: Stack, name: str
) -> None:
    """Deleting waits until the relay has taken the drop's outcomes to Kafka, then cleans every
    region. The relay here is the real one, draining into the session stack's Kafka."""
    clusters.kubectl("hub", "delete", "drop", name, "-n", DROPS_NS, "--wait=false")
    await asyncio.to_thread(
        poll,
        lambda: "not yet relayed" in operator.log.read_text(),
        timeout_s=30,
        what="the finalizer to wait for the relay",
    )
    # The finalizer has refused once (above); its retries must keep refusing.
    await asyncio.to_thread(
        holds,
        lambda: clusters.get("hub", "drop", name, "-n", DROPS_NS) is not None,
        for_s=operator.settle_s,
        what="the Drop waits for the relay",
    )
    drop_keys = keys.for_drop(name)
    settings = relay_settings(clusters.redis_url("us"), stack.kafka("us"))
    async with running_relay(settings):
        await asyncio.to_thread(
            poll,
            lambda: clusters.get("hub", "drop", name, "-n", DROPS_NS) is None,
            timeout_s=60,
            what="the Drop to be deleted",
        )
        for region in REGIONS:
            assert record_gone(clusters, region, name)
            regional = redis_client.connect(clusters.redis_url(region))
            assert not await regional.exists(drop_keys.rules)
            await regional.aclose()
        # The running relay saw the stream vanish and does not bring it back: watch it for a
        # while (its reads block 100 ms at a time).
        home = redis_nodes.sync_client(clusters.redis_url("us"))
        try:
            await asyncio.to_thread(
                holds,
                lambda: not home.exists(drop_keys.state, drop_keys.events, drop_keys.bids),
                for_s=1.0,
                what="the drop's keys stay deleted in the home region",
                every_s=0.1,
            )
        finally:
            home.close()
