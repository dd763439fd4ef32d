"""The runtime examples in examples/ run and give the results they describe."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runtime_pipeline_example(capsys):
    assert sorted(load("runtime_pipeline").main()) == [2, 4, 6, 20]
    assert "Double printed 'doubling 10'" in capsys.readouterr().out


def test_runtime_retries_example():
    results, failures = load("runtime_retries").main()
    assert results == [100, 200] and failures == [("Slow", "EpochTimeout")]


def test_runtime_background_example():
    assert load("runtime_background").main() < 1.0  # two waves of four 0.2 s jobs
