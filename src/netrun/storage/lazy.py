"""Lazy packet values: computed or loaded when consumed, by the worker that consumes them.

Two kinds of lazy value travel in place of a packet's value:

* :class:`LazyPacketValueSpec` — an import path plus arguments (the published runtime's
  spec). Any process that can import the function can evaluate it; nothing unpicklable
  (no closure) is shipped.
* :class:`StoredValueRef` — a handle to a value kept in a storage backend instead of memory:
  the backend (by name, plus its config *without secrets*), the key, the serialization and
  compression, the size and a SHA-256 checksum. :meth:`StoredValueRef.load` reads and
  checks it. :meth:`LazyPacketValueSpec.from_stored` wraps one so code that only knows
  specs can evaluate it too.

:func:`store_value` writes a value and returns its reference; :func:`resolve_value` /
:func:`aresolve_value` turn whatever a packet holds into its value (the async form runs
blocking loads in a thread so the event loop keeps going).

Failures raise :class:`LazyPacketValueEvaluationError` (import or call failures) or the
backend's specific error (unreachable, missing key, corrupt data), with node and port when
the caller passes them.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import inspect
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import TypeAdapter

from netrun.storage.backends import StorageBackend, get_backend, register_backend
from netrun.storage.compression import CompressionMethod, compress, decompress
from netrun.storage.config import BackendConfig, BackendConfigBase
from netrun.storage.errors import (
    LazyPacketValueEvaluationError,
    StorageError,
    StoredValueCorruptError,
)
from netrun.storage.serialization import (
    PicklingMethod,
    SerializationMethod,
    deserialize,
    load_options_for,
    serialize,
)

__all__ = [
    "LazyPacketValueSpec",
    "LazyPacketValueEvaluationError",
    "StoredValueRef",
    "store_value",
    "load_stored_value",
    "retrieve_value",
    "resolve_value",
    "aresolve_value",
    "import_object",
]

_BACKEND_ADAPTER: TypeAdapter[Any] = TypeAdapter(BackendConfig)


def import_object(path: str) -> Any:
    """Import ``"package.module.name"`` or ``"package.module:attr.attr"``."""
    if ":" in path:
        module_name, _, attrs = path.partition(":")
        obj = importlib.import_module(module_name)
        for attr in attrs.split("."):
            obj = getattr(obj, attr)
        return obj
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            if exc.name and ".".join(parts[:cut]).startswith(exc.name):
                continue
            raise
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"{path!r} is not an import path of the form 'module.name' or 'module:name'")


@dataclass(frozen=True)
class StoredValueRef:
    """A value kept in a storage backend; :meth:`load` reads it back.

    ``backend`` is the backend config as JSON data without secrets; ``backend_name`` the
    name under which the net registered it (a worker that registered the net's backends
    loads with full credentials; otherwise credentials come from the environment).
    """

    backend: dict[str, Any]
    key: str
    serialization: str = SerializationMethod.pickle.value
    pickling_method: str = PicklingMethod.pickle.value
    compression: str | None = None
    backend_name: str | None = None
    size: int | None = None
    sha256: str | None = None
    load_options: dict[str, Any] = field(default_factory=dict)

    def backend_config(self) -> BackendConfigBase:
        """The backend config this reference points at."""
        return _BACKEND_ADAPTER.validate_python(self.backend)

    def open_backend(self) -> StorageBackend:
        """The shared backend object that holds the value."""
        return get_backend(self.backend_config(), name=self.backend_name)

    def load(self) -> Any:
        """Read, check and deserialize the value."""
        backend = self.open_backend()
        data = backend.read_bytes(self.key)
        if self.sha256 is not None and hashlib.sha256(data).hexdigest() != self.sha256:
            raise StoredValueCorruptError(
                f"stored value has {len(data)} bytes whose checksum differs from the one recorded "
                f"when it was written ({self.size} bytes)",
                fix="the object was modified or truncated after it was written; write the value again",
                backend=backend.description,
                key=self.key,
            )
        try:
            return deserialize(
                decompress(data, self.compression),
                self.serialization,
                pickling_method=self.pickling_method,
                **self.load_options,
            )
        except StorageError as exc:
            exc.with_context(backend=backend.description, key=self.key)
            raise

    def delete(self) -> None:
        """Remove the stored object (missing objects are ignored)."""
        self.open_backend().delete(self.key)

    def to_dict(self) -> dict[str, Any]:
        """JSON data describing the reference (no secrets)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredValueRef:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass(frozen=True)
class LazyPacketValueSpec:
    """A value computed on demand: ``import(func_import_path)(*args, **kwargs)``.

    Compatible with the published runtime's spec (same three fields). Sync and async
    functions both work; the function must be pure (it may be called again on retry).

    >>> LazyPacketValueSpec("operator.add", (2, 3)).evaluate()
    5
    """

    func_import_path: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stored(cls, ref: StoredValueRef) -> LazyPacketValueSpec:
        """A spec that loads ``ref`` (evaluated with :func:`load_stored_value`)."""
        return cls(f"{__name__}.load_stored_value", (ref.to_dict(),), {})

    @property
    def stored_ref(self) -> StoredValueRef | None:
        """The :class:`StoredValueRef` this spec loads, if it was made by :meth:`from_stored`."""
        if self.func_import_path == f"{__name__}.load_stored_value" and len(self.args) == 1:
            return StoredValueRef.from_dict(self.args[0])
        return None

    def _function(self) -> Any:
        try:
            return import_object(self.func_import_path)
        except Exception as exc:
            raise LazyPacketValueEvaluationError(
                f"cannot import lazy value function {self.func_import_path!r}: {type(exc).__name__}: {exc}",
                fix="check the import path and that its module is installed where the value is consumed",
                func_import_path=self.func_import_path,
            ) from exc

    def _failed(self, exc: BaseException) -> LazyPacketValueEvaluationError:
        return LazyPacketValueEvaluationError(
            f"lazy value function {self.func_import_path!r} raised {type(exc).__name__}: {exc}",
            fix="fix the value function or its arguments; it is called again if the epoch is retried",
            func_import_path=self.func_import_path,
        )

    def evaluate(self) -> Any:
        """Call the function and return its value (awaiting it if it is async).

        An async function can be evaluated synchronously only where no event loop runs in
        this thread; inside one, use :meth:`aevaluate`.
        """
        func = self._function()
        try:
            result = func(*self.args, **self.kwargs)
        except StorageError:
            raise
        except Exception as exc:
            raise self._failed(exc) from exc
        if inspect.isawaitable(result):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return self._run_awaitable(result)
            if inspect.iscoroutine(result):
                result.close()
            raise LazyPacketValueEvaluationError(
                f"lazy value function {self.func_import_path!r} is async and was evaluated "
                "synchronously inside a running event loop",
                fix="use `await spec.aevaluate()` (or aresolve_value) from async code",
                func_import_path=self.func_import_path,
            )
        return result

    def _run_awaitable(self, awaitable: Any) -> Any:
        async def wait() -> Any:
            return await awaitable

        try:
            return asyncio.run(wait())
        except Exception as exc:
            raise self._failed(exc) from exc

    async def aevaluate(self) -> Any:
        """Evaluate from async code: async functions are awaited, blocking ones (stored
        value loads, sync functions) run in a worker thread."""
        func = self._function()
        if inspect.iscoroutinefunction(func):
            try:
                return await func(*self.args, **self.kwargs)
            except StorageError:
                raise
            except Exception as exc:
                raise self._failed(exc) from exc
        return await asyncio.to_thread(self.evaluate)


def store_value(
    value: Any,
    backend: StorageBackend,
    key: str,
    *,
    serialization: SerializationMethod | str = SerializationMethod.pickle,
    pickling_method: PicklingMethod | str = PicklingMethod.pickle,
    compression: CompressionMethod | str | None = None,
    node: str | None = None,
    port: str | None = None,
) -> StoredValueRef:
    """Serialize ``value``, write it under ``key`` and return its :class:`StoredValueRef`.

    A value the method cannot serialize raises
    :class:`~netrun.storage.errors.ValueNotSerializableError` naming ``node``, ``port`` and
    the backend; nothing is written then.
    """
    context = {"node": node, "port": port, "backend": backend.description, "key": key}
    if backend.name is not None:  # the reference names it; loads here get its credentials
        register_backend(backend.name, backend.config)
    try:
        method = SerializationMethod(serialization)
        pickler = PicklingMethod(pickling_method)
        data = compress(serialize(value, method, pickling_method=pickler), compression)
        backend.write_bytes(key, data)
    except StorageError as exc:
        exc.with_context(**context)
        raise
    return StoredValueRef(
        backend=backend.config.public_dump(),
        key=key,
        serialization=method.value,
        pickling_method=pickler.value,
        compression=CompressionMethod(compression).value if compression is not None else None,
        backend_name=backend.name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        load_options=load_options_for(value, method),
    )


def load_stored_value(ref: StoredValueRef | dict[str, Any]) -> Any:
    """Load a stored value from its reference (or the reference's ``to_dict()`` data)."""
    if isinstance(ref, dict):
        ref = StoredValueRef.from_dict(ref)
    return ref.load()


def retrieve_value(
    backend_config_json: str,
    key: str,
    serialization: str,
    compression: str | None = None,
    serialization_kwargs_json: str = "{}",
) -> Any:
    """Load a value by backend config JSON and key (the published runtime's signature)."""
    config = _BACKEND_ADAPTER.validate_json(backend_config_json)
    kwargs = json.loads(serialization_kwargs_json or "{}")
    pickling = kwargs.pop("pickling_method", PicklingMethod.pickle.value)
    ref = StoredValueRef(
        backend=config.model_dump(mode="json"),
        key=key,
        serialization=SerializationMethod(serialization).value,
        pickling_method=pickling,
        compression=compression,
        load_options=kwargs,
    )
    return ref.load()


def resolve_value(value: Any) -> Any:
    """The value a packet holds: lazy specs are evaluated, stored references loaded."""
    if isinstance(value, StoredValueRef):
        return value.load()
    if isinstance(value, LazyPacketValueSpec):
        return value.evaluate()
    return value


async def aresolve_value(value: Any) -> Any:
    """Async :func:`resolve_value`: blocking loads run in a thread."""
    if isinstance(value, StoredValueRef):
        return await asyncio.to_thread(value.load)
    if isinstance(value, LazyPacketValueSpec):
        return await value.aevaluate()
    return value
