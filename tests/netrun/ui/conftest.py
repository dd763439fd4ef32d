"""Fixtures of the editor backend tests: a small project directory and a test client."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette deprecates httpx for its TestClient
    from fastapi.testclient import TestClient

from netrun.ui import create_app

NODES_PY = '''
import time


def slow(x: int) -> int:
    time.sleep(0.1)
    return x


def double(x: int) -> int:
    print("doubling", x)
    return 2 * x


def inc(x: int) -> int:
    if x == 6:
        raise ValueError("six is not allowed")
    return x + 1
'''

PIPELINE_TOML = '''
# A two-node pipeline (this comment must survive saving)
edges = [{ from = "double.out", to = "inc.x" }]

[net]
on_error = "continue"  # keep going after a failure

[nodes.double]
factory = "netrun.factories.from_function"
factory_args = { func = "uitest_nodes.double" }

[nodes.inc]
factory = "netrun.factories.from_function"
factory_args = { func = "uitest_nodes.inc" }
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with node functions and one net file (DSL layout TOML)."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "uitest_nodes.py").write_text(textwrap.dedent(NODES_PY))
    (root / "pipeline.netrun.toml").write_text(PIPELINE_TOML.lstrip())
    return root


@pytest.fixture
def client(project: Path):
    """A TestClient of the editor app for ``project`` (monitor batches every 50 ms)."""
    app = create_app(project, interval=0.05)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
