#!/usr/bin/env python3
"""Build the netrun editor's frontend into ``src/netrun/ui/static/`` when it is out of date.

Standard library only, so it runs before anything is installed (``dev.py`` calls it)::

    python ui/build.py            # build only if the assets are missing or stale
    python ui/build.py --force    # always rebuild
    python ui/build.py --check    # exit 1 if a build is needed, build nothing

"Stale" means the sources changed since the last build: the build writes a stamp file
(``.build-stamp``) holding a hash of every source file (``ui/src``, ``ui/static``, the
package and config files). Comparing contents instead of modification times means a fresh
clone, a ``git pull`` or a branch switch rebuild exactly when something changed.

Dependencies come from the npm registry: ``npm ci`` when ``package-lock.json`` exists (and
``node_modules`` is missing or older than the lock), else ``npm install``. Node 20.19+ is
needed. The built files are not committed (``src/netrun/ui/static/.gitignore``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

UI_DIR = Path(__file__).resolve().parent
REPO = UI_DIR.parent
STATIC_DIR = REPO / "src" / "netrun" / "ui" / "static"
BUILD_DIR = UI_DIR / "build"
STAMP = STATIC_DIR / ".build-stamp"
KEEP = {".gitignore"}  # files of STATIC_DIR that are not build output

SOURCE_FILES = ["package.json", "package-lock.json", "svelte.config.js", "vite.config.js"]
SOURCE_DIRS = ["src", "static"]


class BuildError(RuntimeError):
    """The frontend could not be built; the message says what to install or fix."""


def source_hash() -> str:
    """A hash of every file the build reads (paths and contents)."""
    digest = hashlib.sha256()
    files = [UI_DIR / name for name in SOURCE_FILES if (UI_DIR / name).is_file()]
    for folder in SOURCE_DIRS:
        root = UI_DIR / folder
        if root.is_dir():
            files.extend(p for p in root.rglob("*") if p.is_file())
    for path in sorted(files):
        digest.update(path.relative_to(UI_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def is_stale() -> bool:
    """True when the assets are missing or were built from other sources."""
    if not (STATIC_DIR / "index.html").is_file() or not STAMP.is_file():
        return True
    return STAMP.read_text(encoding="utf-8").strip() != source_hash()


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm was not found on PATH; install Node.js 20.19 or newer (which ships npm), "
            "then run 'python ui/build.py' again"
        )
    return npm


def _run(cmd: list[str]) -> None:
    print(f"[ui/build.py] {' '.join(cmd)}", flush=True)
    env = dict(os.environ)
    env.setdefault("CI", "1")  # no interactive prompts, no progress spinners
    result = subprocess.run(cmd, cwd=UI_DIR, env=env)
    if result.returncode != 0:
        raise BuildError(f"'{' '.join(cmd)}' failed with exit code {result.returncode} (in {UI_DIR})")


def install_dependencies(npm: str) -> None:
    """``npm ci`` / ``npm install`` unless node_modules already matches the lock file."""
    lock = UI_DIR / "package-lock.json"
    installed = UI_DIR / "node_modules" / ".package-lock.json"
    if lock.is_file():
        if installed.is_file() and installed.stat().st_mtime >= lock.stat().st_mtime:
            return
        _run([npm, "ci", "--no-audit", "--no-fund"])
    else:
        _run([npm, "install", "--no-audit", "--no-fund"])


def build() -> None:
    """Install dependencies, run ``npm run build`` and copy the output into the package."""
    npm = _npm()
    install_dependencies(npm)
    _run([npm, "run", "build"])
    if not (BUILD_DIR / "index.html").is_file():
        raise BuildError(f"the build finished but {BUILD_DIR / 'index.html'} is missing; check the output above")
    STATIC_DIR.mkdir(parents=True, exist_ok=True)
    for child in STATIC_DIR.iterdir():
        if child.name in KEEP:
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    shutil.copytree(BUILD_DIR, STATIC_DIR, dirs_exist_ok=True)
    STAMP.write_text(source_hash() + "\n", encoding="utf-8")
    print(f"[ui/build.py] built the editor into {STATIC_DIR}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the assets are up to date")
    parser.add_argument("--check", action="store_true", help="exit 1 if a build is needed; build nothing")
    args = parser.parse_args(argv)
    stale = args.force or is_stale()
    if args.check:
        print("[ui/build.py] " + ("a build is needed" if stale else "the built assets are up to date"))
        return 1 if stale else 0
    if not stale:
        print("[ui/build.py] the built assets are up to date", flush=True)
        return 0
    try:
        build()
    except BuildError as exc:
        print(f"[ui/build.py] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
