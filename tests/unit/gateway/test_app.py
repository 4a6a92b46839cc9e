from __future__ import annotations

import asyncio

import pytest

from gavel.gateway import app


class FlakyDisk:
    """Stands in for BidService.flush_outbox: the first hand-over fails as a full disk would."""

    def __init__(self) -> None:
        self.calls = 0
        self.flushed = asyncio.Event()

    async def flush_outbox(self) -> None:
        self.calls += 1
        if self.calls == 1:
            raise OSError(28, "No space left on device")
        self.flushed.set()


async def test_the_outbox_flusher_outlives_a_disk_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_sleep = asyncio.sleep

    async def tick(_: float) -> None:
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", tick)
    disk = FlakyDisk()
    flusher = asyncio.create_task(app._flush_outbox(disk))
    try:
        await asyncio.wait_for(disk.flushed.wait(), timeout=5)
    finally:
        flusher.cancel()
    assert disk.calls >= 2
    assert not flusher.done() or flusher.cancelled()
