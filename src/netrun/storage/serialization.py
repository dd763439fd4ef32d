"""Turning packet values into bytes and back, by a named method.

Methods (``SerializationMethod``) and the file extensions they use:

=================  ============  ======================================================
method             extension     values
=================  ============  ======================================================
``json``           ``.json``     JSON-compatible data (tuples come back as lists)
``pickle``         ``.pkl``      anything picklable by ``pickling_method``
``str``            ``.txt``      ``str`` (UTF-8); alias ``text``
``binary``         ``.bin``      ``bytes`` / ``bytearray`` / ``memoryview``; alias ``bytes``
``msgpack``        ``.msgpack``  msgpack-compatible data (tuples come back as lists)
``numpy``          ``.npy``      ``numpy.ndarray`` (no object arrays: loaded without pickle)
``pandas_csv``     ``.csv``      ``pandas.DataFrame`` (the index is not kept)
``pandas_parquet`` ``.parquet``  ``pandas.DataFrame`` (through pyarrow)
``polars_csv``     ``.csv``      ``polars.DataFrame``
``polars_parquet`` ``.parquet``  ``polars.DataFrame``
``feather``        ``.feather``  a pandas or polars ``DataFrame``
``torch``          ``.pt``       anything ``torch.save`` takes
``safetensors``    ``.safetensors``  ``dict[str, numpy.ndarray | torch.Tensor]``
=================  ============  ======================================================

``pickling_method`` chooses the pickler for ``pickle``: the standard library (default),
``cloudpickle`` (lambdas, local functions, classes defined in ``__main__``) or ``dill``.

Every optional library is imported when its method is first used; a missing one raises
:class:`MissingOptionalDependencyError` with the ``pip install 'netrun[extra]'`` command.
A value the method cannot take raises :class:`ValueNotSerializableError` that names the
method, the value's type and what to use instead.

A few methods need to know at load time what the writer saw (``feather`` returns pandas or
polars, ``safetensors`` numpy arrays or torch tensors); :func:`load_options_for` gives those
options, and whoever stores the bytes keeps them next to the data (file-storage manifests and
:class:`~netrun.storage.lazy.StoredValueRef` do).

>>> deserialize(serialize({"a": [1, 2]}, "json"), "json")
{'a': [1, 2]}
"""

from __future__ import annotations

import io
import json
import pickle
from enum import Enum
from typing import Any

from netrun.storage.errors import (
    MissingOptionalDependencyError,
    ValueNotDeserializableError,
    ValueNotSerializableError,
)

__all__ = [
    "SerializationMethod",
    "PicklingMethod",
    "serialize",
    "deserialize",
    "pickle_data",
    "unpickle_data",
    "get_file_extension",
    "load_options_for",
    "validate_imports",
    "optional_import",
]


class PicklingMethod(str, Enum):
    """Which pickler the ``pickle`` serialization (and cache entries) use."""

    pickle = "pickle"
    dill = "dill"
    cloudpickle = "cloudpickle"


class SerializationMethod(str, Enum):
    """A serialization method; the value is the name used in configs."""

    json = "json"
    pickle = "pickle"
    str = "str"
    binary = "binary"
    msgpack = "msgpack"
    numpy = "numpy"
    pandas_csv = "pandas_csv"
    pandas_parquet = "pandas_parquet"
    polars_csv = "polars_csv"
    polars_parquet = "polars_parquet"
    feather = "feather"
    torch = "torch"
    safetensors = "safetensors"

    @classmethod
    def _missing_(cls, value: object) -> SerializationMethod | None:
        aliases = {"text": cls.str, "bytes": cls.binary, "npy": cls.numpy, "parquet": cls.pandas_parquet}
        return aliases.get(value) if isinstance(value, str) else None


_EXTENSIONS = {
    SerializationMethod.json: ".json",
    SerializationMethod.pickle: ".pkl",
    SerializationMethod.str: ".txt",
    SerializationMethod.binary: ".bin",
    SerializationMethod.msgpack: ".msgpack",
    SerializationMethod.numpy: ".npy",
    SerializationMethod.pandas_csv: ".csv",
    SerializationMethod.pandas_parquet: ".parquet",
    SerializationMethod.polars_csv: ".csv",
    SerializationMethod.polars_parquet: ".parquet",
    SerializationMethod.feather: ".feather",
    SerializationMethod.torch: ".pt",
    SerializationMethod.safetensors: ".safetensors",
}

# import name -> (distribution to install, netrun extra that installs it or None)
_OPTIONAL_PACKAGES = {
    "msgpack": ("msgpack", "storage"),
    "numpy": ("numpy", "dataframes"),
    "pandas": ("pandas", "dataframes"),
    "polars": ("polars", "dataframes"),
    "pyarrow": ("pyarrow", "dataframes"),
    "pyarrow.feather": ("pyarrow", "dataframes"),
    "dill": ("dill", "serialization"),
    "cloudpickle": ("cloudpickle", None),
    "torch": ("torch", None),
    "safetensors.numpy": ("safetensors", "tensors"),
    "safetensors.torch": ("safetensors", "tensors"),
}

# The libraries each method needs, checked by validate_imports.
_NEEDS = {
    SerializationMethod.msgpack: ("msgpack",),
    SerializationMethod.numpy: ("numpy",),
    SerializationMethod.pandas_csv: ("pandas",),
    SerializationMethod.pandas_parquet: ("pandas", "pyarrow"),
    SerializationMethod.polars_csv: ("polars",),
    SerializationMethod.polars_parquet: ("polars",),
    SerializationMethod.feather: ("pyarrow.feather",),
    SerializationMethod.torch: ("torch",),
    SerializationMethod.safetensors: ("safetensors.numpy",),
}


def optional_import(module: str, purpose: str) -> Any:
    """Import an optional library, or raise an install hint naming ``purpose``."""
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        package, extra = _OPTIONAL_PACKAGES.get(module, (module.split(".")[0], None))
        raise MissingOptionalDependencyError(
            f"{purpose} needs the {package!r} package, which is not installed",
            package=package,
            extra=extra,
        ) from exc


def _method(method: SerializationMethod | str) -> SerializationMethod:
    try:
        return SerializationMethod(method)
    except ValueError:
        known = ", ".join(m.value for m in SerializationMethod)
        raise ValueError(f"unknown serialization method {method!r}; use one of: {known}") from None


def _pickling(method: PicklingMethod | str) -> PicklingMethod:
    if type(method) is PicklingMethod:  # the common case, without the enum lookup
        return method
    try:
        return PicklingMethod(method)
    except ValueError:
        known = ", ".join(m.value for m in PicklingMethod)
        raise ValueError(f"unknown pickling method {method!r}; use one of: {known}") from None


def get_file_extension(method: SerializationMethod | str) -> str:
    """The file-name suffix for ``method``, e.g. ``".pkl"``."""
    return _EXTENSIONS[_method(method)]


def validate_imports(
    method: SerializationMethod | str, pickling_method: PicklingMethod | str = PicklingMethod.pickle
) -> None:
    """Fail early (at configuration time) if ``method`` needs a missing library."""
    method = _method(method)
    for module in _NEEDS.get(method, ()):
        optional_import(module, f"serialization method {method.value!r}")
    if method is SerializationMethod.pickle and _pickling(pickling_method) is not PicklingMethod.pickle:
        optional_import(_pickling(pickling_method).value, f"pickling method {pickling_method!s}")


# --- pickling ---------------------------------------------------------------------------


def pickle_data(
    value: Any, method: PicklingMethod | str = PicklingMethod.pickle, **pickling_args: Any
) -> bytes:
    """Pickle ``value`` with the chosen pickler (highest protocol unless ``protocol`` is given).

    Raises :class:`ValueNotSerializableError` when the value cannot be pickled.
    """
    method = _pickling(method)
    pickling_args.setdefault("protocol", pickle.HIGHEST_PROTOCOL)
    if method is PicklingMethod.pickle:
        dumps = pickle.dumps
    else:
        dumps = optional_import(method.value, f"pickling method {method.value!r}").dumps
    try:
        return dumps(value, **pickling_args)
    except Exception as exc:  # PicklingError, TypeError, AttributeError (local objects), ...
        hint = (
            "use pickling_method='cloudpickle' (handles lambdas and local functions) or "
            "return a picklable value"
            if method is PicklingMethod.pickle
            else "return a picklable value (no open files, locks, sockets or generators)"
        )
        raise ValueNotSerializableError(
            f"value of type {_type_name(value)} cannot be pickled with {method.value!r}: {exc}",
            fix=hint,
        ) from exc


def unpickle_data(data: bytes, method: PicklingMethod | str = PicklingMethod.pickle) -> Any:
    """Undo :func:`pickle_data`. ``cloudpickle`` output loads with the standard unpickler."""
    method = _pickling(method)
    loads = (
        optional_import("dill", "pickling method 'dill'").loads
        if method is PicklingMethod.dill
        else pickle.loads
    )
    try:
        return loads(data)
    except Exception as exc:
        raise ValueNotDeserializableError(
            f"cannot unpickle {len(data)} bytes with {method.value!r}: {exc}",
            fix="check that the data was written with this pickling method and that every "
            "module its classes come from is importable here",
        ) from exc


# --- serialize / deserialize ------------------------------------------------------------


def _type_name(value: Any) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _not_serializable(method: SerializationMethod, value: Any, reason: str, fix: str) -> ValueNotSerializableError:
    return ValueNotSerializableError(
        f"value of type {_type_name(value)} cannot be serialized with {method.value!r}: {reason}",
        fix=fix,
    )


def _expect(method: SerializationMethod, value: Any, cls: Any, what: str) -> None:
    if not isinstance(value, cls):
        raise _not_serializable(
            method, value, f"expected {what}", f"use serialization='pickle', or convert the value to {what}"
        )


def load_options_for(value: Any, method: SerializationMethod | str) -> dict[str, Any]:
    """Options :func:`deserialize` needs to give back the same kind of value.

    ``feather`` records whether a pandas or polars frame was written, ``safetensors``
    whether numpy arrays or torch tensors were; other methods need nothing.
    """
    method = _method(method)
    if method is SerializationMethod.feather:
        return {"frame_library": "polars" if type(value).__module__.startswith("polars") else "pandas"}
    if method is SerializationMethod.safetensors and isinstance(value, dict):
        first = next(iter(value.values()), None)
        return {"framework": "pt" if type(first).__module__.startswith("torch") else "numpy"}
    return {}


def serialize(
    value: Any,
    method: SerializationMethod | str = SerializationMethod.pickle,
    *,
    pickling_method: PicklingMethod | str = PicklingMethod.pickle,
    **kwargs: Any,
) -> bytes:
    """Serialize ``value`` to bytes with ``method``.

    ``kwargs`` go to the underlying writer (``pickling_args`` for pickle, e.g.
    ``protocol=4``; ``indent`` for json). Raises :class:`ValueNotSerializableError` with the
    value's type and a fix when the method cannot take the value.
    """
    method = _method(method)
    purpose = f"serialization method {method.value!r}"
    if method is SerializationMethod.pickle:
        return pickle_data(value, pickling_method, **kwargs)
    if method is SerializationMethod.json:
        try:
            return json.dumps(value, ensure_ascii=False, allow_nan=True, **kwargs).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise _not_serializable(
                method, value, str(exc), "use serialization='pickle' or convert the value to JSON data"
            ) from exc
    if method is SerializationMethod.str:
        _expect(method, value, str, "a str")
        return value.encode("utf-8")
    if method is SerializationMethod.binary:
        _expect(method, value, (bytes, bytearray, memoryview), "bytes")
        return bytes(value)
    if method is SerializationMethod.msgpack:
        msgpack = optional_import("msgpack", purpose)
        try:
            return msgpack.packb(value, use_bin_type=True, **kwargs)
        except (TypeError, ValueError, OverflowError) as exc:
            raise _not_serializable(
                method, value, str(exc), "use serialization='pickle' or convert the value to msgpack data"
            ) from exc
    if method is SerializationMethod.numpy:
        np = optional_import("numpy", purpose)
        _expect(method, value, np.ndarray, "a numpy.ndarray")
        buffer = io.BytesIO()
        try:
            np.save(buffer, value, allow_pickle=False)
        except ValueError as exc:  # object arrays need pickle
            raise _not_serializable(
                method, value, str(exc), "use serialization='pickle' for object arrays"
            ) from exc
        return buffer.getvalue()
    if method in (SerializationMethod.pandas_csv, SerializationMethod.pandas_parquet):
        pd = optional_import("pandas", purpose)
        _expect(method, value, pd.DataFrame, "a pandas.DataFrame")
        if method is SerializationMethod.pandas_csv:
            return value.to_csv(index=False, **kwargs).encode("utf-8")
        optional_import("pyarrow", purpose)
        buffer = io.BytesIO()
        value.to_parquet(buffer, engine="pyarrow", **kwargs)
        return buffer.getvalue()
    if method in (SerializationMethod.polars_csv, SerializationMethod.polars_parquet):
        pl = optional_import("polars", purpose)
        _expect(method, value, pl.DataFrame, "a polars.DataFrame")
        buffer = io.BytesIO()
        if method is SerializationMethod.polars_csv:
            value.write_csv(buffer, **kwargs)
        else:
            value.write_parquet(buffer, **kwargs)
        return buffer.getvalue()
    if method is SerializationMethod.feather:
        feather = optional_import("pyarrow.feather", purpose)
        module = type(value).__module__
        buffer = io.BytesIO()
        if module.startswith("polars"):
            feather.write_feather(value.to_arrow(), buffer, **kwargs)
        elif module.startswith("pandas") and type(value).__name__ == "DataFrame":
            feather.write_feather(value, buffer, **kwargs)
        else:
            raise _not_serializable(
                method, value, "expected a pandas or polars DataFrame", "use serialization='pickle'"
            )
        return buffer.getvalue()
    if method is SerializationMethod.torch:
        torch = optional_import("torch", purpose)
        buffer = io.BytesIO()
        try:
            torch.save(value, buffer, **kwargs)
        except Exception as exc:
            raise _not_serializable(method, value, str(exc), "use serialization='pickle'") from exc
        return buffer.getvalue()
    # safetensors
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _not_serializable(
            method, value, "expected a dict of str to arrays or tensors", "use serialization='numpy' or 'pickle'"
        )
    framework = load_options_for(value, method).get("framework", "numpy")
    module = optional_import("safetensors.torch" if framework == "pt" else "safetensors.numpy", purpose)
    try:
        return module.save(value)
    except Exception as exc:
        raise _not_serializable(method, value, str(exc), "store only numeric arrays or tensors") from exc


def deserialize(
    data: bytes,
    method: SerializationMethod | str = SerializationMethod.pickle,
    *,
    pickling_method: PicklingMethod | str = PicklingMethod.pickle,
    frame_library: str | None = None,
    framework: str | None = None,
    weights_only: bool = True,
    **kwargs: Any,
) -> Any:
    """Turn bytes written by :func:`serialize` back into a value.

    ``frame_library`` (``"pandas"``/``"polars"``, for feather) and ``framework``
    (``"numpy"``/``"pt"``, for safetensors) are what :func:`load_options_for` recorded.
    ``weights_only`` is passed to ``torch.load``: the safe default loads tensors and plain
    containers only; pass ``False`` for arbitrary pickled objects you trust.
    Corrupt data raises :class:`ValueNotDeserializableError`.
    """
    method = _method(method)
    purpose = f"serialization method {method.value!r}"
    if method is SerializationMethod.pickle:
        return unpickle_data(data, pickling_method)
    try:
        return _deserialize(data, method, purpose, frame_library, framework, weights_only, kwargs)
    except (MissingOptionalDependencyError, ValueNotDeserializableError):
        raise
    except Exception as exc:
        raise ValueNotDeserializableError(
            f"cannot read {len(data)} bytes as {method.value!r}: {exc}",
            fix="check that the data was written with this serialization method and is not truncated",
        ) from exc


def _deserialize(
    data: bytes,
    method: SerializationMethod,
    purpose: str,
    frame_library: str | None,
    framework: str | None,
    weights_only: bool,
    kwargs: dict[str, Any],
) -> Any:
    if method is SerializationMethod.json:
        return json.loads(data.decode("utf-8"), **kwargs)
    if method is SerializationMethod.str:
        return data.decode("utf-8")
    if method is SerializationMethod.binary:
        return bytes(data)
    if method is SerializationMethod.msgpack:
        return optional_import("msgpack", purpose).unpackb(data, raw=False, strict_map_key=False, **kwargs)
    if method is SerializationMethod.numpy:
        return optional_import("numpy", purpose).load(io.BytesIO(data), allow_pickle=False)
    if method is SerializationMethod.pandas_csv:
        return optional_import("pandas", purpose).read_csv(io.BytesIO(data), **kwargs)
    if method is SerializationMethod.pandas_parquet:
        optional_import("pyarrow", purpose)
        return optional_import("pandas", purpose).read_parquet(io.BytesIO(data), engine="pyarrow", **kwargs)
    if method is SerializationMethod.polars_csv:
        return optional_import("polars", purpose).read_csv(io.BytesIO(data), **kwargs)
    if method is SerializationMethod.polars_parquet:
        return optional_import("polars", purpose).read_parquet(io.BytesIO(data), **kwargs)
    if method is SerializationMethod.feather:
        feather = optional_import("pyarrow.feather", purpose)
        if frame_library == "polars":
            return optional_import("polars", purpose).from_arrow(feather.read_table(io.BytesIO(data)))
        return feather.read_feather(io.BytesIO(data), **kwargs)
    if method is SerializationMethod.torch:
        torch = optional_import("torch", purpose)
        return torch.load(io.BytesIO(data), weights_only=weights_only, **kwargs)
    module = optional_import("safetensors.torch" if framework == "pt" else "safetensors.numpy", purpose)
    return module.load(data)
