"""The factory protocol (both forms), loading errors, arguments; broadcast and join."""

from __future__ import annotations

import copy
import sys
import textwrap
import types

import pytest
from factory_e2e import run_config

import netrun_sim
from netrun.config import (
    ConfigError,
    FactoryError,
    FactoryNotFoundError,
    InvalidFactoryError,
    NetConfig,
    NodeConfig,
    NodeFactory,
    NodeFactoryResult,
    create_node_from_factory,
    get_factory_info,
    is_json_serializable,
    load_factory,
    validate_factory_args,
)
from netrun.factories import CopyMode, broadcast, join


def make_module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


def _exec(ctx, packets):  # a stand-in exec function
    return None


@pytest.fixture
def spec_factory():
    """A PROJECT_SPEC-style factory module: get_node_spec returns engine objects."""

    def get_node_spec(num_inputs: int = 2, timeout: int = 30):
        return {
            "name": "multi",
            "in_ports": {f"in{i}": netrun_sim.Port(netrun_sim.PortSlotSpec.finite(2)) for i in range(num_inputs)},
            "out_ports": ["out"],
            "in_salvo_conditions": {"go": {"when": " and ".join(f"nonempty(in{i})" for i in range(num_inputs))}},
        }

    def get_node_funcs(num_inputs: int = 2, timeout: int = 30):
        return (_exec, None, None, None)

    yield make_module("spec_factory_cfgtest", get_node_spec=get_node_spec, get_node_funcs=get_node_funcs)
    del sys.modules["spec_factory_cfgtest"]


def test_spec_factory_module(spec_factory):
    assert isinstance(spec_factory, NodeFactory)
    result = load_factory("spec_factory_cfgtest", num_inputs=3)
    assert result.factory_path == "spec_factory_cfgtest" and result.factory_args == {"num_inputs": 3}
    assert result.exec_node_func is _exec
    cfg = result.node_config
    assert list(cfg.in_ports) == ["in0", "in1", "in2"] and cfg.in_ports["in0"].capacity == 2
    assert cfg.in_salvo_conditions["go"].term.type == "and"
    node, same = create_node_from_factory("spec_factory_cfgtest", num_inputs=1)
    assert isinstance(node, netrun_sim.Node) and node.name == "multi"
    spec, exec_func, *_ = same.as_tuple()
    assert spec["name"] == "multi" and exec_func is _exec


def test_callable_factory_shapes():
    make_module("callable_factory_cfgtest",
                as_result=lambda: NodeFactoryResult(node_spec={"name": "r", "in_ports": ["a"]}, exec_node_func=_exec),
                as_pair=lambda: ({"name": "p"}, (_exec, None, None, None)),
                as_five=lambda: ({"name": "f"}, _exec, None, None, None),
                as_junk=lambda: 42)
    assert load_factory("callable_factory_cfgtest.as_result").node_config.in_ports.keys() == {"a"}
    assert load_factory("callable_factory_cfgtest.as_pair").exec_node_func is _exec
    assert load_factory("callable_factory_cfgtest.as_five").node_spec["name"] == "f"
    with pytest.raises(InvalidFactoryError) as info:
        load_factory("callable_factory_cfgtest.as_junk")
    assert str(info.value) == ("factory 'callable_factory_cfgtest.as_junk' returned int; expected a "
                               "NodeFactoryResult, (spec, (exec, start, stop, failed)) or (spec, exec, start, "
                               "stop, failed)")


def test_factory_not_found_and_invalid():
    with pytest.raises(FactoryNotFoundError) as info:
        load_factory("no_such_pkg_cfgtest.factory")
    assert isinstance(info.value, ImportError)
    assert str(info.value).startswith("factory 'no_such_pkg_cfgtest.factory' not found: cannot import "
                                      "'no_such_pkg_cfgtest.factory': No module named 'no_such_pkg_cfgtest'")
    make_module("not_a_factory_cfgtest", x=1)
    with pytest.raises(InvalidFactoryError) as info:
        load_factory("not_a_factory_cfgtest")
    assert str(info.value) == ("'not_a_factory_cfgtest' is not a node factory: it has neither get_node_config nor "
                               "get_node_spec; expected a module defining get_node_config(_net_config=None, **args) "
                               "or get_node_spec(**args), plus get_node_funcs")


def test_bad_returns_are_reported():
    make_module("bad_returns_cfgtest", get_node_spec=lambda: [1], get_node_funcs=lambda: (_exec,))
    with pytest.raises(InvalidFactoryError, match=r"get_node_spec returned list; expected a dict of netrun_sim.Node"):
        load_factory("bad_returns_cfgtest")
    make_module("bad_funcs_cfgtest", get_node_spec=lambda: {"name": "x"}, get_node_funcs=lambda: (_exec,))
    with pytest.raises(InvalidFactoryError) as info:
        load_factory("bad_funcs_cfgtest")
    assert "get_node_funcs returned" in str(info.value)
    assert str(info.value).endswith("expected a 4-tuple (exec_node_func, start_node_func, stop_node_func, "
                                    "exec_failed_node_func); any may be None")


def test_factory_that_raises_is_wrapped():
    def get_node_config(_net_config=None, *, n):
        raise RuntimeError("boom")

    make_module("raising_cfgtest", get_node_config=get_node_config, get_node_funcs=lambda **k: (None,) * 4)
    with pytest.raises(FactoryError) as info:
        load_factory("raising_cfgtest", n=1)
    assert str(info.value) == ("factory 'raising_cfgtest' (get_node_config) raised RuntimeError: boom; expected "
                               "factory_args the factory accepts")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_missing_and_unknown_arguments():
    with pytest.raises(InvalidFactoryError) as info:
        load_factory("netrun.node_factories.from_function")
    assert str(info.value) == ("factory 'netrun.node_factories.from_function' (get_node_config) cannot be called "
                               "with factory_args []: missing a required argument: 'func'; expected the required "
                               "argument(s) func")
    with pytest.raises(InvalidFactoryError, match=r"does not take argument\(s\) 'fnc'; expected factory_args among: "
                       "func, include_port_types, manual_output"):
        load_factory("netrun.node_factories.from_function", fnc="x.y")


def test_net_config_is_passed_only_when_accepted():
    seen = {}

    def get_node_config(_net_config=None, *, a):
        seen["net"] = _net_config
        return NodeConfig(name="x", in_ports=[a])

    make_module("netcfg_cfgtest", get_node_config=get_node_config, get_node_funcs=lambda _net_config=None, *, a: (None,) * 4)
    cfg = NetConfig.from_toml('[nodes.x]\nfactory = "netcfg_cfgtest"\nfactory_args = { a = "p" }\n')
    resolved = cfg.resolve()
    assert seen["net"] is not None and list(resolved.graph.nodes[0].in_ports) == ["p"]


def test_json_helpers():
    assert is_json_serializable({"a": [1, "x", None]}) and not is_json_serializable({"a": object()})
    validate_factory_args({"func": "m.f", "n": 3})
    with pytest.raises(ConfigError) as info:
        validate_factory_args({"func": copy.copy})
    assert str(info.value) == ("factory_args.func: factory argument 'func' is a callable (use the string "
                               "'copy.copy'); files can only store JSON values and import paths; expected a JSON "
                               "value or an import path string")
    with pytest.raises(ConfigError, match="factory argument 'x' = .* is not JSON-serialisable"):
        validate_factory_args({"x": object()})


def test_factory_info():
    info = get_factory_info("netrun.node_factories.broadcast")
    assert info["type"] == "node" and info["description"].startswith("Fan-out")
    assert [p["name"] for p in info["parameters"]] == ["num_inputs", "num_outputs", "copy_mode", "in_ports", "out_ports"]
    assert info["parameters"][1] == {"name": "num_outputs", "type": "int", "default": 2, "required": False}


# -- broadcast -----------------------------------------------------------------------------


def test_broadcast_ports_and_conditions():
    one = broadcast.get_node_config(num_outputs=3)
    assert list(one.in_ports) == ["in_0"] and list(one.out_ports) == ["out_0", "out_1", "out_2"]
    assert list(one.in_salvo_conditions) == ["trigger"]
    two = broadcast.get_node_config(num_inputs=2, out_ports=["left", "right"])
    assert list(two.in_salvo_conditions) == ["trigger_in_0", "trigger_in_1"]
    assert list(two.out_ports) == ["left", "right"]
    assert one.extra == {"ui": {"shape": "triangle-left"}}


@pytest.mark.parametrize(("args", "message"), [
    ({"num_outputs": 0}, "broadcast: num_outputs must be a positive integer (got 0)"),
    ({"copy_mode": "clone"}, "broadcast: unknown copy_mode 'clone'; expected one of: none, shallow, deep"),
    ({"out_ports": ["a", "a"]}, "broadcast: out_ports lists a port twice; expected unique names"),
])
def test_broadcast_bad_arguments(args, message):
    with pytest.raises(InvalidFactoryError) as info:
        broadcast.get_node_config(**args)
    assert message.split(" (got")[0] in str(info.value)


@pytest.mark.parametrize(("mode", "same_object", "same_inner"), [
    (CopyMode.NONE, True, True), ("shallow", False, True), ("deep", False, False)])
def test_broadcast_copy_modes_end_to_end(mode, same_object, same_inner):
    cfg = NetConfig.from_toml(textwrap.dedent(f'''
        [nodes.b]
        factory = "netrun.node_factories.broadcast"
        factory_args = {{ num_outputs = 2, copy_mode = "{getattr(mode, 'value', mode)}" }}
    '''))
    value = {"inner": [1]}
    _, out = run_config(cfg, {("b", "in_0"): [value]})
    left, right = out["b::out_0"][0], out["b::out_1"][0]
    assert left == right == value
    assert (left is right) is same_object
    assert (left["inner"] is right["inner"]) is same_inner


def test_broadcast_several_inputs_fire_independently():
    cfg = NetConfig.from_toml(textwrap.dedent('''
        [nodes.b]
        factory = "netrun.node_factories.broadcast"
        factory_args = { num_inputs = 2, num_outputs = 2 }
    '''))
    _, out = run_config(cfg, {("b", "in_0"): [1, 2], ("b", "in_1"): [3]})
    assert sorted(out["b::out_0"]) == [1, 2, 3] and sorted(out["b::out_1"]) == [1, 2, 3]


# -- join ----------------------------------------------------------------------------------


def test_join_counts_and_output():
    cfg = join.get_node_config(ports={"a": 1, "b": 2})
    term = cfg.in_salvo_conditions["trigger"].term
    assert [t.state.type for t in term.terms] == ["non_empty", "equals_or_greater_than"]
    net_cfg = NetConfig.from_toml(textwrap.dedent('''
        [nodes.j]
        factory = "netrun.node_factories.join"
        factory_args = { ports = { a = 1, b = 2 } }
    '''))
    _, out = run_config(net_cfg, {("j", "a"): ["x", "y"], ("j", "b"): [1, 2, 3, 4]})
    assert out == {"j::out": [{"a": "x", "b": [1, 2]}, {"a": "y", "b": [3, 4]}]}


@pytest.mark.parametrize(("ports", "message"), [
    (5, "join: ports must be a list of names or a table {name = count}"),
    ([], "join: needs at least one port"),
    (["a", "a"], "join: a port is listed twice"),
    ({"a": 0}, "join: the count of port 'a' must be a positive integer"),
    (["out"], "join: an input port cannot be called 'out' (the output port)"),
])
def test_join_bad_arguments(ports, message):
    with pytest.raises(InvalidFactoryError) as info:
        join.get_node_config(ports=ports)
    assert info.value.message == message


def test_builtins_offer_the_project_spec_protocol_too():
    spec = broadcast.get_node_spec(num_outputs=2)
    assert list(spec["out_ports"]) == ["out_0", "out_1"] and isinstance(spec["in_ports"]["in_0"], netrun_sim.Port)
    assert isinstance(spec["in_salvo_conditions"]["trigger"], netrun_sim.SalvoCondition)
    assert list(join.get_node_spec(ports=["l", "r"])["in_ports"]) == ["l", "r"]
    from netrun.factories import from_function

    assert from_function.get_node_spec(func="factory_test_funcs.total")["name"] == "total"
    assert isinstance(netrun_sim.Node(**spec), netrun_sim.Node)
