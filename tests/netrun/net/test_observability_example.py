"""examples/observability.py runs and gives the results it describes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "observability.py"


def test_observability_example(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("example_observability", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    summary = module.main(str(tmp_path))
    assert summary == {
        "results": [10, 20],
        "scale_fields": [{"value": 1, "result": 10}, {"value": 2, "result": 20}],
        "outcomes": ["error", "success", "success", "success", "success"],
        "jsonl_matches_sqlite": True,
        "actions_logged": summary["actions_logged"],
        "finished_epochs": 4,
        "started_epochs": 5,
    }
    assert summary["actions_logged"] > 20
    out = capsys.readouterr().out
    assert "Its log lines, from net.logs:\nscaling 1 by 10\nscaled | value=1 result=10\n" in out
    assert "Failed epoch of Parse: ValueError: invalid literal for int() with base 10: 'oops'" in out
    assert {p.name for p in tmp_path.iterdir()} == {"epochs.jsonl", "actions.jsonl", "run.sqlite"}
