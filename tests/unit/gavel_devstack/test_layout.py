from __future__ import annotations

import pytest

from gavel_devstack import layout

WELL_KNOWN = {2379, 2380, 6379, 6443, 7000, 7001, 7199, 8080, 9042, 9092, 9093}


@pytest.mark.parametrize("block", [0, 1, 117, layout.BLOCKS - 1])
def test_every_port_of_a_block_is_distinct_and_inside_the_block(block: int) -> None:
    ports = layout.ports_for_block(block).all_ports()
    base = layout.FIRST_PORT + block * layout.BLOCK_SIZE
    assert len(ports) == len(set(ports))
    assert all(base <= p < base + layout.BLOCK_SIZE for p in ports)


def test_blocks_never_overlap_and_stay_clear_of_standard_and_ephemeral_ports() -> None:
    seen: set[int] = set()
    for block in range(layout.BLOCKS):
        ports = set(layout.ports_for_block(block).all_ports())
        assert not ports & seen
        seen |= ports
    assert not seen & WELL_KNOWN
    assert max(seen) < 32768  # Linux's ephemeral range starts here


def test_kafka_has_a_pods_listener_port_in_the_first_four_regions_only() -> None:
    ports = layout.ports_for_block(3)
    given = [ports.regions[r].kafka_pods for r in layout.REGION_NAMES]
    assert given[-1] is None
    assert len(set(given[:-1])) == 4
    assert all(p in ports.all_ports() for p in given[:-1])


def test_every_region_has_ports_so_a_stack_can_grow_in_place() -> None:
    ports = layout.ports_for_block(3)
    assert list(ports.regions) == list(layout.REGION_NAMES)


@pytest.mark.parametrize("count", [0, 6, -1])
def test_region_count_outside_range_is_refused(count: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 5"):
        layout.regions_for(count)


def test_regions_are_taken_in_order() -> None:
    assert layout.regions_for(2) == ("us", "eu")
    assert layout.regions_for(5) == layout.REGION_NAMES


def test_preferred_block_is_stable_and_in_range() -> None:
    a = layout.preferred_block("/work/clone-a/.stack")
    assert a == layout.preferred_block("/work/clone-a/.stack")
    assert 0 <= a < layout.BLOCKS


def test_block_outside_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        layout.ports_for_block(layout.BLOCKS)
