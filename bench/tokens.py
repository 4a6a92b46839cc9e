"""Bidder-token verification cost: ES256 and EdDSA against HS256 (the baseline, measured in the
same run), and a cached lookup, per call on one core.

What the gateway pays once per token per process (the verification) and on every other bid
(the cache lookup); docs/performance.md, "Bidder tokens", keeps the figures.

Run (no stack needed)::

    .venv/bin/python -m bench.tokens --seconds 2
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gavel.gateway import auth, jwks
from gavel.gateway.settings import TOKEN_AUDIENCE

ISSUER = "bench-issuer"


def _claims() -> dict[str, Any]:
    return {"sub": "bidder-1", "aud": TOKEN_AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 3600}


def per_call_us(fn: Callable[[], object], seconds: float) -> float:
    """Microseconds per call of ``fn``, over about ``seconds`` of calls."""
    calls, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        for _ in range(100):
            fn()
        calls += 100
    return elapsed / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per row")
    args = parser.parse_args()
    secret = "s" * 48
    hs = jwt.encode(_claims(), secret, algorithm="HS256")
    rows = {
        "HS256 verify (baseline)": per_call_us(
            lambda: jwt.decode(
                hs, secret, algorithms=["HS256"], audience=TOKEN_AUDIENCE, issuer=ISSUER
            ),
            args.seconds,
        )
    }
    for alg, key in (
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
    ):
        algo = jwt.algorithms.ECAlgorithm if alg == "ES256" else jwt.algorithms.OKPAlgorithm
        doc = {"keys": [{**json.loads(algo.to_jwk(key.public_key())), "kid": alg}]}
        keys = jwks.parse(json.dumps(doc))
        token = jwt.encode(_claims(), key, algorithm=alg, headers={"kid": alg})
        rows[f"{alg} verify"] = per_call_us(lambda: auth.verify(keys, ISSUER, token), args.seconds)  # noqa: B023 - called before the loop moves on
        cache = auth.TokenCache(lambda: keys, ISSUER)  # noqa: B023
        header = f"Bearer {token}"
        cache.bidder_from_header(header)
        rows[f"{alg} cached lookup"] = per_call_us(
            lambda: cache.bidder_from_header(header),  # noqa: B023
            args.seconds,
        )
    base = rows["HS256 verify (baseline)"]
    print(f"{'row':28} {'us/call':>10} {'x HS256':>9}")
    for name, us in rows.items():
        print(f"{name:28} {us:10.2f} {us / base:9.3f}")


if __name__ == "__main__":
    main()
