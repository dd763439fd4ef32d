"""The execution tests use the pool tests' fixtures (a background loop per module, and the
check that no child process outlives a module): one copy, in ``tests/netrun/pool/conftest.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_netrun_pool_test_fixtures", Path(__file__).resolve().parents[1] / "pool" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)

LoopRunner = _fixtures.LoopRunner
runner = _fixtures.runner
no_orphan_processes = _fixtures.no_orphan_processes
wait_gone = _fixtures.wait_gone
