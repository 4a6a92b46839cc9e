from __future__ import annotations

import json

from gavel.fanout import messages
from gavel.fanout.hub import Hub
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
