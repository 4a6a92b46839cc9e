from __future__ import annotations

from pathlib import Path

from gavel_devstack import components_redis, layout
from tests.unit.gavel_devstack.test_real_nodes import INST


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_the_nodes_of_a_region_rewrite_their_append_only_files_at_different_sizes(
    tmp_path: Path,
) -> None:
    """Colocated nodes get the same writes; one shared threshold would fork them together."""
    comps = components_redis.region_redis(
        INST, tmp_path, "us", layout.ports_for_block(3).regions["us"]
    )
    nodes = [c for c in comps if c.kind == "redis" or c.kind in components_redis.REPLICA_KINDS]
    assert len(nodes) == 1 + layout.REDIS_REPLICAS
    sizes = [_flag(c.argv, "--auto-aof-rewrite-min-size") for c in nodes]
    assert sizes[0] == "64mb"  # the primary keeps Redis's default
    assert len(set(sizes)) == len(sizes)
    assert all("--appendonly" in c.argv for c in nodes)
