"""One server process of the local stack, as :mod:`gavel_devstack.components` and
:mod:`gavel_devstack.clusters` describe it and :mod:`gavel_devstack.stack` runs it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

NO_PORT = 0
"""Port of a component that listens on none (MirrorMaker 2 only connects out)."""

SHARED = "shared"
"""Region column of components that serve every region (Cassandra)."""


@dataclass(slots=True)
class Component:
    """One server process of the stack and everything needed to start and check it."""

    kind: str
    region: str
    port: int
    argv: list[str]
    probe: Callable[[], bool]
    timeout_s: float
    files: dict[Path, str] = field(default_factory=dict)
    after: tuple[str, ...] = ()
    prepare: Callable[[], None] | None = None
    when_ready: Callable[[], None] | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.region}"

    @property
    def log_name(self) -> str:
        return f"{self.kind}-{self.region}.log"

    def fingerprint(self) -> str:
        """Hash of what the process was started with; a change means it must restart."""
        h = hashlib.sha256("\0".join(self.argv).encode())
        for path in sorted(self.files):
            h.update(str(path).encode() + b"\0" + self.files[path].encode())
        return h.hexdigest()[:16]
