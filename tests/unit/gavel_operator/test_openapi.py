"""The model -> structural schema converter, on a model of its own and on the real CRDs."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

from gavel.resources.fields import Int, ListType, Omit, Resource, Rule
from gavel_operator import crds
from gavel_operator.openapi import object_schema, property_of


class Colour(StrEnum):
    RED = "Red"
    BLUE = "Blue"


class Inner(Resource):
    cel: ClassVar[tuple[Rule, ...]] = (Rule("self.size > 0", "size must be positive"),)

    size: Int = Field(ge=0, le=9, description="How big.")


Tags = Annotated[
    tuple[Annotated[str, Field(max_length=5, description="A tag.")], ...],
    ListType("set"),
    Rule("self.size() < 3", "few tags"),
]


class Sample(Resource):
    inner: Inner = Field(description="Nested.")
    maybe: Inner | None = Field(default=None, description="Optional nested.")
    tags: Tags = Field(default=(), max_length=4, description="Tags.")
    colour: Colour = Field(default=Colour.RED, description="A colour.")
    counts: dict[str, Annotated[Int, Omit(("format",))]] = Field(
        default_factory=dict, description="Counts."
    )
    quiet: Annotated[Int, Omit(("default",))] = Field(default=0, description="No default.")


def test_a_model_becomes_a_structural_schema() -> None:
    assert object_schema(Sample) == {
        "properties": {
            "inner": {
                "type": "object",
                "description": "Nested.",
                "properties": {
                    "size": {
                        "type": "integer",
                        "format": "int64",
                        "minimum": 0,
                        "maximum": 9,
                        "description": "How big.",
                    }
                },
                "required": ["size"],
                "x-kubernetes-validations": [
                    {"rule": "self.size > 0", "message": "size must be positive"}
                ],
            },
            "maybe": object_schema(Inner) | {"type": "object", "description": "Optional nested."},
            "tags": {
                "type": "array",
                "maxItems": 4,
                "description": "Tags.",
                "x-kubernetes-list-type": "set",
                "items": {"type": "string", "description": "A tag.", "maxLength": 5},
                "x-kubernetes-validations": [{"rule": "self.size() < 3", "message": "few tags"}],
            },
            "colour": {
                "type": "string",
                "description": "A colour.",
                "enum": ["Red", "Blue"],
                "default": "Red",
            },
            "counts": {
                "type": "object",
                "description": "Counts.",
                "additionalProperties": {"type": "integer"},
            },
            "quiet": {"type": "integer", "format": "int64", "description": "No default."},
        },
        "required": ["inner"],
    }


def test_keys_come_in_a_fixed_order_per_type() -> None:
    assert list(property_of(Sample, "colour")) == ["type", "description", "enum", "default"]
    assert list(object_schema(Inner)["properties"]["size"]) == [
        "type",
        "format",
        "minimum",
        "maximum",
        "description",
    ]


def test_a_type_without_a_schema_is_refused() -> None:
    class Odd(Resource):
        when: complex

    with pytest.raises(TypeError, match="complex"):
        object_schema(Odd)


@pytest.mark.parametrize("crd", list(crds.all_crds().values()), ids=list(crds.all_crds()))
def test_the_crds_have_no_json_schema_artefacts(crd: dict[str, Any]) -> None:
    text = json.dumps(crd)
    for artefact in ('"$ref"', '"anyOf"', '"nullable"', '"null"', '"$defs"'):
        assert artefact not in text


def test_the_phase_enum_and_its_prose_come_from_the_phase_class() -> None:
    drop = crds.drop_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    phase = drop["properties"]["status"]["properties"]["phase"]
    assert phase["enum"] == ["Scheduled", "PreScaling", "Live", "Closed", "Failed", "Cancelled"]
    assert phase["description"] == "Scheduled, PreScaling, Live, Closed, Failed or Cancelled."
