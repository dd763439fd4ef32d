"""Errors raised by the storage layer (serialization, backends, cache, file storage).

Every error names what failed (the backend, the key or file, and — when the caller knows
them — the node, port and epoch) and says how to fix it. The runtime adds the node, port and
epoch it knows with :meth:`StorageError.with_context` before routing the error through its
retry / dead-letter path, so a message read in a DLQ entry is complete on its own.

The message is composed from the attributes when the error is printed, so context added
later shows up; :meth:`StorageError.__reduce__` keeps all of it when an error crosses a
process boundary (worker processes pickle the errors they raise).

Some errors also derive from the built-in exception a caller would naturally catch
(``ImportError`` for a missing optional library, ``KeyError`` for a missing stored value),
so ``except KeyError`` keeps working where the published runtime raised a bare one.
"""

from __future__ import annotations

from typing import Any

from netrun.errors import NetrunRuntimeError

__all__ = [
    "StorageError",
    "BackendError",
    "BackendUnreachableError",
    "MissingCredentialsError",
    "StorageFullError",
    "StoragePermissionError",
    "StoredValueNotFoundError",
    "StoredValueCorruptError",
    "SerializationError",
    "ValueNotSerializableError",
    "ValueNotDeserializableError",
    "MissingOptionalDependencyError",
    "StorageConfigError",
    "ManifestError",
    "CorruptManifestError",
    "ManifestVersionError",
    "IncompleteManifestError",
    "CacheError",
    "FileStorageConflictError",
    "LazyPacketValueEvaluationError",
]

_CONTEXT_FIELDS = ("node", "port", "epoch", "backend", "key")


class StorageError(NetrunRuntimeError):
    """Base class of every storage-layer error.

    ``what`` says what happened, ``fix`` what to do about it. The optional context fields
    (``node``, ``port``, ``epoch``, ``backend``, ``key``) are printed when set.
    """

    def __init__(
        self,
        what: str,
        *,
        fix: str | None = None,
        node: str | None = None,
        port: str | None = None,
        epoch: str | None = None,
        backend: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix
        self.node = node
        self.port = port
        self.epoch = epoch
        self.backend = backend
        self.key = key

    def with_context(self, **context: str | None) -> StorageError:
        """Fill in context fields that are still unset and return ``self``.

        Fields already set are kept (the innermost code knew best). Unknown field names
        raise ``TypeError`` so a typo cannot silently drop context.

        >>> err = StorageFullError("no space left", backend="local '/data'")
        >>> str(err.with_context(node="writer", port="out")).startswith("node 'writer'")
        True
        """
        for name, value in context.items():
            if name not in _CONTEXT_FIELDS:
                raise TypeError(
                    f"unknown storage error context field {name!r}; "
                    f"expected one of {', '.join(_CONTEXT_FIELDS)}"
                )
            if value is not None and getattr(self, name) is None:
                setattr(self, name, str(value))
        return self

    def _where(self) -> str:
        parts = []
        if self.node is not None:
            parts.append(f"node {self.node!r}")
        if self.port is not None:
            parts.append(f"port {self.port!r}")
        if self.epoch is not None:
            parts.append(f"epoch {self.epoch}")
        if self.backend is not None:
            parts.append(f"backend {self.backend}")
        if self.key is not None:
            parts.append(f"key {self.key!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self._where()
        text = f"{where}: {self.what}" if where else self.what
        if self.fix:
            text = f"{text}. Fix: {self.fix}"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        state = {name: getattr(self, name) for name in _CONTEXT_FIELDS}
        state["fix"] = self.fix
        state.update(self._extra_state())
        return (_rebuild_storage_error, (type(self), self.what, state))

    def _extra_state(self) -> dict[str, Any]:
        return {}


def _rebuild_storage_error(cls: type[StorageError], what: str, state: dict[str, Any]) -> StorageError:
    err = cls.__new__(cls)
    StorageError.__init__(
        err,
        what,
        **{k: state.pop(k) for k in ("fix", *_CONTEXT_FIELDS)},
    )
    for name, value in state.items():
        setattr(err, name, value)
    return err


# --- backends ---------------------------------------------------------------------------


class BackendError(StorageError):
    """A storage backend failed an operation (the cause is chained as ``__cause__``)."""


class BackendUnreachableError(BackendError, ConnectionError):
    """The backend's server could not be reached (refused, timed out, unknown host)."""


class MissingCredentialsError(BackendError, PermissionError):
    """The backend needs credentials that were not given and could not be found."""


class StoragePermissionError(BackendError, PermissionError):
    """The backend refused the operation (wrong credentials or no permission on the path)."""


class StorageFullError(BackendError, OSError):
    """The backend has no space left (``ENOSPC``) or its quota is exhausted."""

    def _extra_state(self) -> dict[str, Any]:
        return {"errno": self.errno}


class StoredValueNotFoundError(BackendError, KeyError):
    """A key that should hold a stored value does not exist in the backend."""

    def __str__(self) -> str:  # KeyError would otherwise print repr(args[0])
        return StorageError.__str__(self)


class StoredValueCorruptError(BackendError):
    """A stored value's bytes do not match the checksum recorded when it was written."""


class StorageConfigError(StorageError, ValueError):
    """A storage, cache or backend configuration cannot be used as given."""


# --- serialization ----------------------------------------------------------------------


class SerializationError(StorageError):
    """Base class of serialization and deserialization failures."""


class ValueNotSerializableError(SerializationError, TypeError):
    """A value cannot be serialized with the chosen method."""


class ValueNotDeserializableError(SerializationError, ValueError):
    """Stored bytes cannot be turned back into a value with the chosen method."""


class MissingOptionalDependencyError(StorageError, ImportError):
    """An optional library needed for a method or backend is not installed.

    ``package`` is the library, ``extra`` the ``netrun`` extra that installs it.
    """

    def __init__(self, what: str, *, package: str, extra: str | None, **kwargs: Any) -> None:
        install = f"pip install 'netrun[{extra}]'" if extra else f"pip install {package}"
        kwargs.setdefault("fix", f"install it with `{install}`")
        StorageError.__init__(self, what, **kwargs)
        self.package = package
        self.extra = extra
        self.name = package  # ImportError's attribute

    def _extra_state(self) -> dict[str, Any]:
        return {"package": self.package, "extra": self.extra, "name": self.name}


# --- manifests and atomic directories ---------------------------------------------------


class ManifestError(StorageError):
    """Base class of errors about a manifest-described directory (e.g. a checkpoint)."""


class CorruptManifestError(ManifestError, ValueError):
    """The manifest or a file it lists is missing, unreadable or fails its checksum."""


class ManifestVersionError(ManifestError, ValueError):
    """The manifest was written in a format version this netrun cannot read."""


class IncompleteManifestError(CorruptManifestError):
    """Files of a manifest-described location exist but its manifest does not: the save
    that wrote them did not complete (the manifest is always written last)."""


# --- cache and file storage -------------------------------------------------------------


class CacheError(StorageError):
    """The epoch cache could not read or write an entry."""


class FileStorageConflictError(StorageError):
    """File storage would overwrite outputs of an epoch with different inputs."""


# --- lazy values ------------------------------------------------------------------------


class LazyPacketValueEvaluationError(StorageError):
    """A lazy packet value (value function or stored value) failed to evaluate.

    The original exception is chained as ``__cause__``; ``func_import_path`` names what
    was called.
    """

    def __init__(self, what: str, *, func_import_path: str | None = None, **kwargs: Any) -> None:
        StorageError.__init__(self, what, **kwargs)
        self.func_import_path = func_import_path

    def _extra_state(self) -> dict[str, Any]:
        return {"func_import_path": self.func_import_path}
