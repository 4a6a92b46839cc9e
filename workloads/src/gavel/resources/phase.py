"""A Drop's phases, named once. Pure.

Decided by :func:`gavel_operator.scheduling.phase_at`, written to ``status.phase`` (the CRD's
enum is generated from this class), counted by the operator's metrics and told in the Drop's
events. The order is the lifecycle's: Failed and Cancelled end a drop early.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    SCHEDULED = "Scheduled"
    PRE_SCALING = "PreScaling"
    LIVE = "Live"
    CLOSED = "Closed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


FROZEN_PHASES = (Phase.LIVE, Phase.CLOSED)
"""Phases in which bidders have bid under the drop's rules, so they may no longer change."""


def listed(phases: tuple[Phase, ...] = tuple(Phase)) -> str:
    """``Scheduled, PreScaling, ... or Cancelled``: phases as prose, for descriptions."""
    *most, last = (str(p) for p in phases)
    return f"{', '.join(most)} or {last}"
