"""Drops in Redis: the idempotent ``open_drop`` script and the rules copies. The I/O half.

Called by ``gavel drops open`` and the operator's :mod:`gavel_operator.auctions`, the one module
of the operator allowed to reach Redis; the rules themselves are made and laid out by the pure
:mod:`gavel.drop_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis

from gavel import keys, luascripts, redis_client, script_loader
from gavel.auction import Rules
from gavel.drop_rules import Listing, RulesFrozenError, listing_fields, rules_fields


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


async def write_listing(redis: Redis, drop_id: str, listing: Listing) -> None:
    """Write what the drop page shows of ``drop_id`` (title, sku) into this Redis; every
    participating region gets it, as its fan-outs serve the page."""
    await redis.hset(keys.for_drop(drop_id).listing, mapping=dict(listing_fields(listing).items()))


async def open_everywhere(
    rules: Rules, redis_urls: Mapping[str, str], listing: Listing | None = None
) -> dict[str, str]:
    """Open the drop in its home region and copy its rules to every other region given; write
    its listing everywhere when given."""
    results: dict[str, str] = {}
    for region, url in redis_urls.items():
        # The loader's job, done here too: a node restarted since the last load lacks them.
        await script_loader.load_everywhere(url)
        client = redis_client.connect(url)
        try:
            if listing is not None:
                await write_listing(client, rules.drop_id, listing)
            if region == rules.home_region:
                results[region] = await open_drop(client, rules)
            else:
                await write_rules_copy(client, rules)
                results[region] = "rules copied"
        finally:
            await client.aclose()
    return results
