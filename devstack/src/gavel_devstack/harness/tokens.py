"""Bidder tokens for tests and benchmarks, signed by the local stack's issuer keys.

Tests play the identity provider here: they sign with the keys in the stack's run folder
(``$GAVEL_STACK_DIR``) directly, valid tokens and forged variants alike, without a request per
token. Workloads never do this: they only fetch the issuer's public keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gavel_devstack import issuer_keys


def run_dir(env: Mapping[str, str]) -> Path:
    return Path(env["GAVEL_STACK_DIR"])


def mint(env: Mapping[str, str], bidder: str, ttl_s: int = 3600, **kw: Any) -> str:
    """A token for ``bidder`` from the stack in ``env`` (``kid``/``claims`` as in
    :func:`gavel_devstack.issuer_keys.mint`)."""
    return issuer_keys.mint(run_dir(env), bidder, ttl_s, **kw)


def mint_many(env: Mapping[str, str], bidders: list[str], ttl_s: int = 3600) -> list[str]:
    return issuer_keys.mint_many(run_dir(env), bidders, ttl_s)
