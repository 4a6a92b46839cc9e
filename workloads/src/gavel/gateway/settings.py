"""Gateway configuration: one frozen dataclass, built by ``gavel gateway`` from flags and env."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gavel import redis_url
from gavel.auction import RateLimit

TOKEN_AUDIENCE = "gavel-bidders"  # noqa: S105 - a claim value, not a secret
"""The ``aud`` every bidder token must carry: the identity provider issues it for bidding."""


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    region: str
    redis_urls: dict[str, str]
    """Redis of every region this gateway may need: a drop's bids go to its home region."""
    jwks: str
    """Where the bidder-token public keys are: an ``http(s)://`` URL of a JWKS document or the
    path of a mounted file holding one (docs/security.md, "Bidder tokens")."""
    token_issuer: str
    """The ``iss`` every bidder token must carry (the identity provider's issuer)."""
    outbox_dir: Path
    rate_limit: RateLimit = field(default_factory=RateLimit)
    max_body_bytes: int = 4096
    """A bid is ~100 bytes; anything near this limit is not a bid."""
    max_ws_message_bytes: int = 4096
    home_cache_ttl_s: float = 5.0
    """How long a drop's home region is remembered (it is frozen once the drop opened)."""
    redis_timeout_s: float = 1.0
    """Socket timeout towards Redis: past it the attempt goes to the disk outbox as unavailable."""
    wait_replicas: int | None = None
    """Replicas a decision must reach before the bidder hears of it (``WAIT``). None: 1 for a
    home region whose URL names Sentinels (it has replicas), 0 for a single server."""
    wait_timeout_ms: int = 500
    """How long ``WAIT`` may take; past it the answer is 503 ``unavailable``. Below
    ``redis_timeout_s``, so a slow replica is told apart from an unreachable primary."""
    jwks_refresh_s: float = 300.0
    """The JWKS is fetched again this often: the longest a removed key keeps admitting tokens."""
    jwks_min_gap_s: float = 10.0
    """A token with an unknown ``kid`` fetches the JWKS early, but at most once per this."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins (``https://host[:port]``) whose pages may call this gateway (CORS) and
    open bidder sockets: the regions' drop pages. Empty: no browser page may."""

    def wait_replicas_for(self, region: str) -> int:
        """How many replicas a decision in ``region``'s Redis must reach before a 201."""
        if self.wait_replicas is not None:
            return self.wait_replicas
        return 1 if redis_url.has_replicas(self.redis_urls[region]) else 0

    def to_env(self) -> str:
        """JSON for :data:`ENV_VAR`, so uvicorn's worker processes rebuild the same settings."""
        raw = asdict(self)
        raw["outbox_dir"] = str(self.outbox_dir)
        return json.dumps(raw)

    @classmethod
    def from_env(cls) -> GatewaySettings:
        raw = json.loads(os.environ[ENV_VAR])
        raw["outbox_dir"] = Path(raw["outbox_dir"])
        raw["rate_limit"] = RateLimit(**raw["rate_limit"])
        raw["allowed_origins"] = tuple(raw["allowed_origins"])
        return cls(**raw)


ENV_VAR = "GAVEL_GATEWAY_SETTINGS"
"""Carries the settings to worker processes when ``gavel gateway --workers N`` forks."""
