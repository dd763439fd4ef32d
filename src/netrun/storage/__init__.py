"""netrun.storage: persistence for packet values — serialization, compression, fsspec
backends (local, S3, SSH/SFTP, GCS, rclone), the epoch cache, per-node file storage, lazy
and stored values, and crash-safe directory writes for checkpoints.

This layer imports only ``netrun.errors``, the standard library and third-party libraries.

Modules: :mod:`.config` (pydantic models), :mod:`.serialization`, :mod:`.compression`,
:mod:`.hashing`, :mod:`.backends`, :mod:`.atomic`, :mod:`.lazy`, :mod:`.offload`, :mod:`.cache`,
:mod:`.file_storage`, :mod:`.errors`; ``values`` (the runtime's packet value store) is
re-exported lazily. ``_serialization``, ``_compression``, ``_backends``, ``_retrieval``,
``_cache`` and ``_file_storage`` are the published 0.5.0 module paths, kept as aliases.
"""

from __future__ import annotations

from typing import Any

from netrun.storage.atomic import (
    AtomicDirectoryWriter,
    DirectoryManifest,
    ManifestDirectory,
    atomic_write_bytes,
    recover_directory,
)
from netrun.storage.backends import StorageBackend, close_all_backends, get_backend, register_backend
from netrun.storage.cache import CachedEpochData, CachedOutputSalvo, EpochCache
from netrun.storage.compression import CompressionMethod, compress, decompress
from netrun.storage.config import (
    BackendConfig,
    BundleFormat,
    CacheConfig,
    CacheWhat,
    GCSBackendConfig,
    LocalBackendConfig,
    NodeCacheConfig,
    NodeFileStorageConfig,
    NodeStorageConfig,
    OnHashChange,
    RcloneBackendConfig,
    S3BackendConfig,
    SSHBackendConfig,
    StorageConfig,
    ValueStorageConfig,
)
from netrun.storage.errors import *  # noqa: F403  (every storage error class)
from netrun.storage.errors import __all__ as _error_names
from netrun.storage.file_storage import FileStorage, FileStorageManifest, NodeFileStorage
from netrun.storage.hashing import HashMethod, code_fingerprint, stable_hash
from netrun.storage.lazy import (
    LazyPacketValueSpec,
    StoredValueRef,
    aresolve_value,
    load_stored_value,
    resolve_value,
    store_value,
)
from netrun.storage.offload import ValueOffloader
from netrun.storage.serialization import PicklingMethod, SerializationMethod, deserialize, serialize

__all__ = [
    # config
    "StorageConfig", "NodeStorageConfig", "CacheConfig", "NodeCacheConfig", "NodeFileStorageConfig",
    "ValueStorageConfig", "BackendConfig", "LocalBackendConfig", "S3BackendConfig", "SSHBackendConfig",
    "RcloneBackendConfig", "GCSBackendConfig", "CacheWhat", "OnHashChange", "BundleFormat",
    # serialization, compression, hashing
    "SerializationMethod", "PicklingMethod", "serialize", "deserialize",
    "CompressionMethod", "compress", "decompress",
    "HashMethod", "stable_hash", "code_fingerprint",
    # backends and values
    "StorageBackend", "get_backend", "register_backend", "close_all_backends",
    "LazyPacketValueSpec", "StoredValueRef", "store_value", "load_stored_value",
    "resolve_value", "aresolve_value", "ValueOffloader",
    # cache, file storage, atomic directories
    "EpochCache", "CachedEpochData", "CachedOutputSalvo",
    "FileStorage", "NodeFileStorage", "FileStorageManifest",
    "AtomicDirectoryWriter", "ManifestDirectory", "DirectoryManifest", "atomic_write_bytes",
    "recover_directory",
    # the runtime's packet value store (lazy)
    "PacketValueStore", "StoredValue",
    *_error_names,
]  # fmt: skip

_LAZY = {"PacketValueStore": "netrun.storage.values", "StoredValue": "netrun.storage.values"}


def __getattr__(name: str) -> Any:
    # PacketValueStore / StoredValue live in the runtime-owned ``values`` module, which
    # imports this package; resolving them on first access avoids an import cycle.
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'netrun.storage' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
