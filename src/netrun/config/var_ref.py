"""References to environment variables and node variables inside a config.

Almost every scalar field of a config model accepts, instead of a value, a reference:

* ``{"$env": "NAME"}`` or ``{"$env": "NAME", "default": 2}``: the environment variable
  ``NAME``, read when the config is resolved;
* ``{"$var": "name"}`` or ``{"$var": "name", "default": ...}``: the node variable ``name``
  (net-level for net fields, the node's merged variables for node fields).

The text is converted to the field's type when it is resolved (``"4"`` becomes ``4`` for an
``int`` field, ``"yes"`` becomes ``True`` for a ``bool`` field, JSON text for lists). A
reference with ``"default": null`` *does* have a default (``None``), unlike the published
runtime, where ``None`` meant "no default".

Fields are declared as ``Var[int]`` (the type of the value, or a :class:`VarRef`).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Annotated, Any, Mapping, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    model_serializer,
    model_validator,
)

from netrun.config.errors import ConfigError, MissingEnvVarError, UnknownNodeVariableError

__all__ = ["EnvVar", "Var", "VarRef", "VarTarget", "cast_to_field_type", "is_var_ref_data"]


class VarRef(BaseModel):
    """A reference to an environment variable (``$env``) or a node variable (``$var``).

    >>> VarRef.model_validate({"$env": "WORKERS", "default": 2}).env
    'WORKERS'
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    env: str | None = Field(default=None, alias="$env")
    var: str | None = Field(default=None, alias="$var")
    default: Any = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> "VarRef":
        if (self.env is None) == (self.var is None):
            raise ValueError(
                'a reference names exactly one source: {"$env": "NAME"} or {"$var": "name"}'
            )
        return self

    @property
    def has_default(self) -> bool:
        """True when ``default`` was given (even as ``None``)."""
        return "default" in self.model_fields_set

    @property
    def is_env(self) -> bool:
        return self.env is not None

    @property
    def name(self) -> str:
        """The variable's name, whichever the source."""
        return self.env if self.env is not None else self.var  # type: ignore[return-value]

    @model_serializer(mode="plain")
    def _serialize(self) -> dict[str, Any]:
        data: dict[str, Any] = {"$env": self.env} if self.env is not None else {"$var": self.var}
        if self.has_default:
            data["default"] = self.default
        return data

    def describe(self) -> str:
        """The reference as the user would write it, for messages."""
        return json.dumps(self._serialize(), default=repr)

    def resolve_env(self, environ: Mapping[str, str] | None = None) -> Any:
        """The environment variable's raw text (or the default). Raises if unset."""
        env = os.environ if environ is None else environ
        if self.env in env:
            return env[self.env]
        if self.has_default:
            return self.default
        raise MissingEnvVarError(
            f"environment variable {self.env!r} is not set and the reference has no default",
            value=self.describe(),
            expected=f'set {self.env} in the environment, or add a default: '
            f'{{"$env": "{self.env}", "default": ...}}',
        )

    def resolve_var(self, variables: Mapping[str, Any]) -> Any:
        """The node variable's resolved value (or the default). Raises if undeclared."""
        if self.var in variables:
            return variables[self.var]
        if self.has_default:
            return self.default
        known = ", ".join(sorted(variables)) or "none declared"
        raise UnknownNodeVariableError(
            f"node variable {self.var!r} is not declared (declared: {known})",
            value=self.describe(),
            expected="declare it under node_vars, or add a default to the reference",
        )


#: The published runtime's alias for :class:`VarRef`.
EnvVar = VarRef


_REF_KEYS = frozenset({"$env", "$var", "env", "var", "default"})


def is_var_ref_data(value: Any) -> bool:
    """True for a :class:`VarRef` or a dict shaped like one (``$env``/``$var`` [+ ``default``])."""
    if isinstance(value, VarRef):
        return True
    if not isinstance(value, dict) or not value:
        return False
    keys = value.keys()
    if not keys <= _REF_KEYS:
        return False
    if "$env" in keys or "$var" in keys:
        return True
    # The published runtime dumped references without the '$' unless asked; accept those.
    return any(isinstance(value.get(k), str) for k in ("env", "var"))


def _var_tag(value: Any) -> str:
    return "ref" if is_var_ref_data(value) else "value"


class VarTarget:
    """Annotation marker on ``Var[...]`` fields: the type a resolved reference is cast to."""

    __slots__ = ("type",)

    def __init__(self, tp: Any) -> None:
        self.type = tp

    def __repr__(self) -> str:
        return f"VarTarget({self.type!r})"


class _VarFactory:
    """``Var[T]``: a field holding a ``T`` or a :class:`VarRef` (checked on one branch only)."""

    def __getitem__(self, tp: Any) -> Any:
        return Annotated[
            Union[Annotated[tp, Tag("value")], Annotated[VarRef, Tag("ref")]],
            Discriminator(_var_tag),
            VarTarget(tp),
        ]


Var = _VarFactory()


@lru_cache(maxsize=256)
def _adapter(tp: Any) -> TypeAdapter:
    return TypeAdapter(tp)


def cast_to_field_type(raw: Any, tp: Any, *, what: str) -> Any:
    """Convert a resolved reference to the field type ``tp`` (text is parsed; JSON as a fallback).

    Raises :class:`ConfigError` naming ``what`` and the expected type when it cannot.
    """
    try:
        adapter = _adapter(tp)
    except TypeError:  # unhashable annotation: build it fresh
        adapter = TypeAdapter(tp)
    try:
        return adapter.validate_python(raw)
    except ValidationError as first:
        if isinstance(raw, str):
            try:
                return adapter.validate_python(json.loads(raw))
            except (ValueError, ValidationError):
                pass
        detail = first.errors()[0]["msg"] if first.errors() else str(first)
        raise ConfigError(
            f"{what} resolved to {raw!r}, which is not usable here ({detail})",
            value=raw,
            expected=_type_name(tp),
        ) from None


def _type_name(tp: Any) -> str:
    import typing

    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(tp)[0])
    if origin is Union or type(tp).__name__ == "UnionType":
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
