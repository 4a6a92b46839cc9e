"""A region's Redis in the local stack: a primary, its replicas and three Sentinels, each a
:class:`~gavel_devstack.component.Component`. Pure apart from reading the run folder's logins.

Called by :func:`gavel_devstack.components.plan` for every region with ``redis`` in its kinds;
the kinds named here are also what :mod:`gavel_devstack.stack` stops and the CLI lists.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from gavel import redis_acl, redis_replication
from gavel.redis_persistence import REDIS_PERSISTENCE_ARGS
from gavel_devstack import layout, probes, redis_auth
from gavel_devstack.component import Component
from gavel_devstack.install import Installed

AOF_REWRITE_MIN_MB = 64
"""Redis's default ``auto-aof-rewrite-min-size``, the primary's threshold here."""
AOF_REWRITE_STAGGER_MB = 32
"""Each replica's threshold is this much above the previous node's. A primary and its replicas
receive the same writes, so with one threshold all three fork their rewrite children in the same
second; on this 2-core machine that stalls bids for 0.5-2.5 s (docs/performance.md, issue 12).
In a deployment every node has a machine of its own (anti-affinity), so the rendering keeps
Redis's default."""


def aof_rewrite_min_mb(replica_index: int | None) -> int:
    """The ``auto-aof-rewrite-min-size`` (MB) of the primary (None) or of replica ``i``."""
    if replica_index is None:
        return AOF_REWRITE_MIN_MB
    return AOF_REWRITE_MIN_MB + AOF_REWRITE_STAGGER_MB * (replica_index + 1)


def _node(
    inst: Installed,
    run_dir: Path,
    kind: str,
    region: str,
    port: int,
    *,
    primary: int | None,
    replica_index: int | None = None,
) -> Component:
    """One Redis server of a region: the primary (``primary`` None) or replica number
    ``replica_index`` of it."""
    data = run_dir / f"{kind}-{region}"
    conf = data / "redis.conf"
    argv = [
        str(inst.redis_server),
        str(conf),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data),
        *REDIS_PERSISTENCE_ARGS,
        "--auto-aof-rewrite-min-size",
        f"{aof_rewrite_min_mb(replica_index)}mb",
        *redis_replication.REDIS_REPLICATION_ARGS,
        "--daemonize",
        "no",
        "--logfile",
        "",
    ]
    if primary is not None:
        argv += ["--replicaof", "127.0.0.1", str(primary)]
    su = redis_auth.superuser(run_dir)
    return Component(
        kind,
        region,
        port,
        argv,
        partial(probes.redis_node_ready, port, auth=(su.user, su.password)),
        timeout_s=30,
        files={conf: redis_auth.data_node_config(run_dir)},
        # The loader's job, as the operator would do it: this node may be promoted later, and
        # a (re)started node has an empty script cache.
        when_ready=partial(
            probes.load_scripts, port, redis_auth.credential(run_dir, redis_acl.Role.OPERATOR)
        ),
        # A replica is ready once it holds a copy, so it needs its primary up first.
        after=() if primary is None else (f"redis/{region}",),
    )


REPLICA_KINDS = tuple(f"redis-replica-{i + 1}" for i in range(layout.REDIS_REPLICAS))
SENTINEL_KINDS = tuple(f"sentinel-{i + 1}" for i in range(layout.SENTINELS))


def region_redis(
    inst: Installed, run_dir: Path, region: str, ports: layout.RegionPorts
) -> list[Component]:
    """A region's Redis: a primary, its replicas, and the Sentinels that watch them.

    The Sentinels start after the replicas are in sync, so their first look at the primary
    already lists every replica and ``up`` ends with a region that can fail over.
    """
    nodes = [_node(inst, run_dir, "redis", region, ports.redis, primary=None)]
    nodes += [
        _node(inst, run_dir, kind, region, port, primary=ports.redis, replica_index=i)
        for i, (kind, port) in enumerate(zip(REPLICA_KINDS, ports.redis_replicas, strict=True))
    ]
    service = redis_replication.service_name(region)
    su = redis_auth.superuser(run_dir)
    sentinels = []
    for kind, port in zip(SENTINEL_KINDS, ports.sentinels, strict=True):
        home = run_dir / f"{kind}-{region}"
        conf = home / "sentinel.conf"
        text = redis_replication.sentinel_config(
            port=port,
            bind="127.0.0.1",
            data_dir=str(home),
            service=service,
            primary=("127.0.0.1", ports.redis),
        )
        text += "\n".join([*redis_auth.sentinel_config_lines(run_dir, service), ""])
        sentinels.append(
            Component(
                kind,
                region,
                port,
                [str(inst.redis_server), str(conf), "--sentinel"],
                partial(
                    probes.sentinel_ready,
                    port,
                    service,
                    others=layout.SENTINELS - 1,
                    replicas=layout.REDIS_REPLICAS,
                    auth=(su.user, su.password),
                ),
                timeout_s=30,
                files={conf: text},
                after=tuple(f"{n.kind}/{region}" for n in nodes),
            )
        )
    return nodes + sentinels
