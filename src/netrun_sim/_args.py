"""Argument conversion at the API boundary, with the published engine's TypeError texts.

The published engine is a PyO3 extension, so wrong argument types produce PyO3's messages
(for example ``argument 'node_name': 'int' object cannot be converted to 'PyString'``).
These helpers reproduce them so that code matching on messages keeps working. They are used
only where values enter the engine; everything inside trusts the converted data.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import index as _index

__all__ = [
    "as_str",
    "as_u64",
    "as_sequence",
    "as_dict",
    "as_instance",
    "cannot_convert",
    "no_constructor",
    "boundary_copy",
]

_U64_MAX = (1 << 64) - 1


def cannot_convert(value: object, target: str, arg: str | None = None) -> TypeError:
    """Build PyO3's "'<type>' object cannot be converted to '<target>'" TypeError."""
    msg = f"'{type(value).__name__}' object cannot be converted to '{target}'"
    if arg is not None:
        msg = f"argument '{arg}': {msg}"
    return TypeError(msg)


def as_str(value: object, arg: str | None) -> str:
    """Return ``value`` if it is a ``str`` (or subclass), else raise PyO3's TypeError."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise cannot_convert(value, "PyString", arg)


def as_u64(value: object, arg: str = "n") -> int:
    """Convert to an unsigned 64-bit integer the way PyO3 does (``__index__``, bool ok)."""
    if type(value) is not int:
        try:
            value = _index(value)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                f"argument '{arg}': '{type(value).__name__}' object cannot be interpreted as an integer"
            ) from None
    if value < 0:
        raise OverflowError("can't convert negative int to unsigned")
    if value > _U64_MAX:
        raise OverflowError("int too big to convert")
    return int(value)


def as_sequence(value: object, arg: str) -> Sequence:
    """Accept any sequence except ``str`` (PyO3's ``Vec`` extraction rules)."""
    if type(value) is list or type(value) is tuple:
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        raise TypeError(f"argument '{arg}': Can't extract `str` to `Vec`")
    if isinstance(value, Sequence):
        return value
    raise cannot_convert(value, "Sequence", arg)


def as_dict(value: object, arg: str) -> dict:
    """Accept a ``dict`` (or subclass) only."""
    if isinstance(value, dict):
        return value
    raise cannot_convert(value, "PyDict", arg)


def as_instance(value: object, cls: type, arg: str | None, name: str | None = None):
    """Return ``value`` if it is a ``cls`` instance, else PyO3's conversion TypeError."""
    if isinstance(value, cls):
        return value
    raise cannot_convert(value, name or cls.__name__, arg)


def no_constructor(cls: type) -> TypeError:
    """The TypeError PyO3 raises for classes that cannot be built from Python."""
    return TypeError(f"No constructor defined for {cls.__name__}")


def boundary_copy(obj):
    """A shallow copy of an immutable engine object, for getters that hand out copies
    (as the published engine does: ``g.nodes()["A"] is g.nodes()["A"]`` is False)."""
    cls = type(obj)
    new = object.__new__(cls)
    for slot in cls.__slots__:
        object.__setattr__(new, slot, getattr(obj, slot))
    return new
