"""The local stack's token issuer's keys: the stand-in for a customer's identity provider.

Private signing keys live only here, in the stack's run folder (``<run>/issuer/``, mode 0600),
never in a workload's environment; gateways get the public half as a JWKS (served by
:mod:`gavel_devstack.issuer`, also written to ``jwks.json`` beside the keys). One key signs new
tokens; rotation adds a key and makes it the signer while the old one stays published (tokens it
signed keep working until they expire); retiring a key removes it from the JWKS (tokens it
signed are refused once gateways refetch). File operations under a lock, called by the issuer
process, the stack's env and the tests (which mint with the same keys, forged variants
included).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gavel import keys
from gavel.gateway.settings import TOKEN_AUDIENCE

ISSUER = "gavel-devstack-issuer"
"""The ``iss`` of the local stack's tokens (``$GAVEL_TOKEN_ISSUER``)."""

ALGORITHMS = ("ES256", "EdDSA")


def issuer_dir(run_dir: Path) -> Path:
    return run_dir / "issuer"


def jwks_path(run_dir: Path) -> Path:
    return issuer_dir(run_dir) / "jwks.json"


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[Path]:
    home = issuer_dir(run_dir)
    (home / "keys").mkdir(mode=0o700, parents=True, exist_ok=True)
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield home


def _state(home: Path) -> dict[str, Any]:
    path = home / "state.json"
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    return {"signing": None, "published": []}


def _private(home: Path, kid: str) -> Any:
    return serialization.load_pem_private_key((home / "keys" / f"{kid}.pem").read_bytes(), None)


def _public_jwk(home: Path, kid: str) -> dict[str, Any]:
    key = _private(home, kid)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        alg = "ES256"
    else:
        jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
        alg = "EdDSA"
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


def _save(home: Path, state: dict[str, Any]) -> None:
    doc = {"keys": [_public_jwk(home, kid) for kid in state["published"]]}
    for name, text in (("state.json", json.dumps(state)), ("jwks.json", json.dumps(doc))):
        tmp = home / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(home / name)  # readers (the server, gateways on the file) never see half


def _new_key(home: Path, alg: str) -> str:
    if alg not in ALGORITHMS:
        raise ValueError(f"the issuer signs with {list(ALGORITHMS)}, not {alg!r}")
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if alg == "ES256"
        else ed25519.Ed25519PrivateKey.generate()
    )
    kid = f"{alg.lower()}-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"
    path = home / "keys" / f"{kid}.pem"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return kid


def ensure(run_dir: Path) -> str:
    """Make the first key if there is none; returns the signing key's ``kid``."""
    with _locked(run_dir) as home:
        state = _state(home)
        if state["signing"] is None:
            kid = _new_key(home, "ES256")
            state = {"signing": kid, "published": [kid]}
            _save(home, state)
        return str(state["signing"])


def rotate(run_dir: Path, alg: str = "ES256") -> str:
    """Publish a new key and sign with it from now on; the old keys stay published."""
    with _locked(run_dir) as home:
        state = _state(home)
        kid = _new_key(home, alg)
        state = {"signing": kid, "published": [*state["published"], kid]}
        _save(home, state)
        return kid


def retire(run_dir: Path, kid: str) -> None:
    """Remove ``kid`` from the JWKS and delete its private key; the signing key cannot go."""
    with _locked(run_dir) as home:
        state = _state(home)
        if kid not in state["published"]:
            raise KeyError(f"no published key {kid!r}; published: {state['published']}")
        if kid == state["signing"]:
            raise ValueError(f"{kid!r} signs new tokens: rotate to a new key before retiring it")
        state["published"] = [k for k in state["published"] if k != kid]
        _save(home, state)
        (home / "keys" / f"{kid}.pem").unlink()


def published(run_dir: Path) -> dict[str, Any]:
    """The JWKS document (public keys only)."""
    ensure(run_dir)
    loaded: dict[str, Any] = json.loads(jwks_path(run_dir).read_text())
    return loaded


def mint(
    run_dir: Path,
    bidder: str,
    ttl_s: int = 3600,
    *,
    kid: str | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    """A token for ``bidder`` signed by the signing key (or published key ``kid``).

    ``claims`` overrides or adds claims: tests forge wrong issuers and audiences with it.
    """
    return mint_many(run_dir, [bidder], ttl_s, kid=kid, claims=claims)[0]


def mint_many(
    run_dir: Path,
    bidders: list[str],
    ttl_s: int = 3600,
    *,
    kid: str | None = None,
    claims: dict[str, Any] | None = None,
) -> list[str]:
    """:func:`mint` for each of ``bidders``, reading the key once (a ``ttl_s`` below 1 makes
    expired tokens, for tests; the issuer's endpoint refuses it)."""
    for bidder in bidders:
        if not isinstance(bidder, str) or not keys.BIDDER_ID_PATTERN.match(bidder):
            raise ValueError(f"invalid bidder id {bidder!r}: 1-64 of A-Z a-z 0-9 . _ @ : -")
    ensure(run_dir)
    with _locked(run_dir) as home:
        state = _state(home)
        kid = kid or state["signing"]
        if kid not in state["published"]:
            raise KeyError(f"no published key {kid!r}")
        key = _private(home, kid)
    alg = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "EdDSA"
    issued = int(time.time())
    base = {"aud": TOKEN_AUDIENCE, "iss": ISSUER, "iat": issued, "exp": issued + ttl_s}
    return [
        jwt.encode({"sub": b, **base, **(claims or {})}, key, algorithm=alg, headers={"kid": kid})
        for b in bidders
    ]
