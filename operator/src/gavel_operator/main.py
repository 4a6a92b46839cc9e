"""Run the operator: kopf over every namespace of the hub cluster. Called by ``gavel operator
run`` (and the Helm chart's Deployment, through it).

One active replica: the chart runs a single pod with the Recreate strategy, so kopf's peering
(and the RBAC it needs) is off (``standalone``).
"""

from __future__ import annotations

import asyncio
import logging

import kopf


def run(*, verbose: bool = False, liveness_port: int | None = 8085) -> None:
    from gavel_operator import handlers  # noqa: F401, PLC0415 - registers the handlers

    kopf.configure(verbose=verbose)
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    if not verbose:
        # kopf reports every timer run at INFO; the reconcilers log what they change.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    endpoint = f"http://0.0.0.0:{liveness_port}/healthz" if liveness_port else None
    asyncio.run(kopf.operator(clusterwide=True, standalone=True, liveness_endpoint=endpoint))
