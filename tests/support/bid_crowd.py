"""A crowd of bidders hammering one drop through a real gateway, recording every answer.

Used by the Redis failover tests: the crowd bids while a fault is injected, then the test
checks every answer against what the surviving primary and the disk outbox hold.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from gavel_devstack.harness import tokens


@dataclass(frozen=True, slots=True)
class Answer:
    bidder: str
    bid_id: str
    amount: int
    status: int
    body: dict[str, object]
    sent: float
    """time.monotonic() when the request was sent."""
    answered: float


@dataclass
class Crowd:
    """``bidders`` concurrent bidders on ``drop``, each with its own connection.

    Crowds that bid on one drop through different gateways take distinct ``names`` and share
    one ``amounts`` counter, so their bidders and bids never collide."""

    base: str
    stack_env: Mapping[str, str]
    """The stack's env: tokens are signed with its issuer's keys."""
    drop: str
    bidders: int = 8
    name: str = "crowd"
    amounts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    answers: list[Answer] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    """Requests that got no HTTP answer at all (the gateway never answered)."""
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def _bidder(self, n: int) -> None:
        name = f"{self.name}-{n}"
        headers = {"Authorization": f"Bearer {tokens.mint(self.stack_env, name)}"}
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            for i in itertools.count():
                if self._stop.is_set():
                    return
                # Amounts rise with a shared counter: concurrent bids race, some lose.
                amount = 1_000 + 100 * next(self.amounts)
                bid_id = f"{n}-{i}"
                sent = time.monotonic()
                try:
                    r = await http.post(
                        f"/v1/drops/{self.drop}/bids",
                        json={"bid_id": bid_id, "amount": amount},
                        headers=headers,
                    )
                except httpx.HTTPError as exc:
                    self.failures.append(f"{bid_id}: {exc!r}")
                    continue
                body = r.json()
                self.answers.append(
                    Answer(name, bid_id, amount, r.status_code, body, sent, time.monotonic())
                )
                if r.status_code == 503:
                    # The gateway asks for a pause (Retry-After); a short one keeps the test
                    # quick while not spinning on a region that is failing over.
                    assert r.headers.get("retry-after") == "1", r.headers
                    await asyncio.sleep(0.05)

    async def run_until(self, done: asyncio.Event) -> None:
        """Bid until ``done`` is set."""
        tasks = [asyncio.create_task(self._bidder(n)) for n in range(self.bidders)]
        await done.wait()
        self._stop.set()
        await asyncio.gather(*tasks)

    def accepted_after(self, t: float) -> Answer | None:
        """The first accepted bid whose request was sent after ``t``."""
        late = [a for a in self.answers if a.status == 201 and a.sent > t]
        return min(late, key=lambda a: a.answered, default=None)
