"""The local stack's bidder-token issuer as a component, and the ``scripts/stack env`` lines
that point gateways and ``gavel token mint`` at it.

Called by :func:`gavel_devstack.components.plan` (every stack runs the issuer: any gateway needs
its JWKS) and by :mod:`gavel_devstack.stack` for the env lines.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

from gavel import endpoints
from gavel_devstack import issuer, issuer_keys, probes
from gavel_devstack.component import NO_PORT, SHARED, Component


def issuer_url(run_dir: Path) -> str | None:
    """Base URL of the stack's token issuer, once it has bound its port."""
    path = issuer.url_file(run_dir)
    return path.read_text().strip() if path.exists() else None


def _issuer_ready(run_dir: Path) -> bool:
    url = issuer_url(run_dir)
    return url is not None and probes.healthz(url + issuer.JWKS_PATH)


def issuer_component(run_dir: Path) -> Component:
    """The token issuer (every stack runs it: any gateway needs its JWKS)."""
    return Component(
        "issuer",
        SHARED,
        NO_PORT,
        [sys.executable, "-m", "gavel_devstack.issuer", "--run-dir", str(run_dir)],
        partial(_issuer_ready, run_dir),
        timeout_s=30,
        # A URL left by a previous run names a port nobody may hold now.
        prepare=partial(issuer.url_file(run_dir).unlink, missing_ok=True),
    )


def token_env(run_dir: Path) -> list[str]:
    """The bidder-token lines of ``scripts/stack env``: where gateways find the public keys,
    the issuer they require, where `gavel token mint` asks for tokens."""
    url = issuer_url(run_dir)
    if url is None:
        return []
    return [
        f"{endpoints.JWKS}={url}{issuer.JWKS_PATH}",
        f"{endpoints.TOKEN_ISSUER}={issuer_keys.ISSUER}",
        f"{endpoints.TOKEN_MINT_URL}={url}/mint",
    ]
