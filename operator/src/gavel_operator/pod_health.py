"""What the pods of a region's workloads say is wrong with them, as a Region condition. Pure.

Called by :mod:`gavel_operator.region_sync` with the pods it lists in the region (those
labelled as managed by the operator) every tick. A Deployment's ready count tells that
something is short; the pods tell why, in words a platform engineer can act on without
reading pod logs: an image the node does not have, a container that keeps crashing (with its
last termination message: the rendered containers put the end of their log there), a pod no
node takes, or a container that runs but never becomes ready (its readiness needs the Region's
endpoints, so an address that is wrong or unreachable from the region's pods shows here).

The condition is ``PodsHealthy``; its message names at most :data:`SHOWN` problems. A change of
the condition becomes one Kubernetes Event on the Region (:func:`event`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gavel_operator.conditions import Observed

Obj = dict[str, Any]

CONDITION = "PodsHealthy"

IMAGE_MISSING = "ImageMissing"
CRASH_LOOPING = "CrashLooping"
UNSCHEDULABLE = "Unschedulable"
NOT_READY = "NotReady"
ORDER = (IMAGE_MISSING, CRASH_LOOPING, UNSCHEDULABLE, NOT_READY)
"""Most specific first: the condition's reason is the first kind of problem found."""

IMAGE_WAITING = frozenset(
    {
        "ErrImageNeverPull",
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
    }
)
CRASH_WAITING = frozenset({"CrashLoopBackOff", "RunContainerError", "CreateContainerError"})

NOT_READY_AFTER_S = 60.0
"""A running container not ready for this long is a problem, not a start: the startup probe
allows 120 s before a restart, but a readiness that fails for a minute after the process
answers /healthz is a dependency it cannot reach."""

SHOWN = 3
TERMINATION_CHARS = 300
"""Of a termination message (up to 80 log lines with FallbackToLogsOnError): its end, where a
traceback's exception is."""


@dataclass(frozen=True, slots=True)
class Problem:
    reason: str
    pod: str
    container: str
    message: str


Needs = Mapping[str, str]
"""Per container name, what its readiness needs (the Region's addresses), said in words."""


def problems(pods: list[Obj], now: float, *, needs: Needs | None = None) -> list[Problem]:
    """Every problem of ``pods`` at ``now``, most specific kind first, then by pod name.
    ``needs`` is named when a container never becomes ready."""
    found: list[Problem] = []
    for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
        if pod["metadata"].get("deletionTimestamp") or _status(pod).get("phase") in _ENDED:
            continue
        found += _of_pod(pod, now, needs or {})
    return sorted(found, key=lambda p: ORDER.index(p.reason))


def assess(pods: list[Obj], now: float, *, needs: Needs | None = None) -> Observed:
    """The ``PodsHealthy`` condition of a region whose workloads run ``pods``."""
    found = problems(pods, now, needs=needs)
    if not found:
        return Observed(CONDITION, True, "Healthy", f"{len(pods)} pods, none failing")
    shown = "; ".join(p.message for p in found[:SHOWN])
    more = f" (and {len(found) - SHOWN} more)" if len(found) > SHOWN else ""
    return Observed(CONDITION, False, found[0].reason, shown + more)


def event(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> tuple[str, str, str] | None:
    """(type, reason, message) of the Event for a ``PodsHealthy`` condition that changed
    between two condition lists; None when it did not (or was not observed)."""
    old = next((c for c in before if c.get("type") == CONDITION), None)
    new = next((c for c in after if c.get("type") == CONDITION), None)
    if new is None or (old is not None and _same(old, new)):
        return None
    if new.get("status") == "True":
        if old is None:
            return None  # healthy from the start: nothing to tell
        return "Normal", "PodsHealthy", str(new.get("message", ""))
    return "Warning", str(new.get("reason", "")), str(new.get("message", ""))


_ENDED = frozenset({"Succeeded", "Failed"})


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("status", "reason", "message"))


def _status(pod: Obj) -> Obj:
    return dict(pod.get("status") or {})


def _of_pod(pod: Obj, now: float, needs: Needs) -> list[Problem]:
    name = str(pod["metadata"]["name"])
    status = _status(pod)
    unscheduled = next(
        (
            c
            for c in status.get("conditions") or []
            if c.get("type") == "PodScheduled" and c.get("status") == "False"
        ),
        None,
    )
    if unscheduled is not None:
        why = unscheduled.get("message") or unscheduled.get("reason") or "no node takes it"
        return [Problem(UNSCHEDULABLE, name, "", f"pod {name} is not scheduled: {why}")]
    images = {c["name"]: c.get("image", "") for c in pod.get("spec", {}).get("containers", [])}
    images |= {c["name"]: c.get("image", "") for c in pod.get("spec", {}).get("initContainers", [])}
    statuses = [
        *(status.get("initContainerStatuses") or []),
        *(status.get("containerStatuses") or []),
    ]
    found = []
    for c in statuses:
        image = images.get(c["name"], c.get("image", ""))
        problem = _of_container(name, c, image, now, needs.get(c["name"], ""))
        if problem is not None:
            found.append(problem)
    return found


def _of_container(pod: str, c: Obj, image: str, now: float, needs: str) -> Problem | None:
    where = f"pod {pod}, container {c['name']}"
    state = c.get("state") or {}
    waiting = state.get("waiting") or {}
    reason = str(waiting.get("reason", ""))
    if reason in IMAGE_WAITING:
        detail = waiting.get("message") or reason
        return Problem(
            IMAGE_MISSING,
            pod,
            c["name"],
            f"{where}: image {image} is not on the node and cannot be pulled ({reason}: {detail})",
        )
    last = (c.get("lastState") or {}).get("terminated")
    if reason in CRASH_WAITING or (reason and last and c.get("restartCount", 0) > 0):
        return Problem(
            CRASH_LOOPING, pod, c["name"], f"{where} keeps crashing ({reason}){_ended(last)}"
        )
    running = state.get("running")
    if running and not c.get("ready"):
        started = _seconds(running.get("startedAt"))
        if started is not None and now - started >= NOT_READY_AFTER_S:
            hint = f"; its readiness needs {needs}" if needs else ""
            return Problem(
                NOT_READY,
                pod,
                c["name"],
                f"{where} runs but has not been ready for over {NOT_READY_AFTER_S:.0f}s{hint}",
            )
    return None


def _ended(last: Obj | None) -> str:
    if not last:
        return ""
    code = last.get("exitCode")
    why = last.get("reason") or (f"signal {last['signal']}" if last.get("signal") else "")
    text = " ".join(str(last.get("message") or "").split())
    if len(text) > TERMINATION_CHARS:
        text = "…" + text[-TERMINATION_CHARS:]
    said = f": {text}" if text else ""
    return f"; last exit code {code}" + (f" ({why})" if why else "") + said


def _seconds(stamp: object) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
