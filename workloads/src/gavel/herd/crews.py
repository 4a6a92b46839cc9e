"""The herd's client processes: started, told their plans, heard from, merged.

Used by :mod:`gavel.herd.run`. Each process is started fresh (``spawn``: nothing of the parent's
event loop or sockets is inherited), imports the clients once, says it is ready, and then runs
one :class:`~gavel.herd.crew.CrewPlan` (:func:`gavel.herd.crew.run_crew`). Parent and child talk
over one pipe each, in a fixed order::

    child  -> ("ready", None)
    parent -> plan
    child  -> ("surged", observers connected)     child -> ("bidding_over", None)
    parent -> (final seq, final high bid)
    child  -> ("records", CrewRecords)            (or ("failed", traceback) at any point)

The parent waits on the pipes from a thread per process, so its own loop stays free.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from gavel.herd.crew import CrewPlan, FinalState, run_crew

JOIN_S = 10.0


class CrewError(RuntimeError):
    """A client process failed, died, or said something out of turn."""


def default_processes() -> int:
    """One client process per core the herd may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _child(conn: Connection) -> None:
    """A client process's whole life (the target of :class:`multiprocessing.Process`)."""
    # A session of its own: with autogroup scheduling (Linux's default on desktops and these
    # machines) every session is one scheduling group, so client processes left in their
    # parent's session would share one group's CPU, whatever their number.
    os.setsid()
    try:
        conn.send(("ready", None))
        plan: CrewPlan = conn.recv()

        async def final() -> FinalState:
            got: FinalState = await asyncio.to_thread(conn.recv)
            return got

        records = asyncio.run(run_crew(plan, lambda kind, what: conn.send((kind, what)), final))
        conn.send(("records", records))
    except (EOFError, KeyboardInterrupt):
        pass  # the parent went away or gave up: nothing to tell it
    except BaseException:  # noqa: BLE001 - whatever it was, the parent must hear of it
        conn.send(("failed", traceback.format_exc()))
    finally:
        conn.close()


class Crews:
    """``n`` client processes, started on construction; :meth:`close` always."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise CrewError(f"a herd needs at least one client process, not {n}")
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[multiprocessing.process.BaseProcess] = []
        for _ in range(n):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=_child, args=(theirs,), daemon=True, name="gavel-herd-crew")
            proc.start()
            theirs.close()
            self.pipes.append(ours)
            self.procs.append(proc)
        self.waiters = ThreadPoolExecutor(max_workers=n, thread_name_prefix="herd-crew")

    def __len__(self) -> int:
        return len(self.procs)

    async def hear(self, kind: str) -> list[Any]:
        """Every process's next message, which must be ``kind``; its payloads in order."""
        loop = asyncio.get_running_loop()
        got = await asyncio.gather(
            *(loop.run_in_executor(self.waiters, _receive, i, p) for i, p in enumerate(self.pipes))
        )
        for i, (said, what) in enumerate(got):
            if said != kind:
                detail = what if said == "failed" else f"{said!r} while waiting for {kind!r}"
                raise CrewError(f"client process {i}: {detail}")
        return [what for _, what in got]

    def tell(self, what: list[Any]) -> None:
        """One message to each process, in order."""
        for pipe, message in zip(self.pipes, what, strict=True):
            pipe.send(message)

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.close()
        for proc in self.procs:
            proc.join(JOIN_S)
            if proc.is_alive():
                proc.kill()
                proc.join(JOIN_S)
        self.waiters.shutdown(wait=False, cancel_futures=True)


def _receive(index: int, pipe: Connection) -> tuple[str, Any]:
    try:
        message: tuple[str, Any] = pipe.recv()
    except (EOFError, OSError) as exc:
        return "failed", f"client process {index} died ({exc!r})"
    return message
