"""Port types: what values a port accepts, checked on consume (input) and load (output).

A port type is given in one of these forms (PROJECT_SPEC "Port Types"):

* a class-name string, ``"DataFrame"``: ``type(value).__name__ == "DataFrame"``. Strings as
  ``from __future__ import annotations`` leaves them also work: ``"list[int]"`` checks the
  origin (``list``), ``"int | None"`` / ``"Optional[int]"`` / ``"Union[a, b]"`` accept any
  alternative, ``"Any"`` accepts everything, and a dotted ``"pkg.mod.Class"`` is imported
  and checked with ``isinstance`` (falling back to a name match if it cannot be imported);
* a class, ``int``: ``isinstance``;
* a typing generic, ``list[int]``, ``dict[str, int]``, ``Optional[int]``, ``int | None``,
  ``Literal["a"]``: the origin is checked (``isinstance(value, list)``), unions accept any
  alternative (element types are not checked: that would cost a walk over the value);
* a dict, ``{"class": C}`` / ``{"class": C, "isinstance": True}`` (isinstance, the default),
  ``{"class": C, "isinstance": False}`` (exact type), ``{"class": C, "subclass": True}``
  (``issubclass(type(value), C)``).

Specs are compiled once, when they are set, into a :class:`PortTypeSpec` whose ``check`` is a
single call.

>>> check_value_type([1, 2], "list[int]")
(True, 'list[int] (checked as list)', 'list')
>>> check_value_type("x", {"class": int, "isinstance": False})
(False, 'exactly int', 'str')
"""

from __future__ import annotations

import importlib
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Type

from netrun.errors import NodeConfigError

__all__ = ["PortTypeSpec", "PortTypeRegistry", "check_value_type"]

_ANY_NAMES = {"Any", "typing.Any", "object", "builtins.object"}


def _always(value: Any) -> bool:
    return True


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` characters that are not inside brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _string_alternatives(text: str) -> list[str]:
    text = text.strip().strip("'\"")
    alts = _split_top(text, "|")
    if len(alts) > 1:
        return [a for alt in alts for a in _string_alternatives(alt)]
    head, _, rest = text.partition("[")
    head = head.strip()
    if rest and head in ("Optional", "typing.Optional"):
        return _string_alternatives(rest.rsplit("]", 1)[0]) + ["None"]
    if rest and head in ("Union", "typing.Union"):
        inner = rest.rsplit("]", 1)[0]
        return [a for alt in _split_top(inner, ",") for a in _string_alternatives(alt)]
    if rest and head in ("Annotated", "typing.Annotated"):
        return _string_alternatives(_split_top(rest.rsplit("]", 1)[0], ",")[0])
    return [head]


def _name_check(name: str) -> Callable[[Any], bool]:
    if name in _ANY_NAMES:
        return _always
    if name in ("None", "NoneType"):
        return lambda value: value is None
    if "." in name:
        module, _, attr = name.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except Exception:
            cls = None
        if isinstance(cls, type):
            return lambda value: isinstance(value, cls)
        short = attr
        return lambda value: type(value).__name__ == short
    return lambda value: type(value).__name__ == name


def _generic_check(spec: Any) -> tuple[Callable[[Any], bool], str] | None:
    """Checker for typing constructs (``list[int]``, ``Optional[X]``, ``Any``...)."""
    if spec is typing.Any:
        return _always, "Any"
    origin = typing.get_origin(spec)
    if origin is None:
        return None
    args = typing.get_args(spec)
    if origin is typing.Union or origin is getattr(types, "UnionType", None):
        checks = [_compile(a)[0] for a in args]
        return (lambda value: any(c(value) for c in checks)), " | ".join(_compile(a)[1] for a in args)
    if origin is typing.Literal:
        allowed = args
        return (lambda value: value in allowed), f"one of {list(allowed)!r}"
    if origin is typing.Annotated:
        return _compile(args[0])
    if isinstance(origin, type):
        return (lambda value: isinstance(value, origin)), f"{_type_text(spec)} (checked as {origin.__name__})"
    return None


def _type_text(spec: Any) -> str:
    text = repr(spec)
    return text.replace("typing.", "")


def _compile(spec: Any) -> tuple[Callable[[Any], bool], str]:
    if spec is None or spec is type(None):
        return (lambda value: value is None), "None"
    if isinstance(spec, str):
        alts = _string_alternatives(spec)
        checks = [_name_check(a) for a in alts]
        if len(checks) == 1:
            base = alts[0]
            text = spec.strip() if base == spec.strip() else f"{spec.strip()} (checked as {base})"
            return checks[0], text
        return (lambda value: any(c(value) for c in checks)), spec.strip()
    generic = _generic_check(spec)
    if generic is not None:
        return generic
    if isinstance(spec, type):
        return (lambda value: isinstance(value, spec)), f"instance of {spec.__name__}"
    raise NodeConfigError(
        f"Unsupported port type {spec!r}: use a class, a class-name string, a typing "
        f"generic such as list[int], or a dict like {{'class': MyClass, 'isinstance': False}}"
    )


@dataclass
class PortTypeSpec:
    """A normalised, compiled port type (build it with :meth:`from_spec`)."""

    type_class: Optional[Type[Any]] = None
    type_name: Optional[str] = None
    use_isinstance: bool = True
    use_subclass: bool = False
    raw: Any = None
    _check: Optional[Callable[[Any], bool]] = field(default=None, repr=False, compare=False)
    _text: str = field(default="any", repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._check is None:
            if self.type_class is not None or self.type_name is not None:
                self._check, self._text = self._compile_parts()
            else:
                self._check = _always

    def _compile_parts(self) -> tuple[Callable[[Any], bool], str]:
        cls = self.type_class
        if cls is None:
            return _compile(self.type_name)
        if not isinstance(cls, type):
            return _compile(cls)
        if self.use_subclass:
            return (lambda value: issubclass(type(value), cls)), f"subclass of {cls.__name__}"
        if self.use_isinstance:
            return (lambda value: isinstance(value, cls)), f"instance of {cls.__name__}"
        return (lambda value: type(value) is cls), f"exactly {cls.__name__}"

    @classmethod
    def from_spec(cls, spec: Any) -> Optional["PortTypeSpec"]:
        """Compile a raw spec (string, class, generic or dict); ``None`` means "no check".

        Raises ``NodeConfigError`` for a spec of an unsupported form.
        """
        if spec is None:
            return None
        if isinstance(spec, PortTypeSpec):
            return spec
        if isinstance(spec, dict):
            if "class" not in spec:
                raise NodeConfigError(
                    f"A port type dict needs a 'class' key, got {spec!r}; e.g. "
                    f"{{'class': MyClass, 'isinstance': False}}"
                )
            unknown = set(spec) - {"class", "isinstance", "subclass"}
            if unknown:
                raise NodeConfigError(
                    f"Unknown key(s) {sorted(unknown)} in port type {spec!r}; allowed: "
                    f"'class', 'isinstance', 'subclass'"
                )
            target = spec["class"]
            use_sub = bool(spec.get("subclass", False))
            use_inst = bool(spec.get("isinstance", True))
            if isinstance(target, str):
                if not use_sub and use_inst:
                    check, text = _compile(target)
                    return cls(type_name=target, raw=spec, _check=check, _text=text)
                imported = _name_check(target)
                return cls(type_name=target, use_isinstance=use_inst, use_subclass=use_sub,
                           raw=spec, _check=imported, _text=target)
            if not isinstance(target, type):
                raise NodeConfigError(f"The 'class' of port type {spec!r} must be a class")
            return cls(type_class=target, use_isinstance=use_inst, use_subclass=use_sub, raw=spec)
        if isinstance(spec, str):
            check, text = _compile(spec)
            return cls(type_name=spec, raw=spec, _check=check, _text=text)
        check, text = _compile(spec)
        type_class = spec if isinstance(spec, type) else None
        return cls(type_class=type_class, raw=spec, _check=check, _text=text)

    def check(self, value: Any) -> bool:
        """Whether ``value`` matches."""
        return self._check(value)

    def get_expected_type_str(self) -> str:
        """Human-readable description of the expected type (for messages)."""
        return self._text


def check_value_type(value: Any, type_spec: Any) -> tuple[bool, str, str]:
    """``(matches, expected_description, actual_type_name)``; a ``None`` spec always matches."""
    spec = PortTypeSpec.from_spec(type_spec)
    if spec is None:
        return True, "any", type(value).__name__
    return spec.check(value), spec.get_expected_type_str(), type(value).__name__


class PortTypeRegistry:
    """Port types per ``(node, port)`` for inputs and outputs, compiled when set."""

    def __init__(self) -> None:
        self._raw: dict[tuple[str, str, str], Any] = {}
        self._compiled: dict[tuple[str, str, str], PortTypeSpec] = {}
        self._listeners: list[Callable[[str], None]] = []

    def _set(self, side: str, node_name: str, port_name: str, type_spec: Any) -> None:
        key = (side, node_name, port_name)
        compiled = PortTypeSpec.from_spec(type_spec)
        if compiled is None:
            self._raw.pop(key, None)
            self._compiled.pop(key, None)
        else:
            self._raw[key] = type_spec
            self._compiled[key] = compiled
        for listener in self._listeners:
            listener(node_name)

    def set_input_port_type(self, node_name: str, port_name: str, type_spec: Any) -> None:
        """Set (or with ``None`` clear) the type checked when a packet from this input port
        is consumed."""
        self._set("in", node_name, port_name, type_spec)

    def set_output_port_type(self, node_name: str, port_name: str, type_spec: Any) -> None:
        """Set (or clear) the type checked when a packet is loaded into this output port."""
        self._set("out", node_name, port_name, type_spec)

    def get_input_port_type(self, node_name: str, port_name: str) -> Any:
        """The raw spec of an input port, or ``None``."""
        return self._raw.get(("in", node_name, port_name))

    def get_output_port_type(self, node_name: str, port_name: str) -> Any:
        """The raw spec of an output port, or ``None``."""
        return self._raw.get(("out", node_name, port_name))

    def compiled(self, side: str, node_name: str) -> dict[str, PortTypeSpec]:
        """``{port: PortTypeSpec}`` of one node's inputs (``"in"``) or outputs (``"out"``)."""
        return {p: s for (sd, n, p), s in self._compiled.items() if sd == side and n == node_name}

    def check_input_port_value(self, node_name: str, port_name: str, value: Any) -> tuple[bool, str, str]:
        """``(matches, expected, actual)`` for a value read from an input port."""
        spec = self._compiled.get(("in", node_name, port_name))
        if spec is None:
            return True, "any", type(value).__name__
        return spec.check(value), spec.get_expected_type_str(), type(value).__name__

    def check_output_port_value(self, node_name: str, port_name: str, value: Any) -> tuple[bool, str, str]:
        """``(matches, expected, actual)`` for a value loaded into an output port."""
        spec = self._compiled.get(("out", node_name, port_name))
        if spec is None:
            return True, "any", type(value).__name__
        return spec.check(value), spec.get_expected_type_str(), type(value).__name__

    def items(self) -> list[tuple[str, str, str, Any]]:
        """``(side, node, port, raw_spec)`` for every set type (for definitions)."""
        return [(side, node, port, raw) for (side, node, port), raw in self._raw.items()]

    def clear(self) -> None:
        """Remove every port type."""
        nodes = {n for (_, n, _) in self._raw}
        self._raw.clear()
        self._compiled.clear()
        for node in nodes:
            for listener in self._listeners:
                listener(node)

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(node_name)`` whenever a node's port types change."""
        self._listeners.append(listener)
