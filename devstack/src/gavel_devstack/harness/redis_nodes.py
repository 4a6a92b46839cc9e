"""A region's Redis nodes in the local stack, for tests that fail them over.

Used by the failover tests and the benchmarks. The region's URL (``REDIS_URL_<R>``) names the
Sentinels; this module asks them which node is the primary now, maps a node's port to the
process the stack recorded (``state.json``), and signals it: SIGKILL (a crash), SIGSTOP (a hung
node) and SIGCONT. :func:`restore` brings the region back to a primary with every replica in
sync (``scripts/stack up`` restarts what died; Sentinel turns an old primary into a replica).
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import redis
from redis.sentinel import Sentinel

from gavel import redis_url
from gavel_devstack import layout, redis_auth, stack
from gavel_devstack.harness.waiting import poll
from gavel_devstack.install import repo_root

_TIMEOUT_S = 0.5


@dataclass(frozen=True, slots=True)
class Node:
    """One Redis server of a region: its stack component, port and process."""

    kind: str
    port: int
    pid: int
    auth: tuple[str, str] | None = None
    """The stack's superuser, when the stack runs with ACL users."""

    @property
    def url(self) -> str:
        url = f"redis://127.0.0.1:{self.port}/0"
        return url if self.auth is None else redis_url.with_credentials(url, *self.auth)


def _superuser(run_dir: Path) -> tuple[str, str]:
    su = redis_auth.superuser(run_dir)
    return su.user, su.password


def _login(address: redis_url.SentinelService) -> dict[str, str]:
    if address.username is None or address.password is None:
        return {}
    return {"username": address.username, "password": address.password}


def _sentinels(url: str) -> redis_url.SentinelService:
    address = redis_url.parse(url)
    if not isinstance(address, redis_url.SentinelService):
        raise ValueError(f"{url!r} is not a Sentinel URL: the stack's Redis has no replicas")
    return address


def primary_port(url: str) -> int | None:
    """The port of the primary that a majority of answering Sentinels name; None if none."""
    address = _sentinels(url)
    votes: dict[int, int] = {}
    for host, port in address.sentinels:
        try:
            with redis.Redis(
                host=host, port=port, socket_timeout=_TIMEOUT_S, **_login(address)
            ) as s:
                got = s.sentinel_get_master_addr_by_name(address.service)
        except redis.RedisError:
            continue
        if got:
            votes[int(got[1])] = votes.get(int(got[1]), 0) + 1
    best = max(votes.items(), key=lambda kv: kv[1], default=None)
    return best[0] if best and best[1] * 2 > len(address.sentinels) else None


def nodes(run_dir: Path, region: str) -> list[Node]:
    """Every Redis server of ``region`` the stack started (running or not)."""
    state = stack.load_state(run_dir)
    if state is None:
        raise RuntimeError(f"no stack state in {run_dir}")
    kinds = ("redis", *(f"redis-replica-{i + 1}" for i in range(layout.REDIS_REPLICAS)))
    auth = _superuser(run_dir)
    return [
        Node(rec.kind, rec.port, rec.pid, auth)
        for rec in state.running.values()
        if rec.region == region and rec.kind in kinds
    ]


def primary(run_dir: Path, region: str, url: str) -> Node:
    """The node the Sentinels name as ``region``'s primary."""
    port = primary_port(url)
    for node in nodes(run_dir, region):
        if node.port == port:
            return node
    raise RuntimeError(f"the Sentinels of {region} name no primary of the stack ({port})")


def signal_node(node: Node, sig: signal.Signals) -> None:
    os.kill(node.pid, sig)


def role(port: int, auth: tuple[str, str] | None = None) -> tuple[str, str | None]:
    """(``master``/``slave``/``down``, the link status of a replica)."""
    login = {} if auth is None else {"username": auth[0], "password": auth[1]}
    try:
        with redis.Redis(port=port, socket_timeout=_TIMEOUT_S, decode_responses=True, **login) as c:
            info = c.info("replication")
    except redis.RedisError:
        return "down", None
    return str(info.get("role")), info.get("master_link_status")


def in_sync(run_dir: Path, region: str, url: str) -> bool:
    """One primary, named by the Sentinels, and every other node a replica with its link up."""
    port = primary_port(url)
    if port is None:
        return False
    for node in nodes(run_dir, region):
        got = role(node.port, node.auth)
        want = ("master", None) if node.port == port else ("slave", "up")
        if got != want:
            return False
    return True


def restore(run_dir: Path, region: str, url: str, *, timeout_s: float = 60) -> None:
    """Restart whatever died (``scripts/stack up``) and wait until the region is in sync."""
    state = stack.load_state(run_dir)
    assert state is not None
    subprocess.run(
        [
            str(repo_root() / "scripts" / "stack"),
            "up",
            "--regions",
            str(len(state.regions)),
            "--only",
            ",".join(state.kinds),
            "--dir",
            str(run_dir),
        ],
        check=True,
        capture_output=True,
    )
    poll(
        lambda: in_sync(run_dir, region, url),
        timeout_s=timeout_s,
        what=f"{region}'s Redis: one primary, every replica in sync",
    )


def sync_client(url: str) -> redis.Redis:
    """A blocking client of the primary at ``url`` (either scheme), for checks run in threads."""
    address = redis_url.parse(url)
    if isinstance(address, redis_url.SingleServer):
        return redis.Redis.from_url(address.url)
    login = _login(address)
    sentinels = Sentinel(
        list(address.sentinels),
        socket_timeout=_TIMEOUT_S,
        sentinel_kwargs={"socket_timeout": _TIMEOUT_S, **login},
        **login,
    )
    client: redis.Redis = sentinels.master_for(address.service, db=address.db)
    return client
