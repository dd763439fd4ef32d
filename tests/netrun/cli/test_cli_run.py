"""``netrun run``: inputs from arguments, files and stdin; outputs; failures; progress."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netrun.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "nets"

NODES = textwrap.dedent("""\
    def double(x: int) -> int:
        return 2 * x

    def boom(x: int) -> int:
        raise ValueError(f"cannot take {x}")

    def hello() -> str:
        return "hello"
""")


def _net(tmp_path: Path, body: str) -> Path:
    (tmp_path / "nodes.py").write_text(NODES)
    path = tmp_path / "t.netrun.toml"
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture
def doubler(tmp_path):
    return _net(tmp_path, """\
        [net]
        on_error = "continue"

        [nodes.double]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "./nodes.py::double" }
    """)


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, ["run", *args], input=input)


def test_positional_values_go_to_the_only_open_port(doubler):
    result = invoke(str(doubler), "1", "2", "3", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["outputs"] == {"double::out": [2, 4, 6]}
    assert payload["epochs"] == {"double": 3}


def test_inputs_from_option_json_jsonl_and_stdin(doubler, tmp_path):
    assert json.loads(invoke(str(doubler), "--input", "double.x=5", "--json").stdout)["outputs"] == {
        "double::out": [10]}
    js = tmp_path / "in.json"
    js.write_text(json.dumps({"double.x": [1, 2]}))
    assert json.loads(invoke(str(doubler), "--inputs", str(js), "--json").stdout)["outputs"]["double::out"] == [2, 4]
    jl = tmp_path / "in.jsonl"
    jl.write_text('{"double.x": 7}\n\n{"double.x": 8}\n')
    assert json.loads(invoke(str(doubler), "--inputs", str(jl), "--json").stdout)["outputs"]["double::out"] == [14, 16]
    piped = invoke(str(doubler), "--stdin", "--json", input='{"double.x": 4}\n')
    assert json.loads(piped.stdout)["outputs"]["double::out"] == [8]


def test_outputs_written_to_files(doubler, tmp_path):
    out = tmp_path / "out.jsonl"
    assert invoke(str(doubler), "1", "2", "-o", str(out)).exit_code == 0
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"queue": "double::out", "value": 2}, {"queue": "double::out", "value": 4}]
    out_json = tmp_path / "out.json"
    assert invoke(str(doubler), "3", "-o", str(out_json)).exit_code == 0
    assert json.loads(out_json.read_text()) == {"double::out": [6]}


def test_bad_inputs_are_clear(doubler, tmp_path):
    r = invoke(str(doubler), "--input", "double.x", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["error"] == "--input 'double.x' is not NODE.PORT=VALUE"
    r = invoke(str(doubler), "--input", "nodot=1", "--json")
    assert json.loads(r.stdout)["error"] == "--input: 'nodot' is not NODE.PORT"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"double.x": 1}\n{oops\n')
    r = invoke(str(doubler), "--inputs", str(bad), "--json")
    assert json.loads(r.stdout)["error"].startswith(f"{bad} line 2: not valid JSON")
    r = invoke(str(doubler), "--inputs", str(tmp_path / "none.json"), "--json")
    assert "does not exist" in json.loads(r.stdout)["error"]
    r = invoke(str(tmp_path / "missing.netrun.toml"), "--json")
    assert r.exit_code == 1 and "does not exist" in json.loads(r.stdout)["error"]
    r = invoke(str(doubler), "--fire", "ghost", "--json")
    assert json.loads(r.stdout)["error"] == "--fire: no node(s) 'ghost' in the net"


def test_failed_epochs_exit_1_and_are_reported(tmp_path):
    path = _net(tmp_path, """\
        [net]
        on_error = "continue"

        [nodes.boom]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "./nodes.py::boom" }
    """)
    result = invoke(str(path), "4", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["error"] == "1 epoch(s) failed; their packets are in the dead-letter queue"
    assert payload["failed"][0]["node"] == "boom"
    assert "cannot take 4" in payload["failed"][0]["error"]


def test_invalid_net_reports_problems(tmp_path):
    path = _net(tmp_path, """\
        edges = [{ from = "a.out", to = "nowhere.in" }]
        [nodes.a]
        out_ports = ["out"]
    """)
    result = invoke(str(path), "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert any("nowhere" in p["msg"] for p in payload["problems"])


def test_sources_fire_by_default_and_can_be_chosen(tmp_path):
    path = _net(tmp_path, """\
        [nodes.hello]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "./nodes.py::hello" }
    """)
    assert json.loads(invoke(str(path), "--json").stdout)["outputs"] == {"hello::out": ["hello"]}
    none = invoke(str(path), "--fire", "none", "--json")
    assert json.loads(none.stdout)["outputs"] == {}
    assert "nothing to run" in none.stderr


def test_example_text_pipeline_with_progress():
    result = invoke(str(EXAMPLES / "text_pipeline.netrun.toml"), "a b a", "--progress")
    assert result.exit_code == 0, result.output
    assert "3 words; top: a, b" in result.stdout
    assert "report" in result.stderr  # the progress table names the nodes


def test_console_script_runs_a_net(doubler):
    script = Path(sys.executable).with_name("netrun")
    proc = subprocess.run([str(script), "run", str(doubler), "21", "--json"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outputs"] == {"double::out": [42]}


def test_ui_command_serves_the_editor_on_loopback(tmp_path):
    """`netrun ui FILE` starts the editor on 127.0.0.1 and answers HTTP; stopped afterwards."""
    import re
    import signal
    import time
    import urllib.request

    script = Path(sys.executable).with_name("netrun")
    (tmp_path / "n.netrun.toml").write_text('[nodes.A]\nout_ports = ["out"]\n')
    proc = subprocess.Popen([str(script), "ui", "n.netrun.toml", "--no-browser", "--port", "0"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        url = None
        seen = ""
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            seen += line
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if match:
                url = match.group(0)
        assert url, seen
        status = None
        while time.monotonic() < deadline and status is None:  # the URL is printed just before listening
            try:
                with urllib.request.urlopen(url + "/", timeout=5) as response:
                    status = response.status
            except OSError:
                time.sleep(0.1)
        assert status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
