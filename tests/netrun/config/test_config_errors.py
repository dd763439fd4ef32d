"""Bad input: every error names the file, the line (and column), the key, the value and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from netrun.config import (
    ConfigError,
    ConfigFileError,
    ConfigValidationFailed,
    ImportPathError,
    MissingEnvVarError,
    NetConfig,
    UnfilledPlaceholderError,
    UnknownNodeVariableError,
    load_net_definition,
    validate_config,
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def only_problem(exc: ConfigValidationFailed):
    assert len(exc.problems) == 1, exc.problems
    return exc.problems[0]


def test_malformed_toml(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.A]
        in_ports = ["a",
        out_ports = 3
    ''')
    with pytest.raises(ConfigFileError) as info:
        NetConfig.from_file(path)
    assert str(info.value) == (f"{path}:3:1: malformed TOML: Invalid value in line 'out_ports = 3'; "
                               "expected valid TOML (https://toml.io)")
    assert (info.value.line, info.value.column) == (3, 1)


def test_malformed_json(tmp_path):
    path = write(tmp_path, "net.json", '{"graph": {"nodes": [\n  {"name": "a",}\n]}}')
    with pytest.raises(ConfigFileError) as info:
        NetConfig.from_file(path)
    assert str(info.value) == (f"{path}:2:16: malformed JSON: Expecting property name enclosed in double "
                               "quotes; expected valid JSON")


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(ConfigFileError, match="net file not found; expected an existing .toml or .json file"):
        NetConfig.from_file(tmp_path / "none.toml")
    with pytest.raises(ConfigFileError, match=r"unsupported net file type '.yaml'; expected a .toml or .json file"):
        NetConfig.from_file(tmp_path / "net.yaml")


def test_top_level_must_be_a_table(tmp_path):
    path = write(tmp_path, "net.json", "[1, 2]")
    with pytest.raises(ConfigFileError, match="the top level of a net file must be a table/object, not list"):
        NetConfig.from_file(path)


def test_unknown_keys_in_the_dsl(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [net]
        on_eror = "continue"

        [nodes.A]
        out_ports = ["out"]
        exec_node_fnc = "m.f"

        [nodes.A.in_ports.x]
        slotz = 3
    ''')
    with pytest.raises(ConfigValidationFailed) as info:
        NetConfig.from_file(path)
    first, second, third = info.value.problems
    assert str(first).startswith(f"{path}:2:1: net.on_eror: unknown key 'on_eror' in [net] "
                                 "(did you mean 'on_error'?); expected one of: project_root_override, ")
    assert str(second).startswith(f"{path}:6:1: nodes.A.exec_node_fnc: unknown key 'exec_node_fnc' in node 'A' "
                                  "(did you mean 'exec_node_func'?); expected one of: type, description, in_ports")
    assert str(third) == f"{path}:9:1: nodes.A.in_ports.x.slotz: unknown key 'slotz' in a port; expected one of: slots, type"


def test_unknown_keys_in_the_graph_layout(tmp_path):
    path = write(tmp_path, "net.json", '{"graph": {"nodes": [{"name": "a", "in_portz": {}}], "edgez": []}}')
    with pytest.raises(ConfigValidationFailed) as info:
        NetConfig.from_file(path)
    a, b = info.value.problems
    assert str(a) == (f"{path}:1:36: graph.nodes[0].in_portz: unknown key 'in_portz' (did you mean 'in_ports'?); "
                      "expected one of: type, name, description, in_ports, out_ports, in_salvo_conditions, "
                      "out_salvo_conditions, execution_config, dependency_request, extra, factory, factory_args")
    assert str(b) == f"{path}:1:54: graph.edgez: unknown key 'edgez' (did you mean 'edges'?); expected one of: nodes, edges, extra"


def test_wrong_value_types_name_value_and_expectation(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [net]
        retries = "many"
        [nodes.A.options]
        timeout = -1
        [net.pools.p]
        type = "gpu"
    ''')
    with pytest.raises(ConfigValidationFailed) as info:
        NetConfig.from_file(path)
    texts = [str(p) for p in info.value.problems]
    assert texts == [
        f"{path}:2:11: net.retries: input should be a valid integer, unable to parse string as an integer "
        "(got 'many'); expected an integer",
        f"{path}:4:11: nodes.A.options.timeout: input should be greater than 0 (got -1); expected a number > 0",
        f"{path}:6:8: net.pools.p.type: unknown type 'gpu' (got 'gpu'); expected one of: main, thread, "
        "multiprocess, remote, dask",
    ]


def test_when_syntax_error_gives_line_and_column(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.B]
        in_ports = ["in1", "in2"]
        [nodes.B.in_salvo_conditions.default]
        when = "nonempty(in1) andd nonempty(in2)"
    ''')
    with pytest.raises(ConfigValidationFailed) as info:
        NetConfig.from_file(path)
    problem = only_problem(info.value)
    # 'andd' is column 15 of the expression; the string starts at file column 8.
    assert (problem.line, problem.column) == (4, 23)
    assert str(problem) == (f"{path}:4:23: nodes.B.in_salvo_conditions.default.when: unexpected 'andd' after a "
                            "complete condition (column 15 of the expression) (got 'nonempty(in1) andd "
                            "nonempty(in2)'); expected 'and', 'or', or the end of the expression")


def test_when_missing_and_bad_edge_text(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.B.in_salvo_conditions.c]
        ports = ["a"]
        [[edges]]
        from = "A.out"
        to = "Bin"
    ''')
    with pytest.raises(ConfigValidationFailed) as info:
        NetConfig.from_file(path)
    texts = [str(p) for p in info.value.problems]
    assert texts == [
        f"{path}:1:1: nodes.B.in_salvo_conditions.c.when: a salvo condition needs a 'when' expression; "
        "expected when = \"nonempty(port)\" (or a structured term)",
        f"{path}:5:6: edges[0].to: edge 'to' must name a port as 'Node.port' (got 'Bin'); expected to = \"Node.port\"",
    ]


def test_structure_problems_all_at_once(tmp_path):
    path = write(tmp_path, "net.json", '''
        {"graph": {
          "nodes": [
            {"name": "A", "out_ports": {"out": {}}},
            {"name": "A"},
            {"name": "C", "in_ports": {"x": {}}},
            {"name": "D", "in_ports": {"y": {}}}
          ],
          "edges": [
            {"source_node": "A", "source_port": "out", "target_node": "C", "target_port": "x"},
            {"source_node": "A", "source_port": "out", "target_node": "D", "target_port": "y"},
            {"source_node": "A", "source_port": "nope", "target_node": "E", "target_port": "in"}
          ]}}
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:4:14: graph.nodes[1].name: node name 'A' is used twice (entries 0 and 1); expected unique node names",
        f"{path}:10:5: graph.edges[1]: output port A.out already feeds C.x (edge 0); an output port can feed only "
        "one edge; expected a broadcast node to fan out: factory = \"netrun.node_factories.broadcast\" with "
        "num_outputs = 2",
        f"{path}:11:41: graph.edges[2].source_port: edge A.nope -> E.in: node 'A' has no output port 'nope'; "
        "expected one of its output ports: 'out'",
        f"{path}:11:64: graph.edges[2].target_node: edge A.nope -> E.in: target node 'E' does not exist; "
        "expected one of the nodes: 'A', 'C', 'D'",
    ]


def test_salvo_condition_port_and_limit_problems(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.N]
        in_ports = ["a"]
        [nodes.N.in_salvo_conditions.go]
        when = "nonempty(b)"
        ports = ["c"]
        max_salvos = 2
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:4:8: nodes.N.in_salvo_conditions.go.when: input salvo condition 'go' of node 'N' tests port 'b', "
        "which the node does not have; expected one of the node's input ports: a",
        f"{path}:5:9: nodes.N.in_salvo_conditions.go.ports.c: input salvo condition 'go' of node 'N' takes "
        "packets from port 'c', which the node does not have; expected one of the node's input ports: a",
        f"{path}:6:14: nodes.N.in_salvo_conditions.go.max_salvos: input salvo condition 'go' of node 'N' must "
        "fire once per epoch (got 2); expected max_salvos = 1 (finite(1)) for "
        "input salvo conditions",
    ]


def test_unknown_factory_and_import_paths(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.A]
        out_ports = ["out"]
        exec_node_func = "no_such_module_xyz.f"
        [nodes.B]
        factory = "no_such_factory_xyz.make"
        [nodes.C]
        exec_node_func = "os.path.no_such_function"
        [nodes.D]
        exec_node_func = "./missing.py::f"
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:3:18: nodes.A.exec_node_func: cannot import 'no_such_module_xyz.f': No module named "
        f"'no_such_module_xyz' (project root '{tmp_path}' is on sys.path) (got 'no_such_module_xyz.f'); expected an "
        "importable 'package.module.name' (is the module on sys.path?) or a file reference 'file.py::name'",
        f"{path}:5:11: nodes.B.factory: factory 'no_such_factory_xyz.make' not found: cannot import "
        "'no_such_factory_xyz.make': No module named 'no_such_factory_xyz' (project root "
        f"'{tmp_path}' is on sys.path) (got 'no_such_factory_xyz.make'); expected an importable module with "
        "get_node_config/get_node_spec and get_node_funcs, e.g. 'netrun.node_factories.from_function'",
        f"{path}:7:18: nodes.C.exec_node_func: cannot import 'os.path.no_such_function': 'os.path' has no "
        "attribute 'no_such_function' (got 'os.path.no_such_function'); expected an attribute that exists "
        "(public names there: " + info_names("os.path") + ")",
        f"{path}:9:18: nodes.D.exec_node_func: cannot import './missing.py::f': file '{tmp_path / 'missing.py'}' "
        "does not exist (got './missing.py::f'); expected a path to a .py file, relative to the project root "
        "(the net file's directory)",
    ]


def info_names(module: str) -> str:
    import importlib

    mod = importlib.import_module(module)
    return ", ".join(sorted(n for n in dir(mod) if not n.startswith("_"))[:20])


def test_factory_argument_problems(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.B]
        factory = "netrun.node_factories.broadcast"
        factory_args = { num_outputs = 2, colour = "red" }
        [nodes.J]
        factory = "netrun.node_factories.join"
        factory_args = { ports = 5 }
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:3:16: nodes.B.factory_args: factory 'netrun.node_factories.broadcast' (get_node_config) does "
        "not take argument(s) 'colour' (got 'colour'); expected factory_args among: num_inputs, num_outputs, "
        "copy_mode, in_ports, out_ports",
        f"{path}:6:16: nodes.J.factory_args: join: ports must be a list of names or a table {{name = count}} "
        "(got 5); expected [\"a\", \"b\"] or { a = 1, b = 2 }",
    ]


def test_missing_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("NR_TEST_MISSING_VAR", raising=False)
    path = write(tmp_path, "net.toml", '''
        [net.thread_pools.w]
        size = { "$env" = "NR_TEST_MISSING_VAR" }
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:2:8: net.thread_pools.w.size: environment variable 'NR_TEST_MISSING_VAR' is not set and the "
        "reference has no default; expected set NR_TEST_MISSING_VAR, or add a default: "
        "{\"$env\": \"NR_TEST_MISSING_VAR\", \"default\": ...}",
    ]
    cfg = NetConfig.from_file(path)
    with pytest.raises(MissingEnvVarError) as info:
        cfg.resolve()
    assert str(info.value) == (
        f"{path}:2:8: net.thread_pools.w.size: environment variable 'NR_TEST_MISSING_VAR' is not set and the reference has "
        "no default; expected set NR_TEST_MISSING_VAR in the environment, or add a default: "
        "{\"$env\": \"NR_TEST_MISSING_VAR\", \"default\": ...}")
    monkeypatch.setenv("NR_TEST_MISSING_VAR", "3")
    assert cfg.resolve().pools["w"].spec.num_workers == 3


def test_environment_value_of_the_wrong_type(tmp_path, monkeypatch):
    monkeypatch.setenv("NR_TEST_WORKERS", "lots")
    path = write(tmp_path, "net.toml", '''
        [net.thread_pools.w]
        size = { "$env" = "NR_TEST_WORKERS" }
    ''')
    with pytest.raises(ConfigError) as info:
        NetConfig.from_file(path).resolve()
    assert str(info.value) == (
        f"{path}:2:8: net.thread_pools.w.size: environment variable 'NR_TEST_WORKERS' resolved to 'lots', which is not usable "
        "here (Input should be a valid integer, unable to parse string as an integer); expected int")


def test_unfilled_placeholder(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [net.node_vars.run_name]
        type = "str"
        [nodes.A.options.node_vars.model]
        type = "str"
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:1:1: net.node_vars.run_name.value: node variable 'run_name' has no value (it is a placeholder); "
        "expected a value in the file, or fill it at load time: NetConfig.from_file(path, "
        "global_node_vars={'run_name': ...}) or node_vars={node: {name: ...}}; or mark it optional = true",
        f"{path}:3:1: nodes.A.options.node_vars.model: node variable 'model' of node 'A' has no value (it is a "
        "placeholder); expected a value in the file, or fill it at load time: NetConfig.from_file(path, "
        "global_node_vars={'model': ...}) or node_vars={node: {name: ...}}; or mark it optional = true",
    ]
    assert validate_config(path, global_node_vars={"run_name": "r"}, node_vars={"A": {"model": "m"}}) == []
    with pytest.raises(ConfigValidationFailed) as info:
        load_net_definition(path)
    assert len(info.value.problems) == 2


def test_unknown_variable_overrides(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [net.node_vars.run_name]
        type = "str"
        [nodes.A.options.node_vars.model]
        type = "str"
    ''')
    with pytest.raises(UnknownNodeVariableError) as info:
        NetConfig.from_file(path, global_node_vars={"run": "x"})
    assert str(info.value) == (f"{path}: node_vars.run: cannot fill net-level node variable 'run': the file does not "
                               "declare it (declared: run_name); expected a variable declared under node_vars in the file")
    assert isinstance(info.value, KeyError)
    with pytest.raises(UnknownNodeVariableError, match="no node 'Z' to set node variables on"):
        NetConfig.from_file(path, node_vars={"Z": {"model": "x"}})
    with pytest.raises(UnknownNodeVariableError, match="cannot fill node variable 'modl' of node 'A'"):
        NetConfig.from_file(path, node_vars={"A": {"modl": "x"}})


def test_resolve_raises_for_placeholder_used_in_a_field():
    cfg = NetConfig.model_validate({
        "node_vars": {"n": {"type": "int"}},
        "graph": {"nodes": [{"name": "A", "execution_config": {"retries": {"$var": "n"}}}]},
    })
    with pytest.raises(UnfilledPlaceholderError) as info:
        cfg.resolve()
    assert str(info.value).startswith("graph.nodes.A.execution_config.retries: node variable 'n' has no value")


def test_resolve_errors_name_the_file_and_line(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [net.node_vars.n]
        type = "int"
        [nodes.A.options]
        retries = { "$var" = "n" }
    ''')
    with pytest.raises(UnfilledPlaceholderError) as info:
        NetConfig.from_file(path).resolve()
    assert str(info.value).startswith(f"{path}:4:11: nodes.A.options.retries: node variable 'n' has no value "
                                      "(it is a placeholder)")


def test_load_net_definition_raises_with_all_problems(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.A]
        exec_node_func = "no_such_module_xyz.f"
        [[edges]]
        from = "A.out"
        to = "B.in"
    ''')
    with pytest.raises(ConfigValidationFailed) as info:
        load_net_definition(path)
    assert [p.type for p in info.value.problems] == ["import_path_error", "unknown_port", "unknown_node"]
    assert str(info.value).startswith(f"{path}: 3 problems in the net definition:\n  - {path}:2:18: ")


def test_import_error_inside_an_existing_module(tmp_path):
    (tmp_path / "brokenmod_cfgtest.py").write_text("import definitely_not_installed_xyz\n")
    with pytest.raises(ImportPathError) as info:
        from netrun.config import import_from_path

        import_from_path("brokenmod_cfgtest.f", tmp_path)
    assert str(info.value) == (
        "cannot import 'brokenmod_cfgtest.f': module 'brokenmod_cfgtest' exists but imports "
        "'definitely_not_installed_xyz', which is not installed; expected install "
        "'definitely_not_installed_xyz' or fix the import in 'brokenmod_cfgtest'")


# -- ports that factories make ---------------------------------------------------------------


def test_edges_to_ports_a_factory_does_not_make_are_reported_on_the_edge(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.S]
        out_ports = ["out"]
        [nodes.B]
        factory = "netrun.node_factories.broadcast"
        factory_args = { num_outputs = 2 }
        [nodes.T]
        in_ports = ["in"]
        [[edges]]
        from = "S.out"
        to = "B.in_3"
        [[edges]]
        from = "B.out_7"
        to = "T.in"
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:10:6: edges[0].to: edge S.out -> B.in_3: node 'B' has no input port 'in_3'; "
        "expected one of its input ports: 'in_0'",
        f"{path}:12:8: edges[1].from: edge B.out_7 -> T.in: node 'B' has no output port 'out_7'; "
        "expected one of its output ports: 'out_0', 'out_1'",
    ]
    problems = validate_config(path)
    assert [p.type for p in problems] == ["unknown_port", "unknown_port"]  # not the engine's complaint


def test_edge_and_output_queue_problems_at_factory_ports_together(tmp_path):
    path = write(tmp_path, "net.json", '''
        {"graph": {
          "nodes": [
            {"name": "J", "factory": "netrun.node_factories.join", "factory_args": {"ports": ["l", "r"]}},
            {"name": "T", "in_ports": {"in": {}}}
          ],
          "edges": [
            {"source_node": "J", "source_port": "result", "target_node": "T", "target_port": "in"}
          ]},
         "output_queues": {"q": {"ports": [["J", "nope"]]}}}
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:7:41: graph.edges[0].source_port: edge J.result -> T.in: node 'J' has no output port "
        "'result'; expected one of its output ports: 'out'",
        f"{path}:9:36: output_queues.q.ports[0]: output queue 'q' collects from output port J.nope, which "
        "does not exist; expected one of: out",
    ]


def test_problems_inside_subgraphs_point_at_what_was_written(tmp_path):
    write(tmp_path, "inner.toml", '''
        [nodes.P]
        in_ports = ["p"]
        [nodes.P.in_salvo_conditions.go]
        when = "nonempty(q)"
    ''')
    path = write(tmp_path, "net.toml", '''
        [nodes.S]
        out_ports = ["out"]
        [nodes.G]
        type = "subgraph"
        exposed_in_ports = { inp = { internal_node = "X", internal_port = "zz" } }
        [nodes.G.nodes.X]
        factory = "netrun.node_factories.join"
        factory_args = { ports = ["a", "b"] }
        [nodes.G.nodes.Y]
        in_ports = ["b"]
        [nodes.G.nodes.Y.in_salvo_conditions.go]
        when = "nonempty(bb)"
        [[nodes.G.edges]]
        from = "X.out"
        to = "Y.c"
        [nodes.F]
        type = "subgraph"
        path = "inner.toml"
        [[edges]]
        from = "S.out"
        to = "G.inp"
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:12:8: nodes.G.nodes.Y.in_salvo_conditions.go.when: input salvo condition 'go' of node 'G.Y' "
        "tests port 'bb', which the node does not have; expected one of the node's input ports: b",
        f"{path}:15:6: nodes.G.edges[0].to: edge G.X.out -> G.Y.c: node 'G.Y' has no input port 'c'; "
        "expected one of its input ports: 'b'",
        f"{path}:18:8: nodes.F.path: input salvo condition 'go' of node 'F.P' tests port 'q', which the node "
        "does not have; expected one of the node's input ports: p",
        f"{path}:21:6: edges[0].to: edge S.out -> G.X.zz: node 'G.X' has no input port 'zz'; "
        "expected one of its input ports: 'a', 'b'",
    ]


def test_exposed_subgraph_ports_must_name_a_member_and_its_port(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [nodes.G]
        type = "subgraph"
        exposed_in_ports = { inp = { internal_node = "NOPE", internal_port = "a" } }
        exposed_out_ports = { res = { internal_node = "X", internal_port = "result" } }
        [nodes.G.nodes.X]
        in_ports = ["a"]
        out_ports = ["out"]
    ''')
    texts = [str(p) for p in validate_config(path)]
    assert texts == [
        f"{path}:3:46: nodes.G.exposed_in_ports.inp.internal_node: subgraph 'G' exposes input port 'inp' from "
        "member 'NOPE', which the subgraph does not have; expected one of its members: 'X'",
        f"{path}:4:68: nodes.G.exposed_out_ports.res.internal_port: subgraph 'G' exposes output port 'res' from "
        "X.result, which member 'X' does not have; expected one of its output ports: 'out'",
    ]


def test_salvo_conditions_on_factory_nodes_are_checked_against_the_factory_ports(tmp_path):
    good = write(tmp_path, "good.toml", '''
        [nodes.S]
        out_ports = ["out"]
        [nodes.B]
        factory = "netrun.node_factories.broadcast"
        factory_args = { num_outputs = 2 }
        in_ports = ["extra"]
        [nodes.B.in_salvo_conditions.trigger]
        when = "nonempty(in_0) or nonempty(extra)"
        [nodes.B.out_salvo_conditions.send]
        when = "true"
        ports = ["out_0", "out_1"]
        max_salvos = 1
        [[edges]]
        from = "S.out"
        to = "B.in_0"
    ''')
    assert validate_config(good) == []
    bad = write(tmp_path, "bad.toml", '''
        [nodes.B]
        factory = "netrun.node_factories.broadcast"
        factory_args = { num_outputs = 2 }
        [nodes.B.in_salvo_conditions.trigger]
        when = "nonempty(in_1)"
        max_salvos = 2
        [nodes.B.out_salvo_conditions.send]
        when = "true"
        ports = ["out_0", "out_2"]
    ''')
    texts = [str(p) for p in validate_config(bad)]
    assert texts == [
        # Checked before resolution: not about ports.
        f"{bad}:6:14: nodes.B.in_salvo_conditions.trigger.max_salvos: input salvo condition 'trigger' of node "
        "'B' must fire once per epoch (got 2); expected max_salvos = 1 (finite(1)) for input salvo conditions",
    ]
    fixed = bad.read_text().replace("max_salvos = 2\n", "")
    bad.write_text(fixed)
    texts = [str(p) for p in validate_config(bad)]
    assert texts == [
        f"{bad}:5:8: nodes.B.in_salvo_conditions.trigger.when: input salvo condition 'trigger' of node 'B' tests "
        "port 'in_1', which the node does not have; expected one of the node's input ports: in_0",
        f"{bad}:8:9: nodes.B.out_salvo_conditions.send.ports.out_2: output salvo condition 'send' of node 'B' "
        "takes packets from port 'out_2', which the node does not have; expected one of the node's output "
        "ports: out_0, out_1",
    ]


# -- references inside storage configs (netrun.storage.config models) ------------------------

STORAGE_NET = '''
    [net.storage.backends.remote]
    type = "ssh"
    host = { "$env" = "NR_SSH_HOST" }
    port = { "$env" = "NR_SSH_PORT", default = 22 }
    base_path = "/srv/data"
    [net.storage.backends.local]
    type = "local"
    base_path = { "$env" = "NR_LOCAL_BASE" }
    [nodes.A]
    out_ports = ["out"]
    [nodes.A.options.storage.file_storage]
    backend = { type = "local", base_path = { "$env" = "NR_NODE_BASE" } }
'''


def test_env_references_in_storage_backends_resolve_to_the_field_types(tmp_path):
    path = write(tmp_path, "net.toml", STORAGE_NET)
    cfg = NetConfig.from_file(path)
    env = {"NR_SSH_HOST": "files.internal", "NR_SSH_PORT": "2222", "NR_LOCAL_BASE": "out",
           "NR_NODE_BASE": "node-out"}
    assert validate_config(cfg, environ=env) == []
    resolved = cfg.resolve(environ=env)
    remote = resolved.storage.backends["remote"]
    assert (remote.host, remote.port) == ("files.internal", 2222)
    # Relative local paths are taken from the project root, at net and at node level.
    assert resolved.storage.backends["local"].base_path == str(tmp_path / "out")
    node_backend = resolved.graph.get_node("A").execution_config.storage.file_storage.backend
    assert node_backend.base_path == str(tmp_path / "node-out")
    assert resolved.storage.unresolved_refs() == []
    assert cfg.storage.backends["remote"].host.env == "NR_SSH_HOST"  # the input is not modified


def test_storage_reference_errors_name_the_file_line_and_field(tmp_path):
    path = write(tmp_path, "net.toml", STORAGE_NET)
    cfg = NetConfig.from_file(path)
    with pytest.raises(MissingEnvVarError) as info:
        cfg.resolve(environ={"NR_LOCAL_BASE": "out", "NR_NODE_BASE": "x"})
    assert str(info.value) == (
        f"{path}:3:8: net.storage.backends.remote.host: environment variable 'NR_SSH_HOST' is not set and the "
        "reference has no default; expected set NR_SSH_HOST in the environment, or add a default: "
        "{\"$env\": \"NR_SSH_HOST\", \"default\": ...}")
    env = {"NR_SSH_HOST": "h", "NR_SSH_PORT": "many", "NR_LOCAL_BASE": "out", "NR_NODE_BASE": "x"}
    texts = [str(p) for p in validate_config(cfg, environ=env)]
    assert texts == [
        f"{path}:4:8: net.storage.backends.remote.port: environment variable 'NR_SSH_PORT' resolved to 'many', "
        "which is not usable here (Input should be a valid integer, unable to parse string as an integer) "
        "(got 'many'); expected int",
    ]
    env["NR_SSH_PORT"] = "70000"  # an int, refused by the storage model's own check
    with pytest.raises(ConfigError) as info:
        cfg.resolve(environ=env)
    assert str(info.value) == (
        f"{path}:4:8: net.storage.backends.remote.port: the storage settings do not accept the resolved "
        "reference(s): Value error, port 70000 is outside 1..65535; expected a value the setting accepts")
    assert [p.loc for p in validate_config(cfg, environ=env)] == [["net", "storage", "backends", "remote", "port"]]


def test_var_references_in_node_storage_use_the_node_variables(tmp_path):
    path = write(tmp_path, "net.toml", '''
        [net.node_vars.bucket]
        type = "str"
        value = "results"
        [net.storage.backends.s]
        type = "s3"
        bucket = { "$var" = "bucket" }
        [nodes.A]
        out_ports = ["out"]
        [nodes.A.options.node_vars.ver]
        type = "int"
        value = "3"
        [nodes.A.options.storage.file_storage]
        backend = "s"
        version = { "$var" = "ver" }
        store_inputs = { "$var" = "keep_inputs" }
    ''')
    cfg = NetConfig.from_file(path)
    with pytest.raises(UnknownNodeVariableError) as info:
        cfg.resolve()
    assert str(info.value) == (
        f"{path}:15:16: nodes.A.options.storage.file_storage.store_inputs: node variable 'keep_inputs' is not "
        "declared (declared: bucket, ver); expected declare it under node_vars, or add a default to the reference")
    path.write_text(path.read_text().replace('{ "$var" = "keep_inputs" }', '{ "$var" = "keep_inputs", default = "yes" }'))
    resolved = NetConfig.from_file(path).resolve()
    assert resolved.storage.backends["s"].bucket == "results"
    file_storage = resolved.graph.get_node("A").execution_config.storage.file_storage
    assert (file_storage.version, file_storage.store_inputs) == (3, True)
