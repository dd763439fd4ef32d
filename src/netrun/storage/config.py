"""Storage, cache and file-storage configuration (pydantic), compatible with netrun 0.5.0.

Net level: ``NetConfig.storage = StorageConfig(backends={...}, cache=CacheConfig(...))``.
Node level: ``NodeExecutionConfig.storage = NodeStorageConfig(cache=..., file_storage=...)``.
Backends are registered by name in ``StorageConfig.backends`` and referred to by that name
(or given inline) wherever one is needed, so each net — or each node — can use its own.

Every field also accepts an unresolved ``{"$env": ...}`` / ``{"$var": ...}`` reference
(see :mod:`netrun.storage._refs`); ``resolve_refs`` replaces them.

Differences from 0.5.0, all deliberate:

* ``hash_method`` defaults to ``blake2b`` (standard library) instead of ``xxh64`` (needs the
  ``xxhash`` package); ``xxh64`` is still accepted.
* ``CacheConfig`` adds ``include_ports`` / ``exclude_ports``: globs choosing which input
  ports enter the cache key (e.g. leave out a request-id port).
* Backend configs add connection settings the published ones lacked (timeouts, SSH host-key
  checking, S3 session token / anonymous access, a GCS emulator endpoint).
* ``StorageConfig.backends`` defaults to ``{}``; ``value_storage`` (net or node level) keeps
  large packet values in a backend instead of memory.
* Secrets (S3 keys, SSH password) are hidden from ``repr`` and never copied into stored value
  references (:meth:`BackendConfigBase.public_dump`).
"""

from __future__ import annotations

import fnmatch
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from netrun.storage._refs import ConfigRef, StorageModel
from netrun.storage.compression import CompressionMethod
from netrun.storage.errors import StorageConfigError
from netrun.storage.hashing import HashMethod
from netrun.storage.serialization import PicklingMethod, SerializationMethod

__all__ = [
    "CacheWhat",
    "OnHashChange",
    "BundleFormat",
    "HashMethod",
    "PicklingMethod",
    "SerializationMethod",
    "CompressionMethod",
    "ConfigRef",
    "BackendConfigBase",
    "LocalBackendConfig",
    "S3BackendConfig",
    "GCSBackendConfig",
    "SSHBackendConfig",
    "RcloneBackendConfig",
    "BackendConfig",
    "CacheConfig",
    "NodeCacheConfig",
    "NodeFileStorageConfig",
    "ValueStorageConfig",
    "NodeStorageConfig",
    "StorageConfig",
    "matches_any",
]

Ref = ConfigRef


class CacheWhat(str, Enum):
    """What the epoch cache records for a node.

    ``both`` memoises (a hit replays the outputs and skips the function); ``output`` records
    inputs and outputs for inspection but always runs the function; ``input`` records only
    the input salvos.
    """

    BOTH = "both"
    OUTPUT_ONLY = "output"
    INPUT_ONLY = "input"


class OnHashChange(str, Enum):
    """File storage with fixed ``output_names``: what to do when an epoch with different
    inputs would overwrite the stored files."""

    error = "error"
    overwrite = "overwrite"


class BundleFormat(str, Enum):
    """Archive format when file storage bundles all outputs of an epoch into one object."""

    tar_gz = "tar.gz"
    zip = "zip"


def matches_any(name: str, patterns: list[str] | None) -> bool:
    """Whether ``name`` matches one of the glob ``patterns`` (``fnmatch`` syntax)."""
    return bool(patterns) and any(fnmatch.fnmatchcase(name, p) for p in patterns)


# --- backends ---------------------------------------------------------------------------


class BackendConfigBase(StorageModel):
    """Common behaviour of backend configs."""

    secret_fields: ClassVar[tuple[str, ...]] = ()
    path_fields: ClassVar[tuple[str, ...]] = ()

    def describe(self) -> str:
        """A one-line, secret-free description used in error messages."""
        raise NotImplementedError

    def public_dump(self) -> dict[str, Any]:
        """The config as JSON data without secrets (safe to embed in stored references)."""
        return self.model_dump(mode="json", exclude=set(self.secret_fields))


class LocalBackendConfig(BackendConfigBase):
    """Files under ``base_path`` on this machine's file system."""

    path_fields: ClassVar[tuple[str, ...]] = ("base_path",)
    type: Literal["local"] = "local"
    base_path: str | Ref

    def describe(self) -> str:
        return f"local '{self.base_path}'"


class S3BackendConfig(BackendConfigBase):
    """An S3 (or S3-compatible, via ``endpoint_url``) bucket, through ``s3fs``.

    Without ``access_key``/``secret_key`` the standard AWS credential chain is used
    (environment, shared credentials file, instance role); ``anon=True`` skips credentials.
    """

    secret_fields: ClassVar[tuple[str, ...]] = ("access_key", "secret_key", "session_token")
    type: Literal["s3"] = "s3"
    bucket: str | Ref
    prefix: str | Ref = ""
    region: str | Ref | None = None
    endpoint_url: str | Ref | None = None
    access_key: str | Ref | None = Field(default=None, repr=False)
    secret_key: str | Ref | None = Field(default=None, repr=False)
    session_token: str | Ref | None = Field(default=None, repr=False)
    anon: bool | Ref = False
    connect_timeout: float | Ref = 5.0
    read_timeout: float | Ref = 60.0
    max_attempts: int | Ref = 3

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip("/"):
            raise ValueError("bucket must not be empty")
        return value

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        prefix = f"/{self.prefix}" if self.prefix else ""
        return f"s3 's3://{self.bucket}{prefix}'{where}"


class GCSBackendConfig(BackendConfigBase):
    """A Google Cloud Storage bucket, through ``gcsfs``.

    ``credentials_path`` is a service-account JSON file; without it the default Google
    credentials are used. ``endpoint_url`` points at an emulator.
    """

    path_fields: ClassVar[tuple[str, ...]] = ("credentials_path",)
    type: Literal["gcs"] = "gcs"
    bucket: str | Ref
    prefix: str | Ref = ""
    credentials_path: str | Ref | None = None
    project: str | Ref | None = None
    endpoint_url: str | Ref | None = None
    anon: bool | Ref = False

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        prefix = f"/{self.prefix}" if self.prefix else ""
        return f"gcs 'gs://{self.bucket}{prefix}'{where}"


class SSHBackendConfig(BackendConfigBase):
    """A directory on an SSH server, over SFTP, through ``sshfs`` (asyncssh).

    Authentication uses ``key_path`` or ``password``, else the SSH agent and default keys.
    The server's host key is checked against ``known_hosts_path`` (default
    ``~/.ssh/known_hosts``) unless ``verify_host_key`` is false.
    """

    secret_fields: ClassVar[tuple[str, ...]] = ("password",)
    path_fields: ClassVar[tuple[str, ...]] = ("key_path", "known_hosts_path")
    type: Literal["ssh"] = "ssh"
    host: str | Ref
    base_path: str | Ref
    port: int | Ref = Field(default=22)
    username: str | Ref | None = None
    key_path: str | Ref | None = None
    password: str | Ref | None = Field(default=None, repr=False)
    known_hosts_path: str | Ref | None = None
    verify_host_key: bool | Ref = True
    connect_timeout: float | Ref = 10.0

    @field_validator("port")
    @classmethod
    def _port(cls, value: Any) -> Any:
        if isinstance(value, int) and not 0 < value < 65536:
            raise ValueError(f"port {value} is outside 1..65535")
        return value

    def describe(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"ssh '{user}{self.host}:{self.port}{self.base_path}'"


class RcloneBackendConfig(BackendConfigBase):
    """An rclone remote (``"remote:path"``), through the ``rclone`` command-line program."""

    path_fields: ClassVar[tuple[str, ...]] = ("config_path",)
    type: Literal["rclone"] = "rclone"
    remote: str | Ref
    config_path: str | Ref | None = None
    binary: str | Ref = "rclone"
    timeout: float | Ref = 60.0

    def describe(self) -> str:
        return f"rclone '{self.remote}'"


BackendConfig = Annotated[
    LocalBackendConfig | S3BackendConfig | GCSBackendConfig | SSHBackendConfig | RcloneBackendConfig,
    Field(discriminator="type"),
]


# --- cache ------------------------------------------------------------------------------


def _positive_sample_size(value: Any) -> Any:
    if isinstance(value, int) and value < 1:
        raise ValueError("sample_size must be at least 1 (or null for no limit)")
    return value


class CacheConfig(StorageModel):
    """Net-level epoch cache settings.

    A node is cached when its ``NodeCacheConfig.enabled`` says so, or else when ``enabled``
    is true here and the node matches ``include_nodes`` (or ``include_all_nodes``) and not
    ``exclude_nodes``. ``storage_path`` is a directory shared by every net and process that
    uses it; without one, a temporary directory lives as long as the cache object.
    ``version`` is part of every key: bump it to invalidate everything.
    """

    path_fields: ClassVar[tuple[str, ...]] = ("storage_path",)
    enabled: bool | Ref = False
    version: int | Ref = 0
    storage_path: str | Ref | None = None
    include_nodes: list[str] | Ref | None = None
    exclude_nodes: list[str] | Ref | None = None
    include_all_nodes: bool | Ref = False
    include_ports: list[str] | Ref | None = None
    exclude_ports: list[str] | Ref | None = None
    cache_what: CacheWhat | Ref = CacheWhat.BOTH
    hash_method: HashMethod | Ref = HashMethod.blake2b
    pickling_method: PicklingMethod | Ref = PicklingMethod.pickle
    pickling_args: dict[str, Any] | Ref = Field(default_factory=dict)
    evaluate_lazy_value_for_cache: bool | Ref = False
    sample_size: int | Ref | None = None

    _check_sample_size = field_validator("sample_size")(_positive_sample_size)


class NodeCacheConfig(StorageModel):
    """Per-node overrides of :class:`CacheConfig`; ``None`` means "as the net says".

    ``enabled`` set here wins over the net's node selection. ``version`` is combined with
    the net's version in the key.
    """

    enabled: bool | Ref | None = None
    version: int | Ref | None = None
    include_ports: list[str] | Ref | None = None
    exclude_ports: list[str] | Ref | None = None
    cache_what: CacheWhat | Ref | None = None
    hash_method: HashMethod | Ref | None = None
    pickling_method: PicklingMethod | Ref | None = None
    pickling_args: dict[str, Any] | Ref | None = None
    evaluate_lazy_value_for_cache: bool | Ref | None = None
    sample_size: int | Ref | None = None

    _check_sample_size = field_validator("sample_size")(_positive_sample_size)


# --- file storage and value storage -----------------------------------------------------


class NodeFileStorageConfig(StorageModel):
    """Write a node's outputs to a backend after each successful epoch, and replay them.

    Each epoch's outputs go under ``<node>/<input hash>/`` with their own manifest, so a
    node keeps one entry per distinct input salvo (the published runtime kept only one per
    node). With ``output_names`` (``{salvo: {port: name}}``) files get those fixed names
    under ``<node>/`` instead; an epoch with different inputs then either fails
    (``on_hash_change="error"``) or replaces them (``"overwrite"``).
    """

    enabled: bool | Ref = True
    backend: str | BackendConfig | Ref
    serialization: SerializationMethod | Ref = SerializationMethod.pickle
    pickling_method: PicklingMethod | Ref = PicklingMethod.pickle
    pickling_args: dict[str, Any] | Ref = Field(default_factory=dict)
    compression: CompressionMethod | Ref | None = None
    on_hash_change: OnHashChange | Ref = OnHashChange.error
    store_inputs: bool | Ref = False
    hash_method: HashMethod | Ref = HashMethod.blake2b
    hash_pickling_method: PicklingMethod | Ref = PicklingMethod.pickle
    hash_pickling_args: dict[str, Any] | Ref = Field(default_factory=dict)
    evaluate_lazy_value_for_hash: bool | Ref = False
    bundle: bool | Ref = False
    bundle_format: BundleFormat | Ref = BundleFormat.tar_gz
    output_names: dict[str, dict[str, str]] | Ref | None = None
    version: int | Ref = 0


class ValueStorageConfig(StorageModel):
    """Keep packet values of at least ``min_size_bytes`` (serialized) in a backend.

    Such values travel as :class:`~netrun.storage.lazy.StoredValueRef` handles and are
    loaded on consumption, by the worker that consumes them.
    """

    enabled: bool | Ref = True
    backend: str | BackendConfig | Ref
    prefix: str | Ref = "values"
    min_size_bytes: int | Ref = 1 << 20
    serialization: SerializationMethod | Ref = SerializationMethod.pickle
    pickling_method: PicklingMethod | Ref = PicklingMethod.cloudpickle
    compression: CompressionMethod | Ref | None = None


class NodeStorageConfig(StorageModel):
    """A node's storage settings: cache overrides, file storage, value storage."""

    cache: NodeCacheConfig | None = None
    file_storage: NodeFileStorageConfig | None = None
    value_storage: ValueStorageConfig | None = None

    def with_absolute_paths(self, root: str | Path) -> NodeStorageConfig:
        """A copy whose relative local paths (inline backends) are made absolute."""
        return type(self).model_validate(_absolutize(self, Path(root)))


class StorageConfig(StorageModel):
    """Net-level storage: named backends, the epoch cache, value storage."""

    path_fields: ClassVar[tuple[str, ...]] = ("file_storage_metadata_path",)
    backends: dict[str, BackendConfig] = Field(default_factory=dict)
    cache: CacheConfig | None = None
    file_storage_metadata_path: str | Ref | None = None
    value_storage: ValueStorageConfig | None = None

    def get_backend_config(
        self, backend: str | BackendConfigBase, *, node: str | None = None
    ) -> BackendConfigBase:
        """The backend config named (or given) by ``backend``.

        An unknown name raises :class:`StorageConfigError` listing the registered names.
        """
        if isinstance(backend, BackendConfigBase):
            return backend
        if isinstance(backend, ConfigRef):
            raise StorageConfigError(
                f"backend reference {backend.model_dump()} is not resolved",
                fix="resolve the config (NetConfig.resolve) before using its storage",
                node=node,
            )
        try:
            return self.backends[backend]
        except KeyError:
            known = ", ".join(sorted(self.backends)) or "none"
            raise StorageConfigError(
                f"storage backend {backend!r} is not defined (defined: {known})",
                fix=f"add it under [storage.backends.{backend}] or use one of the defined names",
                node=node,
            ) from None

    def with_absolute_paths(self, root: str | Path) -> StorageConfig:
        """A copy whose relative local paths are made absolute against ``root``
        (the project root): backend base paths, key files, the cache directory."""
        return type(self).model_validate(_absolutize(self, Path(root)))


def _absolutize(model: StorageModel, root: Path) -> dict[str, Any]:
    data: dict[str, Any] = {}
    paths = getattr(type(model), "path_fields", ())
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in paths and isinstance(value, str) and not Path(value).expanduser().is_absolute():
            value = str(root / value)
        elif isinstance(value, StorageModel):
            value = _absolutize(value, root)
        elif isinstance(value, dict):
            value = {k: _absolutize(v, root) if isinstance(v, StorageModel) else v for k, v in value.items()}
        data[name] = value
    return data
