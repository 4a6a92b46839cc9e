"""Kafka authentication and ACLs of the local stack: users, broker settings, ACLs applied.

Every region's Kafka runs SASL/SCRAM-SHA-512 on its client listeners (plaintext: loopback
only), ``StandardAuthorizer`` with ``allow.everyone.if.no.acl.found=false`` and the admin user as
the only super user; the controller listener authenticates with SASL/PLAIN (a KRaft controller
cannot use SCRAM, whose credentials live in the metadata it serves). The users (one per role of
:mod:`gavel.kafka_auth`) are written into the storage at format time (``--add-scram``), so no
client ever talks to an open broker; the ACLs (:mod:`gavel.kafka_acls`) are created over the
admin connection as soon as the broker answers. Passwords are made once per run folder and
kept in ``<run>/kafka/users.json`` (mode 600); ``scripts/stack env`` prints each role's
credential under the variable names of :mod:`gavel.endpoints`.

Called by :mod:`gavel_devstack.components` (broker files, format arguments, ready hooks), by
:mod:`gavel_devstack.stack` (env lines) and by the test harness (credentials of a role).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gavel import endpoints, kafka_acls, kafka_auth

CONTROLLER_MECHANISM = "PLAIN"


def users_file(run_dir: Path) -> Path:
    return run_dir / "kafka" / "users.json"


def passwords(run_dir: Path) -> dict[str, str]:
    """Password per role, made on first use; the same in every region of the stack."""
    path = users_file(run_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        made = {role: secrets.token_urlsafe(24) for role in kafka_auth.ROLES}
        path.write_text(json.dumps(made, indent=2) + "\n")
        path.chmod(0o600)
    stored: dict[str, str] = json.loads(path.read_text())
    return stored


def auth(run_dir: Path, role: str) -> kafka_auth.KafkaAuth:
    """``role``'s credential for a loopback client of the stack."""
    return kafka_auth.KafkaAuth(kafka_auth.username(role), passwords(run_dir)[role])


def env_lines(run_dir: Path) -> list[str]:
    """Every role's user and password, as the workloads read them."""
    lines = []
    for role, password in passwords(run_dir).items():
        lines.append(f"{endpoints.kafka_user_var(role)}={kafka_auth.username(role)}")
        lines.append(f"{endpoints.kafka_password_var(role)}={password}")
    lines.append(f"{endpoints.KAFKA_SECURITY_PROTOCOL}={kafka_auth.SASL_PLAINTEXT}")
    return lines


def _jaas(module: str, user: str, password: str, extra: str = "") -> str:
    return f'{module} required username="{user}" password="{password}"{extra};'


def broker_properties(admin_password: str, listeners: Sequence[str]) -> dict[str, str]:
    """Authentication and authorization settings of a broker+controller whose client
    ``listeners`` (names, e.g. CLIENT, PODS) run SASL/SCRAM and whose CONTROLLER runs PLAIN."""
    admin = kafka_auth.username(kafka_auth.ADMIN)
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    props = {
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{admin}",
        "sasl.enabled.mechanisms": kafka_auth.MECHANISM,
        "sasl.mechanism.inter.broker.protocol": kafka_auth.MECHANISM,
        "sasl.mechanism.controller.protocol": CONTROLLER_MECHANISM,
        "listener.name.controller.sasl.enabled.mechanisms": CONTROLLER_MECHANISM,
        # The controller's own user list: only the admin, which the broker side logs in as.
        "listener.name.controller.plain.sasl.jaas.config": _jaas(
            plain, admin, admin_password, f' user_{admin}="{admin_password}"'
        ),
    }
    for name in listeners:
        key = f"listener.name.{name.lower()}.{kafka_auth.MECHANISM.lower()}.sasl.jaas.config"
        props[key] = _jaas(scram, admin, admin_password)
    return props


def scram_format_args(run_dir: Path) -> list[str]:
    """``kafka-storage format`` arguments that create every role's SCRAM user."""
    args = []
    for role, password in sorted(passwords(run_dir).items()):
        name = kafka_auth.username(role)
        args += ["--add-scram", f"{kafka_auth.MECHANISM}=[name={name},password={password}]"]
    return args


def users_digest(run_dir: Path) -> str:
    """Names the users a storage was formatted with, so a changed set reformats it."""
    return hashlib.sha256(users_file(run_dir).read_bytes()).hexdigest()


async def _create_acls(
    bootstrap: str, admin: kafka_auth.KafkaAuth, acls: list[kafka_acls.AclBinding]
) -> None:
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    client = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10000, **kafka_auth.client_settings(admin)
    )
    await client.start()
    try:
        response = await client._send_request(_batch(acls))
        for acl, (code, message) in zip(acls, response.creation_responses, strict=True):
            if code != 0:
                raise RuntimeError(f"creating ACL {acl} failed: {code} {message}")
    finally:
        await client.close()


def _batch(acls: list[kafka_acls.AclBinding]) -> Any:
    """One CreateAcls request (v1: with pattern types) carrying every binding: the controller
    commits them in one metadata write, where one request each took 5-7 s for 57 bindings on
    a busy machine. aiokafka has no public ACL call and its request wrapper takes one."""
    from aiokafka.protocol.admin import CreateAclsRequest  # noqa: PLC0415

    # aiokafka is untyped here.
    class _CreateMany(CreateAclsRequest):  # type: ignore[misc]
        def __init__(self) -> None:
            pass

        def build(self, request_struct_class: Any) -> Any:
            if request_struct_class.API_VERSION < 1:
                raise RuntimeError("the broker is too old for prefixed ACLs")
            return request_struct_class(
                [
                    (
                        a.resource_type,
                        a.resource_name,
                        a.pattern_type,
                        a.principal,
                        "*",
                        a.operation,
                        kafka_acls.ALLOW,
                    )
                    for a in acls
                ]
            )

    return _CreateMany()


def apply_acls(
    run_dir: Path, bootstrap: str, region: str, regions: Sequence[str], audit_group: str
) -> None:
    """Create every ACL ``region``'s Kafka needs (creating an existing one changes nothing)."""
    acls = kafka_acls.region_acls(region, regions, audit_group)
    asyncio.run(_create_acls(bootstrap, auth(run_dir, kafka_auth.ADMIN), acls))
