"""Gavel workloads: the processes that run a drop (gateway, relay, fan-out, audit writer).

Layers, lowest first (enforced by import-linter, see pyproject.toml): facts shared by every
workload (``topics``), pure renderers (``mirror``), then the process entry points and the ``cli``
that wires them together. The local development stack and the demos are not part of this
package (nor of the wheel or the image): they live beside it in the repository and import it.
"""
