"""The local stack's Redis logins: one password per ACL user, made once per run folder.

Used by :mod:`gavel_devstack.components` (the ``user`` lines and replication/Sentinel logins of
every data node and Sentinel), :mod:`gavel_devstack.stack` (``scripts/stack env`` prints each
workload's ``REDIS_AUTH_<ROLE>`` and the superuser's login), the probes and the harness. The
rules themselves are :mod:`gavel.redis_acl`'s; this module only holds the secrets, which live
in ``<run folder>/redis/acl.json`` (mode 0600) and nowhere else.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from gavel import endpoints, redis_acl
from gavel.redis_acl import Credential, Role

SUPERUSER_VAR = "GAVEL_STACK_REDIS_AUTH"
"""``USER:PASSWORD`` of the stack's superuser: tests' set-up and the harness, never a workload."""


def _passwords(run_dir: Path) -> dict[str, str]:
    path = run_dir / "redis" / "acl.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    wanted = [r.value for r in Role] + [redis_acl.SUPERUSER]
    if missing := [name for name in wanted if name not in stored]:
        # Hex: no character a config file or a URL would need to quote.
        stored |= {name: secrets.token_hex(24) for name in missing}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
    return stored


def credential(run_dir: Path, role: Role) -> Credential:
    return Credential(redis_acl.username(role), _passwords(run_dir)[role.value])


def superuser(run_dir: Path) -> Credential:
    return Credential(redis_acl.SUPERUSER, _passwords(run_dir)[redis_acl.SUPERUSER])


def data_node_config(run_dir: Path) -> str:
    """A data node's configuration file: the users, and the login a replica uses with its
    primary (every node, as any may become a replica after a failover)."""
    pw = _passwords(run_dir)
    repl = credential(run_dir, Role.REPLICATION)
    lines = redis_acl.data_node_users({r: pw[r.value] for r in Role}, superuser(run_dir).password)
    lines += [f"masteruser {repl.user}", f"masterauth {repl.password}"]
    return "\n".join([*lines, ""])


def sentinel_config_lines(run_dir: Path, service: str) -> list[str]:
    """A Sentinel's users, its login on the data nodes and on the other Sentinels."""
    pw = _passwords(run_dir)
    own = credential(run_dir, Role.SENTINEL)
    lines = redis_acl.sentinel_users({r: pw[r.value] for r in Role}, superuser(run_dir).password)
    return [
        *lines,
        f"sentinel auth-user {service} {own.user}",
        f"sentinel auth-pass {service} {own.password}",
        f"sentinel sentinel-user {own.user}",
        f"sentinel sentinel-pass {own.password}",
    ]


def env_lines(run_dir: Path) -> list[str]:
    """Each workload role's ``REDIS_AUTH_<ROLE>`` and the superuser's login."""
    lines = []
    for role in redis_acl.WORKLOAD_ROLES:
        c = credential(run_dir, role)
        lines.append(f"{endpoints.redis_auth_var(role)}={c.user}:{c.password}")
    su = superuser(run_dir)
    lines.append(f"{SUPERUSER_VAR}={su.user}:{su.password}")
    return lines
