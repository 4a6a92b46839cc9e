"""Drops in Redis: from a Drop manifest to rules, and the idempotent ``open_drop`` script.

``rules_from_manifest`` is pure (the operator and ``gavel drops open`` both call it);
``open_drop`` is the one I/O step, running ``lua/open_drop.lua`` in a region's Redis. The
manifest has the shape of the ``Drop`` resource (docs/drop-manifest.md lists the fields read).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from gavel import keys, luascripts
from gavel.auction import IncrementStep, Rules


class ManifestError(ValueError):
    """A Drop manifest that cannot become rules; the message names every problem."""


def _ms(value: Any, field: str) -> int:
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise ManifestError(f"{field}: {value!r} is not an ISO 8601 time") from exc
    if stamp.tzinfo is None:
        raise ManifestError(f"{field}: {value!r} needs a time zone (e.g. a trailing Z)")
    return int(stamp.timestamp() * 1000)


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ManifestError(f"{field}: {value!r} must be an integer amount in minor units")
    return value


def rules_from_manifest(manifest: Mapping[str, Any]) -> Rules:
    """Rules of a Drop manifest; raises ManifestError naming every problem found."""
    if manifest.get("kind") != "Drop":
        raise ManifestError(f"kind must be Drop, not {manifest.get('kind')!r}")
    drop_id = str(manifest.get("metadata", {}).get("name", ""))
    spec = manifest.get("spec") or {}
    auction = spec.get("auction") or {}
    soft = auction.get("softClose") or {}
    try:
        keys.for_drop(drop_id)
        rules = Rules(
            drop_id=drop_id,
            home_region=str(spec["homeRegion"]),
            currency=str(auction["currency"]),
            start_price=_int(auction["startPrice"], "spec.auction.startPrice"),
            reserve=_int(auction.get("reservePrice", 0), "spec.auction.reservePrice"),
            increments=tuple(
                IncrementStep(
                    _int(s["from"], "increments[].from"), _int(s["step"], "increments[].step")
                )
                for s in auction["increments"]
            ),
            opens_at_ms=_ms(spec["startsAt"], "spec.startsAt"),
            ends_at_ms=_ms(spec["endsAt"], "spec.endsAt"),
            hard_stop_ms=_ms(soft["hardStopAt"], "softClose.hardStopAt")
            if soft.get("hardStopAt")
            else 0,
            soft_window_ms=1000 * _int(soft.get("windowSeconds", 0), "softClose.windowSeconds"),
            soft_extension_ms=1000
            * _int(soft.get("extensionSeconds", 0), "softClose.extensionSeconds"),
            cancelled=bool(spec.get("cancelled", False)),
        )
    except KeyError as exc:
        raise ManifestError(f"missing field {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:
        raise ManifestError(str(exc)) from exc
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


class RulesFrozenError(RuntimeError):
    """Redis refused a change to a drop that has opened (see lua/open_drop.lua)."""


async def open_drop(redis: Redis, rules: Rules) -> str:
    """Write ``rules`` into this Redis; returns created, unchanged or updated.

    Registers the drop in :data:`gavel.keys.DROP_INDEX` too, so relays start reading its
    stream (a separate command: the index lives outside the drop's hash slot).
    """
    from redis.exceptions import ResponseError  # noqa: PLC0415

    k = keys.for_drop(rules.drop_id)
    try:
        result = await luascripts.script("open_drop")(
            redis, [k.rules, k.state], rules_fields(rules)
        )
    except ResponseError as exc:
        if "rules_frozen" in str(exc):
            raise RulesFrozenError(str(exc).removeprefix("rules_frozen: ")) from exc
        raise
    await redis.sadd(keys.DROP_INDEX, rules.drop_id)
    return result.decode() if isinstance(result, bytes) else str(result)


async def write_rules_copy(redis: Redis, rules: Rules) -> None:
    """Copy ``rules`` into a region that is not the drop's home: gateways there read the home
    region from it; without a ``state`` hash, place_bid.lua refuses to decide there."""
    fields = rules_fields(rules)
    await redis.hset(
        keys.for_drop(rules.drop_id).rules,
        mapping=dict(zip(fields[::2], fields[1::2], strict=True)),
    )


async def open_everywhere(rules: Rules, redis_urls: Mapping[str, str]) -> dict[str, str]:
    """Open the drop in its home region and copy its rules to every other region given."""
    results: dict[str, str] = {}
    for region, url in redis_urls.items():
        client = Redis.from_url(url)
        try:
            if region == rules.home_region:
                results[region] = await open_drop(client, rules)
            else:
                await write_rules_copy(client, rules)
                results[region] = "rules copied"
        finally:
            await client.aclose()
    return results
