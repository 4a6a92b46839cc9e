"""Readiness probes: each asks the real server a real question and answers True or False.

Called in a loop by :mod:`gavel_devstack.stack` until a deadline. A probe never raises: any
failure (refused, timed out, wrong answer) means "not ready yet". ``ensure_topics`` and
``load_scripts`` are the actions here: they create a region's topics once its broker answers
and load the Lua scripts into a Redis node once it is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
from typing import Any

import httpx
import redis

from gavel import luascripts
from gavel import topics as gavel_topics
from gavel.kafka_auth import KafkaAuth, client_settings
from gavel.redis_acl import Credential

_TIMEOUT_S = 2.0

# A probe expects refusals while a server starts; the clients' own error logs would only be noise.
for _noisy in ("aiokafka", "kafka", "cassandra"):
    logging.getLogger(_noisy).setLevel(logging.CRITICAL)


def port_open(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def redis_ready(port: int) -> bool:
    try:
        client = redis.Redis(port=port, socket_timeout=_TIMEOUT_S)
        with client:
            return bool(client.ping())
    except redis.RedisError:
        return False


Auth = tuple[str, str] | None
"""``(user, password)`` of an ACL user (the stack's superuser), or None for a server without."""


def _client(port: int, auth: Auth, **kwargs: Any) -> redis.Redis:
    login: dict[str, Any] = {} if auth is None else {"username": auth[0], "password": auth[1]}
    return redis.Redis(port=port, socket_timeout=_TIMEOUT_S, **login, **kwargs)


def redis_node_ready(port: int, auth: Auth = None) -> bool:
    """A Redis node of a replicated region answers, has loaded its data (INFO answers while a
    restarted node still reads its append-only file, and everything else, SCRIPT LOAD included,
    is refused), and, if it is a replica, holds a copy (its link to the primary is up). Roles
    move in a failover, so either role is fine."""
    try:
        client = _client(port, auth)
        with client:
            if client.info("persistence").get("loading"):
                return False
            info = client.info("replication")
    except redis.RedisError:
        return False
    return info.get("role") == "master" or info.get("master_link_status") == "up"


def redis_role(port: int, auth: Auth = None) -> str | None:
    """``primary`` or ``replica`` (roles move in a failover), None if it does not answer."""
    try:
        client = _client(port, auth)
        with client:
            role = client.info("replication").get("role")
    except redis.RedisError:
        return None
    return {"master": "primary", "slave": "replica"}.get(str(role))


def load_scripts(port: int, loader: Credential) -> None:
    """Load every Lua script into the node at ``port`` as ``loader`` (the operator's user)."""
    with _client(port, (loader.user, loader.password)) as client:
        for script in luascripts.all_scripts():
            client.script_load(script.source)


def sentinel_ready(
    port: int, service: str, *, others: int, replicas: int, auth: Auth = None
) -> bool:
    """A Sentinel watches ``service``'s primary and knows the other Sentinels and the replicas,
    so it can take part in a failover."""
    try:
        client = _client(port, auth, decode_responses=True)
        with client:
            state = client.sentinel_master(service)
    except redis.RedisError:
        return False
    return (
        isinstance(state, dict)
        and bool(state.get("is_master"))
        and int(state.get("num-other-sentinels", 0)) >= others
        and int(state.get("num-slaves", 0)) >= replicas
    )


def etcd_ready(port: int) -> bool:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=_TIMEOUT_S)
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and r.json().get("health") == "true"


def apiserver_ready(port: int, token: str) -> bool:
    return api_object_exists(port, token, "/readyz")


def api_object_exists(apiserver_port: int, token: str, path: str) -> bool:
    """Whether the API server answers 200 at ``path``: ``/readyz``, or an object a controller
    makes (so the controller runs)."""
    try:
        r = httpx.get(
            f"https://127.0.0.1:{apiserver_port}{path}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=_TIMEOUT_S,
            verify=False,  # noqa: S501 - the local API server's certificate is self-signed
        )
    except (httpx.HTTPError, ssl.SSLError):
        return False
    return r.status_code == 200


def healthz(url: str) -> bool:
    """Whether ``url`` answers 200 (kube-scheduler's self-signed HTTPS, or KWOK's HTTP)."""
    try:
        return httpx.get(url, timeout=_TIMEOUT_S, verify=False).status_code == 200  # noqa: S501
    except (httpx.HTTPError, ssl.SSLError):
        return False


FAKE_NODES = 4
"""KWOK nodes per region: each 32 CPUs, 128 GiB, 110 pods, so a pre-scaled drop fits."""


def ensure_fake_nodes(apiserver_port: int, token: str) -> None:
    """Create the region's fake nodes (KWOK plays their kubelets) and a volume per node for
    Redis's claims (no storage provisioner runs here). Idempotent."""
    base = f"https://127.0.0.1:{apiserver_port}"
    headers = {"Authorization": f"Bearer {token}"}
    objects = [
        (
            f"/api/v1/nodes/kwok-{i}",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": f"kwok-{i}",
                    "annotations": {"kwok.x-k8s.io/node": "fake"},
                    "labels": {"type": "kwok", "kubernetes.io/hostname": f"kwok-{i}"},
                },
                "status": {
                    "allocatable": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                    "capacity": {"cpu": "32", "memory": "128Gi", "pods": "110"},
                },
            },
        )
        for i in range(FAKE_NODES)
    ]
    # One volume per node: the operator's Redis StatefulSet claims one per data node (a primary
    # and its replicas, one per node).
    objects += [
        (
            f"/api/v1/persistentvolumes/gavel-redis-data-{i}",
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": f"gavel-redis-data-{i}"},
                "spec": {
                    "capacity": {"storage": "10Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "hostPath": {"path": f"/var/lib/gavel-redis-{i}"},
                },
            },
        )
        for i in range(FAKE_NODES)
    ]
    with httpx.Client(headers=headers, timeout=10, verify=False) as http:  # noqa: S501
        for path, body in objects:
            r = http.patch(
                f"{base}{path}?fieldManager=gavel-stack&force=true",
                content=json.dumps(body),
                headers={"Content-Type": "application/apply-patch+yaml"},
            )
            r.raise_for_status()


def kafka_ready(bootstrap: str, auth: KafkaAuth | None = None) -> bool:
    """The broker answers metadata requests (so its controller quorum has formed)."""
    return _run(_kafka_list_topics(bootstrap, auth)) is not None


def ensure_topics(
    bootstrap: str, replication_factor: int = 1, auth: KafkaAuth | None = None
) -> None:
    """Create every topic of :data:`gavel.topics.LOCAL_TOPICS` that does not exist yet."""
    _run(_create_topics(bootstrap, replication_factor, auth), raise_errors=True)


def mirror_ready(target_bootstrap: str, sources: list[str], auth: KafkaAuth | None = None) -> bool:
    """MirrorMaker 2 reports a RUNNING source task for every flow ``source -> target``.

    MirrorMaker keeps one Connect status topic per flow in the target cluster,
    ``mm2-status.<source>.internal``; we read it to its end and look at the latest state of the
    MirrorSourceConnector's tasks.
    """
    result = _run(_mirror_states(target_bootstrap, sources, auth))
    return bool(result)


# --- Kafka helpers (aiokafka is asyncio-only) -------------------------------------------------


def _run(coro, raise_errors: bool = False):  # type: ignore[no-untyped-def]
    try:
        return asyncio.run(coro)
    except (Exception, asyncio.CancelledError):
        if raise_errors:
            raise
        return None


async def _kafka_list_topics(bootstrap: str, auth: KafkaAuth | None) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=3000, **client_settings(auth)
    )
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


async def _create_topics(bootstrap: str, replication_factor: int, auth: KafkaAuth | None) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: PLC0415

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10000, **client_settings(auth)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                t.name,
                t.partitions,
                replication_factor,
                topic_configs={"retention.ms": str(t.retention_ms)},
            )
            for t in gavel_topics.LOCAL_TOPICS
            if t.name not in existing
        ]
        if missing:
            await admin.create_topics(missing)
    finally:
        await admin.close()


async def _mirror_states(target_bootstrap: str, sources: list[str], auth: KafkaAuth | None) -> bool:
    for source in sources:
        states = await _read_compacted(target_bootstrap, f"mm2-status.{source}.internal", auth)
        tasks = {k: v for k, v in states.items() if k.startswith("status-task-MirrorSource")}
        if not tasks or any(json.loads(v).get("state") != "RUNNING" for v in tasks.values()):
            return False
    return True


async def _read_compacted(
    bootstrap: str, topic: str, auth: KafkaAuth | None = None
) -> dict[str, bytes]:
    """The latest value per key of ``topic``, read from the beginning to the current end."""
    from aiokafka import AIOKafkaConsumer  # noqa: PLC0415

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=3000,
        **client_settings(auth),
    )
    latest: dict[str, bytes] = {}
    try:
        await consumer.start()
        for _ in range(30):
            if consumer.assignment():
                break
            await asyncio.sleep(0.1)
        parts = list(consumer.assignment())
        if not parts:
            return latest
        ends = await consumer.end_offsets(parts)
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for rec in records:
                    if rec.key is not None and rec.value is not None:
                        latest[rec.key.decode()] = rec.value
    finally:
        await consumer.stop()
    return latest
