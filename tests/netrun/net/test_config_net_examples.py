"""The config front door examples (examples/config_net_*.py) run and give what they describe."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lifecycle_example():
    values, outcomes, values_sync = load("config_net_lifecycle").main()
    assert sorted(values) == [2, 4, 42] and outcomes == ["success"] * 3 and values_sync == [42]


def test_execute_example():
    result = load("config_net_execute").main()
    assert result == {"outside": {"out": [49]}, "inside": ["value 9"], "epoch": "success",
                      "by_hand": ("success", ["value 5"])}


def test_errors_example():
    out = load("config_net_errors").main()
    assert out["raised"] == ("risky", "main", "ValueError")
    assert [list(d.values()) for d in out["dead_letters"]] == [[-1]]
    assert out["results"] == [6] and out["queued"] == 2
    assert out["group"] == ["negative input -2", "negative input -3"]
    assert out["max_epochs"] == ([2, 3], "MaxEpochsExceeded", [[3]])


def test_background_example():
    assert load("config_net_background").main() == {
        "first": "HELLO", "while_paused": None, "while_disabled": None, "after": ["WHILE PAUSED"],
        "blocked": True}


def test_init_example():
    events, results = load("config_net_init").main()
    assert events == ["seed fired", "initialised", "model loaded", "model closed"] and results == [40]


def test_engine_example_runs_to_its_summary():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(EXAMPLES / "engine_pipeline.py")], capture_output=True,
                          text=True, timeout=60, check=True)
    assert "values that reached the sink: [2, 2, 4, 4, 6, 6]" in done.stdout
    assert "packets left in the net: 0; blocked: True" in done.stdout


def test_every_example_is_run_by_some_test():
    tests = Path(__file__).resolve().parents[2]
    sources = "\n".join(p.read_text() for p in tests.rglob("test_*.py"))
    scripts = sorted(p for p in EXAMPLES.rglob("*") if p.suffix in (".py", ".toml", ".json"))
    assert scripts, EXAMPLES
    run = {p.stem.split(".")[0] for p in scripts if p.stem.split(".")[0] in sources or p.name in sources}
    # a node module is run through the net file that names it (run by a test itself)
    nets = "\n".join(p.read_text() for p in scripts if p.suffix != ".py" and p.stem.split(".")[0] in run)
    unrun = [str(p.relative_to(EXAMPLES)) for p in scripts
             if p.stem.split(".")[0] not in run and p.stem not in nets]
    assert unrun == [], f"examples no test runs: {unrun}"
