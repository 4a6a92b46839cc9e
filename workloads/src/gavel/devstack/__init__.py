"""The local stack: real Redis, Kafka + MirrorMaker 2, Cassandra and Kubernetes API servers.

Run through ``scripts/stack`` (which bootstraps the venv, then ``python -m gavel.devstack``) and
by the pytest fixtures in ``tests/conftest.py``. Nothing in the workloads or the operator
imports this package; it imports their pure parts (topic names, the MirrorMaker renderer) so the
local stack runs exactly the configuration production runs.

Modules, lowest layer first: ``versions`` (pins), ``layout`` (regions and ports, pure),
``configs`` (config-file renderers, pure), ``install`` (builds and downloads, cached outside the
clone), ``process`` (spawn, stop, log tails), ``probes`` (readiness checks against the real
servers), ``components`` (what to run per component), ``stack`` (up/down/status orchestration),
``cli``.
"""
