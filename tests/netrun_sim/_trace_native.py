"""Finding (or making) an interpreter with the published native engine ``netrun-sim==0.2.0``.

The differential test and the engine benchmark compare our pure-Python ``netrun_sim`` with
the published Rust/PyO3 wheel of the same import name. The two cannot live in one
interpreter, so the native engine runs in a separate virtual environment:

1. ``$NETRUN_NATIVE_PYTHON`` if set;
2. ``/tmp/native/bin/python`` if it exists (the development machine's copy);
3. otherwise a throwaway venv at ``$NETRUN_NATIVE_VENV`` (default ``/tmp/netrun-native-venv``)
   created once with ``pip install netrun-sim==0.2.0`` and reused afterwards.

Whatever is found is checked: it must import ``netrun_sim`` version 0.2.0 from its own
site-packages (never from this repository's ``src/``), with ``python -I``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

NATIVE_VERSION = "0.2.0"
DEFAULT_VENV = Path(os.environ.get("NETRUN_NATIVE_VENV", "/tmp/netrun-native-venv"))
REPO_SRC = Path(__file__).resolve().parents[2] / "src"
_CHECK = (
    "import importlib.metadata as m, netrun_sim; "
    "print(m.version('netrun-sim')); print(netrun_sim.__file__)"
)


class NativeEngineUnavailable(RuntimeError):
    """The published engine could not be found or installed (the reason is the message)."""


def _check(python: str) -> str | None:
    """None if ``python`` runs the published engine; otherwise why not."""
    try:
        out = subprocess.run([python, "-I", "-c", _CHECK], capture_output=True, text=True,
                             timeout=60, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as ex:
        return f"{python}: {ex}"
    if out.returncode != 0:
        return f"{python} cannot import netrun_sim: {out.stderr.strip()[-300:]}"
    version, path = (out.stdout.strip().splitlines() + ["", ""])[:2]
    if version != NATIVE_VERSION:
        return f"{python} has netrun-sim {version}, need {NATIVE_VERSION}"
    if str(REPO_SRC) in path:
        return f"{python} imports our own engine ({path}), not the published one"
    return None


def _create_venv(where: Path) -> None:
    import fcntl

    where.parent.mkdir(parents=True, exist_ok=True)
    with open(str(where) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers may race to create it
        py = where / "bin" / "python"
        if py.exists() and _check(str(py)) is None:
            return
        venv.EnvBuilder(with_pip=True, clear=True).create(where)
        res = subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                              f"netrun-sim=={NATIVE_VERSION}"], capture_output=True, text=True, timeout=600)
        if res.returncode != 0:
            raise NativeEngineUnavailable(
                f"pip install netrun-sim=={NATIVE_VERSION} into {where} failed: {res.stderr.strip()[-500:]}")


def native_python(create: bool = True) -> str:
    """Path of a Python that runs the published engine; raises NativeEngineUnavailable."""
    reasons = []
    env = os.environ.get("NETRUN_NATIVE_PYTHON")
    candidates = [env] if env else []
    candidates += ["/tmp/native/bin/python", str(DEFAULT_VENV / "bin" / "python")]
    for py in candidates:
        if py and Path(py).exists():
            why = _check(py)
            if why is None:
                return py
            reasons.append(why)
    if not create:
        raise NativeEngineUnavailable("; ".join(reasons) or "no native engine venv found")
    try:
        _create_venv(DEFAULT_VENV)
    except (OSError, subprocess.TimeoutExpired) as ex:
        raise NativeEngineUnavailable(f"creating {DEFAULT_VENV} failed: {ex}") from ex
    py = str(DEFAULT_VENV / "bin" / "python")
    why = _check(py)
    if why is not None:
        raise NativeEngineUnavailable(why)
    return py


def run_native_script(python: str, script: Path, args: list[str], timeout: float = 600) -> str:
    """Run one of our helper scripts under the native interpreter, isolated from ``src/``."""
    res = subprocess.run([python, "-I", str(script), *args], capture_output=True, text=True,
                         timeout=timeout, cwd="/")
    if res.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed under {python}:\n{res.stderr[-3000:]}")
    return res.stdout


if __name__ == "__main__":
    print(native_python())
    sys.exit(0)
