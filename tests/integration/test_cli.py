"""The `gavel` command as a person runs it, against the local stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from gavel import endpoints
from gavel.gateway import auth, jwks
from gavel_devstack import issuer_keys
from gavel_devstack.harness import tokens
from gavel_devstack.harness.drops import new_drop_id
from gavel_devstack.harness.stack_env import Stack


def gavel(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gavel", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **stack.env},
        check=False,
        timeout=60,
    )


def manifest(tmp_path: Path, name: str, start_price: int) -> Path:
    path = tmp_path / f"{name}-{start_price}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "gavel.dev/v1alpha1",
                "kind": "Drop",
                "metadata": {"name": name},
                "spec": {
                    "homeRegion": "us",
                    "startsAt": "2026-01-01T00:00:00Z",
                    "endsAt": "2031-01-01T00:00:00Z",
                    "auction": {
                        "currency": "EUR",
                        "startPrice": start_price,
                        "increments": [{"from": 0, "step": 100}],
                    },
                },
            }
        )
    )
    return path


def test_drops_open_is_idempotent_and_refuses_unfair_changes(stack: Stack, tmp_path: Path) -> None:
    name = new_drop_id("cli")
    first = gavel(stack, "drops", "open", str(manifest(tmp_path, name, 1_000)))
    assert first.returncode == 0, first.stderr
    assert f"{name} in us: created" in first.stdout
    assert f"{name} in eu: rules copied" in first.stdout
    again = gavel(stack, "drops", "open", str(manifest(tmp_path, name, 1_000)))
    assert f"{name} in us: unchanged" in again.stdout
    changed = gavel(stack, "drops", "open", str(manifest(tmp_path, name, 5)))
    assert changed.returncode == 1
    assert "start_price: is frozen once the drop opened" in changed.stderr


def test_drops_open_explains_a_bad_manifest(stack: Stack, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Drop\nmetadata: {name: x}\nspec: {homeRegion: us}\n")
    out = gavel(stack, "drops", "open", str(bad))
    assert out.returncode == 2
    assert "missing field" in out.stderr


def _verify_with_the_stacks_keys(stack: Stack, token: str) -> str:
    keys = jwks.parse(json.dumps(issuer_keys.published(tokens.run_dir(stack.env))))
    return auth.verify(keys, stack.env[endpoints.TOKEN_ISSUER], token)


def test_token_mint_makes_a_token_the_gateway_accepts(stack: Stack) -> None:
    out = gavel(stack, "token", "mint", "--bidder", "zoe", "--ttl", "60")
    assert out.returncode == 0, out.stderr
    assert _verify_with_the_stacks_keys(stack, out.stdout.strip()) == "zoe"
    refused = gavel(stack, "token", "mint", "--bidder", "no spaces please")
    assert refused.returncode == 2
    assert "invalid bidder id" in refused.stderr
