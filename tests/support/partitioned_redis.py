"""A region's Redis whose primary can be partitioned from the rest of the region, for real.

Used by the partition test (``tests/integration/redis_failover/test_partition.py``). The
stack's own region cannot be partitioned: every process reaches the primary's port directly.
This one is built for it, of the same parts (Debian's ``redis-server``, the stack's server
flags and Sentinel settings from :mod:`gavel.redis_replication`), on free ports in a test's
folder: a primary, two replicas, three Sentinels, and two :class:`TcpProxy` in front of the
primary:

- ``region_link``: the only way the replicas (``replicaof`` its port) and the Sentinels
  (``sentinel monitor`` its port) reach the primary, so the primary's address as the Sentinels
  give it to clients is the proxy's too. :meth:`cut` partitions it: the primary, its replicas,
  the Sentinels and every client that found the primary through them stop hearing each other,
  with no reset or refusal to tell them (each side learns by its own timeouts).
- ``old_side``: never cut. A client given :attr:`old_side_url` stays with the primary on its
  side of the partition, as a gateway in the primary's zone would.

The proxies run in an event loop of their own, in a thread: a test's loop busy with bidders
(or blocked a moment) must not stall the region's replication, or the Sentinels see a
partition the test did not make.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path

import redis

from gavel import redis_replication, redis_url
from gavel.redis_persistence import REDIS_PERSISTENCE_ARGS
from gavel_devstack import probes
from gavel_devstack.harness import redis_nodes
from gavel_devstack.harness.processes import free_port, start_logged, stop_process
from gavel_devstack.harness.waiting import wait_for
from tests.support.tcp_proxy import TcpProxy

SERVICE = "gavel-partition"
REPLICAS = 2
SENTINELS = 3


class PartitionedRegion:
    def __init__(self, folder: Path) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is missing (scripts/bootstrap installs it)")
        self._server = server
        self.folder = folder
        self.primary_port = free_port()
        self.replica_ports = [free_port() for _ in range(REPLICAS)]
        self.sentinel_ports = [free_port() for _ in range(SENTINELS)]
        self.region_link = TcpProxy(free_port(), "127.0.0.1", self.primary_port)
        self.old_side = TcpProxy(free_port(), "127.0.0.1", self.primary_port)
        self._procs: list[subprocess.Popen[bytes]] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def _in_proxy_loop(self, coro: Coroutine[object, object, None]) -> None:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        await asyncio.wrap_future(future)

    @property
    def sentinel_url(self) -> str:
        return redis_url.sentinel_url([("127.0.0.1", p) for p in self.sentinel_ports], SERVICE)

    @property
    def old_side_url(self) -> str:
        return f"redis://127.0.0.1:{self.old_side.port}/0"

    def _node(self, name: str, port: int, *extra: str) -> None:
        data = self.folder / name
        data.mkdir(parents=True)
        argv = [
            self._server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            *REDIS_PERSISTENCE_ARGS,
            *redis_replication.REDIS_REPLICATION_ARGS,
            "--logfile",
            "",
            *extra,
        ]
        self._procs.append(start_logged(argv, self.folder / f"{name}.log"))

    async def start(self) -> None:
        """Start every process and wait until the Sentinels could fail the primary over."""
        self._thread.start()
        await self._in_proxy_loop(self.region_link.start())
        await self._in_proxy_loop(self.old_side.start())
        self._node("primary", self.primary_port)
        for i, port in enumerate(self.replica_ports):
            self._node(f"replica-{i}", port, "--replicaof", "127.0.0.1", str(self.region_link.port))
        await self._until(
            lambda: all(probes.redis_node_ready(p) for p in self.replica_ports), "replicas in sync"
        )
        for i, port in enumerate(self.sentinel_ports):
            home = self.folder / f"sentinel-{i}"
            home.mkdir(parents=True)
            conf = home / "sentinel.conf"
            conf.write_text(
                redis_replication.sentinel_config(
                    port=port,
                    bind="127.0.0.1",
                    data_dir=str(home),
                    service=SERVICE,
                    primary=("127.0.0.1", self.region_link.port),
                )
            )
            argv = [self._server, str(conf), "--sentinel"]
            self._procs.append(start_logged(argv, self.folder / f"sentinel-{i}.log"))
        await self._until(
            lambda: all(
                probes.sentinel_ready(p, SERVICE, others=SENTINELS - 1, replicas=REPLICAS)
                for p in self.sentinel_ports
            ),
            "Sentinels that know each other and both replicas",
        )

    @staticmethod
    async def _until(check: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
        async def done() -> bool:
            return await asyncio.to_thread(check)

        await wait_for(done, timeout_s, what, interval_s=0.2)

    def cut(self) -> None:
        """Partition the primary from its replicas, the Sentinels and their clients."""
        self._loop.call_soon_threadsafe(self.region_link.partition)

    def heal(self) -> None:
        self._loop.call_soon_threadsafe(self.region_link.heal)

    async def failover_started(self) -> bool:
        """Whether a Sentinel has begun to fail the primary over."""

        def started() -> bool:
            for port in self.sentinel_ports:
                with redis.Redis(port=port, socket_timeout=1, decode_responses=True) as s:
                    try:
                        flags = str(s.sentinel_master(SERVICE).get("flags", ""))
                    except redis.RedisError:
                        continue
                if "failover_in_progress" in flags:
                    return True
            return False

        return await asyncio.to_thread(started)

    async def named_primary(self) -> int | None:
        """The port the Sentinels name as the primary now (the link's port before a failover)."""
        return await asyncio.to_thread(redis_nodes.primary_port, self.sentinel_url)

    async def old_primary_refuses_writes(self) -> bool:
        """Whether the old primary, asked from its side of the partition, refuses a write."""

        def refused() -> bool:
            with redis.Redis(port=self.old_side.port, socket_timeout=1) as client:
                try:
                    client.incr("gavel:partition-probe")
                except redis.ResponseError as exc:
                    return "NOREPLICAS" in str(exc) or "READONLY" in str(exc)
            return False

        return await asyncio.to_thread(refused)

    async def close(self) -> None:
        for proc in self._procs:
            await asyncio.to_thread(stop_process, proc, timeout_s=10)
        if self._thread.is_alive():
            await self._in_proxy_loop(self.region_link.stop())
            await self._in_proxy_loop(self.old_side.stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 10)
        self._loop.close()
