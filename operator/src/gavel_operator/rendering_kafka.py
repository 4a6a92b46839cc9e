"""Kafka credentials and TLS in the rendered topology: env from Secrets, the CA mounted.

Pure. Called by :mod:`gavel_operator.rendering`: each workload container gets its own role's
user from the Secret the Region names (``spec.kafka.users``, keys ``username`` and
``password``) under the variable names of :mod:`gavel.endpoints`, which
:func:`gavel.kafka_auth.from_env` reads; with ``spec.kafka.caSecret`` every client uses SASL_SSL
and trusts only that CA, mounted read-only. MirrorMaker mounts its Secret as a directory and
reads it through Kafka's DirectoryConfigProvider (:class:`gavel.mirror.MirrorAuth`), so the
ConfigMap never holds a password.
"""

from __future__ import annotations

from typing import Any

from gavel import endpoints, kafka_auth
from gavel.mirror import MirrorAuth
from gavel.resources.region import KafkaSecurity

Obj = dict[str, Any]

CA_DIR = "/etc/gavel/kafka-ca"
MIRROR_CREDENTIAL_DIR = "/etc/gavel/kafka-user"
CA_VOLUME = "kafka-ca"
MIRROR_VOLUME = "kafka-user"

ROLE_OF_COMMAND = {
    "relay": kafka_auth.RELAY,
    "fanout": kafka_auth.FANOUT,
    "audit-writer": kafka_auth.AUDIT_WRITER,
}
"""The Kafka role of each ``gavel`` command that talks to Kafka (the gateway does not)."""


def _secret_of(security: KafkaSecurity, role: str) -> str:
    users = security.users
    return {
        kafka_auth.RELAY: users.relay,
        kafka_auth.FANOUT: users.fanout,
        kafka_auth.AUDIT_WRITER: users.audit_writer,
        kafka_auth.MIRROR: users.mirror,
    }[role]


def protocol(security: KafkaSecurity) -> str:
    return kafka_auth.SASL_SSL if security.ca_secret else kafka_auth.SASL_PLAINTEXT


def ca_file(security: KafkaSecurity) -> str | None:
    return f"{CA_DIR}/{security.ca_secret.key}" if security.ca_secret else None


def container_env(security: KafkaSecurity | None, command: str) -> list[Obj]:
    """The env entries giving ``gavel <command>`` its Kafka user (none for other commands)."""
    role = ROLE_OF_COMMAND.get(command)
    if security is None or role is None:
        return []
    secret = _secret_of(security, role)
    env: list[Obj] = [
        {
            "name": endpoints.kafka_user_var(role),
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "username"}},
        },
        {
            "name": endpoints.kafka_password_var(role),
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}},
        },
        {"name": endpoints.KAFKA_SECURITY_PROTOCOL, "value": protocol(security)},
    ]
    ca = ca_file(security)
    if ca:
        env.append({"name": endpoints.KAFKA_CA_FILE, "value": ca})
    return env


def mirror_auth(security: KafkaSecurity | None) -> MirrorAuth | None:
    if security is None:
        return None
    return MirrorAuth(credential_dir=MIRROR_CREDENTIAL_DIR, ca_file=ca_file(security))


def mirror_volumes(security: KafkaSecurity | None) -> tuple[list[Obj], list[Obj]]:
    """(volumes, volumeMounts) of the MirrorMaker pod: its user's Secret as files."""
    if security is None:
        return [], []
    volume = {
        "name": MIRROR_VOLUME,
        "secret": {"secretName": _secret_of(security, kafka_auth.MIRROR), "defaultMode": 0o400},
    }
    return [volume], [{"name": MIRROR_VOLUME, "mountPath": MIRROR_CREDENTIAL_DIR, "readOnly": True}]


def with_ca(objects: list[Obj], security: KafkaSecurity | None) -> list[Obj]:
    """Mount the CA Secret into every container of a Deployment that connects to Kafka over TLS
    (a client whose env names the CA file, and MirrorMaker); changes ``objects`` in place."""
    if security is None or security.ca_secret is None:
        return objects
    mount = {"name": CA_VOLUME, "mountPath": CA_DIR, "readOnly": True}
    volume = {"name": CA_VOLUME, "secret": {"secretName": security.ca_secret.name}}
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        users = [
            c
            for c in pod["containers"]
            if c["name"] == "mirrormaker"
            or any(e["name"] == endpoints.KAFKA_CA_FILE for e in c.get("env", []))
        ]
        for container in users:
            container["volumeMounts"] = [*container.get("volumeMounts", []), mount]
        if users:
            pod["volumes"] = [*pod.get("volumes", []), volume]
    return objects
