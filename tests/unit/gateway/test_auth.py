"""Bidder tokens: verification against JWKS keys, and the verified-token cache."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from gavel.gateway import auth, jwks
from gavel.gateway.settings import TOKEN_AUDIENCE
from tests.unit.gateway.signers import ISSUER, Signer, keyset

ES = Signer("es-1")
ED = Signer("ed-1", "EdDSA")
KEYS = keyset(ES, ED)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def bearer(token: str) -> str:
    return f"Bearer {token}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    parts = [json.dumps(header).encode(), json.dumps(claims).encode()]
    return ".".join([*(_b64(p) for p in parts), _b64(signature)])


def refusal(token: str, keys: dict[str, jwks.PublicKey] = KEYS) -> auth.AuthError:
    with pytest.raises(auth.AuthError) as refused:
        auth.verify(keys, ISSUER, token)
    return refused.value


@pytest.mark.parametrize("signer", [ES, ED], ids=["ES256", "EdDSA"])
def test_a_token_signed_by_a_published_key_names_its_bidder(signer: Signer) -> None:
    assert auth.verify(KEYS, ISSUER, signer.token("alice")) == "alice"


def test_hs256_with_the_public_key_as_the_secret_is_refused() -> None:
    # The classic confusion: an attacker signs with HMAC, using the (public) key as the secret.
    pem = ES.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {"sub": "mallory", "aud": TOKEN_AUDIENCE, "iss": ISSUER, "exp": time.time() + 60}
    import hashlib
    import hmac

    header = {"alg": "HS256", "typ": "JWT", "kid": ES.kid}
    signing_input = ".".join(_b64(json.dumps(p).encode()) for p in (header, claims))
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    error = refusal(f"{signing_input}.{_b64(mac)}")
    assert error.code == "invalid_token"
    assert "ES256" in error.detail


def test_alg_none_is_refused() -> None:
    claims = {"sub": "mallory", "aud": TOKEN_AUDIENCE, "iss": ISSUER, "exp": time.time() + 60}
    assert refusal(_unsigned({"alg": "none", "kid": ES.kid}, claims)).code == "invalid_token"


def test_a_token_claiming_another_algorithm_than_its_keys_is_refused() -> None:
    # Signed by the Ed25519 key but labelled with the EC key's kid: the key decides the alg.
    forged = jwt.encode(
        {"sub": "a", "aud": TOKEN_AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 60},
        ED.key,
        algorithm="EdDSA",
        headers={"kid": ES.kid},
    )
    error = refusal(forged)
    assert error.code == "invalid_token"
    assert "verifies ES256, not EdDSA" in error.detail


def test_an_unknown_kid_is_refused_as_unknown_so_the_gateway_may_fetch_again() -> None:
    error = refusal(Signer("new-key").token())
    assert isinstance(error, auth.UnknownKeyError)
    assert error.kid == "new-key"
    assert error.code == "invalid_token"


def test_a_token_without_kid_is_refused() -> None:
    token = jwt.encode(
        {"sub": "a", "aud": TOKEN_AUDIENCE, "iss": ISSUER, "exp": int(time.time()) + 60},
        ES.key,
        algorithm="ES256",
    )
    assert "kid" in refusal(token).detail


def test_a_signature_by_another_key_under_a_known_kid_is_refused() -> None:
    impostor = Signer(ES.kid)
    error = refusal(impostor.token())
    assert error.code == "invalid_token"
    assert "signature" in error.detail


@pytest.mark.parametrize(
    ("claims", "code", "words"),
    [
        ({"exp": int(time.time()) - 60}, "token_expired", "expired"),
        ({"iss": "https://evil.example/"}, "invalid_token", "issued by"),
        ({"aud": "another-app"}, "invalid_token", "not meant for bidding"),
        ({"sub": "not a bidder id!"}, "invalid_token", "subject"),
    ],
)
def test_wrong_claims_are_refused(claims: dict[str, Any], code: str, words: str) -> None:
    error = refusal(ES.token(**claims))
    assert (error.code, words in error.detail) == (code, True)


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b.c", "", "x" * (auth.MAX_TOKEN_CHARS + 1), ES.token()[:-10] + "AAAAAAAAAA"],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    assert refusal(token).code == "invalid_token"


# --- the cache ---------------------------------------------------------------------------------


def spy_on_verification(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens verified (not answered from the cache) from now on."""
    verified: list[str] = []
    real = auth.verify_claims

    def spy(keys: Any, issuer: str, token: str) -> tuple[str, int, str]:
        verified.append(token)
        return real(keys, issuer, token)

    monkeypatch.setattr(auth, "verify_claims", spy)
    return verified


def cache_of(keys: dict[str, jwks.PublicKey] = KEYS, **kw: Any) -> auth.TokenCache:
    return auth.TokenCache(lambda: keys, ISSUER, **kw)


def test_a_cached_token_is_answered_without_verifying_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache = cache_of()
    header = bearer(ES.token("alice"))
    assert cache.bidder_from_header(header) == "alice"
    verified = spy_on_verification(monkeypatch)
    assert cache.bidder_from_header(header) == "alice"
    assert verified == []


def test_a_cached_token_expires_with_its_exp_and_the_leeway(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(time.time())
    cache = cache_of(clock=clock)
    token = ES.token("alice", ttl_s=60)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    header = bearer(token)
    assert cache.bidder_from_header(header) == "alice"
    verified = spy_on_verification(monkeypatch)
    clock.now = exp + auth.LEEWAY_S - 1
    assert cache.bidder_from_header(header) == "alice"
    assert verified == []
    clock.now = exp + auth.LEEWAY_S + 1
    # Past exp + leeway the cache lets it go and verifies the token again (PyJWT reads the real
    # clock, on which this token is still valid, so it is cached anew with the same expiry).
    assert cache.bidder_from_header(header) == "alice"
    assert len(verified) == 1


def test_an_expired_token_is_refused_and_not_cached() -> None:
    cache = cache_of()
    with pytest.raises(auth.AuthError) as refused:
        cache.bidder_from_header(bearer(ES.token(ttl_s=-60)))
    assert refused.value.code == "token_expired"
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("Basic abc", "malformed_token"),
        ("Bearer not-a-jwt", "invalid_token"),
        (bearer(Signer("elsewhere").token()), "invalid_token"),
        (bearer(Signer(ES.kid).token()), "invalid_token"),
    ],
)
def test_refusals_are_never_cached(header: str | None, code: str) -> None:
    cache = cache_of()
    for _ in range(2):  # refused the second time too: nothing was remembered
        with pytest.raises(auth.AuthError) as refused:
            cache.bidder_from_header(header)
        assert refused.value.code == code
    assert len(cache) == 0


def test_forgetting_a_removed_key_drops_exactly_the_tokens_it_verified() -> None:
    current = dict(KEYS)
    cache = auth.TokenCache(lambda: current, ISSUER)
    by_es, by_ed = bearer(ES.token("alice")), bearer(ED.token("bob"))
    assert [cache.bidder_from_header(h) for h in (by_es, by_ed)] == ["alice", "bob"]
    del current[ES.kid]  # the key set's refresh no longer lists it...
    assert cache.forget_keys([ES.kid]) == 1  # ...and tells the cache
    assert cache.bidder_from_header(by_ed) == "bob"
    with pytest.raises(auth.UnknownKeyError):
        cache.bidder_from_header(by_es)


def test_the_cache_is_bounded_and_drops_the_oldest_first() -> None:
    cache = cache_of(max_entries=3)
    headers = [bearer(ES.token(f"b{n}")) for n in range(5)]
    for header in headers:
        cache.bidder_from_header(header)
    assert len(cache) == 3
    # The newest are still answered from the cache, the oldest verified again (and still valid).
    assert [cache.bidder_from_header(h) for h in headers] == [f"b{n}" for n in range(5)]
    assert len(cache) == 3


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one"):
        cache_of(max_entries=0)
