"""The relay (``gavel relay``): drains the drops' Redis outboxes and the gateway's disk outbox
into Kafka, acknowledging each entry only after Kafka acknowledged what it became.

Step 3 of the hot path (see docs/relay.md). Modules, lowest first:

* ``plan`` — which Kafka records a batch of outbox entries becomes (pure);
* ``settings`` — configuration, one frozen dataclass built by ``gavel relay`` or a test;
* ``metrics`` — Prometheus counters and gauges, in a registry per relay;
* ``streams`` — Redis adapter: the drop index, the consumer group, read / claim / ack;
* ``sink`` — Kafka adapter: send a batch through the idempotent producer, await every ack;
* ``segments`` — ships closed disk-outbox segments and deletes them once acknowledged;
* ``web`` — the tiny HTTP server for ``/healthz``, ``/readyz`` and ``/metrics``;
* ``service`` — :func:`run`: wires the above into the relay loops.
"""

from __future__ import annotations

from gavel.relay.service import run, run_until_signalled
from gavel.relay.settings import RelaySettings

__all__ = ["RelaySettings", "run", "run_until_signalled"]
