"""Storage backends: one implementation over fsspec file systems.

:class:`StorageBackend` turns a backend config into an fsspec file system — ``local``,
``s3`` (s3fs), ``gcs`` (gcsfs), ``ssh`` (sshfs over SFTP) or ``rclone`` (the
:class:`~netrun.storage._rclone.RcloneFileSystem` adapter) — and offers the few operations
the storage layer needs on keys relative to the configured root: ``write_bytes``,
``read_bytes``, ``exists``, ``delete``, ``list``.

Writes are atomic where the backend allows: locally a temporary file, ``fsync`` and a rename;
over SFTP and rclone a temporary key renamed into place; on object stores (S3, GCS) a single
PUT, which is atomic by itself.

Every failure is translated into a specific :mod:`netrun.storage.errors` error that names the
backend (never its secrets), the key and the fix: an unreachable server, missing or refused
credentials, a full disk, a missing key. Optional packages (s3fs, sshfs, gcsfs) are imported
when a backend of that type is first used, with an install hint.

:func:`get_backend` keeps one backend per config in the process, so the lazy values a worker
loads reuse one connection; :func:`register_backend` lets a worker know the named backends of
its net (with their credentials) so that stored value references, which carry no secrets,
resolve to them.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

from netrun.storage.atomic import atomic_write_bytes
from netrun.storage.config import (
    BackendConfigBase,
    GCSBackendConfig,
    LocalBackendConfig,
    RcloneBackendConfig,
    S3BackendConfig,
    SSHBackendConfig,
)
from netrun.storage.errors import (
    BackendError,
    BackendUnreachableError,
    MissingCredentialsError,
    MissingOptionalDependencyError,
    StorageConfigError,
    StorageError,
    StorageFullError,
    StoragePermissionError,
    StoredValueNotFoundError,
)

__all__ = [
    "StorageBackend",
    "create_backend",
    "get_backend",
    "register_backend",
    "use_backend",
    "registered_backend_config",
    "close_all_backends",
    "validate_backend_imports",
]

_UNREACHABLE_NAMES = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ReadTimeoutError",
    "ProxyConnectionError",
    "ConnectionLost",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
}
_CREDENTIAL_NAMES = {"NoCredentialsError", "PartialCredentialsError", "DefaultCredentialsError"}
_REFUSED_NAMES = {"PermissionDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden"}
_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.ECONNRESET,
    errno.ECONNABORTED,
}
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}

_OPTIONAL_FS = {
    "s3": ("s3fs", "s3fs", "s3"),
    "gcs": ("gcsfs", "gcsfs", "gcs"),
    "ssh": ("sshfs", "sshfs", "ssh"),
}


def validate_backend_imports(config: BackendConfigBase) -> None:
    """Fail early (at configuration time) if the backend's package is not installed."""
    needed = _OPTIONAL_FS.get(config.type)
    if needed is not None:
        _import_fs(config.type)


def _import_fs(kind: str) -> Any:
    module, package, extra = _OPTIONAL_FS[kind]
    try:
        return __import__(module)
    except ImportError as exc:
        raise MissingOptionalDependencyError(
            f"the {kind!r} storage backend needs the {package!r} package, which is not installed",
            package=package,
            extra=extra,
        ) from exc


def _gcsfs_core() -> Any:
    import gcsfs.core

    return gcsfs.core


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 8:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


class StorageBackend:
    """Read and write keys under one configured location, through fsspec.

    ``filesystem`` replaces the file system built from the config (for an fsspec
    implementation this module does not know, or a test double); ``name`` is the backend's
    name in ``StorageConfig.backends``, kept in stored value references.

    >>> backend = StorageBackend(LocalBackendConfig(base_path="/tmp/netrun-doc"))  # doctest: +SKIP
    >>> backend.write_bytes("a/b.bin", b"data"); backend.read_bytes("a/b.bin")      # doctest: +SKIP
    b'data'
    """

    def __init__(
        self,
        config: BackendConfigBase,
        *,
        name: str | None = None,
        filesystem: Any | None = None,
    ) -> None:
        unresolved = config.unresolved_refs()
        if unresolved:
            raise StorageConfigError(
                f"backend config has unresolved references: {', '.join(p for p, _ in unresolved)}",
                fix="resolve the config (NetConfig.resolve) before opening its backends",
                backend=config.describe(),
            )
        self.config = config
        self.name = name
        self.description = config.describe()
        self._fs = filesystem
        self._lock = threading.Lock()
        self.root = self._root()

    # --- construction -------------------------------------------------------------------

    def _root(self) -> str:
        config = self.config
        if isinstance(config, LocalBackendConfig):
            return str(Path(config.base_path).expanduser().absolute())
        if isinstance(config, (S3BackendConfig, GCSBackendConfig)):
            return posixpath.join(config.bucket.strip("/"), config.prefix.strip("/")).rstrip("/")
        if isinstance(config, SSHBackendConfig):
            return config.base_path.rstrip("/") or "/"
        assert isinstance(config, RcloneBackendConfig)
        return config.remote.rstrip("/") if not config.remote.endswith(":") else config.remote

    @property
    def fs(self) -> Any:
        """The fsspec file system (created, and for SSH connected, on first use)."""
        if self._fs is None:
            with self._lock:
                if self._fs is None:
                    self._fs = self._call("connect", None, self._make_filesystem)
        return self._fs

    def _make_filesystem(self) -> Any:
        config = self.config
        if isinstance(config, LocalBackendConfig):
            from fsspec.implementations.local import LocalFileSystem

            return LocalFileSystem(auto_mkdir=True)
        if isinstance(config, S3BackendConfig):
            return self._make_s3(config)
        if isinstance(config, GCSBackendConfig):
            gcsfs = _import_fs("gcs")
            token: Any = "anon" if config.anon else config.credentials_path
            # Emulators speak only the JSON API: use the plain file system, not the default
            # one that first asks Google's gRPC control plane for the bucket's layout.
            cls = gcsfs.GCSFileSystem if config.endpoint_url is None else _gcsfs_core().GCSFileSystem
            return cls(
                project=config.project, token=token, endpoint_url=config.endpoint_url, skip_instance_cache=True
            )
        if isinstance(config, SSHBackendConfig):
            return self._make_ssh(config)
        from netrun.storage._rclone import RcloneFileSystem

        return RcloneFileSystem(config_path=config.config_path, binary=config.binary, timeout=config.timeout)

    def _make_s3(self, config: S3BackendConfig) -> Any:
        s3fs = _import_fs("s3")
        if not config.anon and not (config.access_key and config.secret_key):
            self._require_aws_credentials(config)
        fs = s3fs.S3FileSystem(
            key=config.access_key,
            secret=config.secret_key,
            token=config.session_token,
            anon=config.anon,
            endpoint_url=config.endpoint_url,
            client_kwargs={"region_name": config.region} if config.region else {},
            config_kwargs={
                "connect_timeout": config.connect_timeout,
                "read_timeout": config.read_timeout,
                "retries": {"max_attempts": config.max_attempts, "mode": "standard"},
            },
            skip_instance_cache=True,
        )
        fs.retries = config.max_attempts  # s3fs's own retry loop (a class attribute)
        return fs

    def _require_aws_credentials(self, config: S3BackendConfig) -> None:
        # Resolve the standard chain now, so "no credentials" is one clear error up front
        # rather than a failed request deep inside an upload.
        import botocore.session

        credentials = botocore.session.get_session().get_credentials()
        if credentials is None:
            raise MissingCredentialsError(
                "no S3 credentials were given in the backend config and none were found in the "
                "environment, the shared credentials file or an instance role",
                fix="set access_key and secret_key in the backend config (for example "
                '{"$env": "AWS_SECRET_ACCESS_KEY"}), export AWS_ACCESS_KEY_ID and '
                "AWS_SECRET_ACCESS_KEY, or set anon=true for a public bucket",
                backend=self.description,
            )

    def _make_ssh(self, config: SSHBackendConfig) -> Any:
        sshfs = _import_fs("ssh")
        options: dict[str, Any] = {
            "port": config.port,
            "connect_timeout": config.connect_timeout,
            "skip_instance_cache": True,
        }
        if config.username is not None:  # asyncssh wants the option absent, not None
            options["username"] = config.username
        for field_name in ("key_path", "known_hosts_path"):
            path = getattr(config, field_name)
            if path is not None and not Path(path).expanduser().is_file():
                raise StorageConfigError(
                    f"{field_name} '{path}' does not exist or is not a file",
                    fix=f"point {field_name} at an existing file (relative paths are resolved "
                    "against the project root)",
                    backend=self.description,
                )
        if config.password is not None:
            options["password"] = config.password
        if config.key_path is not None:
            options["client_keys"] = [config.key_path]
        if not config.verify_host_key:
            options["known_hosts"] = None
        elif config.known_hosts_path is not None:
            options["known_hosts"] = config.known_hosts_path
        return sshfs.SSHFileSystem(config.host, **options)

    # --- error translation --------------------------------------------------------------

    def _call(self, operation: str, key: str | None, func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except StorageError as exc:
            exc.with_context(backend=self.description, key=key)
            raise
        except Exception as exc:
            raise self._translate(exc, operation, key) from exc

    def _translate(self, exc: Exception, operation: str, key: str | None) -> StorageError:
        doing = f"{operation} failed: {type(exc).__name__}: {exc}"
        context = {"backend": self.description, "key": key}
        chain = _chain(exc)
        names = set().union(*(_names(e) for e in chain))
        errnos = {getattr(e, "errno", None) for e in chain}
        if errnos & _FULL_ERRNOS:
            err = StorageFullError(
                f"no space left on the storage ({doing})",
                fix="free space on the storage or point the backend at a larger volume",
                **context,
            )
            err.errno = errno.ENOSPC
            return err
        if names & _CREDENTIAL_NAMES:
            return MissingCredentialsError(f"no credentials ({doing})", fix=self._credentials_fix(), **context)
        if "HostKeyNotVerifiable" in names:
            return StorageConfigError(
                f"the server's host key is not trusted ({doing})",
                fix="add the server's key to known_hosts, point known_hosts_path at a file that "
                "has it, or (on a trusted network only) set verify_host_key=false",
                **context,
            )
        if names & _REFUSED_NAMES or (names & {"PermissionError"} and not self._is_local()):
            if self._has_no_credentials():
                return MissingCredentialsError(
                    f"the server refused access and no credentials were configured ({doing})",
                    fix=self._credentials_fix(),
                    **context,
                )
            return StoragePermissionError(
                f"access refused ({doing})",
                fix="check the credentials in the backend config and the permissions on the path",
                **context,
            )
        if names & {"FileNotFoundError", "NoSuchKey", "NoSuchBucket"}:
            return StoredValueNotFoundError(
                f"nothing is stored there ({doing})",
                fix="check the key and that the bucket / directory exists; a value that was "
                "deleted or never written cannot be loaded",
                **context,
            )
        if names & {"PermissionError"}:
            return StoragePermissionError(
                f"permission denied ({doing})",
                fix="give this process write access to the directory or change base_path",
                **context,
            )
        if (
            names & _UNREACHABLE_NAMES
            or names & {"ConnectionError", "TimeoutError", "gaierror", "ConnectionRefusedError"}
            or errnos & _UNREACHABLE_ERRNOS
            or any(isinstance(e, socket.gaierror) for e in chain)
        ):
            return BackendUnreachableError(
                f"the storage server cannot be reached ({doing})", fix=self._unreachable_fix(), **context
            )
        return BackendError(f"{doing}", fix="see the chained exception for the cause", **context)

    def _is_local(self) -> bool:
        return isinstance(self.config, LocalBackendConfig)

    def _has_no_credentials(self) -> bool:
        config = self.config
        if isinstance(config, SSHBackendConfig):
            return config.key_path is None and config.password is None
        if isinstance(config, S3BackendConfig):
            return not config.anon and not (config.access_key and config.secret_key) and not (
                os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")
            )
        return False

    def _credentials_fix(self) -> str:
        config = self.config
        if isinstance(config, S3BackendConfig):
            return (
                "set access_key and secret_key in the backend config, export AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or set anon=true for a public bucket"
            )
        if isinstance(config, SSHBackendConfig):
            return "set key_path (a private key the server accepts) or password, or load a key into ssh-agent"
        if isinstance(config, GCSBackendConfig):
            return "set credentials_path to a service-account JSON file or export GOOGLE_APPLICATION_CREDENTIALS"
        return "configure credentials for the remote (`rclone config`)"

    def _unreachable_fix(self) -> str:
        config = self.config
        if isinstance(config, S3BackendConfig):
            where = config.endpoint_url or "the AWS endpoint of the region"
            return f"check that {where} is up and reachable from here, and endpoint_url / region"
        if isinstance(config, SSHBackendConfig):
            return f"check that an SSH server listens on {config.host}:{config.port} and is reachable from here"
        if isinstance(config, GCSBackendConfig):
            return "check network access to Google Cloud Storage (or the emulator in endpoint_url)"
        return "check the network and the remote's settings"

    # --- operations ---------------------------------------------------------------------

    def path_for(self, key: str) -> str:
        """The file system path of ``key`` (keys are ``/``-separated and relative)."""
        key = key.strip("/")
        if not key or ".." in key.split("/"):
            raise ValueError(f"storage key {key!r} is empty or contains '..'")
        if self.root.endswith(":") or not self.root:
            return f"{self.root}{key}"
        return f"{self.root}/{key}"

    def write_bytes(self, key: str, data: bytes, *, atomic: bool = True) -> None:
        """Store ``data`` under ``key``, replacing what was there (atomically by default)."""
        path = self.path_for(key)
        if isinstance(self.config, LocalBackendConfig):
            self._call("write", key, atomic_write_bytes, path, data)
            return
        if atomic and isinstance(self.config, (SSHBackendConfig, RcloneBackendConfig)):
            self._call("write", key, self._write_then_rename, path, data)
            return
        self._call("write", key, self._put, path, data)

    def _put(self, path: str, data: bytes) -> None:
        parent = posixpath.dirname(path)
        if isinstance(self.config, SSHBackendConfig) and parent:
            self.fs.makedirs(parent, exist_ok=True)
        self.fs.pipe_file(path, data)

    def _write_then_rename(self, path: str, data: bytes) -> None:
        parent, name = posixpath.split(path)
        tmp = posixpath.join(parent, f".{name}.tmp-{uuid.uuid4().hex[:12]}")
        self._put(tmp, data)
        try:
            self.fs.mv(tmp, path)
        except BaseException:
            try:
                self.fs.rm_file(tmp)
            except Exception:  # the original failure matters more than the cleanup's
                pass
            raise

    def read_bytes(self, key: str) -> bytes:
        """The bytes stored under ``key``; a missing key raises :class:`StoredValueNotFoundError`."""
        return self._call("read", key, self.fs.cat_file, self.path_for(key))

    def exists(self, key: str) -> bool:
        """Whether something is stored under ``key``."""
        return bool(self._call("exists", key, self.fs.exists, self.path_for(key)))

    def delete(self, key: str, *, missing_ok: bool = True) -> None:
        """Remove ``key``. A missing key is ignored unless ``missing_ok`` is false."""
        if not missing_ok and not self.exists(key):  # object stores delete missing keys silently
            raise StoredValueNotFoundError(
                "nothing is stored there (delete)",
                fix="check the key; it was never written or is already deleted",
                backend=self.description,
                key=key,
            )
        try:
            self._call("delete", key, self.fs.rm_file, self.path_for(key))
        except StoredValueNotFoundError:
            if not missing_ok:
                raise

    def delete_prefix(self, prefix: str) -> int:
        """Remove every key under ``prefix``; returns how many were removed."""
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    def list(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (recursively), relative to the backend root, sorted."""
        prefix = prefix.strip("/")
        base = self.path_for(prefix) if prefix else self.root
        found = self._call("list", prefix or None, self._find, base)
        root = self._strip(self.root)
        keys = []
        for path in found:
            path = self._strip(path)
            relative = path[len(root) :].lstrip("/") if path.startswith(root) else path
            if relative and not posixpath.basename(relative).startswith("."):
                keys.append(relative)
        return sorted(keys)

    def _find(self, base: str) -> list[str]:
        try:
            return list(self.fs.find(base))
        except FileNotFoundError:
            return []

    def _strip(self, path: str) -> str:
        stripped = self.fs._strip_protocol(path)
        return stripped if isinstance(stripped, str) else path

    def close(self) -> None:
        """Release connections (SSH sessions); the backend reconnects if used again."""
        fs, self._fs = self._fs, None
        client = getattr(fs, "client", None) if isinstance(self.config, SSHBackendConfig) else None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a dead connection must not mask anything
                pass

    def __repr__(self) -> str:
        return f"StorageBackend({self.description}{f', name={self.name!r}' if self.name else ''})"


# --- process-wide registry --------------------------------------------------------------

_registry_lock = threading.Lock()
_named_configs: dict[str, BackendConfigBase] = {}
_backends: dict[str, StorageBackend] = {}


def create_backend(config: BackendConfigBase, *, name: str | None = None) -> StorageBackend:
    """A new :class:`StorageBackend` for ``config`` (not shared; see :func:`get_backend`)."""
    return StorageBackend(config, name=name)


def register_backend(name: str, config: BackendConfigBase) -> None:
    """Make the named backend (with its credentials) known to this process.

    Stored value references name their backend; a worker that registered the net's
    backends resolves them with full credentials.
    """
    with _registry_lock:
        previous = _named_configs.get(name)
        _named_configs[name] = config
        if previous is not None and previous != config:
            stale = _backends.pop(_cache_key(previous, name), None)
            if stale is not None:
                stale.close()


def use_backend(name: str, backend: StorageBackend) -> None:
    """Make ``backend`` (e.g. built with ``filesystem=`` for an fsspec implementation this
    module does not know) the process-wide backend for the name ``name``: nets whose
    storage config names it use this object."""
    register_backend(name, backend.config)
    with _registry_lock:
        _backends[_cache_key(backend.config, name)] = backend


def registered_backend_config(name: str) -> BackendConfigBase | None:
    """The config registered under ``name`` in this process, if any."""
    with _registry_lock:
        return _named_configs.get(name)


def _cache_key(config: BackendConfigBase, name: str | None) -> str:
    return json.dumps([name, config.model_dump(mode="json")], sort_keys=True)


def get_backend(config: BackendConfigBase, *, name: str | None = None) -> StorageBackend:
    """The process-wide shared backend for ``config``, created on first use.

    If ``name`` is registered (:func:`register_backend`) its config — with credentials —
    is used instead of ``config`` (which may have had its secrets stripped).
    """
    if name is not None:
        config = registered_backend_config(name) or config
    key = _cache_key(config, name)
    with _registry_lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _backends[key] = StorageBackend(config, name=name)
        return backend


def close_all_backends() -> None:
    """Close every shared backend (connections are reopened on the next use)."""
    with _registry_lock:
        backends = list(_backends.values())
        _backends.clear()
    for backend in backends:
        backend.close()

