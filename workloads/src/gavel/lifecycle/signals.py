"""SIGTERM and SIGINT stop a workload gracefully, in the order the workload chooses.

Called by ``gavel relay`` and ``gavel audit-writer`` through their services'
``run_until_signalled`` and by the fan-out's ``run`` (which ``gavel fanout`` runs on uvloop).
The kubelet sends SIGTERM and waits the pod's grace period: a signal only sets the workload's
stop event, so it can finish what is in flight, commit and close its clients, instead of dying
mid-batch from a KeyboardInterrupt or the default handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGTERM or SIGINT (call inside the running event loop)."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError):  # event loops without signal support
            loop.add_signal_handler(sig, stop.set)


def run_until_signalled(
    work: Callable[[asyncio.Event], Awaitable[None]], *, quiet_loggers: Iterable[str] = ()
) -> None:
    """Log at INFO to stderr (``quiet_loggers`` at WARNING), then run ``work(stop)`` in a new
    event loop; SIGTERM or SIGINT sets ``stop``. What ``work`` raises propagates (the exit
    code says the workload crashed)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for name in quiet_loggers:
        logging.getLogger(name).setLevel(logging.WARNING)

    async def main() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await work(stop)

    asyncio.run(main())
