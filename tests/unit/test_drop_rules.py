from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from gavel import drop_rules
from gavel.auction import IncrementStep

MANIFEST: dict[str, Any] = {
    "apiVersion": "gavel.dev/v1alpha1",
    "kind": "Drop",
    "metadata": {"name": "daytona-1963"},
    "spec": {
        "homeRegion": "us",
        "startsAt": "2026-12-01T18:00:00Z",
        "endsAt": "2026-12-01T18:10:00Z",
        "auction": {
            "currency": "EUR",
            "startPrice": 100_000,
            "reservePrice": 2_500_000,
            "increments": [{"from": 0, "step": 1_000}, {"from": 1_000_000, "step": 10_000}],
            "softClose": {
                "windowSeconds": 60,
                "extensionSeconds": 120,
                "hardStopAt": "2026-12-01T18:30:00Z",
            },
        },
    },
}


def test_manifest_becomes_rules() -> None:
    r = drop_rules.rules_from_manifest(MANIFEST)
    assert r.drop_id == "daytona-1963"
    assert r.increments == (IncrementStep(0, 1_000), IncrementStep(1_000_000, 10_000))
    assert r.ends_at_ms - r.opens_at_ms == 600_000
    assert r.hard_stop_ms - r.ends_at_ms == 1_200_000
    assert (r.soft_window_ms, r.soft_extension_ms) == (60_000, 120_000)


def test_rules_survive_the_redis_hash_round_trip() -> None:
    r = drop_rules.rules_from_manifest(MANIFEST)
    fields = drop_rules.rules_fields(r)
    as_hash = {fields[i].encode(): fields[i + 1].encode() for i in range(0, len(fields), 2)}
    assert drop_rules.rules_from_hash(r.drop_id, as_hash) == r


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("spec", "auction", "startPrice"), 99.5, "integer amount"),
        (("spec", "auction", "startPrice"), True, "integer amount"),
        (("spec", "endsAt"), "2026-12-01T17:00:00Z", "endsAt must be after startsAt"),
        (("spec", "startsAt"), "tomorrow", "not an ISO 8601 time"),
        (("spec", "startsAt"), "2026-12-01T18:00:00", "needs a time zone"),
        (("metadata", "name"), "Bad_Name{x}", "DNS label"),
        (("kind",), "Region", "kind must be Drop"),
    ],
)
def test_bad_manifests_say_what_is_wrong(
    path: tuple[str, ...], value: object, message: str
) -> None:
    m = copy.deepcopy(MANIFEST)
    target = m
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(drop_rules.ManifestError, match=message):
        drop_rules.rules_from_manifest(m)


def test_missing_field_is_named() -> None:
    m = copy.deepcopy(MANIFEST)
    del m["spec"]["homeRegion"]
    with pytest.raises(drop_rules.ManifestError, match="homeRegion"):
        drop_rules.rules_from_manifest(m)


def test_every_problem_is_named_at_once() -> None:
    m = copy.deepcopy(MANIFEST)
    m["spec"]["startsAt"] = "2026-12-01T18:00:00"
    m["spec"]["auction"]["startPrice"] = 1.5
    del m["spec"]["auction"]["currency"]
    with pytest.raises(drop_rules.ManifestError) as caught:
        drop_rules.rules_from_manifest(m)
    message = str(caught.value)
    assert "spec.startsAt: '2026-12-01T18:00:00' needs a time zone" in message
    assert "spec.auction.startPrice: 1.5 must be an integer amount" in message
    assert "missing field 'spec.auction.currency'" in message


def test_yaml_timestamps_are_times_too() -> None:
    m = copy.deepcopy(MANIFEST)
    m["spec"]["startsAt"] = datetime(2026, 12, 1, 18, tzinfo=UTC)
    assert drop_rules.rules_from_manifest(m) == drop_rules.rules_from_manifest(MANIFEST)


def test_the_listing_is_the_products_title_and_sku_and_round_trips_through_its_hash() -> None:
    manifest = copy.deepcopy(MANIFEST)
    manifest["spec"]["product"] = {"sku": "DAYTONA-6239", "title": "Rolex Daytona"}
    listing = drop_rules.listing_from_manifest(manifest)
    assert listing == drop_rules.Listing("Rolex Daytona", "DAYTONA-6239")
    stored = {k.encode(): v.encode() for k, v in drop_rules.listing_fields(listing).items()}
    assert drop_rules.listing_from_hash(stored) == listing


def test_a_drop_without_a_product_is_shown_by_its_name() -> None:
    listing = drop_rules.listing_from_manifest(MANIFEST)
    assert listing == drop_rules.Listing()
    assert drop_rules.listing_from_hash({}) == listing
    assert listing.title_or("daytona-1963") == "daytona-1963"
