"""``gavel herd``: one drop driven like a launch against a running Gavel, then checked.

Pure parts: :mod:`~gavel.herd.records` (what clients saw), :mod:`~gavel.herd.latency`
(summaries), :mod:`~gavel.herd.checker` (the Jepsen-style verdict), :mod:`~gavel.herd.shape`
(sizes, profiles, timeline) and :mod:`~gavel.herd.chaos` (fault plans). I/O:
:mod:`~gavel.herd.observers` and :mod:`~gavel.herd.bidders` (the load clients, REST over
:mod:`~gavel.herd.http1`), :mod:`~gavel.herd.stores` (the final state and the audit trail) and
:mod:`~gavel.herd.run`, which wires them; :mod:`~gavel.herd.summary` prints a result. ``gavel
herd`` (:mod:`gavel.cli.herd_commands`) and the dev stack's ``scripts/herd`` call the runner.
"""
