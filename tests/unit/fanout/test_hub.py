from __future__ import annotations

import json

from gavel.events import PriceEvent
from gavel.fanout import messages
from gavel.fanout.hub import Hub
from gavel_devstack.harness.fanout import price_event
from tests.unit.fanout.test_feed import ev


class Socket:
    """A stand-in for ObserverConnection: records what the hub writes to it."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.paused_since: float | None = None
        self.conflated = False
        self.aborted = ""

    def write(self, frame: bytes) -> None:
        self.frames.append(frame)

    def abort(self, reason: str) -> None:
        self.aborted = reason

    def seqs(self) -> list[tuple[str, int]]:
        out = []
        for frame in self.frames:
            body = json.loads(frame[frame.index(b"{") :])
            out.append((body["type"], body["seq"]))
        return out


def test_subscribe_sends_a_snapshot_then_every_price() -> None:
    hub, sock = Hub(16), Socket()
    hub.publish(ev(1))
    hub.subscribe(sock, "d", None)
    hub.publish(ev(2))
    hub.publish(ev(2))  # duplicate from Kafka
    assert sock.seqs() == [("snapshot", 1), ("price", 2)]


def test_reconnect_with_since_gets_exactly_what_it_missed() -> None:
    hub, sock = Hub(16), Socket()
    for n in range(1, 6):
        hub.publish(ev(n))
    hub.subscribe(sock, "d", 2)
    assert sock.seqs() == [("price", 3), ("price", 4), ("price", 5)]


def test_paused_socket_is_conflated_and_resynced_when_it_drains() -> None:
    hub, slow, fast = Hub(16), Socket(), Socket()
    hub.subscribe(slow, "d", None)
    hub.subscribe(fast, "d", None)
    slow.paused_since = 1.0
    for n in range(1, 4):
        hub.publish(ev(n))
    assert fast.seqs()[-1] == ("price", 3)
    assert slow.seqs() == [("snapshot", 0)]
    assert slow.conflated
    slow.paused_since = None
    hub.resync(slow, "d")
    last = json.loads(slow.frames[-1][slow.frames[-1].index(b"{") :])
    assert (last["type"], last["resync"], last["seq"]) == ("snapshot", True, 3)


def test_sweep_disconnects_only_sockets_paused_too_long() -> None:
    hub, stuck, brief = Hub(16), Socket(), Socket()
    hub.subscribe(stuck, "d", None)
    hub.subscribe(brief, "d", None)
    stuck.paused_since, brief.paused_since = 0.0, 95.0
    assert hub.sweep(now=100.0, slow_timeout_s=30) == 1
    assert stuck.aborted == "slow consumer"
    assert brief.aborted == ""


def test_frames_are_plain_unmasked_text_frames() -> None:
    frame = messages.text_frame(b'{"a":1}')
    assert frame[0] == 0x81  # FIN + text
    assert frame[1] == 7  # no mask bit, length 7


def test_watching_a_drop_without_prices_creates_no_feed_and_frees_its_entry() -> None:
    hub, sock = Hub(16), Socket()
    hub.subscribe(sock, "never-bid", None)
    hub.subscribe(Socket(), "never-bid-either", 7)
    assert sock.seqs() == [("snapshot", 0)]
    assert hub.feeds == {}
    hub.unsubscribe(sock, "never-bid")
    assert "never-bid" not in hub.watchers


def test_a_watcher_that_came_before_the_first_price_gets_it() -> None:
    hub, sock = Hub(16), Socket()
    hub.subscribe(sock, "d", None)
    hub.publish(ev(1))
    assert sock.seqs() == [("snapshot", 0), ("price", 1)]
    assert list(hub.feeds) == ["d"]


def aged(seq: int, decided_ms: int) -> PriceEvent:
    return price_event("d", seq, decided_ms=decided_ms)


def test_a_batch_of_fresh_prices_is_broadcast_whole() -> None:
    hub, sock = Hub(16), Socket()
    hub.subscribe(sock, "d", None)
    # Within 500 ms of each other: a burst, or a pipeline slow but not behind. However old.
    hub.publish_batch([aged(n, 1_000 + 200 * n) for n in (1, 2, 3)], max_stale_ms=500)
    assert sock.seqs() == [("snapshot", 0), ("price", 1), ("price", 2), ("price", 3)]


def test_behind_it_skips_stale_prices_to_the_newest_by_a_resync() -> None:
    hub, sock = Hub(16), Socket()
    hub.publish(aged(1, 0))
    hub.subscribe(sock, "d", None)
    # 2-4 were superseded by 6 long before they reach the hub (it fell behind); 5 barely.
    batch = [aged(2, 1_000), aged(3, 1_100), aged(4, 1_200), aged(5, 9_800), aged(6, 9_900)]
    hub.publish_batch(batch, max_stale_ms=500)
    assert sock.seqs() == [("snapshot", 1), ("snapshot", 5), ("price", 6)]
    resync = json.loads(sock.frames[1][sock.frames[1].index(b"{") :])
    assert (resync["resync"], resync["high_bid"]) == (True, aged(5, 0).decision.high_bid)
    # The history still holds every price, for reconnects with since.
    late = Socket()
    hub.subscribe(late, "d", 1)
    assert late.seqs() == [("price", n) for n in range(2, 7)]


def test_the_newest_of_a_drop_goes_out_however_old_and_drops_are_judged_apart() -> None:
    hub, a, b = Hub(16), Socket(), Socket()
    hub.subscribe(a, "d", None)
    hub.subscribe(b, "e", None)
    batch = [aged(1, 0), aged(2, 5_000), price_event("e", 1, decided_ms=0)]
    hub.publish_batch(batch, max_stale_ms=500)
    assert a.seqs() == [("snapshot", 0), ("snapshot", 2)]
    assert b.seqs() == [("snapshot", 0), ("price", 1)]  # e's one price is its newest
    # Duplicates in a batch change nothing; the next one follows on as a price.
    hub.publish_batch([aged(2, 5_000), aged(3, 5_100)], max_stale_ms=500)
    assert a.seqs()[-1] == ("price", 3)


def test_the_hub_counts_each_drops_sockets_for_the_observer_reports() -> None:
    hub = Hub(16)
    a, b, c = Socket(), Socket(), Socket()
    hub.subscribe(a, "d", None)
    hub.subscribe(b, "d", None)
    hub.subscribe(c, "e", None)
    hub.unsubscribe(b, "d")
    hub.unsubscribe(b, "d")  # a second close of one socket changes nothing
    assert [(r.drop, r.current, r.interval_peak) for r in hub.tally.due()] == [
        ("d", 1, 2),
        ("e", 1, 1),
    ]
