from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gavel.audit.offsets import OffsetTracker, Settling


def test_position_moves_only_past_contiguous_finished_offsets() -> None:
    t: OffsetTracker[str] = OffsetTracker()
    tickets = [t.start("p", o) for o in (10, 11, 12, 13)]
    assert t.in_flight == 4
    assert t.to_commit() == {}
    t.finish(tickets[1])
    t.finish(tickets[3])
    assert t.to_commit() == {}  # 10 is still in flight
    t.finish(tickets[0])
    assert t.to_commit() == {"p": 12}
    t.committed("p", 12)
    assert t.to_commit() == {}
    t.finish(tickets[2])
    assert t.to_commit() == {"p": 14}
    assert t.in_flight == 0


def test_gaps_between_offsets_are_fine() -> None:
    t: OffsetTracker[str] = OffsetTracker()
    a, b = t.start("p", 5), t.start("p", 9)  # 6..8: transaction markers, compacted away
    t.finish(b)
    assert t.position("p") is None
    t.finish(a)
    assert t.position("p") == 10


def test_partitions_are_independent() -> None:
    t: OffsetTracker[str] = OffsetTracker()
    a, b = t.start("a", 0), t.start("b", 0)
    t.finish(b)
    assert t.to_commit() == {"b": 1}
    assert t.in_flight_of("a") == 1
    t.finish(a)
    assert t.to_commit() == {"a": 1, "b": 1}


def test_forgotten_partitions_ignore_their_old_tickets() -> None:
    t: OffsetTracker[str] = OffsetTracker()
    old = t.start("p", 0)
    t.forget("p")
    assert t.in_flight == 0
    fresh = t.start("p", 0)  # reassigned: read again from the committed offset
    assert not t.finish(old)
    assert t.to_commit() == {}
    assert t.finish(fresh)
    assert t.to_commit() == {"p": 1}


def test_finishing_twice_counts_once() -> None:
    t: OffsetTracker[str] = OffsetTracker()
    a = t.start("p", 0)
    t.start("p", 1)
    assert t.finish(a)
    assert not t.finish(a)
    assert t.in_flight == 1


def test_going_back_without_forgetting_starts_the_partition_afresh() -> None:
    t: OffsetTracker[str] = OffsetTracker()
    first = [t.start("p", o) for o in range(5)]
    t.finish(first[0])
    again = t.start("p", 1)  # the consumer went back to its committed offset
    assert t.in_flight == 1
    assert not t.finish(first[1])
    t.finish(again)
    assert t.position("p") == 2


@given(st.permutations(list(range(30))), st.integers(0, 30))
def test_never_commits_past_an_unfinished_offset(order: list[int], finished: int) -> None:
    t: OffsetTracker[str] = OffsetTracker()
    tickets = [t.start("p", o) for o in range(30)]
    done = set(order[:finished])
    for o in order[:finished]:
        t.finish(tickets[o])
    position = t.position("p") or 0
    assert all(o in done for o in range(position))
    assert position == 30 or position not in done
    assert t.in_flight == 30 - finished


def test_positions_settle_after_the_window() -> None:
    s: Settling[str] = Settling(window_s=10)
    s.observe("p", 5, now=0)
    s.observe("p", 9, now=4)
    s.observe("p", 9, now=6)  # unchanged: nothing new
    assert s.settled("p", now=9.9) is None
    assert s.settled("p", now=10) == 5
    assert s.settled("p", now=13) == 5
    assert s.settled("p", now=14) == 9
    assert s.settled("p", now=100) == 9
    s.clear("p")
    assert s.settled("p", now=200) is None
    assert Settling[str](window_s=0).settled("q", now=1) is None


def test_a_zero_window_settles_at_once() -> None:
    s: Settling[str] = Settling(window_s=0)
    s.observe("p", 3, now=7)
    assert s.settled("p", now=7) == 3
