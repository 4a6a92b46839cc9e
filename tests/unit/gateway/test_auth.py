"""Bidder tokens and the verified-token cache."""

from __future__ import annotations

import time

import pytest

from gavel.gateway import auth

SECRET = "a-test-secret-that-is-long-enough-for-hs256-0123456789"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def bearer(token: str) -> str:
    return f"Bearer {token}"


def spy_on_verification(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens verified (not answered from the cache) from now on."""
    verified: list[str] = []
    real = auth.verify_claims

    def spy(secret: str, token: str) -> tuple[str, int]:
        verified.append(token)
        return real(secret, token)

    monkeypatch.setattr(auth, "verify_claims", spy)
    return verified


def test_a_cached_token_is_answered_without_verifying_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(time.time())
    cache = auth.TokenCache(SECRET, clock=clock)
    header = bearer(auth.mint(SECRET, "alice", ttl_s=60, now=clock.now))
    assert cache.bidder_from_header(header) == "alice"
    verified = spy_on_verification(monkeypatch)
    assert cache.bidder_from_header(header) == "alice"
    assert verified == []


def test_a_cached_token_expires_with_its_exp_and_the_leeway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(time.time())
    cache = auth.TokenCache(SECRET, clock=clock)
    header = bearer(auth.mint(SECRET, "alice", ttl_s=60, now=clock.now))
    assert cache.bidder_from_header(header) == "alice"
    verified = spy_on_verification(monkeypatch)
    clock.now += 60 + auth.LEEWAY_S - 1
    assert cache.bidder_from_header(header) == "alice"
    assert verified == []
    clock.now += 2
    # Past exp + leeway the cache lets it go and verifies the token again (PyJWT reads the real
    # clock, on which this token is still valid, so it is cached anew with the same expiry).
    assert cache.bidder_from_header(header) == "alice"
    assert len(verified) == 1


def test_an_expired_token_is_refused_and_not_cached() -> None:
    cache = auth.TokenCache(SECRET)
    header = bearer(auth.mint(SECRET, "alice", ttl_s=-60))
    with pytest.raises(auth.AuthError) as refused:
        cache.bidder_from_header(header)
    assert refused.value.code == "token_expired"
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("Basic abc", "malformed_token"),
        ("Bearer not-a-jwt", "invalid_token"),
        (
            bearer(auth.mint("another-secret-just-as-long-as-the-first-0123456789", "al")),
            "invalid_token",
        ),
    ],
)
def test_refusals_are_never_cached(header: str | None, code: str) -> None:
    cache = auth.TokenCache(SECRET)
    for _ in range(2):  # refused the second time too: nothing was remembered
        with pytest.raises(auth.AuthError) as refused:
            cache.bidder_from_header(header)
        assert refused.value.code == code
    assert len(cache) == 0


def test_the_cache_is_bounded_and_drops_the_oldest_first() -> None:
    cache = auth.TokenCache(SECRET, max_entries=3)
    headers = [bearer(auth.mint(SECRET, f"b{n}")) for n in range(5)]
    for header in headers:
        cache.bidder_from_header(header)
    assert len(cache) == 3
    # The newest are still answered from the cache, the oldest verified again (and still valid).
    assert [cache.bidder_from_header(h) for h in headers] == [f"b{n}" for n in range(5)]
    assert len(cache) == 3


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one"):
        auth.TokenCache(SECRET, max_entries=0)
