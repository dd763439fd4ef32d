"""Stable, type-tagged hashing of values and code, for cache keys and file-storage entries.

A key must not change between runs, processes or machines for equal inputs, and must differ
for different ones. Pickle bytes give neither guarantee (dict insertion order, set iteration
order and memo details leak into them), so values are first reduced to a canonical byte
stream:

* every value carries a type tag, so ``1``, ``1.0``, ``True`` and ``"1"`` hash differently,
  and a ``list`` differs from a ``tuple`` with the same items;
* dicts, sets and frozensets hash the same whatever their order (their items' digests are
  sorted);
* numpy arrays hash their dtype, shape and C-ordered bytes; pandas and polars frames their
  schema and content; dataclasses, pydantic models, enums, dates, paths, decimals and UUIDs
  have their own rules;
* other objects hash their class and their ``__dict__`` (or ``__getstate__``), recursively;
  objects without either fall back to their pickle bytes (documented as less stable).

:func:`code_fingerprint` hashes what a node runs: a function's source when available
(otherwise its bytecode, constants and names), its defaults, and its closure values — so
editing a node's code changes its cache keys.

>>> stable_hash({"a": 1, "b": {2, 3}}) == stable_hash({"b": {3, 2}, "a": 1})
True
>>> stable_hash(1) == stable_hash(1.0)
False
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import functools
import hashlib
import inspect
import math
import pathlib
import pickle
import uuid
import zlib
from enum import Enum
from typing import Any

from netrun.storage.errors import MissingOptionalDependencyError

__all__ = ["HashMethod", "stable_hash", "canonical_bytes", "code_fingerprint", "hash_bytes"]


class HashMethod(str, Enum):
    """A hash function for cache keys. ``blake2b`` (the default) needs nothing extra."""

    adler32 = "adler32"
    crc32 = "crc32"
    sha256 = "sha256"
    blake2b = "blake2b"
    xxh64 = "xxh64"


def hash_bytes(data: bytes, method: HashMethod | str = HashMethod.blake2b) -> str:
    """Hex digest of ``data`` with ``method``."""
    if method is HashMethod.blake2b:  # the default, without the enum lookup
        return hashlib.blake2b(data, digest_size=20).hexdigest()
    method = HashMethod(method)
    if method is HashMethod.blake2b:
        return hashlib.blake2b(data, digest_size=20).hexdigest()
    if method is HashMethod.sha256:
        return hashlib.sha256(data).hexdigest()
    if method is HashMethod.xxh64:
        return _xxhash().xxh64(data).hexdigest()
    if method is HashMethod.crc32:
        return format(zlib.crc32(data), "08x")
    return format(zlib.adler32(data), "08x")


def _xxhash() -> Any:
    try:
        import xxhash
    except ImportError as exc:
        raise MissingOptionalDependencyError(
            "hash method 'xxh64' needs the 'xxhash' package, which is not installed "
            "(or choose hash_method='blake2b', which needs nothing)",
            package="xxhash",
            extra="storage",
        ) from exc
    return xxhash


def stable_hash(value: Any, method: HashMethod | str = HashMethod.blake2b) -> str:
    """A hex digest of ``value`` that is the same in every process for equal values."""
    return hash_bytes(canonical_bytes(value), method)


def canonical_bytes(value: Any) -> bytes:
    """The canonical, type-tagged byte encoding of ``value`` that :func:`stable_hash` hashes."""
    out = bytearray()
    _encode(value, out, set())
    return bytes(out)


def _digest(value: Any, seen: set[int]) -> bytes:
    out = bytearray()
    _encode(value, out, seen)
    return hashlib.blake2b(out, digest_size=16).digest()


def _frame(out: bytearray, tag: bytes, payload: bytes) -> None:
    # tag, then a length prefix: no two different values share an encoding.
    out += tag
    out += len(payload).to_bytes(8, "big")  # == struct.pack(">Q", ...)
    out += payload


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _encode(value: Any, out: bytearray, seen: set[int]) -> None:  # noqa: C901 - one dispatch table
    cls = type(value)
    # Exact-type fast paths for the common small values.
    if value is None:
        out += b"N"
        return
    if cls is bool:
        out += b"T" if value else b"F"
        return
    if cls is int:
        _frame(out, b"i", str(value).encode())
        return
    if cls is float:
        # repr is exact for floats; normalise NaN (many bit patterns) and -0.0 vs 0.0 stays distinct.
        _frame(out, b"f", b"nan" if math.isnan(value) else repr(value).encode())
        return
    if cls is str:
        _frame(out, b"s", value.encode("utf-8", "surrogatepass"))
        return
    if cls is bytes or cls is bytearray:
        _frame(out, b"b" if cls is bytes else b"B", bytes(value))
        return
    if cls is complex:
        _frame(out, b"c", repr(value).encode())
        return

    ident = id(value)
    if ident in seen:  # a reference cycle: encode the back-reference, not the contents again
        _frame(out, b"@", _qualname(cls).encode())
        return
    seen.add(ident)
    try:
        _encode_container(value, cls, out, seen)
    finally:
        seen.discard(ident)


def _encode_container(value: Any, cls: type, out: bytearray, seen: set[int]) -> None:  # noqa: C901
    if cls is list or cls is tuple:
        body = bytearray()
        for item in value:
            _encode(item, body, seen)
        _frame(out, b"l" if cls is list else b"t", bytes(body))
        return
    if isinstance(value, dict):
        pairs = sorted(_digest(k, seen) + _digest(v, seen) for k, v in value.items())
        tag = b"d" if cls is dict else b"D" + _qualname(cls).encode() + b"\0"
        _frame(out, tag, b"".join(pairs))
        return
    if isinstance(value, (set, frozenset)):
        items = sorted(_digest(item, seen) for item in value)
        _frame(out, b"S" if isinstance(value, set) else b"Z", b"".join(items))
        return
    if isinstance(value, Enum):
        _frame(out, b"e", _qualname(cls).encode() + b"\0" + repr(value.name).encode())
        return
    if isinstance(value, bool | int | float | str | bytes | list | tuple):  # subclasses of builtins
        body = bytearray()
        _encode(cls.__mro__[[c.__module__ for c in cls.__mro__].index("builtins")](value), body, seen)
        _frame(out, b"x", _qualname(cls).encode() + b"\0" + bytes(body))
        return
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time, datetime.timedelta)):
        _frame(out, b"w", _qualname(cls).encode() + b"\0" + repr(value).encode())
        return
    if isinstance(value, (decimal.Decimal, uuid.UUID, pathlib.PurePath)):
        _frame(out, b"v", _qualname(cls).encode() + b"\0" + str(value).encode())
        return
    module = cls.__module__
    if module.startswith("numpy"):
        _encode_numpy(value, cls, out, seen)
        return
    if module.startswith("pandas") or module.startswith("polars"):
        _encode_frame(value, cls, out, seen)
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        _encode_object(cls, fields, out, seen)
        return
    if hasattr(value, "model_dump") and hasattr(cls, "model_fields"):  # pydantic v2 model
        _encode_object(cls, {name: getattr(value, name) for name in cls.model_fields}, out, seen)
        return
    if callable(value) and (inspect.isfunction(value) or inspect.ismethod(value) or inspect.isbuiltin(value)):
        _frame(out, b"C", code_fingerprint(value).encode())
        return
    if isinstance(value, type):
        _frame(out, b"K", _qualname(value).encode())
        return
    state = _object_state(value)
    if state is not None:
        _encode_object(cls, state, out, seen)
        return
    # Last resort: pickle bytes (stable for most simple objects, not guaranteed in general).
    try:
        payload = pickle.dumps(value, protocol=4)
    except Exception as exc:
        raise TypeError(
            f"cannot compute a stable hash of a value of type {_qualname(cls)}: it has no "
            f"__dict__/__getstate__ and cannot be pickled ({exc}); give the class a "
            "__getstate__ returning its identifying data, or exclude the port from the cache"
        ) from exc
    _frame(out, b"P", _qualname(cls).encode() + b"\0" + payload)


def _object_state(value: Any) -> dict[str, Any] | None:
    getstate = getattr(value, "__getstate__", None)
    state = None
    if getstate is not None:
        try:
            state = getstate()
        except TypeError:
            state = None
    if state is None and hasattr(value, "__dict__"):
        state = vars(value)
    if state is None:
        slots = [s for c in type(value).__mro__ for s in getattr(c, "__slots__", ())]
        if slots:
            state = {s: getattr(value, s) for s in slots if hasattr(value, s)}
    if state is None or isinstance(state, dict):
        return state
    return {"__state__": state}


def _encode_object(cls: type, fields: dict[str, Any], out: bytearray, seen: set[int]) -> None:
    body = bytearray()
    _encode(fields, body, seen)
    _frame(out, b"o", _qualname(cls).encode() + b"\0" + bytes(body))


def _encode_numpy(value: Any, cls: type, out: bytearray, seen: set[int]) -> None:
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            body = bytearray()
            _encode([_ for _ in value.ravel().tolist()], body, seen)
            payload = bytes(body)
        else:
            payload = np.ascontiguousarray(value).tobytes()
        header = f"{value.dtype.str}|{value.shape}".encode()
        _frame(out, b"A", header + b"\0" + payload)
        return
    if isinstance(value, np.generic):
        _frame(out, b"a", value.dtype.str.encode() + b"\0" + value.tobytes())
        return
    _frame(out, b"P", _qualname(cls).encode() + b"\0" + pickle.dumps(value, protocol=4))


def _encode_frame(value: Any, cls: type, out: bytearray, seen: set[int]) -> None:
    name = _qualname(cls)
    if cls.__module__.startswith("pandas"):
        import pandas as pd

        if isinstance(value, (pd.DataFrame, pd.Series, pd.Index)):
            rows = pd.util.hash_pandas_object(value, index=not isinstance(value, pd.Index)).to_numpy()
            schema = repr(
                (list(map(str, value.columns)), list(map(str, value.dtypes)))
                if isinstance(value, pd.DataFrame)
                else (str(getattr(value, "name", None)), str(value.dtype))
            ).encode()
            _frame(out, b"p", name.encode() + b"\0" + schema + b"\0" + rows.tobytes())
            return
    elif hasattr(value, "write_ipc") or hasattr(value, "to_frame"):  # polars DataFrame / Series
        # Arrow IPC bytes (uncompressed) are deterministic for equal frames; polars' own
        # row hashes are not promised to be stable across versions.
        import io

        frame = value.to_frame() if not hasattr(value, "write_ipc") else value
        buffer = io.BytesIO()
        frame.write_ipc(buffer, compression="uncompressed")
        _frame(out, b"p", name.encode() + b"\0" + buffer.getvalue())
        return
    state = _object_state(value)
    if state is not None:
        _encode_object(cls, state, out, seen)
        return
    _frame(out, b"P", name.encode() + b"\0" + pickle.dumps(value, protocol=4))


# --- code -------------------------------------------------------------------------------


def code_fingerprint(obj: Any) -> str:
    """A stable digest of what ``obj`` would run, for cache keys.

    Functions hash their qualified name, source (or, without source, bytecode, constants
    and names), defaults and closure values; ``functools.partial`` its function and bound
    arguments; methods their function and ``self``'s class; callable objects their class's
    ``__call__`` and their state; strings (import paths) themselves.

    >>> def f(x): return x + 1
    >>> def g(x): return x + 2
    >>> code_fingerprint(f) != code_fingerprint(g)
    True
    """
    out = bytearray()
    _encode_code(obj, out, set())
    return hashlib.blake2b(bytes(out), digest_size=20).hexdigest()


def _encode_code(obj: Any, out: bytearray, seen: set[int]) -> None:
    if id(obj) in seen:
        out += b"@"
        return
    seen.add(id(obj))
    if obj is None or isinstance(obj, str):
        _encode(obj, out, set())
        return
    if isinstance(obj, functools.partial):
        out += b"partial"
        _encode_code(obj.func, out, seen)
        _encode((obj.args, obj.keywords), out, set())
        return
    if inspect.ismethod(obj):
        out += b"method" + _qualname(type(obj.__self__)).encode()
        _encode_code(obj.__func__, out, seen)
        return
    if inspect.isfunction(obj):
        _frame(out, b"fn", f"{obj.__module__}.{obj.__qualname__}".encode())
        try:
            _frame(out, b"src", inspect.getsource(obj).encode())
        except (OSError, TypeError):
            _encode_code_object(obj.__code__, out)
        _encode_safely((obj.__defaults__, obj.__kwdefaults__), out)
        for cell in obj.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                out += b"empty"
                continue
            if callable(contents) and not isinstance(contents, type):
                _encode_code(contents, out, seen)
            else:
                _encode_safely(contents, out)
        return
    if inspect.isbuiltin(obj) or isinstance(obj, type):
        _frame(out, b"ref", f"{getattr(obj, '__module__', '')}.{obj.__qualname__}".encode())
        return
    call = getattr(type(obj), "__call__", None)  # noqa: B004 - the class's own __call__ function
    if call is not None and inspect.isfunction(call):
        out += b"callable"
        _encode_code(call, out, seen)
        _encode_safely(_object_state(obj), out)
        return
    _encode_safely(obj, out)


def _encode_code_object(code: Any, out: bytearray) -> None:
    _frame(out, b"co", code.co_code)
    _frame(out, b"names", repr(code.co_names).encode())
    for const in code.co_consts:
        if inspect.iscode(const):
            _encode_code_object(const, out)
        else:
            _encode_safely(const, out)


def _encode_safely(value: Any, out: bytearray) -> None:
    # Closure values and defaults that cannot be hashed stably (locks, clients) still
    # identify the code through their type; their state is left out.
    try:
        _encode(value, out, set())
    except TypeError:
        _frame(out, b"?", _qualname(type(value)).encode())
