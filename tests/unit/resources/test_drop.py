from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from gavel.resources.drop import Drop, DropSpec, DropStatus
from gavel.resources.phase import Phase
from tests.unit.resources.samples import DROP, drop_spec


def test_defaults_are_the_models() -> None:
    spec = drop_spec()
    pre = spec.pre_scale
    assert (pre.lead_seconds, pre.headroom_percent, pre.cooldown_seconds) == (600, 30, 600)
    assert (spec.cancelled, spec.auction.reserve_price, spec.regions) == (False, 0, ())
    assert (spec.demand.peak_observers, spec.demand.peak_bidders) == (0, 0)
    assert spec.auction.soft_close is None


def test_camel_case_keys_and_from() -> None:
    spec = drop_spec(
        preScale={"leadSeconds": 5},
        auction=DROP["auction"] | {"softClose": {"windowSeconds": 1, "extensionSeconds": 2}},
    )
    assert spec.pre_scale.lead_seconds == 5
    assert spec.auction.increments[0].from_ == 0
    assert spec.auction.soft_close is not None
    assert spec.auction.soft_close.extension_seconds == 2
    assert spec.starts_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_only_what_was_given_is_dumped() -> None:
    given = drop_spec().model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert given == DROP


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"startsAt": "2030-01-01T00:00:00"}, "timezone"),
        ({"homeRegion": "US"}, "pattern"),
        ({"regions": [f"r{i}" for i in range(17)]}, "at most 16"),
        ({"auction": DROP["auction"] | {"startPrice": True}}, "integer"),
        ({"auction": DROP["auction"] | {"increments": []}}, "at least 1"),
        ({"preScale": {"leadSeconds": 86_401}}, "less than or equal"),
    ],
)
def test_what_the_crd_refuses_the_model_refuses(change: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        DropSpec.model_validate(DROP | change)


def test_status_phases_are_the_enum() -> None:
    status = DropStatus.model_validate(
        {"phase": "Live", "regions": {"us": {"ready": True, "gatewayReplicas": 4}}}
    )
    assert status.phase is Phase.LIVE
    assert status.regions["us"].gateway_replicas == 4
    with pytest.raises(ValidationError, match="phase"):
        DropStatus.model_validate({"phase": "Running"})


def test_a_whole_drop_object_and_its_transition_rules() -> None:
    drop = Drop.model_validate({"kind": "Drop", "metadata": {"name": "d"}, "spec": DROP})
    assert (drop.metadata.name, drop.status.phase) == ("d", None)
    # The frozen-once-live rules name the phases from the enum.
    assert all("['Live', 'Closed']" in r.rule for r in Drop.cel[:3])
