"""Redis Lua scripts from the repository's ``lua/`` folder, called by SHA.

Used by the gateway (bids, rate limits), the fan-out (observers), ``gavel drops open`` and the
tests. Each script is read once and its SHA1 is computed locally, so a call is a single
``EVALSHA``. Scripts are atomic: this module never splits one logical operation across two
calls.

Who loads them (decision "Redis ACL users per workload"): a privileged loader, the operator's
user (:func:`load_everywhere`, run by ``gavel redis load-scripts``, ``gavel drops open`` and
the local stack on every node it starts), into *every* node of a region, replicas included:
Redis 7.0 does not replicate ``SCRIPT LOAD`` and a restart empties the cache, so a replica
promoted by a failover has the scripts only if they were loaded into it. When Redis answers
NOSCRIPT, a caller allowed to load (the operator) loads and retries once; a workload that may
not (gateway, fan-out: ``NOPERM``) gets :class:`ScriptNotLoadedError`, which names the fix.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from redis import exceptions as redis_errors
from redis.asyncio import Redis

EncodableArg = str | int | bytes

NAMES: tuple[str, ...] = ("place_bid", "open_drop", "observers")
"""Every script in ``lua/``: what a loader puts into each node."""


class ScriptNotLoadedError(RuntimeError):
    """The node lacks a script and this client may not load it (only the loader may)."""

    def __init__(self, name: str, where: str = "this Redis node") -> None:
        super().__init__(
            f"Lua script {name!r} is not loaded on {where}, and this workload's Redis user "
            "may not load scripts: run `gavel redis load-scripts --region REGION` (the "
            "operator does it on every Region sync)"
        )
        self.name = name


def lua_dir() -> Path:
    """Where the scripts are: ``$GAVEL_LUA_DIR``, the installed package's copy, or the clone."""
    env = os.environ.get("GAVEL_LUA_DIR")
    if env:
        return Path(env)
    packaged = Path(__file__).with_name("_lua")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "lua"


@dataclass(frozen=True, slots=True)
class LuaScript:
    """One script: its name (file stem), source and SHA1."""

    name: str
    source: str
    sha: str

    async def __call__(
        self, redis: Redis, keys: Sequence[str], args: Sequence[EncodableArg]
    ) -> object:
        """Run the script atomically with ``keys`` and ``args``; on NOSCRIPT, loads it if this
        client may (else :class:`ScriptNotLoadedError`) and runs it again."""
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except redis_errors.NoScriptError:
            await self.load(redis)
            return await redis.evalsha(self.sha, len(keys), *keys, *args)

    async def load(self, redis: Redis) -> None:
        """``SCRIPT LOAD`` into the node ``redis`` talks to; ScriptNotLoadedError on NOPERM."""
        try:
            await redis.script_load(self.source)
        except redis_errors.NoPermissionError as exc:
            raise ScriptNotLoadedError(self.name) from exc


@cache
def script(name: str) -> LuaScript:
    """The script ``lua/<name>.lua``; raises FileNotFoundError for an unknown name."""
    source = (lua_dir() / f"{name}.lua").read_text()
    return LuaScript(name, source, hashlib.sha1(source.encode()).hexdigest())  # noqa: S324


def all_scripts() -> list[LuaScript]:
    return [script(n) for n in NAMES]
