"""``gavel drops watch``'s loop: read, draw, wait a second, again. I/O adapter.

Called by :mod:`gavel.cli.drops_commands`. Reading is :mod:`.gather`'s, drawing is the pure
:func:`.render.watch_view` of :func:`.snapshot.frame`; this module only paces them and owns the
terminal (rich ``Live``). ``once`` reads twice, one interval apart (rates need two readings),
prints that frame and returns it, which is what tests and the README's screenshot take.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.live import Live

from gavel.console import render, snapshot
from gavel.console.gather import Gatherer
from gavel.console.hub import HubError

SVG_WIDTH = 112


async def _next(gatherer: Gatherer, previous: snapshot.Readings | None) -> snapshot.Readings:
    """The next readings; once the drop was seen, a failing hub is shown, not fatal."""
    try:
        return await gatherer.read()
    except HubError as exc:
        if previous is None:
            raise
        return replace(previous, hub_error=str(exc))


async def once(gatherer: Gatherer, interval_s: float, console: Console) -> snapshot.Frame:
    first = await gatherer.read()
    await asyncio.sleep(interval_s)
    frame = snapshot.frame(await _next(gatherer, first), first)
    console.print(render.watch_view(frame))
    return frame


async def forever(gatherer: Gatherer, interval_s: float, console: Console) -> None:
    previous = await gatherer.read()
    with Live(
        render.watch_view(snapshot.frame(previous, None)),
        console=console,
        auto_refresh=False,
        transient=False,
    ) as live:
        while True:
            await asyncio.sleep(interval_s)
            current = await _next(gatherer, previous)
            live.update(render.watch_view(snapshot.frame(current, previous)), refresh=True)
            previous = current


def save_svg(frame: snapshot.Frame, path: Path, title: str) -> None:
    """``frame`` as an SVG terminal picture (the README's screen is one)."""
    recorder = Console(record=True, width=SVG_WIDTH, file=io.StringIO(), force_terminal=True)
    recorder.print(render.watch_view(frame))
    path.parent.mkdir(parents=True, exist_ok=True)
    recorder.save_svg(str(path), title=title)
