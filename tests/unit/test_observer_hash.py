from __future__ import annotations

import re

from gavel import observer_hash
from gavel.observer_hash import RegionObservers, figures
from tests.support import lua

NOW = 1_000_000


def test_the_region_count_sums_the_live_processes_only() -> None:
    raw = {
        b"p:fo-a-1": b"3 1000500",
        b"p:fo-b-1": b"4 1000000",  # expires this very millisecond: still counts
        b"p:fo-c-1": b"9 999999",  # expired: a process that died without leaving
        b"peak": b"12",
        b"peak_ms": b"990000",
    }
    assert figures(raw, NOW) == RegionObservers(current=7, peak=12, peak_ms=990_000, processes=2)


def test_an_empty_hash_is_nobody_ever_watched() -> None:
    assert figures({}, NOW) == RegionObservers(current=0, peak=0, peak_ms=None, processes=0)


def test_the_peak_stays_after_every_process_left() -> None:
    assert figures({"peak": "5", "peak_ms": "7"}, NOW) == RegionObservers(0, 5, 7, 0)


def test_a_malformed_process_entry_is_not_counted() -> None:
    for value in ("3", "x 1000500", "3 soon", "-1 1000500", ""):
        assert observer_hash.process_entry(value) is None
    assert figures({"p:x": "3", "p:y": "2 2000000"}, NOW).current == 2


def test_the_script_writes_exactly_the_fields_named_here() -> None:
    """lua/observers.lua writes the hash (KEYS[2]); a field renamed there must be renamed here."""
    used = {
        w
        for call in lua.calls("observers")
        if call.key == "KEYS[2]"
        for w in call.quoted
        if not w.startswith("%")  # string.format patterns of values
    }
    assert used == {observer_hash.PEAK, observer_hash.PEAK_MS}
    source = lua.source("observers")
    assert f"'{observer_hash.PROCESS_PREFIX}'" in source
    # The entry's format is the one process_entry reads.
    assert "'%d %d'" in source
    assert re.search(r"\^\(%d\+\) \(%d\+\)\$", source)
