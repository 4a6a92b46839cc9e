"""Fault plans for a herd: parsed from text or drawn from a seed. Pure.

A plan is a list of steps, ``<at>s <action> <target> [for <seconds>s]`` separated by ``;``::

    30s kill relay/us; 45s stop fanout/eu for 5s; 60s kill audit-writer/eu

``at`` is seconds from the herd's start; ``kill`` ends a process at once (SIGKILL: it is
restarted as Kubernetes would), ``stop`` freezes it (SIGSTOP) for the given time and then lets
it run on. Targets are ``<kind>/<region>``: a workload (gateway, relay, fanout, audit-writer), or
a server the workloads depend on (kafka, mirror: a stalled broker or MirrorMaker 2), which may
only be stopped, since nothing in a herd restarts a killed server as a Deployment restarts a
workload. Whoever runs the workloads executes the plan (the dev stack's supervisor,
:mod:`gavel_devstack.harness.chaos`) and records each fault with its time.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from enum import StrEnum

WORKLOAD_KINDS = ("gateway", "relay", "fanout", "audit-writer")
SERVER_KINDS = ("kafka", "mirror")
"""Servers under the workloads that a plan may stop (never kill)."""
MAX_STOP_S = 120.0


class Action(StrEnum):
    KILL = "kill"
    STOP = "stop"


class ChaosError(ValueError):
    """A plan that cannot be carried out as written."""


@dataclass(frozen=True, slots=True)
class Fault:
    at_s: float
    action: Action
    kind: str
    region: str
    for_s: float = 0.0
    """How long a ``stop`` lasts; 0 for a kill."""

    @property
    def target(self) -> str:
        return f"{self.kind}/{self.region}"

    def __str__(self) -> str:
        tail = f" for {self.for_s:g}s" if self.action is Action.STOP else ""
        return f"{self.at_s:g}s {self.action} {self.target}{tail}"


_STEP = re.compile(
    r"^(?P<at>\d+(?:\.\d+)?)s\s+(?P<action>[a-z]+)\s+(?P<kind>[a-z-]+)/(?P<region>[a-z0-9-]+)"
    r"(?:\s+for\s+(?P<for>\d+(?:\.\d+)?)s)?$"
)


def parse(plan: str, regions: tuple[str, ...]) -> list[Fault]:
    """The faults of ``plan`` in time order; :class:`ChaosError` names the first bad step."""
    faults = []
    for raw in plan.split(";"):
        step = " ".join(raw.split())
        if not step:
            continue
        m = _STEP.match(step)
        if m is None:
            raise ChaosError(
                f"{step!r}: write '<at>s kill <kind>/<region>' or "
                f"'<at>s stop <kind>/<region> for <n>s'"
            )
        try:
            action = Action(m["action"])
        except ValueError:
            raise ChaosError(f"{step!r}: unknown action {m['action']!r} (kill, stop)") from None
        if m["kind"] not in (*WORKLOAD_KINDS, *SERVER_KINDS):
            raise ChaosError(
                f"{step!r}: unknown target {m['kind']!r} "
                f"({', '.join((*WORKLOAD_KINDS, *SERVER_KINDS))})"
            )
        if m["region"] not in regions:
            raise ChaosError(f"{step!r}: region {m['region']!r} is not one of {list(regions)}")
        lasts = float(m["for"] or 0)
        if action is Action.STOP and not 0 < lasts <= MAX_STOP_S:
            raise ChaosError(f"{step!r}: a stop needs 'for <n>s', 0 < n <= {MAX_STOP_S:g}")
        if action is Action.KILL and m["for"]:
            raise ChaosError(f"{step!r}: a kill takes no duration")
        if action is Action.KILL and m["kind"] in SERVER_KINDS:
            raise ChaosError(
                f"{step!r}: {m['kind']} can only be stopped ('stop {m['kind']}/{m['region']} "
                "for <n>s'): nothing in a herd restarts a killed server"
            )
        faults.append(Fault(float(m["at"]), action, m["kind"], m["region"], lasts))
    return sorted(faults, key=lambda f: f.at_s)


def random_plan(
    seed: int, regions: tuple[str, ...], start_s: float, end_s: float, count: int = 3
) -> list[Fault]:
    """``count`` faults between ``start_s`` and ``end_s``, reproducibly from ``seed``: mostly
    kills, sometimes a stop of up to 5 s."""
    rng = random.Random(seed)
    faults = []
    for _ in range(count):
        at = round(rng.uniform(start_s, end_s), 1)
        kind, region = rng.choice(WORKLOAD_KINDS), rng.choice(regions)
        if rng.random() < 0.25:
            faults.append(Fault(at, Action.STOP, kind, region, round(rng.uniform(1, 5), 1)))
        else:
            faults.append(Fault(at, Action.KILL, kind, region))
    return sorted(faults, key=lambda f: f.at_s)


def describe(faults: list[Fault]) -> str:
    """The plan as text that :func:`parse` reads back."""
    return "; ".join(map(str, faults))
