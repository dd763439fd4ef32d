"""CLI commands that read and edit net files."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from netrun.cli import app
from netrun.config import NetConfig

runner = CliRunner()

NET = textwrap.dedent("""\
    # A small pipeline (this comment must survive edits)
    edges = [
        { from = "A.out", to = "B.in" },
        { from = "B.out", to = "C.in" },
    ]

    [net]
    on_error = "continue"

    [nodes.A]
    out_ports = ["out"]

    [nodes.B]
    in_ports = ["in"]
    out_ports = ["out"]

    [nodes.C]
    in_ports = ["in"]
""")


@pytest.fixture
def net_file(tmp_path, monkeypatch):
    path = tmp_path / "demo.netrun.toml"
    path.write_text(NET)
    monkeypatch.chdir(tmp_path)
    return path


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def as_json(result) -> dict:
    return json.loads(result.stdout)


def test_validate_ok_json_and_human(net_file):
    result = run("validate", "--json")
    assert result.exit_code == 0, result.output
    assert as_json(result) == {"ok": True, "valid": True, "file": str(net_file)}
    human = run("validate", str(net_file))
    assert human.exit_code == 0 and "valid:" in human.stdout


def test_validate_reports_every_problem_with_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.netrun.toml"
    bad.write_text(textwrap.dedent("""\
        edges = [{ from = "A.out", to = "Missing.in" }, { from = "A.nope", to = "B.in" }]

        [nodes.A]
        out_ports = ["out"]

        [nodes.B]
        in_ports = ["in"]
    """))
    result = run("validate", "--json", "--no-imports")
    assert result.exit_code == 1
    payload = as_json(result)
    assert payload["ok"] is False and payload["valid"] is False
    messages = " | ".join(p["msg"] for p in payload["problems"])
    assert "Missing" in messages and "nope" in messages
    assert len(payload["problems"]) >= 2
    assert all(p.get("file") == str(bad) for p in payload["problems"])


def test_malformed_file_names_file_and_line(tmp_path):
    bad = tmp_path / "broken.netrun.toml"
    bad.write_text("[nodes.A]\nout_ports = [out]\n")
    result = run("validate", str(bad), "--json")
    assert result.exit_code == 1
    payload = as_json(result)
    problem = payload["problems"][0]
    assert problem["file"] == str(bad) and problem["line"] == 2


def test_missing_and_ambiguous_net_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("nodes", "--json")
    assert result.exit_code == 1 and "none found here" in as_json(result)["error"]
    (tmp_path / "a.netrun.toml").write_text("")
    (tmp_path / "b.netrun.json").write_text("{}")
    result = run("nodes", "--json")
    assert "several net files here (a.netrun.toml, b.netrun.json)" in as_json(result)["error"]
    result = run("nodes", "-c", "nope.toml", "--json")
    assert as_json(result)["error"] == "net file 'nope.toml' does not exist"


def test_structure_nodes_node_info(net_file):
    structure = as_json(run("structure", "--json"))
    assert [n["name"] for n in structure["nodes"]] == ["A", "B", "C"]
    assert structure["edges"] == ["A.out -> B.in", "B.out -> C.in"]
    nodes = as_json(run("nodes", "--json"))["nodes"]
    assert nodes[1] == {"name": "B", "in_ports": ["in"], "out_ports": ["out"], "factory": None}
    node = as_json(run("node", "B", "--json"))["node"]
    assert node["in_salvo_conditions"] == ["default"]
    missing = run("node", "Z", "--json")
    assert missing.exit_code == 1 and as_json(missing)["error"] == "node 'Z' is not in the net; nodes: A, B, C"
    info = as_json(run("info", "--json"))
    assert (info["nodes"], info["edges"], info["subgraphs"]) == (3, 2, 0)


def test_convert_round_trip(net_file, tmp_path):
    out = tmp_path / "demo.netrun.json"
    result = run("convert", str(net_file), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert NetConfig.from_file(out) == NetConfig.from_file(net_file)
    back = tmp_path / "back.toml"
    assert run("convert", str(out), "-o", str(back)).exit_code == 0
    assert NetConfig.from_file(back) == NetConfig.from_file(net_file)
    bad = run("convert", str(net_file), "-o", str(tmp_path / "x.yaml"), "--json")
    assert bad.exit_code == 1 and "cannot write" in as_json(bad)["error"]


def test_factory_info(tmp_path):
    result = run("factory-info", "netrun.node_factories.from_function", "--json")
    assert result.exit_code == 0, result.output
    params = {p["name"]: p for p in as_json(result)["parameters"]}
    assert params["func"]["required"] is True
    unknown = run("factory-info", "no_such_module.factory", "--json")
    assert unknown.exit_code == 1 and "no_such_module" in as_json(unknown)["error"]


def test_add_edit_remove_node_and_edges_keep_comments(net_file):
    assert run("add-node", "D", "--in-ports", "x,y", "--json").exit_code == 0
    cfg = NetConfig.from_file(net_file)
    d = cfg.graph.get_node("D")
    assert list(d.in_ports) == ["x", "y"]
    assert d.extra["ui"]["position"] == {"x": 0.0, "y": 0.0}
    assert "this comment must survive edits" in net_file.read_text()

    dup = run("add-node", "D", "--json")
    assert dup.exit_code == 1 and "already exists" in as_json(dup)["error"]

    assert run("add-edge", "C", "out", "D", "x", "--json").exit_code == 1  # C has no output port 'out'
    assert run("edit-node", "C", "--add-out-port", "out", "--json").exit_code == 0
    assert run("add-edge", "C", "out", "D", "x", "--json").exit_code == 0
    edges = [str(e) for e in NetConfig.from_file(net_file).graph.edges]
    assert "C.out -> D.x" in edges

    assert run("edit-node", "D", "--rename", "Sink", "--json").exit_code == 0
    cfg = NetConfig.from_file(net_file)
    assert "C.out -> Sink.x" in [str(e) for e in cfg.graph.edges]

    merged = run("edit-node", "Sink", "--merge", '{"description": "collects"}', "--json")
    assert merged.exit_code == 0, merged.output
    assert NetConfig.from_file(net_file).graph.get_node("Sink").description == "collects"

    assert run("remove-edge", "C", "out", "Sink", "x", "--json").exit_code == 0
    gone = run("remove-edge", "C", "out", "Sink", "x", "--json")
    assert gone.exit_code == 1 and "no edge C.out -> Sink.x" in as_json(gone)["error"]

    removed = as_json(run("remove-node", "B", "--json"))
    assert removed["removed_edges"] == 2
    assert [n.name for n in NetConfig.from_file(net_file).graph.nodes] == ["A", "C", "Sink"]
    assert "this comment must survive edits" in net_file.read_text()


def test_invalid_edit_is_refused_and_file_untouched(net_file):
    before = net_file.read_text()
    result = run("add-edge", "A", "nope", "C", "in", "--json")
    assert result.exit_code == 1
    assert "nothing was written" in as_json(result)["error"]
    assert net_file.read_text() == before


def test_actions_and_recipes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "grow.py").write_text(textwrap.dedent("""
        def get_prompts(config):
            return [{"name": "node", "type": "text"}]

        def run(config, inputs):
            config["graph"]["nodes"].append({"name": inputs["node"]})
            return config
    """))
    path = tmp_path / "p.netrun.json"
    path.write_text(json.dumps({
        "extra": {"ui": {"actions": [{"id": "hi", "label": "Hi", "command": "echo hi from $NODE_NAME"},
                                     {"id": "bad", "label": "Bad", "command": "exit 4"}]},
                  "recipes": {"grow": {"path": "grow.py"}}},
        "graph": {"nodes": [{"name": "A", "out_ports": {"out": {}}}], "edges": []},
    }))
    listed = as_json(run("actions", "list", "--json"))
    assert [a["id"] for a in listed["actions"]] == ["hi", "bad"]
    ran = run("actions", "run", "hi", "A", "--json")
    assert ran.exit_code == 0 and as_json(ran)["result"]["stdout"] == "hi from A\n"
    failed = run("actions", "run", "bad", "--json")
    assert failed.exit_code == 1 and as_json(failed)["result"]["exit_code"] == 4
    unknown = run("actions", "run", "zzz", "--json")
    assert as_json(unknown)["error"] == "no action 'zzz'; available: hi, bad"

    assert list(as_json(run("recipes", "list", "--json"))["recipes"]) == ["grow"]
    prompts = run("recipes", "run", "grow", "--json")
    assert prompts.exit_code == 1 and as_json(prompts)["prompts"][0]["name"] == "node"
    out = tmp_path / "grown.netrun.json"
    done = run("recipes", "run", "grow", "-i", '{"node": "B"}', "-o", str(out), "--json")
    assert done.exit_code == 0, done.output
    assert [n.name for n in NetConfig.from_file(out).graph.nodes] == ["A", "B"]
