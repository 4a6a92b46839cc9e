"""The local stack: real Redis, Kafka + MirrorMaker 2, Cassandra and Kubernetes API servers.

Development tooling, outside the product: the editable install of ``scripts/bootstrap`` puts
``devstack/src`` on the path, while the wheel and the image carry only ``gavel`` and
``gavel_operator``. Run through ``scripts/stack`` (which bootstraps the venv, then ``python -m
gavel_devstack``), ``scripts/demo`` and ``scripts/operator-demo``, and by the pytest fixtures in
``tests/conftest.py``. Nothing in the workloads or the operator imports this package; it imports
their pure parts (topic names, the MirrorMaker renderer, Redis's persistence flags) so the local
stack runs exactly the configuration production runs.

Modules, lowest layer first: ``versions`` (pins), ``layout`` (regions and ports, pure),
``configs`` (config-file renderers, pure), ``install`` (builds and downloads, cached outside the
clone), ``process`` (spawn, stop, log tails), ``probes`` (readiness checks against the real
servers), ``component`` (one server process), ``clusters`` (the Kubernetes clusters' processes),
``components`` (what to run per component), ``stack`` (up/down/status orchestration),
``cli``; beside it the two demos, ``demo`` and ``operator_demo``, and above the harness
``herd`` (``scripts/herd``; ``scripts/demo`` runs it before ``demo``).
"""
