"""PROJECT_SPEC DSL layout and the 0.5.0 schema: loading, writing back, round trips."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from netrun.config import (
    ConfigError,
    ConfigValidationFailed,
    EdgeConfig,
    GraphConfig,
    NetConfig,
    NodeConfig,
    NodeExecutionConfig,
    PortConfig,
    SalvoConditionConfig,
    SubgraphConfig,
    VarRef,
)

DATA = Path(__file__).parent / "data"

SPEC_EXAMPLE = textwrap.dedent('''
    [net]
    on_error = "continue"
    history_file = "./history.jsonl"

    [net.thread_pools.io]
    size = 10

    [net.process_pools.heavy]
    size = 4

    [net.meta]
    author = "someone"
    version = "1.0"

    [nodes.Source]
    out_ports = ["out"]
    exec_node_func = "os.path.join"

    [nodes.MyNode]
    out_ports = ["out"]
    exec_node_func = "my_module.my_exec_func"
    start_node_func = "my_module.my_start_func"
    stop_node_func = "my_module.my_stop_func"
    exec_failed_node_func = "my_module.my_failed_func"

    [nodes.MyNode.in_ports.in1]
    slots = 5
    type = "DataFrame"

    [nodes.MyNode.in_ports.in2]

    [nodes.MyNode.in_salvo_conditions.default]
    when = "nonempty(in1) and nonempty(in2)"
    ports = ["in1", "in2"]

    [nodes.MyNode.out_salvo_conditions.send]
    when = "nonempty(out)"
    max_salvos = "infinite"

    [nodes.MyNode.options]
    pool = "io"
    retries = 3
    defer_net_actions = true
    timeout = 30.0

    [nodes.MyNode.meta]
    description = "Processes data"

    [nodes.Fact]
    factory = "my_module.my_factory"
    factory_args = { num_inputs = 3, timeout = 30 }

    [[edges]]
    from = "Source.out"
    to = "MyNode.in1"
    [edges.meta]
    label = "main flow"
''')


def test_spec_example_loads_into_the_schema():
    cfg = NetConfig.from_toml(SPEC_EXAMPLE)
    assert cfg.on_error == "continue"
    assert cfg.history_file == "./history.jsonl"
    assert cfg.pools["io"].spec.type == "thread" and cfg.pools["io"].spec.num_workers == 10
    assert cfg.pools["heavy"].spec.type == "multiprocess" and cfg.pools["heavy"].spec.num_processes == 4
    assert cfg.extra == {"author": "someone", "version": "1.0"}
    node = cfg.graph.get_node("MyNode")
    assert node.in_ports["in1"] == PortConfig.finite(5, "DataFrame")
    assert node.in_ports["in2"] == PortConfig()
    cond = node.in_salvo_conditions["default"]
    assert cond.max_salvos_limit() == 1  # input default
    assert list(cond.ports) == ["in1", "in2"]
    assert node.out_salvo_conditions["send"].max_salvos_limit() is None
    ec = node.execution_config
    assert (ec.pools, ec.retries, ec.defer_net_actions, ec.timeout) == (["io"], 3, True, 30.0)
    assert ec.exec_node_func == "my_module.my_exec_func"
    assert ec.init_node_func == "my_module.my_start_func"  # start_node_func
    assert ec.close_node_func == "my_module.my_stop_func"  # stop_node_func
    assert ec.on_node_failure == "my_module.my_failed_func"  # exec_failed_node_func
    assert node.extra == {"description": "Processes data"}
    fact = cfg.graph.get_node("Fact")
    assert fact.factory == "my_module.my_factory" and fact.factory_args == {"num_inputs": 3, "timeout": 30}
    assert cfg.graph.edges == [EdgeConfig(source_node="Source", source_port="out", target_node="MyNode",
                                          target_port="in1", meta={"label": "main flow"})]


def test_inline_edges_and_omitted_ports_mean_all_ports():
    cfg = NetConfig.from_toml(textwrap.dedent('''
        edges = [
            { from = "A.out", to = "B.in" },
            { from = "B.out", to = "C.in1" },
        ]
        [nodes.A]
        out_ports = ["out"]
        [nodes.B]
        in_ports = ["in"]
        out_ports = ["out"]
        [nodes.B.in_salvo_conditions.go]
        when = "nonempty(in)"
        [nodes.C]
        in_ports = ["in1", "in2"]
    '''))
    assert [str(e) for e in cfg.graph.edges] == ["A.out -> B.in", "B.out -> C.in1"]
    go = cfg.graph.get_node("B").in_salvo_conditions["go"]
    assert go.ports is None  # omitted: all input ports, filled in at resolve time
    resolved = cfg.resolve(resolve_imports=False)
    assert list(resolved.graph.get_node("B").in_salvo_conditions["go"].ports) == ["in"]
    # A node with no conditions gets the defaults.
    c = resolved.graph.get_node("C").in_salvo_conditions["default"]
    assert list(c.ports) == ["in1", "in2"] and c.term.type == "and"


def test_packet_counts_and_max_salvos_forms():
    cfg = NetConfig.from_toml(textwrap.dedent('''
        [nodes.N]
        in_ports = ["a", "b"]
        out_ports = ["o"]
        [nodes.N.in_salvo_conditions.c]
        when = "count(a) >= 2"
        ports = { a = 2, b = "all" }
        [nodes.N.out_salvo_conditions.s]
        when = "true"
        ports = "o"
        max_salvos = 3
    '''))
    node = cfg.graph.nodes[0]
    ports = node.in_salvo_conditions["c"].ports
    assert ports["a"].count == 2 and ports["b"].type == "all"
    out = node.out_salvo_conditions["s"]
    assert list(out.ports) == ["o"] and out.max_salvos_limit() == 3


# -- round trips ---------------------------------------------------------------------------


def _all_layouts_round_trip(cfg: NetConfig) -> None:
    for fmt in ("toml", "json"):
        for layout in ("dsl", "graph"):
            text = cfg.to_toml(layout) if fmt == "toml" else cfg.to_json(layout)
            back = NetConfig.from_toml(text) if fmt == "toml" else NetConfig.from_json(text)
            assert back == cfg, (fmt, layout, text)
            # writing is deterministic
            again = back.to_toml(layout) if fmt == "toml" else back.to_json(layout)
            assert again == text


def test_spec_example_round_trips_in_every_format_and_layout():
    _all_layouts_round_trip(NetConfig.from_toml(SPEC_EXAMPLE))


@pytest.mark.parametrize("name", ["peer_full.netrun.json", "peer_full_byalias.netrun.json", "demo.netrun.toml"])
def test_published_files_load_and_round_trip(name):
    cfg = NetConfig.from_file(DATA / name)
    _all_layouts_round_trip(cfg)


def test_published_json_dump_loads_with_every_field():
    cfg = NetConfig.from_file(DATA / "peer_full.netrun.json")
    assert cfg == NetConfig.from_file(DATA / "peer_full_byalias.netrun.json")  # env/$env both load
    assert cfg.pools["workers"].spec.num_workers == VarRef(env="NR_WORKERS", default=2)
    manual = cfg.graph.get_node("manual")
    assert manual.in_ports["a"].capacity == 3 and manual.in_ports["a"].port_type == "int"
    assert manual.in_ports["b"].port_type.name == "builtins.str"
    assert manual.extra == {"ui": {"position": {"x": 10, "y": 20}}}
    assert isinstance(cfg.graph.get_node("sub"), SubgraphConfig)
    assert cfg.graph.edges[1].dependency is True
    assert cfg.output_queues["results"].ports == [("add", "out")]
    assert cfg.default_controls == ["disable"]
    assert cfg.node_vars["run_name"].value is None
    add = cfg.graph.get_node("add").execution_config.node_vars["offset"]
    assert add.inherit and add.value == 7


def test_round_trip_of_terms_without_text_form_and_references():
    from netrun.config.salvo import SalvoConditionTermAndConfig

    cond = SalvoConditionConfig(max_salvos={"type": "finite", "max": 1}, ports={"a": {"type": "count", "count": {"$env": "N", "default": 1}}},
                                term=SalvoConditionTermAndConfig(terms=[]))
    node = NodeConfig(name="n", in_ports=["a"], in_salvo_conditions={"c": cond},
                      execution_config=NodeExecutionConfig(retries={"$env": "R"}))
    cfg = NetConfig(graph=GraphConfig(nodes=[node]), timeout={"$env": "T", "default": 1.5})
    _all_layouts_round_trip(cfg)
    text = cfg.to_toml("dsl")
    assert 'term = {type = "and", terms = []}' in text
    assert 'retries = {"$env" = "R"}' in text


def test_edges_with_dotted_ports_use_the_long_form():
    cfg = NetConfig(graph=GraphConfig(
        nodes=[NodeConfig(name="a.b", out_ports=["x.y"]), NodeConfig(name="c", in_ports=["i"])],
        edges=[EdgeConfig(source_node="a.b", source_port="x.y", target_node="c", target_port="i")]))
    assert 'source_port = "x.y"' in cfg.to_toml("dsl")
    _all_layouts_round_trip(cfg)


def test_empty_execution_config_is_none():
    # The DSL cannot tell "no options" from "all-default options": the model normalises.
    assert NodeConfig(name="n", execution_config=NodeExecutionConfig()).execution_config is None
    assert NodeConfig(name="n", execution_config={"pools": ["main"]}).execution_config is None


def test_dsl_output_is_stable_text():
    cfg = NetConfig.from_toml(textwrap.dedent('''
        [nodes.B]
        in_ports = ["in"]
        [nodes.A]
        out_ports = ["out"]
        [nodes.A.options]
        retries = 2
        pool = "io"
        [net.thread_pools.io]
        size = 2
        [[edges]]
        from = "A.out"
        to = "B.in"
    '''))
    assert cfg.to_toml() == textwrap.dedent('''\
        [net.thread_pools.io]
        size = 2

        [nodes.B]
        in_ports = ["in"]

        [nodes.A]
        out_ports = ["out"]

        [nodes.A.options]
        pool = "io"
        retries = 2

        [[edges]]
        from = "A.out"
        to = "B.in"
    ''')


def test_toml_cannot_hold_null():
    cfg = NetConfig(graph=GraphConfig(nodes=[NodeConfig(name="n", factory_args={"x": None})]))
    with pytest.raises(ConfigError) as info:
        cfg.to_toml()
    assert str(info.value) == ("nodes.n.factory_args.x: TOML has no null value; expected write this net "
                               "as JSON, or give a value instead of null")
    assert json.loads(cfg.to_json())["graph"]["nodes"][0]["factory_args"] == {"x": None}


def test_duplicate_node_names_cannot_be_written_as_dsl():
    cfg = NetConfig(graph=GraphConfig(nodes=[NodeConfig(name="n"), NodeConfig(name="n")]))
    with pytest.raises(ConfigError, match="two nodes of the net are called 'n'"):
        cfg.to_toml("dsl")
    assert NetConfig.from_json(cfg.to_json()) == cfg  # the graph layout keeps them


def test_subgraphs_in_the_dsl():
    cfg = NetConfig.from_toml(textwrap.dedent('''
        [nodes.src]
        out_ports = ["out"]
        [nodes.grp]
        type = "subgraph"
        exposed_in_ports = { x = { internal_node = "inner", internal_port = "i" } }
        [nodes.grp.nodes.inner]
        in_ports = ["i"]
        out_ports = ["o"]
        [[edges]]
        from = "src.out"
        to = "grp.x"
    '''))
    grp = cfg.graph.get_node("grp")
    assert isinstance(grp, SubgraphConfig) and grp.nodes[0].name == "inner"
    resolved = cfg.resolve(resolve_imports=False)
    assert [n.name for n in resolved.graph.nodes] == ["src", "grp.inner"]
    assert [str(e) for e in resolved.graph.edges] == ["src.out -> grp.inner.i"]
    _all_layouts_round_trip(cfg)


def test_both_layouts_in_one_file_is_an_error():
    with pytest.raises(ConfigError) as info:
        NetConfig.from_toml('[graph]\nnodes = []\n[nodes.A]\n')
    assert "the file mixes the two layouts: 'graph' (0.5.0 schema) with 'nodes' (DSL)" in str(info.value)


def test_spec_names_are_accepted_in_the_schema_too():
    ec = NodeExecutionConfig.model_validate({"pool": "io", "start_node_func": "m.f", "capture_stdout": False,
                                             "echo_stdout": True, "pool_allocation_method": "least_busy"})
    assert (ec.pools, ec.init_node_func, ec.capture_prints, ec.print_echo_stdout, ec.pool_allocation_method) == \
        (["io"], "m.f", False, True, "least-busy")
    net = NetConfig.model_validate({"consumed_storage_limit": 5})
    assert net.consumed_packet_storage_limit == 5


def test_spec_edge_text_form_in_the_schema():
    assert EdgeConfig.model_validate({"from": "A.b.out", "to": "C.in"}).source_node == "A.b"
    with pytest.raises(ValueError, match="edge 'to' must be 'Node.port'"):
        EdgeConfig.model_validate({"from": "A.out", "to": "C"})


def test_invalid_problems_all_reported_together():
    with pytest.raises(ConfigValidationFailed) as info:
        NetConfig.from_toml(textwrap.dedent('''
            [nodes.A]
            out_ports = "out"
            [nodes.B]
            in_ports = ["x", "x"]
            [nodes.B.in_salvo_conditions.c]
            when = "nonempty(x) or"
            max_salvos = "lots"
        '''))
    assert [p.loc for p in info.value.problems] == [
        ["nodes", "A", "out_ports"],
        ["nodes", "B", "in_ports", 1],
        ["nodes", "B", "in_salvo_conditions", "c", "when"],
        ["nodes", "B", "in_salvo_conditions", "c", "max_salvos"],
    ]
