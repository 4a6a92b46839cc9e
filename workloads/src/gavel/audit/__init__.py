"""The audit trail (``gavel audit-writer``, ``gavel audit``): every bid attempt, accepted or
rejected, in Cassandra exactly once, and ways to read it.

Step 6 of the hot path (see docs/audit.md). The writer consumes its region's ``gavel.audit``
and writes one row per event id; offsets are committed only after Cassandra acknowledged every
record before them. Modules, lowest first:

* ``schema`` — keyspace, tables, columns, bucket width, the versioned migration;
* ``settings`` — configuration, one frozen dataclass (pure);
* ``rows`` — an event as a row, with the checks that keep unwritable rows out (pure);
* ``records`` — a consumed record becomes a row or a dead letter (pure);
* ``offsets`` — which offsets may be committed, per partition, contiguously (pure);
* ``chain_check`` — a drop's audit hash chain checked from its rows: what broke where (pure);
* ``metrics`` — Prometheus counters and gauges, readiness flags;
* ``store`` — Cassandra adapter: connect, migrate, prepared writes and reads, asyncio bridge;
* ``reading`` — a drop's trail page by page, with filters and page tokens;
* ``web`` — the tiny HTTP server: probes, metrics and the audit API;
* ``loops`` — the consume, commit and gauge loops of one writer, and its drain on stop;
* ``service`` — :func:`run`: connects, runs the loops, closes in order; signal handling;
* ``show`` — ``gavel audit show``: a rich table or JSON lines;
* ``verify`` — ``gavel audit verify``: reads a drop's rows (and its head in Redis), prints the
  chain check.

Nothing is imported here, so ``gavel audit show`` does not load Kafka clients.
"""
