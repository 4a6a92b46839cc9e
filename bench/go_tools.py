"""The benchmarks' Go load clients (``bench/<name>/``), built on first use into the cache.

A Python load generator on these two cores takes CPU from the very process it measures, so
the clients that must be cheap are small Go programs: ``fanout_client`` (bench/fanout.py) and
``bidder_client`` (bench/gateway.py). Each binary is named by a digest of its source, so an
edited client is rebuilt and an unchanged one never is.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from gavel_devstack.install import cache_dir

BENCH = Path(__file__).resolve().parent


def go_tool(name: str) -> Path:
    """The binary of ``bench/<name>/`` (``main.go`` and ``go.mod``), built if missing."""
    source = BENCH / name
    # A content digest: hash() of bytes changes with every interpreter's hash seed.
    digest = hashlib.sha256((source / "main.go").read_bytes() + (source / "go.mod").read_bytes())
    binary = cache_dir() / "bench" / f"{name.replace('_', '-')}-{digest.hexdigest()[:16]}"
    if not binary.exists():
        subprocess.run(
            ["go", "build", "-o", str(binary), "."],
            cwd=source,
            check=True,
            env={**os.environ, "GOFLAGS": "-mod=mod"},
        )
    return binary
