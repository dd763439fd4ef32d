"""Run every ``benchmarks/bench_*.py`` in turn (this is what ``python3 dev.py bench`` does).

Each benchmark is a standalone script that prints its own ratio lines (a figure against a
baseline measured in the same run). They run one after the other, each in a fresh
interpreter (this one), with their output passed through. The exit status is non-zero if
any benchmark fails (non-zero exit or timeout); a summary lists them.

    python benchmarks/run_all.py              # all of them
    python benchmarks/run_all.py engine net   # only bench_engine.py, bench_net*.py ...

Environment: ``NETRUN_BENCH_TIMEOUT`` (seconds per benchmark, default 1800).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def select(names: list[str]) -> list[Path]:
    scripts = sorted(HERE.glob("bench_*.py"))
    if not names:
        return scripts
    return [s for s in scripts if any(s.stem[len("bench_"):].startswith(n) for n in names)]


def main(argv: list[str]) -> int:
    scripts = select(argv)
    if not scripts:
        print(f"run_all: no benchmark matches {argv}; available: "
              f"{[s.stem for s in sorted(HERE.glob('bench_*.py'))]}")
        return 2
    timeout = float(os.environ.get("NETRUN_BENCH_TIMEOUT", "1800"))
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            code = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            print(f"run_all: {script.name} did not finish within {timeout:.0f} s")
            code = "timeout"
        took = time.perf_counter() - t0
        if code != 0:
            failed.append(f"{script.name} ({'timeout' if code == 'timeout' else f'exit {code}'})")
        print(f"=== {script.name}: {'ok' if code == 0 else 'FAILED'} in {took:.1f} s ===", flush=True)
    print(f"\nrun_all: {len(scripts) - len(failed)} of {len(scripts)} benchmarks ok"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
