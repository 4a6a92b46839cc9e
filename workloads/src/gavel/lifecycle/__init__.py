"""What every long-running workload repeats: retrying, resting, stopping, the side port.

Used by the relay, the audit writer and the fan-out (``gavel relay``, ``gavel audit-writer``,
``gavel fanout``). Modules, none importing another, none knowing a dependency's client:

* ``retrying`` — a step retried on transient errors after a backoff until it succeeds or a
  stop event is set; a periodic step until stopped; a rest that ends early on stop;
* ``signals`` — SIGTERM and SIGINT set a stop event; ``run_until_signalled`` runs a workload in
  a new event loop with it;
* ``sideport`` — the tiny HTTP server of the workloads' side ports and its probe answers
  (``/healthz``, ``/readyz``, ``/metrics``).

Nothing is imported here, so a workload loads only the parts it uses.
"""
