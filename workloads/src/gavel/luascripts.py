"""Redis Lua scripts from the repository's ``lua/`` folder, called by SHA.

Used by the gateway (bids, rate limits) and the tests. Each script is read once and its SHA1 is
computed locally, so a call is a single ``EVALSHA``; when Redis answers NOSCRIPT (a restart, a
fail-over, ``SCRIPT FLUSH``) the script is loaded again and the call retried once. Scripts are
atomic: this module never splits one logical operation across two calls.
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
        """Run the script atomically with ``keys`` and ``args``; loads it on NOSCRIPT."""
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except redis_errors.NoScriptError:
            await redis.script_load(self.source)
            return await redis.evalsha(self.sha, len(keys), *keys, *args)


@cache
def script(name: str) -> LuaScript:
    """The script ``lua/<name>.lua``; raises FileNotFoundError for an unknown name."""
    source = (lua_dir() / f"{name}.lua").read_text()
    return LuaScript(name, source, hashlib.sha1(source.encode()).hexdigest())  # noqa: S324
