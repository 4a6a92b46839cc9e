"""Parsing a JWKS into verification keys, and when to fetch it again."""

from __future__ import annotations

import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gavel.gateway import jwks
from tests.unit.gateway.signers import Signer

ES = Signer("es-1")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_both_accepted_key_types_are_parsed_with_their_one_algorithm() -> None:
    ed = Signer("ed-1", "EdDSA")
    keys = jwks.parse(json.dumps({"keys": [ES.jwk(), ed.jwk()]}))
    assert {k: v.alg for k, v in keys.items()} == {"es-1": "ES256", "ed-1": "EdDSA"}


def test_a_key_set_skips_what_it_cannot_safely_use() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    doc = {
        "keys": [
            ES.jwk(),
            {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key())), "kid": "rsa"},
            {"kty": "oct", "k": _b64(b"secret"), "kid": "hmac"},
            {**Signer("p").jwk(), "kid": "private", "d": "AAAA"},
            {**Signer("e").jwk(), "kid": "enc", "use": "enc"},
            {**Signer("w").jwk(), "kid": "wrong-alg", "alg": "HS256"},
            {k: v for k, v in Signer("n").jwk().items() if k != "kid"},
            {"kty": "EC", "crv": "P-256", "kid": "broken", "x": "AA", "y": "AA"},
        ]
    }
    assert set(jwks.parse(json.dumps(doc))) == {ES.kid}


@pytest.mark.parametrize("doc", ["{", "[]", '{"keys": 1}', json.dumps({"keys": [{}] * 33})])
def test_a_document_that_is_no_jwks_is_refused(doc: str) -> None:
    with pytest.raises(jwks.JwksError):
        jwks.parse(doc)


def test_refresh_policy_schedules_and_rate_limits_unknown_kids() -> None:
    policy = jwks.RefreshPolicy(interval_s=300, min_gap_s=10)
    assert policy.due(0, None)
    assert not policy.due(299, 0)
    assert policy.due(300, 0)
    assert policy.may_fetch_for_unknown_kid(0, None)
    assert not policy.may_fetch_for_unknown_kid(9.9, 0)
    assert policy.may_fetch_for_unknown_kid(10, 0)
    with pytest.raises(ValueError, match="min_gap_s"):
        jwks.RefreshPolicy(interval_s=5, min_gap_s=10)
