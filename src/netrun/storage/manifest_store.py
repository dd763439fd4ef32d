"""Manifest-described directories on any storage backend (S3, GCS, SSH, rclone, fsspec URLs).

The local :class:`~netrun.storage.atomic.AtomicDirectoryWriter` swaps a whole directory into
place. Object stores cannot rename a directory, so here a save is made atomic as far as the
backend allows with *generations*:

1. every file of the save goes under a fresh prefix ``<target>/<generation>/``;
2. ``<target>/manifest.json`` is written **last**, in one PUT (atomic on S3 and GCS, a
   temporary key renamed into place over SFTP and rclone). It names the generation and the
   size and SHA-256 of every file;
3. only then are the files of older generations deleted.

A reader opens the manifest and reads the files of the generation it names, checking each
file's size and checksum. A crash before step 2 leaves the previous manifest, and so the
previous save, intact (the half-written generation is removed by the next save). Files
under ``<target>`` with no manifest at all mean the first save never completed:
:class:`IncompleteManifestError` says so.

:func:`open_backend_target` turns what a user gives — an fsspec URL
(``"s3://bucket/run1"``, ``"memory://ckpt"``) with ``storage_options``, or a key prefix on
a configured backend — into a backend and a prefix.

>>> backend, prefix = open_backend_target("memory://netrun-doc/ckpt")
>>> with BackendManifestWriter(backend, prefix, format="demo", format_version=1) as w:
...     w.write_text("a.txt", "hello")
>>> BackendManifestDirectory(backend, prefix, format="demo", max_version=1).read_text("a.txt")
'hello'
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
import uuid
from typing import Any

from netrun.storage.atomic import MANIFEST_NAME, DirectoryManifest, ManifestEntry, _check_name
from netrun.storage.backends import StorageBackend, get_backend
from netrun.storage.config import BackendConfigBase
from netrun.storage.errors import (
    CorruptManifestError,
    IncompleteManifestError,
    ManifestVersionError,
    StorageConfigError,
    StorageError,
    StoredValueNotFoundError,
)

__all__ = [
    "UrlBackend",
    "is_url",
    "open_backend_target",
    "BackendManifestWriter",
    "BackendManifestDirectory",
]


def is_url(target: Any) -> bool:
    """Whether ``target`` is an fsspec URL other than a plain local path."""
    return isinstance(target, str) and "://" in target and not target.startswith("file://")


class UrlBackend(StorageBackend):
    """A :class:`StorageBackend` over whatever file system fsspec opens for a URL
    (``s3://``, ``gs://``, ``sftp://``, ``memory://``...); ``storage_options`` go to fsspec
    (e.g. ``key``, ``secret``, ``client_kwargs={"endpoint_url": ...}`` for s3fs)."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        import fsspec.core

        try:
            fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except (ImportError, ValueError) as exc:
            raise StorageConfigError(
                f"cannot open storage URL {url!r}: {type(exc).__name__}: {exc}",
                fix="check the URL's protocol and install the fsspec implementation it needs "
                "(s3fs for s3://, gcsfs for gs://, sshfs for sftp://)",
                backend=url,
            ) from exc
        self.config = None  # type: ignore[assignment]
        self.name = None
        self.description = f"fsspec '{url}'"
        self._fs = fs
        self._lock = threading.Lock()
        self.root = root.rstrip("/")
        self.url = url

    def _credentials_fix(self) -> str:
        return "pass the credentials in storage_options (for s3fs: key=..., secret=...) or the environment"

    def _unreachable_fix(self) -> str:
        return f"check that the server behind {self.url!r} is up and reachable (endpoint in storage_options)"

    def close(self) -> None:
        """Nothing to release (the file system is fsspec's)."""


def open_backend_target(
    target: Any,
    *,
    backend: StorageBackend | BackendConfigBase | None = None,
    storage_options: dict[str, Any] | None = None,
) -> tuple[StorageBackend, str]:
    """``(backend, key prefix)`` for a save target.

    With ``backend`` (a backend object or config), ``target`` is a key prefix inside it;
    otherwise ``target`` must be an fsspec URL, opened with ``storage_options``.
    """
    if backend is not None:
        if isinstance(backend, BackendConfigBase):
            backend = get_backend(backend)
        if not isinstance(backend, StorageBackend):
            raise StorageConfigError(
                f"backend must be a StorageBackend or a backend config, got {type(backend).__name__}",
                fix="pass e.g. S3BackendConfig(bucket=..., ...) or leave backend out and use a URL",
            )
        return backend, str(target).strip("/")
    if not is_url(target):
        raise StorageConfigError(
            f"{target!r} is not a storage URL",
            fix="use a URL such as 's3://bucket/prefix' or 'memory://name', or pass backend=",
        )
    url = str(target)
    protocol, _, rest = url.partition("://")
    # The manifest lives at <prefix>/manifest.json, so the backend's root is the URL's
    # first path component (bucket or host) and the rest is the prefix.
    head, _, prefix = rest.partition("/")
    return UrlBackend(f"{protocol}://{head}", **(storage_options or {})), prefix.strip("/")


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class BackendManifestWriter:
    """Write a manifest-described directory to a backend; same interface as
    :class:`~netrun.storage.atomic.AtomicDirectoryWriter` (``write_bytes`` / ``write_text``
    / ``write_json`` inside a ``with`` block; nothing is published on an exception)."""

    def __init__(self, backend: StorageBackend, prefix: str, *, format: str, format_version: int,
                 meta: dict[str, Any] | None = None) -> None:
        self.backend = backend
        self.prefix = prefix.strip("/")
        self.format = format
        self.format_version = int(format_version)
        self.meta = dict(meta or {})
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
        self.generation = f"gen-{stamp}-{uuid.uuid4().hex[:10]}"
        self._files: dict[str, ManifestEntry] = {}
        self._active = False

    @property
    def location(self) -> str:
        return f"{self.backend.description}, prefix {self.prefix!r}"

    def __enter__(self) -> BackendManifestWriter:
        self._active = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._active = False
        if exc_type is None:
            self._commit()
        else:  # best effort: the unpublished generation is garbage either way
            try:
                self.backend.delete_prefix(_join(self.prefix, self.generation))
            except StorageError:
                pass

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write one file of this generation."""
        if not self._active:
            raise RuntimeError("BackendManifestWriter is used outside its `with` block")
        name = _check_name(name)
        self.backend.write_bytes(_join(self.prefix, self.generation, name), data)
        self._files[name] = ManifestEntry(size=len(data), sha256=hashlib.sha256(data).hexdigest())

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, data: Any) -> None:
        self.write_bytes(name, json.dumps(data, sort_keys=True).encode("utf-8"))

    def _commit(self) -> None:
        manifest = DirectoryManifest(
            format=self.format,
            format_version=self.format_version,
            created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
            files=dict(self._files),
            meta={**self.meta, "generation": self.generation},
        )
        self.backend.write_bytes(_join(self.prefix, MANIFEST_NAME), manifest.to_json().encode("utf-8"))
        # Published: older generations (and debris of crashed saves) can go -- only keys of
        # this target's own generation folders: anything else under the prefix (other
        # data in the bucket, other checkpoints in sub-folders) is never touched.
        keep = _join(self.prefix, self.generation) + "/"
        generations = _join(self.prefix, "gen-")
        for key in self.backend.list(self.prefix):
            if key.startswith(generations) and "/" in key[len(generations):] and not key.startswith(keep):
                try:
                    self.backend.delete(key)
                except StorageError:
                    pass  # a leftover file costs space, not correctness


class BackendManifestDirectory:
    """A directory written by :class:`BackendManifestWriter`, opened for reading; same
    interface as :class:`~netrun.storage.atomic.ManifestDirectory`."""

    def __init__(self, backend: StorageBackend, prefix: str, *, format: str, max_version: int,
                 min_version: int = 1, verify: bool = True) -> None:
        self.backend = backend
        self.prefix = prefix.strip("/")
        self.verify = verify
        where = f"{backend.description}, prefix {self.prefix!r}"
        self.target = where
        manifest_key = _join(self.prefix, MANIFEST_NAME)
        try:
            text = backend.read_bytes(manifest_key)
        except StoredValueNotFoundError:
            leftovers = backend.list(self.prefix) if self.prefix else []
            if leftovers:
                raise IncompleteManifestError(
                    f"{where} holds {len(leftovers)} file(s) but no {MANIFEST_NAME}: the save that "
                    f"wrote them did not complete (the manifest is written last), so they are not a "
                    f"{format!r} directory anyone can load",
                    fix="load an earlier complete save, or save again to this location (the next save "
                    "removes the leftovers)",
                    backend=backend.description,
                    key=manifest_key,
                ) from None
            raise CorruptManifestError(
                f"nothing was saved at {where} (no {MANIFEST_NAME})",
                fix="check the URL / prefix; a save is only there once it has completed",
                backend=backend.description,
                key=manifest_key,
            ) from None
        self.manifest = DirectoryManifest.from_json(text.decode("utf-8", "replace"), source=manifest_key)  # type: ignore[arg-type]
        if self.manifest.format != format:
            raise CorruptManifestError(
                f"{where} holds a {self.manifest.format!r} directory, not a {format!r} one",
                fix=f"point at a {format!r} directory",
            )
        version = self.manifest.format_version
        if not min_version <= version <= max_version:
            raise ManifestVersionError(
                f"{where} was written in {format!r} format version {version}, but this netrun reads "
                f"versions {min_version} to {max_version}",
                fix="upgrade netrun to a version that reads it" if version > max_version
                else "load it with the older netrun that wrote it and save it again",
            )
        self.generation = str(self.manifest.meta.get("generation", ""))
        if not self.generation:
            raise CorruptManifestError(f"the manifest at {where} names no generation",
                                       fix="save again to this location")

    @property
    def meta(self) -> dict[str, Any]:
        return self.manifest.meta

    def names(self) -> list[str]:
        return sorted(self.manifest.files)

    def read_bytes(self, name: str) -> bytes:
        """Read one listed file, checking its size and checksum."""
        entry = self.manifest.files.get(name)
        key = _join(self.prefix, self.generation, name)
        if entry is None:
            raise CorruptManifestError(
                f"{self.target} has no file {name!r} in its manifest (it lists: {', '.join(self.names())})",
                fix="the save was written by a different program or version; save again",
            )
        try:
            data = self.backend.read_bytes(key)
        except StoredValueNotFoundError as exc:
            raise CorruptManifestError(
                f"file {key!r} listed in the manifest is missing from {self.backend.description}",
                fix="the save was damaged after it was written; restore it or save again",
            ) from exc
        if len(data) != entry.size or (self.verify and hashlib.sha256(data).hexdigest() != entry.sha256):
            raise CorruptManifestError(
                f"file {key!r} on {self.backend.description} does not match its manifest entry "
                f"({len(data)} bytes, expected {entry.size})",
                fix="the file was changed or truncated after it was written; restore it or save again",
            )
        return data

    def read_text(self, name: str) -> str:
        return self.read_bytes(name).decode("utf-8")

    def read_json(self, name: str) -> Any:
        try:
            return json.loads(self.read_bytes(name))
        except ValueError as exc:
            raise CorruptManifestError(f"file {name!r} of {self.target} is not valid JSON: {exc}",
                                       fix="restore it or save again") from exc
