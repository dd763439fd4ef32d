"""The example nets in examples/nets: valid, and they run end to end on the runtime."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from netrun.config import (
    NetConfig,
    config_from_runtime,
    load_runtime_setup,
    runtime_setup,
    validate_config,
)
from netrun.net import Net

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "nets"


def build(setup) -> Net:
    """What Net.from_file does with a RuntimeSetup (see netrun.config.runtime)."""
    net = Net(setup.graph, **setup.net_kwargs)
    for name, funcs in setup.node_funcs.items():
        net.set_node_exec(name, *funcs)
    for name, options in setup.node_options.items():
        net.set_node_config(name, **options)
    for (node, port), spec in setup.input_port_types.items():
        net.set_input_port_type(node, port, spec)
    for (node, port), spec in setup.output_port_types.items():
        net.set_output_port_type(node, port, spec)
    return net


def run(name: str, inputs: dict) -> tuple[dict, list, Net]:
    net = build(load_runtime_setup(EXAMPLES / name))
    with net:
        for (node, port), values in inputs.items():
            net.inject_data(node, port, values)
        net.start()
        outputs = net.flush_all_output_queues()
        dead = net.dead_letter_queue.get_all()
    return outputs, dead, net


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.netrun.toml")))
def test_examples_are_valid_and_round_trip(name):
    assert validate_config(EXAMPLES / name) == []
    cfg = NetConfig.from_file(EXAMPLES / name)
    assert NetConfig.from_toml(cfg.to_toml()) == cfg
    assert NetConfig.from_json(cfg.to_json(layout="graph")) == cfg


def test_text_pipeline_fans_out_and_joins():
    outputs, dead, _ = run("text_pipeline.netrun.toml",
                           {("normalize", "text"): ["The cat saw the other  CAT", "A b a"]})
    assert outputs == {"report::out": ["6 words; top: the, cat, saw", "3 words; top: a, b"]}
    assert dead == []


def test_async_node_calls_the_local_http_server():
    outputs, dead, _ = run("http_enrich.netrun.toml", {("lookup", "word"): ["netrun", "flow"]})
    # The lookups overlap on the event loop, so they may finish in either order.
    assert sorted(outputs["describe::out"]) == ["flow: 4 letters, 1 vowels", "netrun: 6 letters, 2 vowels"]
    assert dead == []
    assert sys.modules["httpenrich_nodes"]._server is None  # the stop function ran


def test_flaky_node_succeeds_on_retry():
    setup = load_runtime_setup(EXAMPLES / "flaky_retry.netrun.toml")
    failures = sys.modules["flaky_nodes"].FAILURES
    failures.clear()
    net = build(setup)
    with net:
        net.inject_data("square", "x", [1, 3, 4, 6])
        net.start()
        assert net.flush_all_output_queues() == {"square::out": [1, 16, 9, 36]}
        assert net.dead_letter_queue.get_all() == []
    assert sorted(failures) == [(3, 0), (6, 0)]  # each multiple of 3 failed once, then succeeded


def test_runtime_setup_mapping():
    cfg = NetConfig.from_toml('''
        [net]
        retries = 1
        timeout = 2.0
        dead_letter_queue = false
        [net.thread_pools.io]
        size = 3
        [net.process_pools.cpu]
        size = 2
        [net.pools.far]
        type = "remote"
        url = "ws://127.0.0.1:9"
        [nodes.A]
        out_ports = { out = { type = "int" } }
        exec_node_func = "os.path.join"
        [nodes.A.options]
        pool = "io"
        echo_stdout = true
        [nodes.B]
        in_ports = { x = { type = { name = "builtins.int", isinstance_check = true } } }
        [nodes.B.options]
        retries = 0
        [[edges]]
        from = "A.out"
        to = "B.x"
    '''.replace("\n        ", "\n"))
    setup = runtime_setup(cfg)
    assert setup.net_kwargs["thread_pools"] == {"io": {"size": 3}}
    assert setup.net_kwargs["process_pools"] == {"cpu": {"size": 2, "threads_per_process": 1}}
    assert list(setup.other_pools) == ["far"]
    assert setup.node_options["A"] == {"pool": "io", "retries": 1, "timeout": 2.0, "defer_net_actions": True,
                                       "dead_letter_queue": False, "echo_stdout": True}
    assert setup.node_options["B"] == {"timeout": 2.0, "dead_letter_queue": False}
    assert setup.output_port_types == {("A", "out"): "int"}
    assert setup.input_port_types == {("B", "x"): "builtins.int"}
    assert list(setup.node_funcs) == ["A"]


def test_config_from_runtime_for_save_definition(tmp_path):
    import os.path

    setup = runtime_setup(NetConfig.from_file(EXAMPLES / "text_pipeline.netrun.toml"))
    cfg = config_from_runtime(
        setup.graph,
        net_options={"on_error": "raise", "thread_pools": {"io": {"size": 2}}},
        node_funcs={"normalize": (os.path.join, None, None, None)},
        node_options={"count_words": {"pool": "io", "retries": 2, "defer_net_actions": True}},
        input_port_types={("count_words", "text"): "str"},
        node_factories={"fanout": ("netrun.node_factories.broadcast", {"num_outputs": 2})},
    )
    path = tmp_path / "saved.netrun.toml"
    cfg.to_file(path)
    back = NetConfig.from_file(path)
    assert back.to_toml() == cfg.to_toml()  # functions are written as their import paths
    assert back.graph.get_node("normalize").execution_config.exec_node_func == "posixpath.join"
    assert back.graph.get_node("count_words").in_ports["text"].port_type == "str"
    with pytest.raises(Exception) as info:
        config_from_runtime(setup.graph, node_funcs={"normalize": (lambda ctx, p: None, None, None, None)})
    assert "node 'normalize': its exec_node_func" in str(info.value)
    assert "cannot be saved: it has no import path" in str(info.value)
