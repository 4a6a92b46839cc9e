"""A Drop file as ``gavel drops schedule`` reads it: YAML parsed and checked for shape. Pure.

Only what the API server cannot say well is checked here: the file is YAML, holds one object,
and that object is a Drop of our API version with a name. Everything about the spec (types,
ranges, CEL rules) is left to the API server, so the merch team reads exactly the message the
hub gives ``kubectl`` too. Called by :mod:`gavel.cli.drops_commands`.
"""

from __future__ import annotations

from typing import Any

import yaml

from gavel import keys
from gavel.resources.names import API_VERSION

DEFAULT_NAMESPACE = "default"


class ManifestError(ValueError):
    """The file is not a Drop the hub could be asked to apply; the message says why."""


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def parse_drop(text: str, source: str = "the file") -> dict[str, Any]:
    """The Drop object in ``text``; raises ManifestError naming the first problem found."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source} is not valid YAML: {_where(exc)}") from None
    if len(docs) != 1:
        raise ManifestError(f"{source} must hold exactly one Drop, not {len(docs)} documents")
    (doc,) = docs
    if not isinstance(doc, dict):
        raise ManifestError(f"{source} must hold a mapping (a Drop), not {type(doc).__name__}")
    if doc.get("kind") != "Drop" or doc.get("apiVersion") != API_VERSION:
        raise ManifestError(
            f"{source} must be a Drop (apiVersion: {API_VERSION}, kind: Drop), not "
            f"apiVersion: {doc.get('apiVersion')!r}, kind: {doc.get('kind')!r}"
        )
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise ManifestError(f"{source}: metadata.name is missing")
    try:
        keys.for_drop(meta["name"])
    except ValueError as exc:
        raise ManifestError(f"{source}: {exc}") from None
    return doc


def namespace_of(drop: dict[str, Any], override: str | None = None) -> str:
    """Where the Drop goes: the flag, else its metadata.namespace, else ``default``."""
    meta = drop.get("metadata") or {}
    return override or str(meta.get("namespace") or DEFAULT_NAMESPACE)
