"""A drop's rules: from a Drop manifest or a parsed spec, and to and from the Redis hash. Pure.

``rules_of`` (the operator, from a parsed :class:`gavel.resources.drop.DropSpec`) and
``rules_from_manifest`` (``gavel drops open``, from a manifest it parses with the same model)
make :class:`gavel.auction.Rules`; ``rules_fields``/``rules_from_hash`` are the ``rules`` hash's
layout, which :mod:`gavel.drops` writes with ``lua/open_drop.lua``. :class:`Listing` (the
product's title and sku) is what pages show and nothing decides; it has a hash of its own. The
manifest has the shape of the ``Drop`` resource (docs/drop-manifest.md lists the fields read).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gavel import keys
from gavel.auction import IncrementStep, Rules
from gavel.resources.drop import Drop, DropSpec


class ManifestError(ValueError):
    """A Drop manifest that cannot become rules; the message names every problem."""


def _problem(error: ErrorDetails) -> str:
    """One pydantic error in the words of a manifest's author."""
    where = ".".join(str(part) for part in error["loc"])
    value = error.get("input")
    kind = error["type"]
    if kind == "missing":
        return f"missing field {where!r}"
    if kind in {"int_type", "int_from_float", "int_parsing"}:
        return f"{where}: {value!r} must be an integer amount (prices in minor units)"
    if kind == "timezone_aware":
        return f"{where}: {value!r} needs a time zone (e.g. a trailing Z)"
    if kind.startswith(("datetime_", "date_")):
        return f"{where}: {value!r} is not an ISO 8601 time"
    return f"{where}: {error['msg']}"


def parse_manifest(manifest: Mapping[str, Any]) -> Drop:
    """A Drop manifest (a dict as from YAML or the API server) as the model; raises
    ManifestError naming every problem found."""
    if manifest.get("kind") != "Drop":
        raise ManifestError(f"kind must be Drop, not {manifest.get('kind')!r}")
    try:
        return Drop.model_validate(manifest)
    except ValidationError as exc:
        raise ManifestError("; ".join(_problem(e) for e in exc.errors())) from exc


def rules_from_manifest(manifest: Mapping[str, Any]) -> Rules:
    """Rules of a Drop manifest; raises ManifestError naming every problem found."""
    drop = parse_manifest(manifest)
    return rules_of(drop.metadata.name, drop.spec)


def _ms(stamp: datetime) -> int:
    return int(stamp.timestamp() * 1000)


def rules_of(drop_id: str, spec: DropSpec) -> Rules:
    """The rules of drop ``drop_id``; raises ManifestError naming every rule broken."""
    auction, soft = spec.auction, spec.auction.soft_close
    try:
        keys.for_drop(drop_id)
    except ValueError as exc:
        raise ManifestError(str(exc)) from exc
    rules = Rules(
        drop_id=drop_id,
        home_region=spec.home_region,
        currency=auction.currency,
        start_price=auction.start_price,
        reserve=auction.reserve_price,
        increments=tuple(IncrementStep(s.from_, s.step) for s in auction.increments),
        opens_at_ms=_ms(spec.starts_at),
        ends_at_ms=_ms(spec.ends_at),
        hard_stop_ms=_ms(soft.hard_stop_at) if soft and soft.hard_stop_at else 0,
        soft_window_ms=1000 * soft.window_seconds if soft else 0,
        soft_extension_ms=1000 * soft.extension_seconds if soft else 0,
        cancelled=spec.cancelled,
    )
    problems = rules.errors()
    if problems:
        raise ManifestError("; ".join(problems))
    return rules


def rules_fields(rules: Rules) -> list[str]:
    """The ``rules`` hash as a flat field/value list, the form ``open_drop.lua`` takes."""
    increments = ",".join(f"{s.from_amount}:{s.step}" for s in rules.increments)
    values = {
        "home_region": rules.home_region,
        "currency": rules.currency,
        "start_price": rules.start_price,
        "reserve": rules.reserve,
        "increments": increments,
        "opens_at_ms": rules.opens_at_ms,
        "ends_at_ms": rules.ends_at_ms,
        "hard_stop_ms": rules.hard_stop_ms,
        "soft_window_ms": rules.soft_window_ms,
        "soft_extension_ms": rules.soft_extension_ms,
        "cancelled": int(rules.cancelled),
    }
    return [str(x) for pair in values.items() for x in pair]


def rules_from_hash(drop_id: str, fields: Mapping[bytes, bytes]) -> Rules:
    """Rules as read back from a drop's ``rules`` hash."""
    f = {k.decode(): v.decode() for k, v in fields.items()}
    return Rules(
        drop_id=drop_id,
        home_region=f["home_region"],
        currency=f["currency"],
        start_price=int(f["start_price"]),
        reserve=int(f["reserve"]),
        increments=tuple(
            IncrementStep(int(a), int(b))
            for a, b in (p.split(":") for p in f["increments"].split(","))
        ),
        opens_at_ms=int(f["opens_at_ms"]),
        ends_at_ms=int(f["ends_at_ms"]),
        hard_stop_ms=int(f["hard_stop_ms"]),
        soft_window_ms=int(f["soft_window_ms"]),
        soft_extension_ms=int(f["soft_extension_ms"]),
        cancelled=f["cancelled"] == "1",
    )


@dataclass(frozen=True, slots=True)
class Listing:
    """What people see of a drop beyond its rules: the product. Decides no bid, so unlike the
    rules it may change at any time (a typo in a title is fixed while the drop runs)."""

    title: str | None = None
    sku: str | None = None

    def title_or(self, drop_id: str) -> str:
        return self.title or drop_id


def listing_of(spec: DropSpec) -> Listing:
    product = spec.product
    return Listing(product.title, product.sku) if product else Listing()


def listing_from_manifest(manifest: Mapping[str, Any]) -> Listing:
    """The listing of a Drop manifest; raises ManifestError as :func:`rules_from_manifest`."""
    return listing_of(parse_manifest(manifest).spec)


def listing_fields(listing: Listing) -> dict[str, str]:
    """The ``listing`` hash's fields; an absent value is an empty string (HSET needs one)."""
    return {"title": listing.title or "", "sku": listing.sku or ""}


def listing_from_hash(fields: Mapping[bytes, bytes]) -> Listing:
    f = {k.decode(): v.decode() for k, v in fields.items()}
    return Listing(f.get("title") or None, f.get("sku") or None)


class RulesFrozenError(RuntimeError):
    """Redis refused a change to a drop that has opened (see lua/open_drop.lua)."""
