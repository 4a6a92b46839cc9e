"""What observers receive: JSON text messages, encoded once per event and shared by every socket.

* ``price`` — one accepted bid: ``drop, seq, high_bid, leader_alias, min_next, ends_at_ms,
  reserve_met, decided_ms``.
* ``snapshot`` — the latest state of a drop, sent on connect, on a reconnect whose ``since`` the
  history no longer covers, and to a socket that fell behind (then ``resync: true``). A drop
  without bids yet has ``seq: 0`` and null figures.

Clients track ``seq``: every ``price`` is ``previous seq + 1``; anything else arrives as a
``snapshot`` marked ``resync``.
"""

from __future__ import annotations

import json

from websockets.frames import Frame, Opcode

from gavel.events import PriceEvent


def _fields(event: PriceEvent) -> dict[str, object]:
    # The price event's own keys and order, less what observers need not see again.
    return {k: v for k, v in event.flat().items() if k not in ("event_id", "v")}


def _dump(obj: dict[str, object]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def price(event: PriceEvent) -> bytes:
    return _dump({"type": "price", **_fields(event)})


def snapshot(drop: str, latest: PriceEvent | None, *, resync: bool) -> bytes:
    if latest is None:
        body: dict[str, object] = {
            "drop": drop,
            "seq": 0,
            "high_bid": None,
            "leader_alias": None,
            "min_next": None,
            "ends_at_ms": None,
            "reserve_met": False,
            "decided_ms": None,
        }
    else:
        body = _fields(latest)
    return _dump({"type": "snapshot", "resync": resync, **body})


def text_frame(payload: bytes) -> bytes:
    """An unmasked server->client text frame: the same bytes are valid on every socket (we never
    negotiate compression, which would make frames per-connection)."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


PING_FRAME = Frame(Opcode.PING, b"gavel").serialize(mask=False)
