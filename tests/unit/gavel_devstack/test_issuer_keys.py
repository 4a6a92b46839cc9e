"""The local token issuer's keys: rotation keeps old keys published, retiring removes them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import jwt
import pytest

from gavel.gateway import auth, jwks
from gavel_devstack import issuer_keys


def published_keys(run_dir: Path) -> dict[str, jwks.PublicKey]:
    return jwks.parse(json.dumps(issuer_keys.published(run_dir)))


def test_the_first_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    kid = issuer_keys.ensure(tmp_path)
    assert issuer_keys.ensure(tmp_path) == kid
    pem = issuer_keys.issuer_dir(tmp_path) / "keys" / f"{kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    doc = issuer_keys.published(tmp_path)
    assert [k["kid"] for k in doc["keys"]] == [kid]
    assert all("d" not in k for k in doc["keys"])  # the JWKS carries no private part


def test_rotation_publishes_a_new_signer_and_retiring_removes_the_old(tmp_path: Path) -> None:
    old = issuer_keys.ensure(tmp_path)
    old_token = issuer_keys.mint(tmp_path, "alice")
    new = issuer_keys.rotate(tmp_path, "EdDSA")
    new_token = issuer_keys.mint(tmp_path, "bob")
    assert jwt.get_unverified_header(new_token) == {"alg": "EdDSA", "kid": new, "typ": "JWT"}
    keys = published_keys(tmp_path)
    assert auth.verify(keys, issuer_keys.ISSUER, old_token) == "alice"
    assert auth.verify(keys, issuer_keys.ISSUER, new_token) == "bob"
    issuer_keys.retire(tmp_path, old)
    with pytest.raises(auth.UnknownKeyError):
        auth.verify(published_keys(tmp_path), issuer_keys.ISSUER, old_token)
    assert not (issuer_keys.issuer_dir(tmp_path) / "keys" / f"{old}.pem").exists()


def test_the_signing_key_and_unknown_keys_cannot_be_retired(tmp_path: Path) -> None:
    signing = issuer_keys.ensure(tmp_path)
    with pytest.raises(ValueError, match="rotate to a new key"):
        issuer_keys.retire(tmp_path, signing)
    with pytest.raises(KeyError, match="no published key"):
        issuer_keys.retire(tmp_path, "nope")


def test_bad_requests_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid bidder id"):
        issuer_keys.mint(tmp_path, "not valid!")
    with pytest.raises(ValueError, match="signs with"):
        issuer_keys.rotate(tmp_path, "HS256")
