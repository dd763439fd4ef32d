"""The project directory the editor serves: every path a browser sends is checked here.

A path is taken relative to the root; after resolving ``..`` and symlinks it must still be
inside the root, otherwise :class:`~netrun.ui.errors.PathOutsideRootError` (HTTP 403).
Absolute paths are accepted only when they point inside the root.
"""

from __future__ import annotations

import os
from pathlib import Path

from netrun.ui.errors import NetFileNotFoundError, NotANetFileError, PathOutsideRootError

__all__ = ["NET_FILE_SUFFIXES", "ProjectRoot"]

#: Suffixes of files the editor lists as nets.
NET_FILE_SUFFIXES = (".netrun.toml", ".netrun.json")
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".mypy_cache", ".pytest_cache",
              ".svelte-kit", "build", "dist", ".tox"}
_MAX_LISTED = 2000


class ProjectRoot:
    """The root directory and the rules for paths under it.

    >>> root = ProjectRoot("/tmp")
    >>> root.relative(root.resolve("a/b.netrun.toml"))
    'a/b.netrun.toml'
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        path = Path(root).expanduser().resolve()
        if not path.is_dir():
            raise NetFileNotFoundError(
                f"the project root {str(path)!r} is not a directory; pass an existing folder as root"
            )
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The absolute path of ``path`` (relative to the root), refused if outside the root."""
        text = os.fspath(path)
        if not text or not text.strip():
            raise NotANetFileError("no path was given; pass a file path relative to the project root")
        candidate = Path(text).expanduser()
        if not candidate.is_absolute():
            candidate = self.path / candidate
        resolved = candidate.resolve()
        if resolved != self.path and self.path not in resolved.parents:
            raise PathOutsideRootError(
                f"path {text!r} is outside the project root {str(self.path)!r}; the editor only "
                "opens and saves files under the root (start 'netrun ui' in a folder that contains it)",
                path=text,
                root=str(self.path),
            )
        return resolved

    def net_file(self, path: str | os.PathLike[str]) -> Path:
        """Like :meth:`resolve`, and the name must end in ``.toml`` or ``.json``."""
        resolved = self.resolve(path)
        if resolved.suffix.lower() not in (".toml", ".json"):
            raise NotANetFileError(
                f"{os.fspath(path)!r} is not a net file; net files end in .toml or .json "
                "(by convention *.netrun.toml / *.netrun.json)",
                path=os.fspath(path),
            )
        return resolved

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, with forward slashes."""
        return path.resolve().relative_to(self.path).as_posix()

    def list_net_files(self) -> list[str]:
        """Net files (``*.netrun.toml`` / ``*.netrun.json``) under the root, sorted, skipping
        virtual environments, ``node_modules`` and hidden folders."""
        found: list[str] = []
        for folder, dirs, files in os.walk(self.path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
            for name in files:
                if name.lower().endswith(NET_FILE_SUFFIXES):
                    found.append((Path(folder) / name).relative_to(self.path).as_posix())
                    if len(found) >= _MAX_LISTED:
                        return sorted(found)
        return sorted(found)
