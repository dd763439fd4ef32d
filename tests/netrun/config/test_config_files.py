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


# -- node positions (free-form meta/extra) ---------------------------------------------------

POSITIONED = textwrap.dedent('''\
    [nodes.A]
    out_ports = ["out"]

    [nodes.A.meta]
    label = "source"

    [nodes.A.meta.ui]
    position = {x = 1.0, y = 2.0}

    [nodes.B]
    in_ports = ["in"]

    [nodes.B.meta.ui]
    position = {x = 3.0, y = 4.5}

    [[edges]]
    from = "A.out"
    to = "B.in"

    [edges.meta]
    label = "main"
    style = {color = "red", width = 2}
''')


def moved(cfg: NetConfig, name: str, x: float, y: float) -> NetConfig:
    nodes = [n.model_copy(update={"extra": {**n.extra, "ui": {"position": {"x": x, "y": y}}}})
             if n.name == name else n for n in cfg.graph.nodes]
    return cfg.model_copy(update={"graph": cfg.graph.model_copy(update={"nodes": nodes})})


def test_positions_are_written_as_inline_tables():
    cfg = NetConfig.from_toml(POSITIONED)
    assert cfg.graph.get_node("B").extra == {"ui": {"position": {"x": 3.0, "y": 4.5}}}
    assert cfg.to_toml() == POSITIONED  # the meta table itself stays a section
    graph_text = cfg.to_toml(layout="graph")
    assert "[graph.nodes.extra.ui]\nposition = {x = 1.0, y = 2.0}\n" in graph_text
    assert NetConfig.from_toml(graph_text) == cfg


def test_moving_a_node_changes_one_line(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(POSITIONED.replace('[nodes.A]\n', '# the source\n[nodes.A]\n'))
    cfg = moved(NetConfig.from_file(path), "B", 7.0, 8.0)
    cfg.to_file(path)
    assert path.read_text() == POSITIONED.replace('[nodes.A]\n', '# the source\n[nodes.A]\n').replace(
        "position = {x = 3.0, y = 4.5}", "position = {x = 7.0, y = 8.0}")
    assert NetConfig.from_file(path) == cfg


def test_a_new_position_is_added_inline(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(ORIGINAL)
    cfg = moved(NetConfig.from_file(path), "A", 5.0, 6.0)
    cfg.to_file(path)
    assert path.read_text() == ORIGINAL.replace(
        'exec_node_func = "os.path.join"\n',
        'exec_node_func = "os.path.join"\n\n[nodes.A.meta.ui]\nposition = {x = 5.0, y = 6.0}\n')
    assert NetConfig.from_file(path) == cfg


def test_an_old_position_section_becomes_inline_when_it_changes(tmp_path):
    old_style = textwrap.dedent('''\
        [nodes.A]
        out_ports = ["out"]  # keep

        [nodes.A.meta.ui.position]
        x = 1.0
        y = 2.0

        # B next
        [nodes.B]
        in_ports = ["in"]
    ''')
    path = tmp_path / "net.toml"
    path.write_text(old_style)
    NetConfig.from_file(path).to_file(path)
    assert path.read_text() == old_style  # unchanged content: untouched text
    cfg = moved(NetConfig.from_file(path), "A", 9.0, 2.0)
    cfg.to_file(path)
    assert path.read_text() == old_style.replace("[nodes.A.meta.ui.position]\nx = 1.0\ny = 2.0\n",
                                                 "[nodes.A.meta.ui]\nposition = {x = 9.0, y = 2.0}\n")
    assert NetConfig.from_file(path) == cfg
    commented = old_style.replace("y = 2.0\n", "y = 2.0  # pinned\n")
    path.write_text(commented)
    cfg = moved(NetConfig.from_file(path), "A", 9.0, 2.0)
    cfg.to_file(path)
    assert path.read_text() == commented.replace("x = 1.0", "x = 9.0")  # a comment inside: kept as a section


def test_added_keys_go_before_the_comment_that_introduces_the_next_section(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(ORIGINAL)
    cfg = NetConfig.from_file(path)
    nodes = list(cfg.graph.nodes)
    nodes[0] = nodes[0].model_copy(update={"description": "the source"})
    cfg = cfg.model_copy(update={"graph": cfg.graph.model_copy(update={"nodes": nodes})})
    cfg.to_file(path)
    assert path.read_text() == ORIGINAL.replace(
        'exec_node_func = "os.path.join"\n', 'exec_node_func = "os.path.join"\ndescription = "the source"\n')


def test_a_position_section_followed_by_another_stays_a_section(tmp_path):
    text = textwrap.dedent('''\
        [nodes.A]
        out_ports = ["out"]

        [nodes.A.meta.ui.position]
        x = 1.0
        y = 2.0

        # the size
        [nodes.A.meta.ui.size]
        w = 3
    ''')
    path = tmp_path / "net.toml"
    path.write_text(text)
    cfg = NetConfig.from_file(path)
    node = cfg.graph.nodes[0]
    node = node.model_copy(update={"extra": {"ui": {"position": {"x": 2.0, "y": 2.0}, "size": {"w": 3}}}})
    cfg = cfg.model_copy(update={"graph": cfg.graph.model_copy(update={"nodes": [node]})})
    cfg.to_file(path)
    assert path.read_text() == text.replace("x = 1.0", "x = 2.0")
    assert NetConfig.from_file(path) == cfg


def test_updates_that_remove_and_add_keep_the_next_sections_comment():
    text = update_toml_text("[t]\na = 1\nb = 2\n\n# next\n[u]\nx = 1\n", {"t": {"a": 1, "c": 3}, "u": {"x": 1}})
    assert text == "[t]\na = 1\nc = 3\n\n# next\n[u]\nx = 1\n"
    renamed = update_toml_text("[nodes.A]\nx = 1\n\n[nodes.D]\ny = 1\n",
                               {"nodes": {"A": {"x": 1}, "S": {"y": 1, "meta": {"ui": {"position": {"x": 0}}}}}})
    assert renamed == "[nodes.A]\nx = 1\n\n[nodes.S]\ny = 1\n\n[nodes.S.meta.ui]\nposition = {x = 0}\n\n"
