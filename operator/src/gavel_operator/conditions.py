"""Status conditions and status patches. Pure.

Called by the Region and Drop reconcilers when they build a status, and by the handlers when
they turn it into a patch. A condition's
``lastTransitionTime`` moves only when its status flips, so ``kubectl describe`` tells how long
a region has been unreachable rather than when the operator last looked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gavel.resources.fields import Condition as ConditionModel

Condition = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Observed:
    """One condition as a reconcile saw it."""

    type: str
    status: bool
    reason: str
    message: str = ""


def stamp(now: float) -> str:
    """RFC 3339 in UTC with a Z, as the API server writes times."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(
    previous: Sequence[ConditionModel | Mapping[str, Any]] | None,
    observed: list[Observed],
    now: float,
    generation: int,
) -> list[Condition]:
    """``observed`` as conditions, keeping each one's transition time when its status held;
    conditions not observed this time are kept as they were. ``previous``: the conditions of a
    parsed status, or what an earlier merge returned."""
    before = {c.get("type"): c for c in map(_plain, previous or ())}
    merged: dict[str, Condition] = {str(k): v for k, v in before.items() if k is not None}
    for o in observed:
        status = "True" if o.status else "False"
        old = before.get(o.type)
        since = (
            old["lastTransitionTime"]
            if old and old.get("status") == status and old.get("lastTransitionTime")
            else stamp(now)
        )
        merged[o.type] = {
            "type": o.type,
            "status": status,
            "reason": o.reason,
            "message": o.message,
            "lastTransitionTime": since,
            "observedGeneration": generation,
        }
    return sorted(merged.values(), key=lambda c: str(c["type"]))


def _plain(condition: ConditionModel | Mapping[str, Any]) -> Condition:
    if isinstance(condition, ConditionModel):
        return condition.model_dump(mode="json", by_alias=True, exclude_none=True)
    return dict(condition)


def merge_patch(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) taking ``old`` to ``new`` for the keys of ``new``:
    unchanged keys are left out, keys a nested object lost become None (merge patches delete
    with null), lists are replaced whole. Keys of ``old`` that ``new`` does not mention stay."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        if isinstance(value, dict) and isinstance(before, dict):
            nested = merge_patch(before, value)
            nested |= {k: None for k in before if k not in value}
            patch[key] = nested
        else:
            patch[key] = value
    return patch
