from __future__ import annotations

from gavel.resources.phase import FROZEN_PHASES, Phase, listed


def test_phases_in_lifecycle_order_with_their_status_spelling() -> None:
    assert [str(p) for p in Phase] == [
        "Scheduled",
        "PreScaling",
        "Live",
        "Closed",
        "Failed",
        "Cancelled",
    ]
    assert Phase("PreScaling") is Phase.PRE_SCALING


def test_rules_freeze_once_bidders_could_bid() -> None:
    assert FROZEN_PHASES == (Phase.LIVE, Phase.CLOSED)


def test_phases_as_prose() -> None:
    assert listed() == "Scheduled, PreScaling, Live, Closed, Failed or Cancelled"
    assert listed((Phase.LIVE, Phase.CLOSED)) == "Live or Closed"
