"""Reading the Lua scripts as text, so unit tests can hold them to the Python that reads what
they write (no Redis needed)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gavel import luascripts

_QUOTED = re.compile(r"'([^']*)'")


@dataclass(frozen=True, slots=True)
class Call:
    """One ``redis.call(...)`` of a script: its command, the key it names and the quoted
    strings among its other arguments (field names, and literal values such as ``'0'``)."""

    command: str
    key: str
    quoted: list[str]


def source(name: str) -> str:
    """``lua/<name>.lua`` without its comments."""
    text = luascripts.lua_dir().joinpath(f"{name}.lua").read_text()
    return re.sub(r"--[^\n]*", "", text)


def _balanced(text: str, start: int, opening: str, closing: str) -> str:
    """The text from ``start`` (just after ``opening``) to its matching ``closing``."""
    depth, i = 1, start
    while depth:
        depth += {opening: 1, closing: -1}.get(text[i], 0)
        i += 1
    return text[start : i - 1]


def calls(name: str) -> list[Call]:
    """Every ``redis.call`` of a script whose second argument is a ``KEYS[n]``."""
    text, found = source(name), []
    for m in re.finditer(r"redis\.call\(", text):
        args = _balanced(text, m.end(), "(", ")")
        head = re.match(r"\s*'(\w+)',\s*(KEYS\[\d\])", args)
        if head:
            rest = args[head.end() :]
            found.append(Call(head.group(1), head.group(2), _QUOTED.findall(rest)))
    return found


def table_keys(block: str) -> list[str]:
    """The keys of every ``name = value`` in a Lua table constructor's text."""
    return re.findall(r"(\w+)\s*=(?!=)", block)


def function_body(name: str, function: str) -> str:
    """The text of ``local function <function>(...)`` up to the script's next function or
    top-level statement (enough for the small functions these scripts have)."""
    text = source(name)
    start = text.index(f"local function {function}(")
    end = text.find("\nlocal ", start + 1)
    return text[start : end if end != -1 else len(text)]


def returned_tables(name: str) -> list[str]:
    """The text of every table constructor passed to ``cjson.encode({...})`` or returned."""
    text = source(name)
    return [
        _balanced(text, m.end(), "{", "}")
        for m in re.finditer(r"(?:cjson\.encode\(|return )\{", text)
    ]
