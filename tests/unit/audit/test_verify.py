from __future__ import annotations

import io

import pytest
from rich.console import Console

from gavel.audit.chain_check import Anchor, Report, check
from gavel.audit.verify import parse_anchor, render
from tests.support.chain_rows import DROP, edge, head_of, linked
from tests.support.records import changed


def text(report: Report) -> str:
    out = io.StringIO()
    Console(file=out, width=200).print(render(report))
    return out.getvalue()


def test_an_intact_anchored_chain_says_so_with_its_head() -> None:
    rows = linked(4)
    shown = text(check(DROP, [*rows, edge(1)], head_of(rows)))
    assert "chain of d1 intact: #1..#4 (4 links)" in shown
    assert "edge decisions (no chain by design): 1" in shown
    assert f"head: 4:{rows[-1].chain.hash}" in shown
    assert "anchored to test" in shown


def test_a_broken_chain_names_the_first_break_and_lists_every_one() -> None:
    rows = linked(8)
    rows[5] = changed(rows[5], amount=1)
    del rows[2]
    shown = text(check(DROP, rows))
    assert "BROKEN: first break at #3: row removed" in shown
    assert "#6" in shown
    assert "changed" in shown
    assert rows[4].event_id in shown
    assert "not anchored" in shown


def test_a_head_is_n_colon_hash() -> None:
    assert parse_anchor("12:" + "a" * 40) == Anchor(12, "a" * 40, "given head")
    for bad in ("12", "0:" + "a" * 40, "x:" + "a" * 40, "3:" + "A" * 40, "3:abc"):
        with pytest.raises(ValueError, match="N:HASH"):
            parse_anchor(bad)
