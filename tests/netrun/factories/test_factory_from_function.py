"""The from_function factory: ports from signatures, end to end on the runtime."""

from __future__ import annotations

import textwrap
import typing

import pytest
from factory_e2e import run_config

import factory_test_funcs as funcs
from netrun.config import (
    InvalidFactoryError,
    NetConfig,
    call_get_node_config,
    call_get_node_funcs,
    load_factory,
)
from netrun.factories import Batch, node_from_function
from netrun.factories import from_function as ff
from netrun.node_factories import from_function as published, function as documented


def config_of(func, **args):
    return ff.get_node_config(func=func, **args)


def test_published_and_documented_module_paths():
    assert published.get_node_config is ff.get_node_config
    assert documented.get_node_funcs is ff.get_node_funcs
    assert load_factory("netrun.node_factories.function", func=funcs.total).node_config.name == "total"


def test_parameters_with_defaults_are_optional_ports():
    cfg = config_of(funcs.total)
    assert list(cfg.in_ports) == ["xs", "scale"]
    trigger = cfg.in_salvo_conditions["trigger"]
    # Only the required port is tested; both are taken (one packet each) when present.
    assert trigger.term.model_dump() == {"type": "port", "port_name": "xs", "state": {"type": "non_empty"}}
    assert {p: c.count for p, c in trigger.ports.items()} == {"xs": 1, "scale": 1}


def test_string_annotations_resolve_to_generics():
    cfg = config_of(funcs.total)  # the module uses `from __future__ import annotations`
    assert cfg.in_ports["xs"].port_type == list[int]
    assert cfg.in_ports["scale"].port_type is int
    assert cfg.out_ports["out"].port_type is int
    assert cfg.description == "Sum of xs times scale."
    assert cfg.extra == {"function": "factory_test_funcs.total"}
    assert config_of(funcs.total, include_port_types=False).in_ports["xs"].port_type is None


def test_dict_literal_and_typed_dict_returns_give_several_ports():
    assert {k: v.port_type for k, v in config_of(funcs.split).out_ports.items()} == {"even": int, "odd": int}
    stats = config_of(funcs.stats)
    assert {k: v.port_type for k, v in stats.out_ports.items()} == {"low": int, "high": int}
    assert stats.in_ports["values"].port_type is int
    assert stats.in_salvo_conditions["trigger"].ports["values"].type == "all"  # Batch()


def test_special_parameters_are_not_ports_and_none_return_has_no_output():
    assert list(config_of(funcs.shout).in_ports) == ["text"]
    assert config_of(funcs.sink).out_ports == {}
    assert config_of(funcs.sink).out_salvo_conditions == {}


def test_all_optional_parameters_fire_on_any_port():
    def f(a: int = 1, b: int = 2) -> int:
        return a + b

    term = config_of(f).in_salvo_conditions["trigger"].term
    assert term.type == "or" and [t.port_name for t in term.terms] == ["a", "b"]


def test_no_parameters_is_a_source():
    def tick() -> int:
        return 1

    cfg = config_of(tick)
    assert cfg.in_ports == {} and cfg.in_salvo_conditions is None


def test_batch_with_count_and_annotated():
    def f(xs: typing.Annotated[list[int], Batch(count=3)]) -> int:
        return len(xs)

    cfg = config_of(f)
    assert cfg.in_salvo_conditions["trigger"].ports["xs"].count == 3
    assert cfg.in_ports["xs"].port_type == list[int]


def test_var_args_are_rejected():
    def f(*items):
        return items

    with pytest.raises(InvalidFactoryError) as info:
        config_of(f)
    assert str(info.value) == ("function 'f' has *items; expected named parameters only: each "
                               "parameter becomes an input port")


def test_bad_func_argument():
    with pytest.raises(InvalidFactoryError, match="from_function needs a function; got 3"):
        config_of(3)
    with pytest.raises(Exception, match="cannot import 'factory_test_funcs.nope'"):
        config_of("factory_test_funcs.nope")


def test_protocol_calls_with_and_without_net_config():
    cfg = call_get_node_config("netrun.node_factories.from_function", {"func": "factory_test_funcs.total"},
                               net_config=NetConfig())
    assert cfg.name == "total"
    exec_func, start, stop, failed = call_get_node_funcs(ff, {"func": funcs.total})
    assert callable(exec_func) and (start, stop, failed) == (None, None, None)
    assert exec_func.__wrapped__ is funcs.total  # lets the runtime inject print capture


def test_node_from_function_gives_a_complete_node():
    node = node_from_function(funcs.total, name="summer")
    assert node.name == "summer" and node.factory == "netrun.factories.from_function"
    assert callable(node.execution_config.exec_node_func)
    assert node.factory_args["func"] is funcs.total
    # Written to a file, the callable argument becomes its import path and the factory-made
    # function is left out (the factory makes it again on load).
    data = node.model_dump(mode="json", exclude_defaults=True)
    assert data["factory_args"]["func"] == "factory_test_funcs.total"
    assert "execution_config" not in data


# -- end to end ----------------------------------------------------------------------------


def net_of(body: str) -> NetConfig:
    return NetConfig.from_toml(textwrap.dedent(body))


def test_defaults_are_used_when_the_optional_port_is_empty():
    cfg = net_of('''
        [nodes.total]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "factory_test_funcs.total" }
    ''')
    _, out = run_config(cfg, {("total", "xs"): [[1, 2, 3], [4]], ("total", "scale"): [10]})
    assert out == {"total::out": [60, 4]}


def test_several_outputs_and_missing_keys():
    cfg = net_of('''
        [nodes.split]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "factory_test_funcs.split" }
    ''')
    _, out = run_config(cfg, {("split", "x"): [1, 2, 3, 4]})
    assert out == {"split::even": [2, 4], "split::odd": [1, 3]}


def test_batch_port_receives_a_list():
    cfg = net_of('''
        [nodes.stats]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "factory_test_funcs.stats" }
    ''')
    _, out = run_config(cfg, {("stats", "values"): [5, 1, 9]})
    assert out == {"stats::low": [1], "stats::high": [9]}


def test_async_function_runs_with_the_async_context():
    cfg = net_of('''
        [nodes.d]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "factory_test_funcs.slow_double" }
    ''')
    _, out = run_config(cfg, {("d", "x"): [1, 2, 3]})
    assert out == {"d::out": [2, 4, 6]}


def test_print_and_log_go_to_the_node_log():
    cfg = net_of('''
        [nodes.shout]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "factory_test_funcs.shout" }
    ''')
    net, out = run_config(cfg, {("shout", "text"): ["hi"]})
    assert out == {"shout::out": ["HI"]}
    messages = [entry.message for entry in net.get_node_log("shout")]
    assert messages == ["shouting hi", "done | size=2"]


def test_unannotated_none_is_not_sent_and_none_annotation_rejects_values():
    cfg = net_of('''
        [nodes.no_annotation]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "factory_test_funcs.no_annotation" }
        [nodes.bad_sink]
        factory = "netrun.node_factories.from_function"
        factory_args = { func = "factory_test_funcs.bad_sink" }
        [net]
        on_error = "continue"
    ''')
    net, out = run_config(cfg, {("no_annotation", "x"): [3, -1, 5], ("bad_sink", "x"): [7]})
    assert out == {"no_annotation::out": [3, 5]}
    [entry] = net.dead_letter_queue.get_all()
    assert entry.node_name == "bad_sink"
    assert "function 'bad_sink' returned int but is annotated '-> None' (no output port)" in str(entry.exception)
