"""What several client processes recorded merges into exactly what one process would have
recorded: answers, latency histograms, observer views, per-second series; and a price two
processes saw differently for one seq is caught."""

from __future__ import annotations

import pickle
import random
from typing import Any

from gavel.events import leader_alias
from gavel.herd.checker import FinalState, Kind, check, kinds
from gavel.herd.latency import Histogram
from gavel.herd.merge import CrewRecords, merge, merge_series, merge_sightings
from gavel.herd.records import RegionSightings
from gavel.herd.series import Series

from .test_checker import DROP, answer, event, price

HISTORY = [event(1, 1_000), event(2, 1_100), event(3, 1_300)]


def fold(
    into: RegionSightings, name: str, messages: list[dict[str, Any]], at_ms: float = 0.0
) -> None:
    view = into.observer(name)
    for msg in messages:
        view.take(msg, msg.get("decided_ms", 0) + at_ms, into)


def test_histograms_merged_give_the_quantiles_of_all_samples() -> None:
    rng = random.Random(4)
    samples = [rng.expovariate(1 / 20) for _ in range(3_000)]
    whole, parts = Histogram(), [Histogram(), Histogram(), Histogram()]
    for i, ms in enumerate(samples):
        whole.add(ms)
        parts[i % 3].add(ms)
    merged = merge(CrewRecords(lag=p) for p in parts).lag
    assert merged.counts == whole.counts
    assert merged.summary() == whole.summary()


def test_series_add_up_but_the_stalest_price_is_the_worst_of_any_process() -> None:
    a, b = Series(), Series()
    a.add("answers/accepted", 3, 5)
    b.add("answers/accepted", 3, 7)
    b.add("answers/accepted", 4, 1)
    a.put("observers/us", 3, 100)
    b.put("observers/us", 3, 120)
    a.put("stalest_ms/us", 3, 40.0)
    b.put("stalest_ms/us", 3, 25.0)
    merged = merge_series([a, b]).values
    assert merged["answers/accepted"] == {3: 12, 4: 1}
    assert merged["observers/us"] == {3: 220}
    assert merged["stalest_ms/us"] == {3: 40.0}


def test_observers_split_over_processes_merge_into_one_process_s_sightings() -> None:
    feeds = {
        "o1": [price(e) for e in HISTORY],
        "o2": [
            price(HISTORY[0]),
            {"type": "snapshot", "resync": True, "seq": 3, "high_bid": 1_300, "decided_ms": 3},
        ],
        "o3": [price(e) for e in HISTORY],
    }
    one = RegionSightings("us")
    for name, msgs in feeds.items():
        fold(one, name, msgs, at_ms=12)
    p1, p2 = RegionSightings("us"), RegionSightings("us")
    fold(p1, "o1", feeds["o1"], at_ms=12)
    fold(p2, "o2", feeds["o2"], at_ms=12)
    fold(p1, "o3", feeds["o3"], at_ms=12)
    merged = merge_sightings([{"us": p1}, {"us": p2}])["us"]
    assert sorted(v.name for v in merged.views) == ["o1", "o2", "o3"]
    assert merged.latency.counts == one.latency.counts
    assert merged.resync_age.counts == one.resync_age.counts
    assert merged.prices == one.prices
    assert merged.conflicts == []
    final = FinalState(3, 1_300, leader_alias(DROP, HISTORY[-1].bidder))
    verdict = check(answers=[], audit=HISTORY, final=final, sightings={"us": merged})
    assert verdict.ok, verdict.as_json()["violations"]


def test_two_processes_that_saw_different_prices_for_a_seq_fail_the_checker() -> None:
    p1, p2 = RegionSightings("us"), RegionSightings("us")
    fold(p1, "o1", [price(HISTORY[0])])
    wrong = {**price(HISTORY[0]), "high_bid": 999_999}
    fold(p2, "o2", [wrong])
    merged = merge_sightings([{"us": p1}, {"us": p2}])["us"]
    assert merged.conflicts == [
        {"seq": 1, "first_seen": 1_000, "seen": 999_999, "client_process": 1}
    ]
    verdict = check(
        answers=[], audit=HISTORY[:1], final=FinalState(1, 1_000, None), sightings={"us": merged}
    )
    assert kinds(verdict)[Kind.PHANTOM_PRICE] >= 1


def test_records_add_up_and_survive_the_pipe() -> None:
    e = HISTORY[0]
    first = CrewRecords(
        answers=[answer(e)],
        unanswered=2,
        ack={"us": Histogram()},
        cpu_s={"surge": 1.0, "bidding": 2.0},
        connected_at_open=10,
        processes=[{"index": 0}],
    )
    first.ack["us"].add(3.0)
    second = CrewRecords(
        answers=[answer(e, duplicate=True)],
        unanswered=1,
        ack={"us": Histogram(), "eu": Histogram()},
        cpu_s={"surge": 0.5, "bidding": 4.0},
        connected_at_open=7,
        processes=[{"index": 1}],
    )
    second.ack["us"].add(5.0)
    second.ack["eu"].add(1.0)
    fold(second.sightings.setdefault("us", RegionSightings("us")), "o", [price(e)])
    # What a client process sends up its pipe is pickled: records must come through whole.
    merged = merge(pickle.loads(pickle.dumps(r)) for r in (first, second))  # noqa: S301
    assert merged.answers == first.answers + second.answers
    assert merged.unanswered == 3
    assert merged.cpu_s == {"surge": 1.5, "bidding": 6.0}
    assert merged.connected_at_open == 17
    assert len(merged.ack["us"]) == 2
    assert len(merged.ack["eu"]) == 1
    assert [p["index"] for p in merged.processes] == [0, 1]
    assert merged.sightings["us"].views[0].seq == 1
