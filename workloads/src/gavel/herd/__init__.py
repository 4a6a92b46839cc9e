"""``gavel herd``: one drop driven like a launch against a running Gavel, then checked.

Pure parts: :mod:`~gavel.herd.records` (what clients saw), :mod:`~gavel.herd.latency`
(summaries), :mod:`~gavel.herd.checker` (the Jepsen-style verdict) and
:mod:`~gavel.herd.shape` (sizes and phases). I/O: :mod:`~gavel.herd.observers` and
:mod:`~gavel.herd.bidders` (the load clients), :mod:`~gavel.herd.stores` (reading the final state
and the audit trail) and :mod:`~gavel.herd.run`, which wires them; ``gavel herd``
(:mod:`gavel.cli.herd_commands`) calls it.
"""
