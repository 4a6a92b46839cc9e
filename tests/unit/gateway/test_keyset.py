"""The gateway's key set: fetched from a JWKS file, refreshed, rate-limited on unknown kids."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gavel.gateway import auth
from gavel.gateway.jwks import RefreshPolicy
from gavel.gateway.keyset import KeySet, read_document
from tests.unit.gateway.signers import ISSUER, Signer

OLD, NEW = Signer("old"), Signer("new", "EdDSA")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def publish(path: Path, *signers: Signer) -> None:
    path.write_text(json.dumps({"keys": [s.jwk() for s in signers]}))


def corrupt(path: Path, *, remove: bool = False) -> None:
    if remove:
        path.unlink()
    else:
        path.write_text("{ half a document")


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    publish(path, OLD)
    return path


def counting_reader(calls: list[str]) -> Callable[[str], bytes]:
    def read(source: str) -> bytes:
        calls.append(source)
        return read_document(source)

    return read


async def test_a_removed_key_stops_admitting_cached_tokens_at_the_next_refresh(
    jwks_file: Path,
) -> None:
    keys = KeySet(str(jwks_file), RefreshPolicy(300, 10))
    cache = auth.TokenCache(keys.current, ISSUER)
    keys.on_removed(cache.forget_keys)
    assert await keys.refresh()
    header = f"Bearer {OLD.token('alice')}"
    assert cache.bidder_from_header(header) == "alice"
    publish(jwks_file, NEW)  # the issuer retired OLD
    assert await keys.refresh()
    assert len(cache) == 0
    with pytest.raises(auth.UnknownKeyError):
        cache.bidder_from_header(header)


async def test_a_failed_fetch_keeps_the_keys_held(jwks_file: Path) -> None:
    keys = KeySet(str(jwks_file), RefreshPolicy(300, 10))
    assert await keys.refresh()
    corrupt(jwks_file)
    assert not await keys.refresh()
    corrupt(jwks_file, remove=True)
    assert not await keys.refresh()
    assert set(keys.current()) == {"old"}


async def test_unknown_kids_fetch_again_at_most_once_per_gap(jwks_file: Path) -> None:
    calls: list[str] = []
    clock = Clock()
    keys = KeySet(str(jwks_file), RefreshPolicy(300, 10), counting_reader(calls), clock)
    await keys.refresh()
    clock.now += 10
    # A flood of random kids: the first fetches, the rest wait for the gap.
    results = [await keys.refresh_for_unknown_kid(f"random-{n}") for n in range(100)]
    assert results == [False] * 100
    assert len(calls) == 2
    publish(jwks_file, OLD, NEW)
    assert not await keys.refresh_for_unknown_kid("new")  # still inside the gap
    clock.now += 10
    assert await keys.refresh_for_unknown_kid("new")  # a key just published: found
    assert await keys.refresh_for_unknown_kid("new")  # held now: no fetch
    assert len(calls) == 3


def test_a_jwks_file_that_is_too_large_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (300 * 1024))
    with pytest.raises(ValueError, match="larger than"):
        read_document(str(big))
