"""Pydantic's validation errors as :class:`~netrun.config.errors.Problem` records.

Pydantic reports paths with union-branch markers and generic messages; here the paths are
cleaned to keys of the user's data, unknown keys name the allowed keys (with a "did you
mean"), and common type errors say what was expected.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from netrun.config.errors import Problem, did_you_mean

__all__ = ["validation_problems"]


def _unwrap(tp: Any, data: Any) -> Any:
    """Strip Annotated/Optional/unions down to the type that ``data`` belongs to."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)
                      or typing.get_origin(m) is typing.Annotated]
            chosen = None
            if isinstance(data, dict) and "type" in data:
                for m in members:
                    inner = _unwrap(m, None)
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        field = inner.model_fields.get("type")
                        if field is not None and field.default == data["type"]:
                            chosen = m
                            break
            if chosen is None:
                containers = [m for m in members if typing.get_origin(m) in (list, dict)]
                if isinstance(data, dict):
                    chosen = next((m for m in models if _unwrap(m, None) is not None), None) or \
                        next((m for m in containers if typing.get_origin(m) is dict), None)
                elif isinstance(data, list):
                    chosen = next((m for m in containers if typing.get_origin(m) is list), None)
            if chosen is None:
                return None
            tp = chosen
            continue
        return tp


def _field_by_key(cls: type[BaseModel], key: Any) -> Any:
    if key in cls.model_fields:
        return cls.model_fields[key]
    for field in cls.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
        if key in choices or key == field.alias:
            return field
    return None


def _allowed_keys(root: type[BaseModel], data: Any, loc: tuple[Any, ...]) -> list[str] | None:
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp, data)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = _field_by_key(tp, part)
            if field is None:
                return None
            tp = field.annotation
            for meta in field.metadata:
                if type(meta).__name__ == "VarTarget":
                    tp = meta.type
        elif typing.get_origin(tp) in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
        data = data.get(part) if isinstance(data, dict) else (
            data[part] if isinstance(data, list) and isinstance(part, int) and part < len(data) else None)
    tp = _unwrap(tp, data)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        keys = []
        for name, field in tp.model_fields.items():
            keys.append(name)
            choices = getattr(field.validation_alias, "choices", None) or []
            keys += [c for c in choices if isinstance(c, str) and c != name]
            if field.alias and field.alias != name:
                keys.append(field.alias)
        return keys
    return None


def _clean_loc(loc: tuple[Any, ...], data: Any, keep_last: bool) -> tuple[Any, ...]:
    """Drop pydantic's union-branch markers: keep only the parts that index into the data."""
    out: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif last and keep_last and isinstance(part, (str, int)):
            out.append(part)
    return tuple(out)


def validation_problems(exc: ValidationError, data: Any, root: type[BaseModel]) -> list[Problem]:
    """Pydantic's errors as :class:`Problem` s with clean key paths and helpful messages."""
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in exc.errors(include_url=False):
        kind = err["type"]
        loc = _clean_loc(tuple(err["loc"]), data, keep_last=kind in ("missing", "extra_forbidden"))
        key = (loc, kind)
        if key in seen:
            continue
        seen.add(key)
        value = err.get("input")
        expected = None
        if kind == "extra_forbidden":
            keys = _allowed_keys(root, data, loc[:-1])
            msg = f"unknown key {loc[-1]!r}" if loc else "unknown key"
            if loc and keys:
                msg += did_you_mean(str(loc[-1]), keys)
            expected = "one of: " + ", ".join(keys) if keys else None
            value = loc[-1] if loc else value
            kind = "unknown_key"
        elif kind == "missing":
            msg = f"required key {loc[-1]!r} is missing" if loc else "a required key is missing"
            value = None
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx") or {}
            loc = loc + (str(ctx.get("discriminator", "type")).strip("'"),)
            msg = f"unknown type {ctx.get('tag')!r}"
            expected = "one of: " + str(ctx.get("expected_tags", "")).replace("'", "")
            value = ctx.get("tag")
        elif kind == "union_tag_not_found":
            msg = "the table has no 'type' key, which tells what it is"
            expected = "a 'type' key"
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            msg = msg[0].lower() + msg[1:] if msg else msg
            expected = _expected_for(kind, err.get("ctx") or {})
        problems.append(Problem(loc=list(loc), msg=msg, type=kind, value=_short(value), expected=expected))
    return problems


_EXPECTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "text (a string)", "dict_type": "a table",
    "list_type": "a list", "model_type": "a table", "model_attributes_type": "a table",
    "callable_type": "a function or an import path string", "tuple_type": "a list",
}


def _expected_for(kind: str, ctx: dict[str, Any]) -> str | None:
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()), "?")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"a number {op} {bound}"
    if kind == "literal_error":
        return "one of " + str(ctx.get("expected", ""))
    return None


def _short(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
