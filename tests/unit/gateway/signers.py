"""Keys of a test identity provider: sign bidder tokens, publish their public halves."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gavel.gateway import jwks
from gavel.gateway.settings import TOKEN_AUDIENCE

ISSUER = "https://idp.example/"


class Signer:
    """A key of the test's identity provider: signs tokens, publishes its public half."""

    def __init__(self, kid: str, alg: str = "ES256") -> None:
        self.kid, self.alg = kid, alg
        self.key: Any = (
            ec.generate_private_key(ec.SECP256R1())
            if alg == "ES256"
            else ed25519.Ed25519PrivateKey.generate()
        )

    def jwk(self) -> dict[str, Any]:
        algo = jwt.algorithms.ECAlgorithm if self.alg == "ES256" else jwt.algorithms.OKPAlgorithm
        return {**json.loads(algo.to_jwk(self.key.public_key())), "kid": self.kid}

    def token(self, bidder: str = "alice", ttl_s: int = 60, **claims: Any) -> str:
        now = int(time.time())
        body = {"sub": bidder, "aud": TOKEN_AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + ttl_s}
        return jwt.encode(
            {**body, **claims}, self.key, algorithm=self.alg, headers={"kid": self.kid}
        )


def keyset(*signers: Signer) -> dict[str, jwks.PublicKey]:
    return jwks.parse(json.dumps({"keys": [s.jwk() for s in signers]}))
