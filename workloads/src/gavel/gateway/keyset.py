"""The bidder-token public keys a gateway process holds, fetched from the JWKS and kept fresh.

A thin adapter around :mod:`gavel.gateway.jwks`: reads the document from an ``http(s)://`` URL
or a mounted file (in a thread, off the event loop), swaps in the parsed keys, and tells its
listeners (the :class:`gavel.gateway.auth.TokenCache`) which keys left so tokens verified with
them stop being served. :meth:`KeySet.run` refreshes on the policy's schedule;
:meth:`KeySet.refresh_for_unknown_kid` fetches early, rate-limited, when a token names a key
not held. A failed fetch keeps the keys held (an issuer outage must not refuse every bidder).
Built by :mod:`gavel.gateway.handling`, run by the app's lifespan.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from gavel.gateway import metrics
from gavel.gateway.jwks import JwksError, PublicKey, RefreshPolicy, parse

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0
MAX_DOCUMENT_BYTES = 256 * 1024


def read_document(source: str) -> bytes:
    """The JWKS document at ``source`` (a URL or a file path); raises OSError or ValueError."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_S) as resp:  # noqa: S310 - scheme checked
            body: bytes = resp.read(MAX_DOCUMENT_BYTES + 1)
    else:
        body = Path(source).read_bytes()
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"the JWKS at {source} is larger than {MAX_DOCUMENT_BYTES} bytes")
    return body


class KeySet:
    """The keys held now (:meth:`current`), refreshed from ``source``."""

    def __init__(
        self,
        source: str,
        policy: RefreshPolicy,
        fetch: Callable[[str], bytes] = read_document,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.policy = policy
        self._fetch = fetch
        self._clock = clock
        self._keys: Mapping[str, PublicKey] = {}
        self._last_fetch: float | None = None
        self._removed_listeners: list[Callable[[Iterable[str]], object]] = []
        self._lock = asyncio.Lock()

    def current(self) -> Mapping[str, PublicKey]:
        return self._keys

    def on_removed(self, listener: Callable[[Iterable[str]], object]) -> None:
        """Call ``listener(kids)`` whenever a fetch no longer lists keys held before."""
        self._removed_listeners.append(listener)

    async def refresh(self, why: str = "schedule") -> bool:
        """Fetch the JWKS now; True if it was read and parsed (the keys then replace ours)."""
        async with self._lock:
            self._last_fetch = self._clock()
            try:
                fresh = parse(await asyncio.to_thread(self._fetch, self.source))
            except (OSError, ValueError, JwksError) as exc:
                metrics.JWKS_FETCHES.labels(why, "failed").inc()
                log.warning(
                    "JWKS fetch from %s failed (keeping %d keys): %s",
                    self.source,
                    len(self._keys),
                    exc,
                )
                return False
            removed = self._keys.keys() - fresh.keys()
            self._keys = fresh
            metrics.JWKS_FETCHES.labels(why, "ok").inc()
            metrics.JWKS_KEYS.set(len(fresh))
            if removed:
                log.info("bidder-token keys removed from the JWKS: %s", sorted(removed))
                for listener in self._removed_listeners:
                    listener(removed)
            return True

    async def refresh_for_unknown_kid(self, kid: str) -> bool:
        """Fetch early for a token naming ``kid``, if the policy allows; True if now held."""
        if kid in self._keys:
            return True  # another request's fetch brought it in meanwhile
        if not self.policy.may_fetch_for_unknown_kid(self._clock(), self._last_fetch):
            return False
        await self.refresh("unknown_kid")
        return kid in self._keys

    async def run(self) -> None:
        """Refresh on the policy's schedule (every ``min_gap_s`` while no key is held),
        forever (cancel to stop)."""
        while True:
            if self.policy.due(self._clock(), self._last_fetch) or not self._keys:
                await self.refresh()
            last = self._last_fetch if self._last_fetch is not None else self._clock()
            # Without any key every bidder is refused: try again soon, not a whole interval on.
            every = self.policy.interval_s if self._keys else self.policy.min_gap_s
            await asyncio.sleep(max(0.05, last + every - self._clock()))
