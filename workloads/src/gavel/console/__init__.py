"""The merch console: ``gavel drops schedule|list|watch|results``, for the people who run drops.

Mounted by :mod:`gavel.cli.drops_commands`. Pure parts decide and draw; thin adapters read:

* :mod:`.manifest` (pure): a Drop file read and checked for shape before it goes to the hub;
* :mod:`.hub` (adapter): Drops and Regions in the hub's API server (apply, get, list), with the
  API server's own refusal messages;
* :mod:`.snapshot` (pure): what a watch frame shows, from the raw readings (rates, countdown,
  phase);
* :mod:`.render` (pure): snapshots and drop lists as rich renderables;
* :mod:`.gather` (adapter): the readings from the home Redis and the workloads' ``/metrics``;
* :mod:`.live` (adapter): watch's loop on the terminal, and ``--once`` with its SVG picture;
* :mod:`.results` (pure): a closed drop's result from its audit trail, checked against the
  final Redis state, as a table, CSV or JSON;
* :mod:`.trail` (adapter): the audit trail and the final state read for :mod:`.results`.

Where each number comes from, and why there: docs/console.md and docs/decisions.md.
"""
