"""``netrun.dsl``: the original implementation's names, without its faults."""

from __future__ import annotations

import textwrap

import pytest

import netrun_sim as sim
from netrun import dsl
from netrun.config import ConfigError, ExpressionParseError

NET = textwrap.dedent('''
    [net]
    on_error = "raise"
    history_max_size = 50

    [net.thread_pools.io]
    size = 3

    [net.meta]
    owner = "ops"

    [nodes.A]
    out_ports = ["out"]
    exec_node_func = "os.path.join"

    [nodes.B]
    in_ports = { order = { slots = 2, type = "int" }, note = {} }

    [nodes.B.in_salvo_conditions.go]
    when = "nonempty(order) and count(note) >= 1"

    [nodes.B.options]
    pool = "io"
    retries = 2

    [nodes.J]
    factory = "netrun.node_factories.join"
    factory_args = { ports = ["x", "y"] }

    [[edges]]
    from = "A.out"
    to = "B.order"
''')


def test_parse_toml_string_gives_the_flat_view():
    cfg = dsl.parse_toml_string(NET)
    assert isinstance(cfg.graph, sim.Graph)
    assert sorted(cfg.graph.nodes()) == ["A", "B", "J"]  # the factory node's ports are known
    assert list(cfg.graph.nodes()["J"].in_ports) == ["x", "y"]
    assert (cfg.on_error, cfg.history_max_size) == ("raise", 50)
    assert cfg.thread_pools == {"io": {"size": 3}}
    assert cfg.node_configs == {"B": {"pool": "io", "retries": 2}}
    assert cfg.node_exec_paths == {"A": {"exec_func": "os.path.join"}}
    assert cfg.node_factories == {"J": {"factory": "netrun.node_factories.join", "factory_args": {"ports": ["x", "y"]}}}
    assert cfg.port_types == {"B": {"in.order": "int"}}
    assert cfg.meta == {"owner": "ops"}


def test_writing_back_is_lossless_and_edits_apply(tmp_path):
    cfg = dsl.parse_toml_string(NET)
    path = tmp_path / "net.toml"
    dsl.save_toml_file(cfg, path)
    again = dsl.parse_toml_file(path)
    assert again.net_config == cfg.net_config
    cfg.on_error = "continue"
    cfg.node_configs["B"]["retries"] = 5
    cfg.thread_pools["io"]["size"] = 8
    edited = dsl.parse_toml_string(dsl.net_config_to_toml(cfg))
    assert edited.on_error == "continue"
    assert edited.node_configs["B"]["retries"] == 5
    assert edited.thread_pools == {"io": {"size": 8}}
    assert edited.port_types == cfg.port_types  # kept (the original dropped port types)


def test_a_config_built_by_hand_can_be_written():
    graph = dsl.dict_to_graph({"nodes": {"A": {"out_ports": ["o"]}, "B": {"in_ports": ["i"]}},
                               "edges": [{"from": "A.o", "to": "B.i"}]})
    cfg = dsl.NetDSLConfig(graph=graph, node_configs={"B": {"retries": 1}}, port_types={"B": {"in.i": "str"}})
    text = dsl.net_config_to_toml(cfg)
    back = dsl.parse_toml_string(text)
    assert back.node_configs == {"B": {"retries": 1}} and back.port_types == {"B": {"in.i": "str"}}


@pytest.mark.parametrize("text", [
    "nonempty(order) and nonempty(note)",
    "(nonempty(a) or nonempty(b)) and not full(c)",
    "count(counter) >= 2 or count(b) < 3",
    "nonfull(fullness)",
])
def test_salvo_term_to_expr_always_parses_back(text):
    term = dsl.parse_salvo_condition_expr(text)
    assert isinstance(term, sim.SalvoConditionTerm)
    written = dsl.salvo_term_to_expr(term)
    assert written == text
    assert dsl.salvo_term_to_expr(dsl.parse_salvo_condition_expr(written)) == written


def test_term_without_text_form():
    with pytest.raises(ConfigError, match="has no 'when' text form"):
        dsl.salvo_term_to_expr(sim.SalvoConditionTerm.and_([]))


def test_lexer_parser_and_errors_are_exported():
    tokens = dsl.ExpressionLexer("empty(order)").tokenize()
    assert [t.value for t in tokens[:-1]] == ["empty", "(", "order", ")"]
    assert dsl.ExpressionParser(tokens).parse().kind == "Port"
    with pytest.raises(ExpressionParseError):
        dsl.parse_salvo_condition_expr("nonempty(a) &&")


def test_port_state_fragments():
    assert dsl.port_state_to_expr(sim.PortState.NonEmpty) == "nonempty"
    assert dsl.port_state_to_expr(sim.PortState.equals_or_greater_than(2)) == ">=2"
    assert dsl.port_state_to_expr(sim.PortState.less_than(4)) == "<4"


def test_dict_conversions():
    port = dsl.dict_to_port({"slots": 3})
    assert dsl.port_to_dict(port) == {"slots": 3} and dsl.port_to_dict(dsl.dict_to_port(None)) == {}
    cond = dsl.dict_to_salvo_condition({"when": "nonempty(a)"}, side_ports=["a", "b"], is_input=True)
    assert dsl.salvo_condition_to_dict(cond) == {"max_salvos": 1, "ports": ["a", "b"], "when": "nonempty(a)"}
    out = dsl.dict_to_salvo_condition({"when": "true", "ports": {"o": 2}})
    assert dsl.salvo_condition_to_dict(out) == {"max_salvos": "infinite", "ports": {"o": 2}, "when": "true"}
    with pytest.raises(ConfigError, match="pass side_ports"):
        dsl.dict_to_salvo_condition({"when": "true"})
    edge = dsl.dict_to_edge({"from": "A.b.out", "to": "C.in", "meta": {"x": 1}})
    assert dsl.edge_to_dict(edge) == {"from": "A.b.out", "to": "C.in"}
    with pytest.raises(ValueError, match="edge 'to' must be 'Node.port'"):
        dsl.dict_to_edge({"from": "A.out", "to": "C"})
    node = dsl.dict_to_node("N", {"in_ports": ["a"], "out_ports": {"o": {"slots": 2}}})
    as_dict = dsl.node_to_dict(node)
    assert as_dict["in_ports"] == ["a"] and as_dict["out_ports"] == {"o": {"slots": 2}}
    assert as_dict["in_salvo_conditions"]["default"]["when"] == "nonempty(a)"
    graph = dsl.dict_to_graph({"nodes": {"N": {"in_ports": ["a"]}}, "edges": []})
    assert dsl.graph_to_dict(graph)["nodes"]["N"]["in_ports"] == ["a"]


def test_import_path_helpers():
    assert dsl.resolve_import_path("os.path.join") is __import__("os").path.join
    assert dsl.get_import_path(dsl.parse_toml_string) == "netrun.dsl.parse_toml_string"
    assert dsl.get_import_path(lambda: 1) is None  # the original returned '...<lambda>'
