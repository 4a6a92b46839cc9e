"""Bidder-token keys rotate under a running gateway (issue 15): a new key is published, old
tokens keep working until they expire, new tokens work without a restart, and a token signed
by a removed key is refused with 401 within one JWKS refresh interval.

Against the stack's real token issuer, with the gateway reading its JWKS over HTTP and, in the
second run, from the file a ConfigMap mount would give it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gavel import redis_client
from gavel.gateway.settings import TOKEN_AUDIENCE
from gavel_devstack import issuer_keys
from gavel_devstack.harness import tokens
from gavel_devstack.harness.drops import open_test_drop
from gavel_devstack.harness.gateway import running_gateway
from gavel_devstack.harness.stack_env import Stack
from gavel_devstack.harness.waiting import wait_for

REFRESH_S = 2
"""The gateways' JWKS refresh interval here: the bound on how long a removed key still works."""


@pytest.fixture
async def drop(stack: Stack) -> AsyncIterator[str]:
    async with redis_client.connect(stack.redis_url("us")) as redis:
        yield (await open_test_drop(redis)).drop_id


def issuer_base(stack: Stack) -> str:
    return stack.env["GAVEL_TOKEN_MINT_URL"].removesuffix("/mint")


async def bid(http: httpx.AsyncClient, drop: str, token: str) -> int:
    """The status of one bid with ``token``: 401 if it was refused; 201, 409 or 429 once it
    was authenticated (the polls below bid quickly enough to meet the rate limit, which only
    applies to a verified bidder)."""
    r = await http.post(
        f"/v1/drops/{drop}/bids",
        json={"bid_id": uuid.uuid4().hex, "amount": 1_000},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code in {201, 401, 409, 429}, r.text
    return r.status_code


@pytest.mark.parametrize("source", ["url", "file"])
async def test_keys_rotate_without_a_restart(
    stack: Stack, drop: str, tmp_path: Path, source: str
) -> None:
    run_dir = tokens.run_dir(stack.env)
    jwks = stack.env["GAVEL_JWKS"] if source == "url" else str(issuer_keys.jwks_path(run_dir))
    args = ("--jwks", jwks, "--jwks-refresh-s", str(REFRESH_S))
    old_kid = issuer_keys.ensure(run_dir)
    old_token = tokens.mint(stack.env, "alice")
    with running_gateway(stack.env, "us", tmp_path, args) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            assert await bid(http, drop, old_token) != 401

            # The issuer publishes a new key and signs with it from now on.
            rotated = (await http.post(f"{issuer_base(stack)}/keys", json={})).json()
            new_kid = rotated["kid"]
            new_token = tokens.mint(stack.env, "bob")
            assert jwt.get_unverified_header(new_token)["kid"] == new_kid != old_kid

            async def new_token_works() -> bool:
                return await bid(http, drop, new_token) != 401

            # At once over HTTP (an unknown kid fetches again); by the next refresh from a file.
            await wait_for(new_token_works, REFRESH_S + 3, "a token signed by the new key")
            assert await bid(http, drop, old_token) != 401  # still published: still good

            # The old key is retired: its tokens are refused within one refresh interval,
            # although the gateway holds them in its token cache.
            retired = await http.delete(f"{issuer_base(stack)}/keys/{old_kid}")
            assert retired.status_code == 204, retired.text
            retired_at = time.monotonic()

            async def old_token_refused() -> bool:
                return await bid(http, drop, old_token) == 401

            await wait_for(old_token_refused, REFRESH_S + 3, "the retired key's token refused")
            assert time.monotonic() - retired_at < REFRESH_S + 1.5
            r = await http.post(
                f"/v1/drops/{drop}/bids",
                json={"bid_id": "x", "amount": 1_000},
                headers={"Authorization": f"Bearer {old_token}"},
            )
            assert (r.status_code, r.json()["code"]) == (401, "invalid_token")
            assert await bid(http, drop, new_token) != 401


async def test_a_flood_of_unknown_kids_fetches_the_jwks_at_most_once(
    stack: Stack, drop: str, tmp_path: Path
) -> None:
    attacker = ec.generate_private_key(ec.SECP256R1())
    claims = {"sub": "mallory", "aud": TOKEN_AUDIENCE, "iss": stack.env["GAVEL_TOKEN_ISSUER"]}
    with running_gateway(stack.env, "us", tmp_path) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for n in range(50):
                forged = jwt.encode(
                    {**claims, "exp": int(time.time()) + 60},
                    attacker,
                    algorithm="ES256",
                    headers={"kid": f"random-{n}-{uuid.uuid4().hex}"},
                )
                assert await bid(http, drop, forged) == 401
            metrics = (await http.get("/metrics")).text
    fetches = {
        (labels["why"], labels["outcome"]): float(value)
        for raw, value in re.findall(
            r"gavel_gateway_jwks_fetches_total\{(.*?)\} ([0-9.]+)", metrics
        )
        for labels in [dict(re.findall(r'(\w+)="(\w+)"', raw))]
    }
    assert fetches[("schedule", "ok")] == 1, fetches  # the start-up fetch
    # The 50 random kids arrived within one min gap (10 s): one early fetch at most.
    assert fetches.get(("unknown_kid", "ok"), 0) + fetches.get(("unknown_kid", "failed"), 0) <= 1


async def test_the_issuer_refuses_bad_requests_and_changes_nothing(stack: Stack) -> None:
    base = issuer_base(stack)
    before = issuer_keys.published(tokens.run_dir(stack.env))
    signing = issuer_keys.ensure(tokens.run_dir(stack.env))
    bad: list[dict[str, object]] = [
        {"bidders": ["ok"], "ttl": 0},
        {"bidders": ["not valid!"]},
        {"bidders": "alice"},
        {"bidders": []},
    ]
    async with httpx.AsyncClient(timeout=10) as http:
        for body in bad:
            r = await http.post(f"{base}/mint", json=body)
            assert (r.status_code, r.json()["error"]) == (400, "bad_request"), body
        r = await http.post(f"{base}/mint", content=b"[1]")
        assert r.status_code == 400
        assert (await http.post(f"{base}/keys", json={"alg": "HS256"})).status_code == 400
        assert (await http.delete(f"{base}/keys/no-such-kid")).status_code == 404
        assert (await http.delete(f"{base}/keys/{signing}")).status_code == 409
    assert issuer_keys.published(tokens.run_dir(stack.env)) == before
