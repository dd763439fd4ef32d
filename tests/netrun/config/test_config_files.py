"""Writing net files: fresh, deterministic, converted, and updated in place with comments kept."""

from __future__ import annotations

import json
import textwrap

from netrun.config import NetConfig, NodeConfig, PortConfig, update_toml_text

ORIGINAL = textwrap.dedent('''\
    # My pipeline - keep this comment
    [net]
    on_error = "continue"   # why: batch job

    [nodes.A]
    out_ports = ["out"]  # the source
    exec_node_func = "os.path.join"

    # B does the work
    [nodes.B]
    in_ports = ["in"]
    [nodes.B.options]
    retries = 2  # flaky API

    [[edges]]
    from = "A.out"
    to = "B.in"

    [[edges]]
    from = "B.out"
    to = "C.in"
''')


def edited(cfg: NetConfig) -> NetConfig:
    nodes = list(cfg.graph.nodes)
    b = nodes[1]
    nodes[1] = b.model_copy(update={"execution_config": b.execution_config.model_copy(update={"retries": 5}),
                                    "out_ports": {"out": PortConfig()}})
    nodes.append(NodeConfig(name="C", in_ports=["in"]))
    graph = cfg.graph.model_copy(update={"nodes": nodes, "edges": cfg.graph.edges[:1]})
    return cfg.model_copy(update={"graph": graph})


def test_update_in_place_keeps_comments(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(ORIGINAL)
    cfg = edited(NetConfig.from_file(path))
    cfg.to_file(path)
    text = path.read_text()
    assert text == textwrap.dedent('''\
        # My pipeline - keep this comment
        [net]
        on_error = "continue"   # why: batch job

        [nodes.A]
        out_ports = ["out"]  # the source
        exec_node_func = "os.path.join"

        # B does the work
        [nodes.B]
        in_ports = ["in"]
        out_ports = ["out"]

        [nodes.B.options]
        retries = 5  # flaky API

        [nodes.C]
        in_ports = ["in"]

        [[edges]]
        from = "A.out"
        to = "B.in"

    ''')
    assert NetConfig.from_file(path) == cfg


def test_unchanged_config_rewrites_the_same_text(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(ORIGINAL)
    NetConfig.from_file(path).to_file(path)
    assert path.read_text() == ORIGINAL


def test_update_toml_text_removes_and_adds_keys():
    text = update_toml_text('a = 1  # one\nb = 2\n[t]\nx = 1\n', {"a": 1, "t": {"x": 2, "y": [1]}})
    assert text == 'a = 1  # one\n[t]\nx = 2\ny = [1]\n'


def test_fresh_write_conversion_and_layout_choice(tmp_path):
    cfg = NetConfig.from_toml(ORIGINAL)
    json_path = tmp_path / "net.netrun.json"
    cfg.to_file(json_path)  # read as DSL: the JSON keeps the DSL layout
    data = json.loads(json_path.read_text())
    assert list(data) == ["net", "nodes", "edges"]
    assert NetConfig.from_file(json_path) == cfg
    cfg.to_file(json_path, layout="graph")
    assert list(json.loads(json_path.read_text())) == ["graph", "on_error"]
    back = NetConfig.from_file(json_path)
    assert back == cfg
    toml_path = tmp_path / "net.netrun.toml"
    back.to_file(toml_path)  # read in the graph layout: written in the graph layout
    assert "[[graph.nodes]]" in toml_path.read_text()
    back.to_file(toml_path, layout="dsl")  # a different layout is written fresh
    assert toml_path.read_text() == cfg.to_toml("dsl")
    assert NetConfig.from_file(toml_path) == cfg


def test_python_built_config_defaults_to_dsl_toml_and_graph_json():
    cfg = NetConfig.model_validate({"graph": {"nodes": [{"name": "A"}]}})
    assert cfg.to_toml() == "[nodes.A]\n"
    assert json.loads(cfg.to_json()) == {"graph": {"nodes": [{"type": "node", "name": "A"}]}}
