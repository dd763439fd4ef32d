"""Net definitions as files: from_file / from_toml / load_definition, save_definition, from_factory."""

from __future__ import annotations

import sys
import textwrap

import pytest

from netrun import Net
from netrun.config import ConfigError, ConfigValidationFailed

NODES = textwrap.dedent("""\
    def double(ctx, packets):
        for packet in packets["in"]:
            value = ctx.consume_packet(packet)
            out = ctx.create_packet(value * 2)
            ctx.load_output_port("out", out)
        ctx.send_output_salvo("send")

    def inc(x: int) -> int:
        return x + 1
""")

NET = textwrap.dedent("""\
    [net]
    on_error = "continue"

    [net.thread_pools.io]
    size = 2

    [nodes.Double]
    in_ports = ["in"]
    out_ports = ["out"]
    exec_node_func = "defnodes.double"

    [nodes.Double.in_salvo_conditions.go]
    when = "nonempty(in)"

    [nodes.Double.out_salvo_conditions.send]
    when = "nonempty(out)"

    [nodes.Double.options]
    pool = "io"
    retries = 1
    defer_net_actions = true

    [nodes.Inc]
    factory = "netrun.node_factories.from_function"
    factory_args = { func = "defnodes.inc" }

    [[edges]]
    from = "Double.out"
    to = "Inc.x"
""")


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "defnodes.py").write_text(NODES)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("defnodes", None)
    path = tmp_path / "pipe.netrun.toml"
    path.write_text(NET)
    return path


def _run(net: Net, values: list[int]) -> list[int]:
    with net:
        net.inject_data("Double", "in", values)
        net.start()
        return net.flush_all_output_queues()["Inc::out"]


def test_from_file_builds_a_runnable_net_with_options(project):
    net = Net.from_file(project)
    assert net.get_node_config("Double").pool == "io"
    assert net.get_node_config("Double").retries == 1
    assert _run(net, [1, 2, 3]) == [3, 5, 7]
    assert _run(Net.load_definition(project), [10]) == [21]


def test_from_toml_text(project):
    assert _run(Net.from_toml(project.read_text()), [0]) == [1]


def test_invalid_definition_lists_every_problem(tmp_path):
    bad = tmp_path / "bad.netrun.toml"
    bad.write_text(NET.replace('to = "Inc.x"', 'to = "Nowhere.x"').replace('"defnodes.double"', '"nomod.nofunc"'))
    with pytest.raises(ConfigValidationFailed) as info:
        Net.from_file(bad)
    text = str(info.value)
    assert "Nowhere" in text and "nomod" in text and str(bad) in text


def test_save_definition_round_trip(project, tmp_path):
    net = Net.from_file(project)
    out = tmp_path / "saved.netrun.toml"
    net.save_definition(out)
    again = Net.from_file(out)
    assert again.get_node_config("Double").retries == 1
    assert _run(again, [4]) == [9]
    json_out = tmp_path / "saved.netrun.json"
    net.save_definition(json_out)
    assert _run(Net.from_file(json_out), [5]) == [11]
    assert "[nodes.Double]" in net.to_toml()


def test_save_definition_refuses_functions_without_import_path(tmp_path):
    from netrun import Edge, Graph, Node, Port, PortRef, PortType  # noqa: F401

    net = Net(Graph([Node("A", out_ports={"out": Port()})], []))
    net.set_node_exec("A", lambda ctx, packets: None)
    with pytest.raises(ConfigError, match="A"):
        net.save_definition(tmp_path / "x.toml")


def test_from_factory_returns_spec_and_functions():
    spec, exec_func, start, stop, failed = Net.from_factory(
        "netrun.node_factories.broadcast", num_outputs=2)
    assert set(spec["out_ports"]) == {"out_0", "out_1"}
    assert callable(exec_func) and start is None and stop is None and failed is None
