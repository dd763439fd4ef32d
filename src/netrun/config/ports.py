"""Port definitions: capacity (slots) and an optional packet type.

A port type may be given as

* a class name (``"DataFrame"``) or a dotted import path (``"pandas.DataFrame"``),
* a class (``int``, ``pandas.DataFrame``) or a generic (``list[int]``),
* ``{"name": "pkg.Class", "isinstance_check": true}`` (:class:`PortTypeConfig`, the published
  schema), or PROJECT_SPEC's ``{"class": C, "isinstance": bool, "subclass": bool}``.

Written to a file, a class becomes its import path (builtins by bare name) and a generic its
text (``"list[int]"``); :func:`resolve_port_type` turns such text back into a type.
"""

from __future__ import annotations

import builtins
import types
import typing
from typing import Annotated, Any, Literal, Union

from pydantic import Field, NonNegativeInt, field_serializer, field_validator

from netrun.config._model import ConfigModel
from netrun.config.errors import ConfigError
from netrun.config.var_ref import Var, VarRef

__all__ = [
    "PortConfig",
    "PortSlotSpecConfig",
    "PortSlotSpecFiniteConfig",
    "PortSlotSpecInfiniteConfig",
    "PortTypeConfig",
    "PortTypeSpec",
    "port_type_to_text",
    "resolve_port_type",
    "type_import_path",
]


class PortSlotSpecInfiniteConfig(ConfigModel):
    """A port without a capacity limit."""

    type: Literal["infinite"] = "infinite"


class PortSlotSpecFiniteConfig(ConfigModel):
    """A port that holds at most ``capacity`` packets."""

    type: Literal["finite"] = "finite"
    capacity: Var[NonNegativeInt]


PortSlotSpecConfig = Annotated[
    Union[PortSlotSpecInfiniteConfig, PortSlotSpecFiniteConfig], Field(discriminator="type")
]


class PortTypeConfig(ConfigModel):
    """A port type given by name: ``isinstance_check`` imports it and uses ``isinstance``."""

    name: Var[str]
    isinstance_check: Var[bool] = False


#: What a port type may be (the published runtime's alias).
PortTypeSpec = Union[str, type, PortTypeConfig]

_SPEC_TYPE_KEYS = {"class", "isinstance", "subclass"}


def _is_generic(value: Any) -> bool:
    return isinstance(value, (types.GenericAlias, types.UnionType)) or (
        type(value).__module__ == "typing" and hasattr(value, "__origin__")
    )


def _int_attr(obj: Any, name: str) -> int | None:
    """An engine object's numeric getter (``capacity``, ``count``, ``max``), else ``None``.

    The engine's plain enum variants carry same-named *static methods*, hence the check.
    """
    value = getattr(obj, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def type_import_path(tp: type) -> str:
    """The import path of a class: ``"int"`` for builtins, ``"pkg.mod.Class"`` otherwise.

    Raises :class:`ConfigError` for a class that cannot be imported back (defined in
    ``__main__`` or inside a function).
    """
    module = getattr(tp, "__module__", None)
    qualname = getattr(tp, "__qualname__", None) or getattr(tp, "__name__", None)
    if module == "builtins":
        return qualname  # type: ignore[return-value]
    if not module or not qualname or "<locals>" in qualname or module == "__main__":
        raise ConfigError(
            f"the type {tp!r} cannot be written to a file because it cannot be imported back "
            f"(module {module!r}, name {qualname!r})",
            value=repr(tp),
            expected="a class defined at the top level of an importable module, "
            "or its name as a string",
        )
    return f"{module}.{qualname}"


def port_type_to_text(port_type: Any) -> Any:
    """A port type in its file form (text, or a dict for the structured forms)."""
    if port_type is None or isinstance(port_type, str):
        return port_type
    if isinstance(port_type, PortTypeConfig):
        return port_type.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    if isinstance(port_type, dict):
        out = dict(port_type)
        cls = out.get("class")
        if isinstance(cls, type):
            out["class"] = type_import_path(cls)
        return out
    if isinstance(port_type, type) and not _is_generic(port_type):
        return type_import_path(port_type)
    if _is_generic(port_type):
        return _generic_text(port_type)
    raise ConfigError(f"cannot write port type {port_type!r}", value=repr(port_type))


def _generic_text(tp: Any) -> str:
    if isinstance(tp, type) and not _is_generic(tp):
        return type_import_path(tp)
    if tp is type(None):
        return "None"
    if tp is Any:
        return "Any"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(_generic_text(a) for a in args)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    if origin is not None:
        name = _generic_text(origin) if isinstance(origin, type) else str(origin)
        if not args:
            return name
        return f"{name}[{', '.join(_generic_text(a) for a in args)}]"
    return str(tp).replace("typing.", "")


_TYPE_EVAL_NAMES: dict[str, Any] = {
    **{n: getattr(builtins, n) for n in dir(builtins) if isinstance(getattr(builtins, n), type)},
    **{n: getattr(typing, n) for n in ("Any", "Optional", "Union", "Literal", "List", "Dict",
                                       "Tuple", "Set", "FrozenSet", "Callable", "Sequence",
                                       "Mapping", "Iterable")},
    "None": None,
}


def resolve_port_type(spec: Any) -> Any:
    """Turn a port type's text form back into a type where possible.

    ``"int"`` → ``int``, ``"list[int]"`` → ``list[int]``, ``"pkg.mod.Class"`` → the class
    (imported). A bare name that is not a builtin (``"DataFrame"``) is returned unchanged: it
    is matched by class name at run time. Other specs are returned as they are.

    >>> resolve_port_type("dict[str, list[int]]")
    dict[str, list[int]]
    """
    if not isinstance(spec, str):
        return spec
    text = spec.strip()
    if text in _TYPE_EVAL_NAMES:
        return _TYPE_EVAL_NAMES[text]
    if text.isidentifier():
        return spec  # a class name, matched by name
    namespace = _TypeNamespace()
    try:
        return eval(compile(text, "<port type>", "eval"), {"__builtins__": {}}, namespace)
    except Exception as exc:  # noqa: BLE001 - reported with the text and the cause
        raise ConfigError(
            f"port type {spec!r} cannot be resolved: {exc}",
            value=spec,
            expected="a builtin or importable type, e.g. 'int', 'list[int]', 'pkg.mod.Class'",
        ) from exc


class _TypeNamespace(dict):
    """Names for :func:`resolve_port_type`: builtins, typing names, then importable modules."""

    def __missing__(self, key: str) -> Any:
        if key in _TYPE_EVAL_NAMES:
            return _TYPE_EVAL_NAMES[key]
        import importlib

        try:
            return importlib.import_module(key)
        except ImportError:
            raise NameError(f"name {key!r} is not a builtin type or an importable module")


class PortConfig(ConfigModel):
    """One port: its capacity (``slots_spec``) and optional packet type (``port_type``)."""

    slots_spec: PortSlotSpecConfig = Field(default_factory=PortSlotSpecInfiniteConfig)
    port_type: Any = None

    @field_validator("port_type", mode="before")
    @classmethod
    def _check_port_type(cls, value: Any) -> Any:
        if value is None or isinstance(value, (str, PortTypeConfig, VarRef)):
            return value
        if isinstance(value, type) or _is_generic(value):
            return value
        if isinstance(value, dict):
            keys = set(value)
            if "class" in keys:
                unknown = keys - _SPEC_TYPE_KEYS
                if unknown:
                    raise ValueError(
                        f"unknown key(s) {sorted(unknown)} in port type; allowed keys: "
                        "class, isinstance, subclass"
                    )
                if not isinstance(value["class"], (str, type)):
                    raise ValueError("port type 'class' must be a class or its import path")
                return dict(value)
            return PortTypeConfig.model_validate(value)
        raise ValueError(
            f"a port type must be a type name (str), a class, a generic such as list[int], "
            f"or {{name = ..., isinstance_check = ...}}; got {value!r} "
            f"({type(value).__name__})"
        )

    @field_serializer("port_type", when_used="json")
    def _port_type_text(self, value: Any) -> Any:
        if isinstance(value, VarRef):
            return value.model_dump(by_alias=True)
        return port_type_to_text(value)

    @property
    def capacity(self) -> int | None:
        """The number of slots, or ``None`` for an unbounded port."""
        spec = self.slots_spec
        if isinstance(spec, PortSlotSpecFiniteConfig):
            if isinstance(spec.capacity, VarRef):
                raise ConfigError(
                    "port capacity is still a reference; resolve the config first",
                    value=spec.capacity.describe(),
                )
            return spec.capacity
        return None

    @classmethod
    def finite(cls, capacity: int, port_type: Any = None) -> "PortConfig":
        """A port holding at most ``capacity`` packets."""
        return cls(slots_spec=PortSlotSpecFiniteConfig(capacity=capacity), port_type=port_type)

    def to_netrun_sim(self) -> Any:
        """The engine's ``Port``."""
        import netrun_sim

        cap = self.capacity
        if cap is None:
            return netrun_sim.Port(netrun_sim.PortSlotSpec.infinite())
        return netrun_sim.Port(netrun_sim.PortSlotSpec.finite(cap))

    @classmethod
    def from_netrun_sim(cls, port: Any, port_type: Any = None) -> "PortConfig":
        """A config from the engine's ``Port`` (types live outside the engine: pass one)."""
        spec = port.slots_spec
        capacity = _int_attr(spec, "capacity")
        if capacity is None:
            return cls(port_type=port_type)
        return cls.finite(capacity, port_type)

    def resolved_type(self) -> Any:
        """``port_type`` with text forms turned back into types (see :func:`resolve_port_type`)."""
        return resolve_port_type(self.port_type)
