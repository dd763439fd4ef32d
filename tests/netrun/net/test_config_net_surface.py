"""Audit of the config front door against issue 10: ``type_checking_enabled`` (in the net
and in ``execute_node(..., outside_net=True)``), ``Net.from_file(path, **overrides)``,
output queues (``get_output`` in both call forms, timeouts, metadata, unknown names)."""

from __future__ import annotations

import asyncio
import json

import pytest

from _config_nets import config, fn, pipeline
from netrun.config import ConfigValidationFailed
from netrun.errors import EpochError, OutputQueueNotFoundError, PacketTypeMismatch
from netrun.net import ConsumedOutputPacket, Net


def typed(x: int) -> int:
    return x


@pytest.fixture
def nets():
    made: list[Net] = []

    def make(source, **options) -> Net:
        net = Net(source, handle_sigint=False, **options)
        made.append(net)
        return net

    yield make
    for net in made:
        net.stop()


# ---------------------------------------------------------------------------- type checking
@pytest.mark.parametrize("where", ["net", "node"])
def test_type_checking_can_be_switched_off_in_and_outside_the_net(nets, where):
    # 0.5.0 bug: outside the net, type checking was always on (`... or True`)
    if where == "net":
        cfg = config([fn("a", typed)], type_checking_enabled=False)
    else:
        cfg = config([fn("a", typed, type_checking_enabled=False)])
    net = nets(cfg)
    assert net.execute_node_sync("a", {"x": ["text"]}, outside_net=True) == {"out": ["text"]}
    net.inject_data("a", "x", ["text"])
    net.start()
    assert net.flush_output_queue("a::out") == ["text"]
    net.set_input_port_type("a", "x", int)  # setting a type later does not switch it back on
    net.inject_data("a", "x", ["again"])
    net.start()
    assert net.flush_output_queue("a::out") == ["again"]
    assert net.get_input_port_type("a", "x") is int  # still visible to inspection


def test_type_checking_stays_on_by_default_and_a_node_can_keep_it_on(nets):
    cfg = config([fn("a", typed, type_checking_enabled=True), fn("b", typed)],
                 type_checking_enabled=False, propagate_exceptions=False)
    net = nets(cfg)
    with pytest.raises(EpochError, match=r"node 'a'.*PacketTypeMismatch.*input port 'x' of node 'a'") as info:
        net.execute_node_sync("a", {"x": ["text"]}, outside_net=True)
    assert isinstance(info.value.__cause__, PacketTypeMismatch)
    assert net.execute_node_sync("b", {"x": ["text"]}, outside_net=True) == {"out": ["text"]}
    on_by_default = nets(config([fn("a", typed)], propagate_exceptions=False))
    on_by_default.inject_data("a", "x", ["text"])
    on_by_default.start()
    assert "expected instance of int, got str" in str(on_by_default.exception_queue[0])


# ---------------------------------------------------------------------------- from_file
def _file(tmp_path):
    path = tmp_path / "net.netrun.json"
    path.write_text(json.dumps({
        "node_vars": {"label": {"type": "str"}},
        "graph": {"nodes": [{"name": "double", "factory": "netrun.node_factories.from_function",
                             "factory_args": {"func": "_config_nets.double"}}]}}))
    return path


def test_from_file_takes_the_config_overrides_and_net_options(tmp_path):
    path = _file(tmp_path)
    net = Net.from_file(path, data_overrides={"max_epochs": 1}, global_node_vars={"label": "run-1"},
                        run_init_nodes=False, handle_sigint=False)
    try:
        assert net.config.max_epochs == 1 and net._run_init_nodes is False
        assert net.get_node_vars("double")["label"] == "run-1"
        net.inject_data("double", "x", [1, 2])
        with pytest.raises(EpochError, match="reached its max_epochs=1"):  # the override took effect
            net.start()
        assert net.flush_output_queue("double::out") == [2]
    finally:
        net.stop()


def test_from_file_bad_overrides_are_named(tmp_path):
    path = _file(tmp_path)
    with pytest.raises(TypeError, match=r"unknown keyword\(s\) max_epochs.*max_epochs is a NetConfig "
                                        r"field: pass data_overrides=\{'max_epochs': \.\.\.\}"):
        Net.from_file(path, max_epochs=1)
    with pytest.raises(TypeError, match=r"unknown keyword\(s\) colour: it takes keep_symlinks"):
        Net.from_file(path, colour="red")
    with pytest.raises(KeyError, match="nope"):
        Net.from_file(path, global_node_vars={"nope": 1})
    with pytest.raises(ConfigValidationFailed, match="net.netrun.json"):
        Net.from_file(path, data_overrides={"graph": {"nodes": [{"name": "x", "factory": "no.such.factory"}]}})


# ---------------------------------------------------------------------------- output queues
def test_output_queues_timeouts_metadata_and_unknown_names(nets):
    net = nets(pipeline())
    assert net.try_get_output("sink::out") is None
    with pytest.raises(TimeoutError, match=r"No value arrived in output queue 'sink::out' within 0.05 s"):
        net.get_output("sink::out", timeout=0.05)
    net.inject_data("double", "x", [1, 2, 3, 4])
    net.start()
    first = net.try_get_output(node="sink", port="out", include_metadata=True)
    assert isinstance(first, ConsumedOutputPacket)
    assert (first.value, first.from_node, first.from_port, first.queue_name) == (2, "sink", "out", "sink::out")
    assert isinstance(first.epoch_id, str) and first.timestamp.tzinfo is not None  # 0.5.0: a ULID object
    assert net.get_output("sink::out", timeout=1) == 4
    everything = net.flush_all_output_queues(include_metadata=True)
    assert [p.value for p in everything["sink::out"]] == [6, 8]
    assert net.flush_all_output_queues() == {}  # empty queues are left out
    for call in (lambda: net.try_get_output("nope"), lambda: net.flush_output_queue("nope"),
                 lambda: net.get_output("nope", timeout=0)):
        with pytest.raises(OutputQueueNotFoundError, match=r"No output queue named 'nope'.*known queues: sink::out"):
            call()
    with pytest.raises(OutputQueueNotFoundError, match=r"No output queue named 'sink::zz'"):
        net.try_get_output(node="sink", port="zz")
    with pytest.raises(KeyError):  # an OutputQueueNotFoundError is a KeyError, as in 0.5.0
        net.try_get_output("nope")


def test_get_output_is_awaitable_in_an_async_net():
    async def main():
        async with Net(pipeline()) as net:
            await net.start_background()
            net.inject_data("double", "x", [5])
            value = await net.get_output("sink::out", timeout=5)
            meta_wait = net.get_output(node="sink", port="out", timeout=0.05, include_metadata=True)
            with pytest.raises(TimeoutError, match="within 0.05 s"):
                await meta_wait
            await net.wait_until_blocked()
            return value

    assert asyncio.run(main()) == 10


# ---------------------------------------------------------------------------- reserved names
def _reserved_net(change):
    from _config_nets import manual

    node = manual("A", "_config_nets.sink", controls=["start_epoch"], signals=["epoch_started"])
    change(node)
    return Net(config([node]), handle_sigint=False)


def _go(node):
    return node["in_salvo_conditions"]["go"]


def _send(node):
    return node["out_salvo_conditions"]["send"]


@pytest.mark.parametrize("change, message", [
    (lambda n: _go(n)["term"].update(port_name="__control_start_epoch__"),
     r"in_salvo_conditions\.go\.term: input salvo condition 'go' of node 'A' tests port "
     r"'__control_start_epoch__', a control port: the runtime applies controls itself"),
    (lambda n: _go(n)["ports"].update({"__control_start_epoch__": {"type": "all"}}),
     r"input salvo condition 'go' of node 'A' takes packets from port '__control_start_epoch__', "
     r"a control port: .* \(send controls with net.send_control\)"),
    (lambda n: n["in_salvo_conditions"].update({"__control_start_epoch__": dict(_go(n))}),
     r"input salvo condition name '__control_start_epoch__' uses a reserved prefix \(__signal_/__control_\)"),
    (lambda n: _send(n)["ports"].update({"__signal_epoch_started__": {"type": "all"}}),
     r"output salvo condition 'send' of node 'A' takes packets from port '__signal_epoch_started__', "
     r"a signal port: the runtime sends signals itself"),
    (lambda n: _send(n)["term"].update(port_name="__signal_epoch_started__"),
     r"output salvo condition 'send' of node 'A' tests port '__signal_epoch_started__', a signal port"),
    (lambda n: n["out_salvo_conditions"].update({"__signal_epoch_started__": dict(_send(n))}),
     r"output salvo condition name '__signal_epoch_started__' uses a reserved prefix"),
], ids=["in-term", "in-ports", "in-name", "out-ports", "out-term", "out-name"])
def test_a_user_salvo_condition_cannot_use_control_or_signal_names(change, message):
    # control packets are the runtime's: a data condition taking them would swallow controls
    with pytest.raises(ConfigValidationFailed, match=message):
        _reserved_net(change)
