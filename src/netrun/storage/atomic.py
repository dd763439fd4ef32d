"""Crash-safe writes: single files and whole directories described by a versioned manifest.

* :func:`atomic_write_bytes` writes a file through a temporary sibling, ``fsync`` and
  ``os.replace``: readers see the old file or the new one, never a torn one.
* :class:`AtomicDirectoryWriter` builds a directory (a checkpoint) in a temporary sibling,
  writes ``manifest.json`` (format name, format version, size and SHA-256 of every file),
  ``fsync``\\ s everything and then swaps it into place. On Linux the swap is one
  ``renameat2(RENAME_EXCHANGE)`` call; elsewhere the old directory is renamed aside first
  and :func:`recover_directory` puts it back if a crash happened between the two renames.
  Either way, a crash at any point leaves the previous directory intact.
* :class:`ManifestDirectory` opens such a directory: a missing or unreadable manifest, a
  format or version this code cannot read, or a file whose size or checksum differs raises
  :class:`CorruptManifestError` / :class:`ManifestVersionError` naming the file and the fix.

Concurrent writers of the same directory are serialised with an advisory lock file
(``.<name>.lock`` beside it) on POSIX systems.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "ckpt"
>>> with AtomicDirectoryWriter(target, format="demo", format_version=1) as w:
...     w.write_bytes("data.bin", b"123")
>>> ManifestDirectory(target, format="demo", max_version=1).read_bytes("data.bin")
b'123'
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from netrun.storage.errors import CorruptManifestError, ManifestVersionError, StorageFullError

try:  # POSIX advisory locks; Windows has none, and concurrent saves there are not guarded.
    import fcntl
except ImportError:  # pragma: no cover - not on Linux
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MANIFEST_NAME",
    "atomic_write_bytes",
    "fsync_directory",
    "ManifestEntry",
    "DirectoryManifest",
    "AtomicDirectoryWriter",
    "ManifestDirectory",
    "recover_directory",
]

MANIFEST_NAME = "manifest.json"


def fsync_directory(path: str | os.PathLike[str]) -> None:
    """Flush a directory's entries (new, renamed, removed files) to disk."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # platforms that cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _full_disk(exc: OSError, path: Path) -> StorageFullError | None:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        err = StorageFullError(
            f"no space left while writing '{path}' ({exc.strerror})",
            fix=f"free space on the volume holding '{path.parent}' or write to a larger one",
            backend=f"local '{path.parent}'",
        )
        err.errno = exc.errno
        return err
    return None


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename).

    Parent directories are created. A full disk raises :class:`StorageFullError`; the
    temporary file is removed on any failure and ``path`` keeps its previous content.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        full = _full_disk(exc, path)
        if full is not None:
            raise full from exc
        raise
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        fsync_directory(path.parent)


# --- manifest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestEntry:
    """One file of a manifest-described directory."""

    size: int
    sha256: str


@dataclass(frozen=True)
class DirectoryManifest:
    """The content of ``manifest.json``: what the directory is and what it must hold."""

    format: str
    format_version: int
    created_at: str
    files: dict[str, ManifestEntry]
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": self.format,
                "format_version": self.format_version,
                "created_at": self.created_at,
                "files": {name: {"size": e.size, "sha256": e.sha256} for name, e in sorted(self.files.items())},
                "meta": self.meta,
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str, *, source: Path) -> DirectoryManifest:
        try:
            data = json.loads(text)
            files = {
                str(name): ManifestEntry(size=int(entry["size"]), sha256=str(entry["sha256"]))
                for name, entry in data["files"].items()
            }
            return cls(
                format=str(data["format"]),
                format_version=int(data["format_version"]),
                created_at=str(data.get("created_at", "")),
                files=files,
                meta=dict(data.get("meta") or {}),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptManifestError(
                f"manifest '{source}' is not valid ({type(exc).__name__}: {exc})",
                fix="the directory was damaged after it was written; restore it from a backup "
                "or write it again",
            ) from exc


def _check_name(name: str) -> str:
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or name == MANIFEST_NAME or "\\" in name:
        raise ValueError(
            f"file name {name!r} is not allowed in a manifest directory: use a relative "
            f"POSIX path without '..', other than {MANIFEST_NAME!r}"
        )
    return str(pure)


# --- swapping directories ---------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _load_renameat2() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


_renameat2 = _load_renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths; ``False`` if the platform cannot."""
    if _renameat2 is None:
        return False
    result = _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _sibling(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{kind}-{uuid.uuid4().hex[:12]}")


def _siblings(target: Path, kind: str) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.{kind}-*"))


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    target.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(target.parent / f".{target.name}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _recover_unlocked(target: Path) -> None:
    olds = _siblings(target, "old")
    if not target.exists() and olds:
        # A crash between "target -> old" and "tmp -> target": put the previous one back.
        os.rename(olds[-1], target)
        olds = olds[:-1]
        fsync_directory(target.parent)
    for stale in [*olds, *_siblings(target, "tmp")]:
        shutil.rmtree(stale, ignore_errors=True)


def recover_directory(target: str | os.PathLike[str]) -> None:
    """Repair what an interrupted :class:`AtomicDirectoryWriter` left behind.

    Restores the previous directory if a crash removed it mid-swap, and deletes stale
    temporary directories. Safe to call at any time; readers and writers call it.
    """
    target = Path(target)
    if not target.parent.exists() or not (_siblings(target, "old") or _siblings(target, "tmp")):
        return  # nothing to repair (and no lock file needed, so read-only places work)
    with _locked(target):
        _recover_unlocked(target)


# --- writer and reader ------------------------------------------------------------------


class AtomicDirectoryWriter:
    """Write a directory all at once: either the whole new content appears, or nothing.

    Use it as a context manager; files are written into a hidden temporary sibling of
    ``target`` and swapped into place when the block exits without an exception. An
    exception (or a crash) leaves any previous ``target`` untouched.

    ``meta`` is stored in the manifest (JSON data); ``fsync=False`` skips the flushes
    (faster, not crash-safe: for tests and scratch data only).
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        format: str,
        format_version: int,
        meta: dict[str, Any] | None = None,
        fsync: bool = True,
    ) -> None:
        self.target = Path(target)
        self.format = format
        self.format_version = int(format_version)
        self.meta = dict(meta or {})
        self.fsync = fsync
        self._tmp: Path | None = None
        self._files: dict[str, ManifestEntry] = {}
        self._lock: contextlib.ExitStack | None = None

    def __enter__(self) -> AtomicDirectoryWriter:
        self._lock = contextlib.ExitStack()
        self._lock.enter_context(_locked(self.target))
        try:
            _recover_unlocked(self.target)
            self._tmp = _sibling(self.target, "tmp")
            self._tmp.mkdir()
        except BaseException:
            self._lock.close()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._lock is not None and self._tmp is not None
        try:
            if exc_type is None:
                self._commit()
        finally:
            if self._tmp.exists():
                shutil.rmtree(self._tmp, ignore_errors=True)
            self._lock.close()

    @property
    def path(self) -> Path:
        """The temporary directory being filled (valid inside the ``with`` block)."""
        if self._tmp is None:
            raise RuntimeError("AtomicDirectoryWriter is used outside its `with` block")
        return self._tmp

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write one file (``name`` may contain ``/`` for subdirectories)."""
        name = _check_name(name)
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "wb") as handle:
                handle.write(data)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
        except OSError as exc:
            full = _full_disk(exc, self.target / name)
            if full is not None:
                raise full from exc
            raise
        self._files[name] = ManifestEntry(size=len(data), sha256=hashlib.sha256(data).hexdigest())

    def write_text(self, name: str, text: str) -> None:
        """Write one UTF-8 text file."""
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, data: Any) -> None:
        """Write one JSON file."""
        self.write_bytes(name, json.dumps(data, sort_keys=True).encode("utf-8"))

    def _commit(self) -> None:
        tmp = self.path
        manifest = DirectoryManifest(
            format=self.format,
            format_version=self.format_version,
            created_at=datetime.datetime.now(datetime.timezone.utc).isoformat(),
            files=dict(self._files),
            meta=self.meta,
        )
        try:
            with open(tmp / MANIFEST_NAME, "w", encoding="utf-8") as handle:
                handle.write(manifest.to_json())
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
        except OSError as exc:
            full = _full_disk(exc, self.target / MANIFEST_NAME)
            if full is not None:
                raise full from exc
            raise
        if self.fsync:
            for directory in {tmp, *((tmp / n).parent for n in self._files)}:
                fsync_directory(directory)
        if self.target.exists():
            if _exchange(tmp, self.target):
                pass  # tmp now holds the previous content; removed in __exit__
            else:
                old = _sibling(self.target, "old")
                os.rename(self.target, old)
                os.rename(tmp, self.target)
                if self.fsync:
                    fsync_directory(self.target.parent)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, self.target)
        if self.fsync:
            fsync_directory(self.target.parent)


class ManifestDirectory:
    """A directory written by :class:`AtomicDirectoryWriter`, opened for reading.

    Opening checks the manifest's format and version; :meth:`read_bytes` checks each file's
    size and checksum as it is read (``verify=False`` skips the checksum).
    ``min_version`` / ``max_version`` bound the format versions this reader understands.
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        format: str,
        max_version: int,
        min_version: int = 1,
        verify: bool = True,
    ) -> None:
        self.target = Path(target)
        self.verify = verify
        recover_directory(self.target)
        manifest_path = self.target / MANIFEST_NAME
        if not self.target.is_dir():
            raise CorruptManifestError(
                f"'{self.target}' does not exist or is not a directory",
                fix="check the path; a directory is only there once a save has completed",
            )
        try:
            text = manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CorruptManifestError(
                f"'{self.target}' has no {MANIFEST_NAME}: it is not a {format!r} directory "
                "or it was not written by netrun",
                fix="point at a directory written by netrun, or write it again",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptManifestError(
                f"cannot read '{manifest_path}': {exc}",
                fix="restore the directory from a backup or write it again",
            ) from exc
        self.manifest = DirectoryManifest.from_json(text, source=manifest_path)
        if self.manifest.format != format:
            raise CorruptManifestError(
                f"'{self.target}' holds a {self.manifest.format!r} directory, not a {format!r} one",
                fix=f"point at a {format!r} directory",
            )
        version = self.manifest.format_version
        if version > max_version:
            raise ManifestVersionError(
                f"'{self.target}' was written in {format!r} format version {version}, but this "
                f"netrun reads versions {min_version} to {max_version}",
                fix="upgrade netrun to a version that reads it",
            )
        if version < min_version:
            raise ManifestVersionError(
                f"'{self.target}' was written in {format!r} format version {version}, which this "
                f"netrun no longer reads (it reads {min_version} to {max_version})",
                fix="load it with the older netrun that wrote it and save it again, or write it anew",
            )

    @property
    def meta(self) -> dict[str, Any]:
        """The ``meta`` mapping stored by the writer."""
        return self.manifest.meta

    def names(self) -> list[str]:
        """The files the manifest lists."""
        return sorted(self.manifest.files)

    def read_bytes(self, name: str) -> bytes:
        """Read one listed file, checking its size (and checksum when ``verify``)."""
        entry = self.manifest.files.get(name)
        if entry is None:
            raise CorruptManifestError(
                f"'{self.target}' has no file {name!r} in its manifest (it lists: "
                f"{', '.join(self.names()) or 'nothing'})",
                fix="the directory was written by a different program or version; write it again",
            )
        path = self.target / name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CorruptManifestError(
                f"file '{path}' listed in the manifest cannot be read: {exc}",
                fix="the directory was damaged after it was written; restore it or write it again",
            ) from exc
        if len(data) != entry.size or (self.verify and hashlib.sha256(data).hexdigest() != entry.sha256):
            raise CorruptManifestError(
                f"file '{path}' does not match its manifest entry "
                f"({len(data)} bytes, expected {entry.size}; checksum "
                f"{'differs' if len(data) == entry.size else 'not checked'})",
                fix="the file was changed or truncated after it was written; restore it or write it again",
            )
        return data

    def read_text(self, name: str) -> str:
        """Read one listed UTF-8 text file."""
        return self.read_bytes(name).decode("utf-8")

    def read_json(self, name: str) -> Any:
        """Read one listed JSON file."""
        try:
            return json.loads(self.read_bytes(name))
        except ValueError as exc:
            raise CorruptManifestError(
                f"file '{self.target / name}' is not valid JSON: {exc}",
                fix="restore it or write the directory again",
            ) from exc
