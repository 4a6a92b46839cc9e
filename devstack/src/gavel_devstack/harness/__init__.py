"""Gavel's workloads run as real processes against a running local stack, and watched.

Shared by the tests (``tests/``) and the benchmarks (``bench/``): free ports and the stack's
endpoints (:mod:`.processes`, :mod:`.stack_env`), waiting for a condition rather than for time
(:mod:`.waiting`), starting a gateway, relay, fan-out or audit writer and reading what it did
(:mod:`.gateway`, :mod:`.relay`, :mod:`.fanout`, :mod:`.audit`), opening test drops
(:mod:`.drops`) and tailing Kafka (:mod:`.kafka`). It lives here, not under ``tests/``, so that
nothing imports the tests (import-linter holds that); it imports no test framework.
"""
