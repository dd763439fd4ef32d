"""The signal/control, dependency-request and target examples run and give what they say."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_signals_controls_example(capsys):
    result = load("signals_controls").main()
    assert result == {"held": [], "waiting": 3, "doubled": [2, 4, 6],
                      "ticks": ["tick 1", "tick 2", "tick 3"],
                      "more_ticks": ["tick 4", "tick 5", "tick 6"]}
    assert "while disabled: [] (3 epochs waiting)" in capsys.readouterr().out


def test_dependency_requests_example():
    assert load("dependency_requests").main() == {"first": [10], "second": [40], "third": [90],
                                                  "settings_reads": 3}


def test_targets_example():
    result = load("targets").main()
    assert sorted(result["salvos"], key=str) == [{"rows": [[5, 3]]}, {"rows": [[6, 3]]}]
    assert result["again"] == [] and result["before"] == []
    assert sorted(result["after"], key=str) == [("Audit", "login"), ("Publish", {"weights": 8}),
                                                ("Publish", {"weights": 9})]
