"""Per-second series: counted into buckets during the run, read back from the JSON."""

from __future__ import annotations

import pytest

from gavel.herd.series import Mark, MarkKind, Series


def test_counts_add_up_per_second_and_groups_split_by_label() -> None:
    s = Series()
    for second in (0, 0, 1):
        s.add("answers/accepted", second)
    s.add("answers/below_minimum", 1, 3)
    s.put("observers/us", 1, 40)
    s.put("observers/us", 1, 42)  # a sample replaces
    assert s.group("answers") == {"accepted": {0: 2, 1: 1}, "below_minimum": {1: 3}}
    assert s.group("observers") == {"us": {1: 42}}
    assert s.group("nothing") == {}


def test_the_json_reads_back_and_a_bad_pair_is_named() -> None:
    s = Series()
    s.add("deliveries/eu", 3, 250)
    s.add("deliveries/eu", 1, 10)
    doc = s.as_json()
    assert doc == {"deliveries/eu": [[1, 10], [3, 250]]}
    assert Series.from_json(doc).values == s.values
    with pytest.raises(ValueError, match="deliveries/eu"):
        Series.from_json({"deliveries/eu": [[1, 2, 3]]})


def test_a_mark_as_json() -> None:
    assert Mark(12.3456, "relay/us killed", MarkKind.FAULT).as_json() == {
        "t_s": 12.346,
        "label": "relay/us killed",
        "kind": "fault",
    }
