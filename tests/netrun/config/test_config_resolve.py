"""Resolution (env/vars/defaults/signals/subgraphs/factories/queues), node variables, the engine."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import netrun_sim as sim
from netrun.config import (
    ConfigError,
    EdgeConfig,
    GraphConfig,
    NetConfig,
    NodeConfig,
    NodeExecutionConfig,
    NodeVariable,
    NodeVariableError,
    UnfilledPlaceholderError,
    UnknownNodeVariableError,
    VarRef,
    control_port_name,
    merge_node_vars,
    resolve_node_funcs,
    signal_port_name,
)


def toml(text: str, **kw) -> NetConfig:
    return NetConfig.from_toml(textwrap.dedent(text), **kw)


# -- environment references ----------------------------------------------------------------


def test_env_values_are_cast_to_the_field_type():
    cfg = toml('''
        [net]
        retries = { "$env" = "R" }
        retry_wait = { "$env" = "W" }
        print_echo_stdout = { "$env" = "E" }
        default_signals = { "$env" = "S" }
        on_error = { "$env" = "O", default = "raise" }
        [net.thread_pools.t]
        size = { "$env" = "N", default = 2 }
    ''')
    env = {"R": "3", "W": "0.5", "E": "no", "S": '["epoch_started"]'}
    resolved = cfg.resolve(environ=env)
    assert (resolved.retries, resolved.retry_wait, resolved.print_echo_stdout) == (3, 0.5, False)
    assert resolved.default_signals == ["epoch_started"]
    assert resolved.on_error == "raise" and resolved.pools["t"].spec.num_workers == 2
    assert cfg.retries == VarRef(env="R")  # the input is not modified


def test_default_null_is_a_real_default():
    cfg = NetConfig(timeout={"$env": "NOPE_TIMEOUT", "default": None})
    assert cfg.resolve(environ={}).timeout is None


def test_env_value_outside_the_allowed_literals():
    cfg = NetConfig(on_error={"$env": "O"})
    with pytest.raises(ConfigError) as info:
        cfg.resolve(environ={"O": "explode"})
    assert str(info.value).startswith("on_error: environment variable 'O' resolved to 'explode', which is not "
                                      "usable here (Input should be 'continue', 'pause' or 'raise'); expected one of "
                                      "'continue', 'pause', 'raise'")


# -- node variables ------------------------------------------------------------------------


@pytest.mark.parametrize(("type_", "raw", "value"), [
    ("int", "42", 42), ("float", "2.5", 2.5), ("bool", "yes", True), ("bool", "0", False),
    ("json", '{"a": [1]}', {"a": [1]}), ("str", 5, "5"), ("str", True, "true"),
])
def test_node_variable_casting(type_, raw, value):
    assert NodeVariable(type=type_, value=raw).resolve_value("v") == value


def test_node_variable_errors():
    with pytest.raises(NodeVariableError) as info:
        NodeVariable(type="int", value="x").resolve_value("n")
    assert str(info.value).startswith("node variable 'n' = 'x' cannot be read as int")
    with pytest.raises(NodeVariableError) as info:
        NodeVariable(value="c", options=["a", "b"]).resolve_value("mode")
    assert str(info.value) == "node variable 'mode' = 'c' is not one of its options; expected one of 'a', 'b'"
    with pytest.raises(UnfilledPlaceholderError):
        NodeVariable(type="int").resolve_value("n")
    assert NodeVariable(type="int", optional=True).resolve_value("n") is None
    assert NodeVariable(value={"$env": "NV_X", "default": "7"}, type="int").resolve_value("x", environ={}) == 7
    with pytest.raises(ValueError, match=r"cannot be a \{\"\$var\": \.\.\.\} reference"):
        NodeVariable(value={"$var": "other"})


def test_inherit_rules():
    with pytest.raises(ValueError, match="an inherited node variable takes type from the net-level variable"):
        NodeVariable(inherit=True, type="int")
    assert NodeVariable(inherit=True, type="str").inherit  # a dumped default is fine
    merged = merge_node_vars({"k": NodeVariable(type="int", value=1, options=[1, 7])},
                             {"k": NodeVariable(inherit=True, value=7)})
    assert merged["k"].resolve_value("k") == 7 and merged["k"].type == "int"
    with pytest.raises(UnknownNodeVariableError, match="inherits from a net-level variable that does not exist"):
        merge_node_vars({}, {"k": NodeVariable(inherit=True)})
    with pytest.raises(NodeVariableError, match="only node-level variables can inherit"):
        merge_node_vars({"k": NodeVariable(inherit=True)}, {})


def test_var_references_resolve_per_node():
    cfg = toml('''
        [net]
        retries = { "$var" = "tries" }
        [net.node_vars.tries]
        type = "int"
        value = 2
        [net.node_vars.limit]
        type = "int"
        value = 10
        [nodes.A.options]
        max_parallel_epochs = { "$var" = "limit" }
        [nodes.A.options.node_vars.limit]
        inherit = true
        value = 3
        [nodes.B.options]
        max_parallel_epochs = { "$var" = "limit" }
        timeout = { "$var" = "missing", default = 1.5 }
    ''')
    resolved = cfg.resolve()
    assert resolved.retries == 2
    assert resolved.graph.get_node("A").execution_config.max_parallel_epochs == 3
    assert resolved.graph.get_node("B").execution_config.max_parallel_epochs == 10
    assert resolved.graph.get_node("B").execution_config.timeout == 1.5


def test_unknown_var_reference():
    cfg = NetConfig(graph=GraphConfig(nodes=[NodeConfig(name="A", execution_config={"retries": {"$var": "r"}})]))
    with pytest.raises(UnknownNodeVariableError) as info:
        cfg.resolve()
    assert str(info.value) == ("graph.nodes.A.execution_config.retries: node variable 'r' is not declared (declared: "
                               "none declared); expected declare it under node_vars, or add a default to the reference")


def test_from_file_overrides(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(textwrap.dedent('''
        [net.node_vars.run]
        type = "str"
        [net.node_vars.n]
        type = "int"
        value = 1
        [nodes.A.options.node_vars.model]
        type = "str"
        [nodes.A.options.node_vars.n]
        inherit = true
    '''))
    cfg = NetConfig.from_file(path, global_node_vars={"run": "r1", "n": ("5", "int")},
                              node_vars={"A": {"model": "gpt", "n": 9}})
    assert cfg.node_vars["run"].resolve_value() == "r1"
    assert cfg.node_vars["n"].resolve_value() == 5
    a_vars = cfg.graph.get_node("A").execution_config.node_vars
    assert a_vars["model"].value == "gpt"
    assert a_vars["n"].inherit and a_vars["n"].value == 9  # still inherits the type
    merged = merge_node_vars(cfg.node_vars, a_vars)
    assert merged["n"].resolve_value() == 9
    plain = NetConfig.from_file(path, data_overrides={"retries": 4})
    assert plain.retries == 4


# -- nodes, signals, controls, queues ------------------------------------------------------


def test_defaults_signals_controls_and_queues():
    cfg = toml('''
        [net]
        default_controls = ["disable"]
        [nodes.Src]
        out_ports = ["out"]
        [nodes.Src.options]
        signals = ["epoch_finished"]
        controls = []
        [nodes.Sink]
        in_ports = ["in"]
        out_ports = ["result", "log"]
        [[edges]]
        from = "Src.out"
        to = "Sink.in"
    ''')
    r = cfg.resolve()
    src, sink = r.graph.nodes
    assert list(src.in_salvo_conditions) == ["default"] and src.in_salvo_conditions["default"].term.type == "true"
    assert signal_port_name("epoch_finished") in src.out_ports
    assert signal_port_name("epoch_finished") in src.out_salvo_conditions
    assert control_port_name("disable") not in src.in_ports  # controls = [] opts out
    assert control_port_name("disable") in sink.in_ports
    assert list(sink.in_salvo_conditions) == ["default", "__control_disable__"]
    assert list(sink.in_salvo_conditions["default"].ports) == ["in"]
    assert sink.out_salvo_conditions["default"].max_salvos_limit() == 1
    assert sorted(r.output_queues) == ["Sink::log", "Sink::result"]  # signals get no queue
    assert r.is_resolved and r.resolve() is r
    assert r.pools["main"].spec.type == "main"


def test_factory_node_merge_explicit_wins():
    cfg = toml('''
        [nodes.j]
        factory = "netrun.node_factories.join"
        factory_args = { ports = ["a", "b"] }
        description = "mine"
        [nodes.j.out_ports.out]
        slots = 1
        [nodes.j.meta]
        note = "x"
    ''')
    node = cfg.resolve(resolve_imports=False).graph.nodes[0]
    assert list(node.in_ports) == ["a", "b"] and node.out_ports["out"].capacity == 1
    assert node.description == "mine" and node.extra == {"note": "x"}
    assert node.factory == "netrun.node_factories.join" and node.is_resolved
    funcs = resolve_node_funcs(node, cfg)
    assert funcs.exec_node_func.__name__ == "exec_join"


def test_explicit_function_beats_the_factory():
    cfg = toml('''
        [nodes.j]
        factory = "netrun.node_factories.join"
        exec_node_func = "os.path.join"
    ''')
    funcs = cfg.node_funcs("j")
    assert funcs.exec_node_func is __import__("os").path.join


def test_imports_are_resolved_relative_to_the_project_root(tmp_path):
    (tmp_path / "lib_cfgtest_nodes.py").write_text("def f(ctx, packets):\n    return None\n")
    (tmp_path / "net.toml").write_text('[nodes.A]\nexec_node_func = "./lib_cfgtest_nodes.py::f"\n'
                                       '[nodes.B]\nexec_node_func = "lib_cfgtest_nodes.f"\n')
    r = NetConfig.from_file(tmp_path / "net.toml").resolve()
    fa = r.graph.get_node("A").execution_config.exec_node_func
    fb = r.graph.get_node("B").execution_config.exec_node_func
    assert fa.__name__ == fb.__name__ == "f"


def test_relative_paths_become_absolute(tmp_path):
    (tmp_path / "net.toml").write_text('[net]\nhistory_file = "logs/h.jsonl"\nproject_root_override = "sub"\n')
    cfg = NetConfig.from_file(tmp_path / "net.toml")
    assert cfg.project_root_path == (tmp_path / "sub").resolve()
    assert cfg.resolve().history_file == str((tmp_path / "sub" / "logs" / "h.jsonl").resolve())


# -- subgraphs -----------------------------------------------------------------------------


def test_subgraph_from_a_file_and_nested(tmp_path):
    inner = {"graph": {"nodes": [
        {"name": "a", "in_ports": {"i": {}}, "out_ports": {"o": {}}},
        {"name": "b", "in_ports": {"i": {}}, "out_ports": {"o": {}}}],
        "edges": [{"source_node": "a", "source_port": "o", "target_node": "b", "target_port": "i"}]}}
    (tmp_path / "inner.netrun.json").write_text(json.dumps(inner))
    (tmp_path / "net.toml").write_text(textwrap.dedent('''
        [nodes.src]
        out_ports = ["out"]
        [nodes.outer]
        type = "subgraph"
        exposed_in_ports = { x = { internal_node = "mid", internal_port = "x" } }
        exposed_out_ports = { y = { internal_node = "mid", internal_port = "y" } }
        [nodes.outer.nodes.mid]
        type = "subgraph"
        path = "inner.netrun.json"
        exposed_in_ports = { x = { internal_node = "a", internal_port = "i" } }
        exposed_out_ports = { y = { internal_node = "b", internal_port = "o" } }
        [nodes.dst]
        in_ports = ["in"]
        [[edges]]
        from = "src.out"
        to = "outer.x"
        [[edges]]
        from = "outer.y"
        to = "dst.in"
    '''))
    r = NetConfig.from_file(tmp_path / "net.toml").resolve()
    assert [n.name for n in r.graph.nodes] == ["src", "outer.mid.a", "outer.mid.b", "dst"]
    assert [str(e) for e in r.graph.edges] == [
        "outer.mid.a.o -> outer.mid.b.i", "src.out -> outer.mid.a.i", "outer.mid.b.o -> dst.in"]
    assert r.graph.to_graph().validate() == []


def test_circular_subgraph_files(tmp_path):
    loop = {"nodes": {"again": {"type": "subgraph", "path": "loop.json"}}}
    (tmp_path / "loop.json").write_text(json.dumps(loop))
    cfg = NetConfig.from_data(loop, file=tmp_path / "main.json")
    with pytest.raises(ConfigError, match="includes itself"):
        cfg.resolve()


def test_bad_exposed_port():
    cfg = toml('''
        [nodes.s]
        type = "subgraph"
        [nodes.s.nodes.a]
        in_ports = ["i"]
        [nodes.src]
        out_ports = ["o"]
        [[edges]]
        from = "src.o"
        to = "s.zzz"
    ''')
    with pytest.raises(ConfigError, match="subgraph 's' exposes no input port 'zzz'; expected one of: none"):
        cfg.resolve()


def test_subgraph_needs_nodes_or_path():
    with pytest.raises(ValueError, match="needs exactly one of 'nodes' \\(inline\\) or 'path'"):
        NetConfig.model_validate({"graph": {"nodes": [{"type": "subgraph", "name": "s"}]}})


# -- the engine ----------------------------------------------------------------------------


def test_to_graph_and_back():
    cfg = toml('''
        [nodes.A]
        out_ports = { out = { slots = 2 } }
        [nodes.B]
        in_ports = ["x", "y"]
        [nodes.B.in_salvo_conditions.go]
        when = "nonempty(x) and count(y) >= 2"
        ports = { x = "all", y = 2 }
        [[edges]]
        from = "A.out"
        to = "B.x"
        dependency = true
    ''')
    graph = cfg.to_graph()
    assert isinstance(graph, sim.Graph) and graph.validate() == []
    b = graph.nodes()["B"]
    assert b.dependency_request_config is not None  # target of a dependency edge
    back = GraphConfig.from_graph(graph)
    node_b = back.get_node("B")
    assert node_b.in_salvo_conditions["go"] == cfg.graph.get_node("B").in_salvo_conditions["go"]
    assert back.get_node("A").out_ports["out"].capacity == 2
    assert back.edges == [EdgeConfig(source_node="A", source_port="out", target_node="B", target_port="x",
                                     dependency=True)]
    net = NetConfig.from_graph(graph, on_error="raise")
    assert net.on_error == "raise" and NetConfig.from_toml(net.to_toml()) == net


def test_reference_left_in_an_engine_conversion():
    node = NodeConfig(name="n", in_ports={"a": {"slots_spec": {"type": "finite", "capacity": {"$env": "C"}}}})
    with pytest.raises(ConfigError, match="port capacity is still a reference; resolve the config first"):
        node.to_netrun_sim()


def test_single_main_pool_and_reserved_name():
    with pytest.raises(ValueError, match="at most one pool can be of type 'main'"):
        NetConfig(pools={"a": {"type": "main"}, "b": {"type": "main"}})
    with pytest.raises(ValueError, match="the pool name 'main' is reserved for the event-loop pool"):
        NetConfig(pools={"main": {"type": "thread"}})


def test_dask_and_remote_pool_configs():
    cfg = toml('''
        [net.pools.cluster]
        type = "dask"
        scheduler_address = "tcp://127.0.0.1:8786"
        [net.pools.local]
        type = "dask"
        n_workers = 2
        [net.pools.far]
        type = "remote"
    ''')
    assert cfg.pools["cluster"].spec.scheduler_address == "tcp://127.0.0.1:8786"
    assert cfg.pools["local"].spec.scheduler_address is None and cfg.pools["local"].spec.n_workers == 2
    from netrun.config import validate_config

    [problem] = validate_config(cfg)
    assert problem.loc == ["net", "pools", "far", "url"]
    assert problem.msg == "remote pool 'far' has no url"


def test_callables_in_python_configs_are_written_as_paths():
    import os.path

    cfg = NetConfig(graph=GraphConfig(nodes=[NodeConfig(name="A", execution_config=NodeExecutionConfig(
        exec_node_func=os.path.join))]))
    assert 'exec_node_func = "posixpath.join"' in cfg.to_toml()
    bad = NetConfig(graph=GraphConfig(nodes=[NodeConfig(name="A", execution_config=NodeExecutionConfig(
        exec_node_func=lambda ctx, packets: None))]))
    with pytest.raises(Exception, match="cannot be written as an import path: it is a lambda"):
        bad.to_json()


def test_references_inside_storage_configs():
    from netrun.config import validate_config

    cfg = toml('''
        [net.storage.cache]
        enabled = { "$env" = "CACHE_ON" }
        version = { "$env" = "CACHE_VERSION", default = 3 }
        [nodes.A.options.storage.cache]
        enabled = { "$env" = "NODE_CACHE" }
    ''')
    problems = validate_config(cfg, environ={})
    assert [(p.loc, p.type) for p in problems] == [
        (["net", "storage", "cache", "enabled"], "missing_env_var"),
        (["nodes", "A", "options", "storage", "cache", "enabled"], "missing_env_var"),
    ]
    resolved = cfg.resolve(environ={"CACHE_ON": "yes", "NODE_CACHE": "false"})
    assert resolved.storage.cache.enabled is True and resolved.storage.cache.version == 3
    assert resolved.graph.nodes[0].execution_config.storage.cache.enabled is False
