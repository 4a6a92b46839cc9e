"""Resource models -> structural OpenAPI v3 schemas, as CRDs carry them. Pure.

Called by :mod:`gavel_operator.crds`. Pydantic's own JSON schema is not structural (``$ref``,
``anyOf`` for optional fields, ``null``), so the model fields are walked here instead: the type
gives ``type``/``format``/``items``/``properties``/``additionalProperties``/``enum``, pydantic's
constraints give the bounds and ``pattern``, ``Field(description=..., default=...)`` the text
and the default, and the markers of :mod:`gavel.resources.fields` the CEL rules and list types.
An optional field is simply not ``required``. Keys come out in a fixed order per type.
"""

from __future__ import annotations

import types
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from gavel.resources.fields import ListType, Omit, Resource, Rule

Schema = dict[str, Any]

_STRUCTURE = (
    "items",
    "properties",
    "additionalProperties",
    "required",
    "x-kubernetes-validations",
)
ORDER: dict[str, tuple[str, ...]] = {
    "integer": ("type", "format", "minimum", "maximum", "description", "default"),
    "array": (
        "type",
        "minItems",
        "maxItems",
        "description",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        *_STRUCTURE,
    ),
    "": (
        "type",
        "description",
        "format",
        "enum",
        "default",
        "pattern",
        "minLength",
        "maxLength",
        *_STRUCTURE,
    ),
}
"""Key order per type (any other type: ``""``), as the CRDs were first written by hand."""
SCALARS: dict[Any, Schema] = {
    bool: {"type": "boolean"},
    int: {"type": "integer", "format": "int64"},
    str: {"type": "string"},
    datetime: {"type": "string", "format": "date-time"},
    AwareDatetime: {"type": "string", "format": "date-time"},
}


def object_schema(model: type[BaseModel]) -> Schema:
    """``properties``, ``required`` and the model's own CEL rules (no type or description:
    the field holding the model says what it is)."""
    properties, required = {}, []
    for name, info in model.model_fields.items():
        key = info.alias or name
        properties[key] = field_schema(info)
        if info.is_required():
            required.append(key)
    schema: Schema = {"properties": properties}
    if required:
        schema["required"] = required
    rules: tuple[Rule, ...] = getattr(model, "cel", ())
    if rules:
        schema["x-kubernetes-validations"] = [_rule(r) for r in rules]
    return schema


def field_schema(info: FieldInfo) -> Schema:
    """One model field: its type's schema, its own metadata over the type's."""
    base, metadata = _unwrap(info.annotation)
    default = info.get_default() if not info.is_required() else None
    return _schema(base, [*metadata, info], default)


def property_of(model: type[Resource], name: str) -> Schema:
    """The schema of one field of ``model``, by its Python name."""
    return field_schema(model.model_fields[name])


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The type under ``Annotated[...]`` and ``X | None``, and the metadata found on the way."""
    metadata: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *more = get_args(annotation)
            metadata = [*more, *metadata]
        elif origin in {Union, types.UnionType}:
            (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
        else:
            return annotation, metadata


def _schema(base: Any, metadata: list[Any], default: Any = None) -> Schema:
    schema = _type(base)
    omitted: set[str] = set()
    rules: list[Rule] = []
    for m in _flatten(metadata):
        if isinstance(m, FieldInfo):
            if m.description:
                schema["description"] = m.description
        elif isinstance(m, Rule):
            rules.append(m)
        elif isinstance(m, ListType):
            schema["x-kubernetes-list-type"] = m.kind
            if m.keys:
                schema["x-kubernetes-list-map-keys"] = list(m.keys)
        elif isinstance(m, Omit):
            omitted.update(m.keys)
        else:
            schema |= _constraint(m, schema["type"])
    if rules:
        schema["x-kubernetes-validations"] = [_rule(r) for r in rules]
    if isinstance(default, Enum):
        default = default.value
    if isinstance(default, bool | int | str):
        schema["default"] = default
    order = ORDER.get(schema["type"], ORDER[""])
    return {k: schema[k] for k in order if k in schema and k not in omitted}


def _flatten(metadata: list[Any]) -> list[Any]:
    """A FieldInfo's own constraints before it (its description last, so it wins)."""
    flat: list[Any] = []
    for m in metadata:
        if isinstance(m, FieldInfo):
            flat += _flatten(list(m.metadata))
        flat.append(m)
    return flat


def _type(base: Any) -> Schema:
    if base in SCALARS:
        return dict(SCALARS[base])
    origin, args = get_origin(base), get_args(base)
    if isinstance(base, type) and issubclass(base, Enum):
        return {"type": "string", "enum": [str(m.value) for m in base]}
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if origin in {list, tuple}:
        return {"type": "array", "items": _schema(*_unwrap(args[0]))}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(*_unwrap(args[1]))}
    if isinstance(base, type) and issubclass(base, BaseModel):
        return {"type": "object"} | object_schema(base)
    raise TypeError(f"no CRD schema for {base!r}")


def _constraint(m: Any, kind: str) -> Schema:
    many = kind == "array"
    if isinstance(m, annotated_types.Ge):
        return {"minimum": m.ge}
    if isinstance(m, annotated_types.Le):
        return {"maximum": m.le}
    if isinstance(m, annotated_types.MinLen):
        return {"minItems" if many else "minLength": m.min_length}
    if isinstance(m, annotated_types.MaxLen):
        return {"maxItems" if many else "maxLength": m.max_length}
    pattern = getattr(m, "pattern", None)
    if pattern is not None:
        return {"pattern": pattern}
    if getattr(m, "strict", None) is not None:
        return {}  # validation only: JSON has the types strictness asks for
    raise TypeError(f"no CRD schema for the constraint {m!r}")


def _rule(r: Rule) -> dict[str, str]:
    return {"rule": r.rule, "message": r.message}
