from __future__ import annotations

from gavel_operator.conditions import Observed, merge, merge_patch, stamp


def test_transition_time_moves_only_when_the_status_flips() -> None:
    first = merge(None, [Observed("Ready", False, "Unreachable", "down")], now=100, generation=1)
    assert first[0]["lastTransitionTime"] == stamp(100)
    still = merge(first, [Observed("Ready", False, "Unreachable", "still down")], 200, 1)
    assert still[0]["lastTransitionTime"] == stamp(100)
    assert still[0]["message"] == "still down"
    back = merge(still, [Observed("Ready", True, "Synced")], 300, 2)
    assert back[0]["lastTransitionTime"] == stamp(300)
    assert (back[0]["status"], back[0]["observedGeneration"]) == ("True", 2)


def test_conditions_not_observed_are_kept_and_sorted() -> None:
    before = merge(None, [Observed("Synced", True, "Ok")], 1, 1)
    after = merge(before, [Observed("Degraded", False, "Ok")], 2, 1)
    assert [c["type"] for c in after] == ["Degraded", "Synced"]


def test_merge_patch_carries_only_changes_and_nulls_lost_keys() -> None:
    old = {"phase": "Live", "regions": {"us": {"ready": False, "message": "waiting"}}, "bids": 3}
    new = {"phase": "Live", "regions": {"us": {"ready": True}}, "bids": 4}
    assert merge_patch(old, new) == {"regions": {"us": {"ready": True, "message": None}}, "bids": 4}
    assert merge_patch(new, new) == {}


def test_merge_patch_replaces_lists_whole() -> None:
    assert merge_patch({"c": [1, 2]}, {"c": [2]}) == {"c": [2]}
