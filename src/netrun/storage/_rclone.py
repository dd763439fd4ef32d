"""An fsspec file system over the ``rclone`` command-line program.

No maintained fsspec implementation for rclone exists on PyPI (``fsspec-rclone`` 0.0.1 has
not been updated since 2021), so this adapter runs the ``rclone`` binary for each operation.
Paths are rclone paths, ``"remote:some/dir/file"``. Each call is one subprocess, which is
slow for many small objects but works with every one of rclone's ~70 backends.

Failures become the standard Python exceptions that :mod:`netrun.storage.backends`
translates: ``FileNotFoundError`` (rclone exit codes 3 and 4), ``ConnectionError`` for
network failures, ``TimeoutError``, ``OSError(ENOSPC)``.
"""

from __future__ import annotations

import errno
import io
import json
import shutil
import subprocess
from typing import Any

from fsspec import AbstractFileSystem

from netrun.storage.errors import MissingOptionalDependencyError, StorageConfigError

__all__ = ["RcloneFileSystem"]

_NETWORK_HINTS = (
    "connection refused",
    "no such host",
    "i/o timeout",
    "network is unreachable",
    "connection reset",
    "tls handshake",
    "dial tcp",
)


class RcloneFileSystem(AbstractFileSystem):
    """fsspec file system for rclone remotes (``protocol = "rclone"``).

    >>> fs = RcloneFileSystem(config_path="/tmp/rclone.conf")  # doctest: +SKIP
    >>> fs.pipe_file("myremote:bucket/a.txt", b"hi")          # doctest: +SKIP
    """

    protocol = "rclone"
    root_marker = ""

    def __init__(
        self, config_path: str | None = None, binary: str = "rclone", timeout: float = 60.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        resolved = shutil.which(binary)
        if resolved is None:
            raise MissingOptionalDependencyError(
                f"the rclone backend needs the {binary!r} program, which is not on PATH",
                package="rclone",
                extra=None,
                fix="install rclone (`apt-get install rclone`, or see https://rclone.org/install/) "
                "or set the backend's 'binary' to its full path",
            )
        self.binary = resolved
        self.config_path = config_path
        self.timeout = timeout

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        path = str(path)
        if path.startswith("rclone://"):
            path = path[len("rclone://") :]
        return path.rstrip("/") if not path.endswith(":") else path

    # --- running rclone ---------------------------------------------------------------

    def _run(self, *args: str, stdin: bytes | None = None, path: str = "") -> bytes:
        command = [self.binary, *args]
        if self.config_path:
            command[1:1] = ["--config", self.config_path]
        try:
            done = subprocess.run(
                command, input=stdin, capture_output=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(f"rclone {args[0]} {path!r} did not finish within {self.timeout} s") from exc
        if done.returncode == 0:
            return done.stdout
        message = done.stderr.decode("utf-8", "replace").strip()
        lowered = message.lower()
        if "didn't find section in config file" in lowered:
            raise StorageConfigError(
                f"rclone remote of {path!r} is not configured: {message}",
                fix="define the remote with `rclone config` or set the backend's config_path",
            )
        if done.returncode in (3, 4) or "not found" in lowered or "doesn't exist" in lowered:
            raise FileNotFoundError(errno.ENOENT, f"rclone: {message}", path)
        if "no space left" in lowered or "quota" in lowered:
            raise OSError(errno.ENOSPC, f"rclone: {message}", path)
        if "permission denied" in lowered or "access denied" in lowered or "403" in lowered:
            raise PermissionError(errno.EACCES, f"rclone: {message}", path)
        if any(hint in lowered for hint in _NETWORK_HINTS):
            raise ConnectionError(f"rclone: {message}")
        raise OSError(f"rclone {args[0]} {path!r} failed (exit {done.returncode}): {message}")

    # --- fsspec API -------------------------------------------------------------------

    def _entry(self, parent: str, item: dict[str, Any]) -> dict[str, Any]:
        base = parent if parent.endswith(":") else (parent + "/" if parent else "")
        return {
            "name": base + item["Path"],
            "size": 0 if item.get("IsDir") else int(item.get("Size", 0)),
            "type": "directory" if item.get("IsDir") else "file",
            "mtime": item.get("ModTime"),
        }

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        items = json.loads(self._run("lsjson", path, path=path) or b"[]")
        entries = [self._entry(path, item) for item in items]
        return entries if detail else [e["name"] for e in entries]

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        path = self._strip_protocol(path)
        args = ["lsjson", "--recursive", path]
        if not withdirs:
            args.insert(1, "--files-only")
        if maxdepth is not None:
            args[1:1] = ["--max-depth", str(maxdepth)]
        try:
            items = json.loads(self._run(*args, path=path) or b"[]")
        except FileNotFoundError:
            items = []
        entries = {e["name"]: e for e in (self._entry(path, item) for item in items)}
        return entries if detail else sorted(entries)

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        out = self._run("lsjson", "--stat", path, path=path)
        item = json.loads(out or b"null")
        if not item:
            raise FileNotFoundError(errno.ENOENT, "rclone: not found", path)
        entry = self._entry("", item)
        entry["name"] = path
        return entry

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        path = self._strip_protocol(path)
        args = ["cat", path]
        if start:
            args += ["--offset", str(start)]
        if end is not None:
            args += ["--count", str(end - (start or 0))]
        return self._run(*args, path=path)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        self._run("rcat", path, stdin=bytes(value), path=path)

    def rm_file(self, path: str) -> None:
        path = self._strip_protocol(path)
        self._run("deletefile", path, path=path)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: str | list[str], recursive: bool = False, maxdepth: int | None = None) -> None:
        for one in [path] if isinstance(path, str) else path:
            one = self._strip_protocol(one)
            if recursive and self.isdir(one):
                self._run("purge", one, path=one)
            else:
                self.rm_file(one)

    def mv(self, path1: str, path2: str, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        src, dst = self._strip_protocol(path1), self._strip_protocol(path2)
        self._run("moveto", src, dst, path=src)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        self._run("mkdir", path, path=path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.mkdir(path)

    def rmdir(self, path: str) -> None:
        path = self._strip_protocol(path)
        self._run("rmdir", path, path=path)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        path = self._strip_protocol(path)
        if "r" in mode:
            return io.BytesIO(self.cat_file(path))
        return _UploadOnClose(self, path)


class _UploadOnClose(io.BytesIO):
    """A write buffer that uploads its contents with ``rclone rcat`` when closed."""

    def __init__(self, fs: RcloneFileSystem, path: str) -> None:
        super().__init__()
        self._fs = fs
        self._path = path

    def close(self) -> None:
        if not self.closed:
            data = self.getvalue()
            super().close()
            self._fs.pipe_file(self._path, data)

