"""What every resource model shares: the base class, schema markers and common field types.
Pure.

Imported by :mod:`gavel.resources.region` and :mod:`gavel.resources.drop`. The markers
(:class:`Rule`, :class:`ListType`, :class:`Omit`) mean nothing to pydantic; they ride in
``Annotated`` metadata, or in a model's ``cel``, for the CRD schema converter
(:mod:`gavel_operator.openapi`), so a CEL rule sits beside the field it guards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt
from pydantic.alias_generators import to_camel

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
GENERATION_MAX = 2**53
"""Generations and counters: the largest integer a JSON number holds exactly."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A CEL rule the API server checks (``x-kubernetes-validations``)."""

    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class ListType:
    """How the API server merges a list: ``set``, or ``map`` keyed by ``keys``."""

    kind: Literal["set", "map"]
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Omit:
    """Schema keys the converter would derive but the CRD must not state (e.g. a default the
    reader applies while the API server leaves the field absent)."""

    keys: tuple[str, ...]


class Resource(BaseModel):
    """Base of the resource models: camelCase keys as in the CRD, immutable, unknown keys
    ignored (the API server prunes them anyway)."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, frozen=True, extra="ignore"
    )

    cel: ClassVar[tuple[Rule, ...]] = ()
    """Rules on the whole object, for checks across its fields."""


Time = AwareDatetime
"""RFC 3339 with a time zone, as the API server's ``date-time`` format demands."""

Int = StrictInt
"""Integers as JSON has them: ``true`` or ``99.5`` are not amounts."""

KubeName = Annotated[str, Field(pattern=DNS_LABEL, max_length=63, description="A Region's name.")]

Quantity = Annotated[
    str,
    Field(
        pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$",
        description="A Kubernetes quantity (e.g. 500m, 2, 1Gi).",
    ),
]


class ObjectMeta(Resource):
    """The parts of ``metadata`` the operator reads."""

    name: str = ""
    namespace: str = ""
    generation: int = 0
    annotations: dict[str, str] = Field(default_factory=dict)
    deletion_timestamp: Time | None = None


class Condition(Resource):
    type: str = Field(description="Condition type.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str | None = Field(default=None, description="Machine-readable reason.")
    message: str | None = Field(default=None, description="Human-readable detail.")
    last_transition_time: Time | None = Field(default=None, description="When status last changed.")
    observed_generation: Int | None = Field(
        default=None,
        ge=0,
        le=GENERATION_MAX,
        description="Generation the condition was computed for.",
    )


Conditions = Annotated[
    tuple[Annotated[Condition, Field(description="A condition.")], ...],
    ListType("map", ("type",)),
    Field(description="Standard conditions (Ready, Synced, Degraded...)."),
]
