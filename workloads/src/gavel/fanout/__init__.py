"""Fan-out (``gavel fanout``): live prices to millions of observers, one region at a time.

Modules, lowest first: ``messages`` (the observer wire format, pure), ``feed`` (per-drop
latest state and bounded history, pure), ``settings``, ``metrics``, ``hub`` (who watches what;
broadcast of pre-encoded frames with conflation for slow sockets), ``connection`` (one socket:
the websockets Sans-I/O protocol around an asyncio transport), ``ingest`` (Kafka -> feeds),
``server`` (wires them, serves health and metrics on the same port).

The design follows the websockets library's own advice for broadcast at scale: encode each
message once, write the same bytes to every socket, and never let one slow client hold up the
others (docs/fanout.md).
"""
