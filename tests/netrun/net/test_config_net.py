"""The config front door: ``Net(NetConfig | path)`` on the same scheduler as ``Net(graph)``,
the 0.5.0 lifecycle (``init`` / ``close``, ``async with`` / ``with``, ``*_sync``), run return
values, ``execute_epoch`` / ``execute_node``, background runs, enable/disable, inspection,
``run_on_init`` and ``defer_init``."""

from __future__ import annotations

import asyncio
import json

import pytest

from _config_nets import config, double, edge, fn, manual, pipeline
from netrun.errors import (
    EpochNotFoundError,
    InputPortNotFoundError,
    NetStateError,
    NodeNotFoundError,
    SalvoConditionNotMetError,
)
from netrun.net import Net
from netrun.net.epoch_log import EpochLog


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


# ---------------------------------------------------------------------------- construction
def test_net_from_a_config_object_runs_on_the_same_scheduler(nets):
    net = nets(pipeline())
    net.inject_data("double", "x", [1, 2, 3])
    net.start()  # the PROJECT_SPEC call form works on a config-built net
    assert net.flush_output_queue("sink::out") == [2, 4, 6]
    assert net.config.graph.nodes[1].name == "double"
    assert net.output_queue_names == ["sink::out"]


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_net_from_a_path(nets, tmp_path, suffix):
    cfg = {"graph": {"nodes": [{"name": "double", "factory": "netrun.node_factories.from_function",
                                "factory_args": {"func": "_config_nets.double"}}]}}
    path = tmp_path / f"net.netrun{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(cfg))
    else:
        path.write_text('[[graph.nodes]]\nname = "double"\nfactory = "netrun.node_factories.from_function"\n'
                        'factory_args = { func = "_config_nets.double" }\n')
    for net in (nets(path), nets(str(path)), Net.from_file(path)):
        net.inject_data("double", "x", [21])
        assert net.run_until_blocked()[0] is True
        assert net.flush_output_queue("double::out") == [42]
        net.stop()


def test_net_options_given_with_a_config_override_it(nets):
    net = nets(pipeline(), history=True, output_queues=False)
    net.inject_data("double", "x", [1])
    net.start()
    assert net.output_queue_names == [] and len(net.event_history) > 0


def test_bad_sources_say_what_net_accepts():
    with pytest.raises(TypeError, match=r"Net needs a netrun_sim Graph, a netrun.config.NetConfig or the "
                                        r"path of a .toml / .json net file, got str 'net.yaml'"):
        Net("net.yaml")
    with pytest.raises(TypeError, match="got int"):
        Net(3)


# ---------------------------------------------------------------------------- lifecycle
def test_async_with_init_run_on_init_and_run_until_blocked_return_value():
    async def main():
        async with Net(pipeline(run_on_init=True), handle_sigint=False) as net:
            assert net.initialized
            # init ran the source once; its packet waits for the next run
            progress, actions, logs = await net.run_until_blocked()
            assert progress is True
            assert [log.node_name for log in logs] == ["double", "sink"]
            assert all(isinstance(log, EpochLog) and log.outcome == "success" for log in logs)
            assert isinstance(actions, list)
            assert net.flush_output_queue("sink::out") == [10]
            net.inject_data("double", "x", [1, 2])
            progress, _, logs = await net.run_step()
            assert progress is True and {log.node_name for log in logs} == {"double"}
            await net.run_until_blocked()
            assert net.flush_output_queue("sink::out") == [2, 4]
        return net

    net = asyncio.run(main())
    assert net.state.name == "STOPPED"


def test_the_sync_api_works_with_and_init_sync():
    """Published-runtime bug (study §11.1): every sync method raised CancelledError."""
    with Net(pipeline(run_on_init=True), handle_sigint=False) as net:
        assert net.run_until_blocked_sync()[0] is True
        assert net.flush_output_queue("sink::out") == [10]
        net.inject_data("double", "x", [4])
        progress, _, logs = net.run_step_sync()
        assert progress and [log.node_name for log in logs] == ["double"]
        assert net.run_until_blocked()[0] is True  # plain sync call form: same tuple
        assert net.flush_output_queue("sink::out") == [8]
    assert net.state.name == "STOPPED"

    net = Net(pipeline(run_on_init=True), handle_sigint=False)
    net.init_sync()
    net.run_until_blocked_sync()
    assert net.flush_output_queue("sink::out") == [10]
    net.close_sync()
    with pytest.raises(NetStateError, match="Cannot init: the net is closed; build a new Net"):
        net.init_sync()


def test_init_twice_is_an_error(nets):
    net = nets(pipeline())
    net.init_sync()
    with pytest.raises(NetStateError, match=r"already initialised \(init\(\) was called before\)"):
        net.init_sync()


def test_run_init_nodes_false_skips_the_run_on_init_nodes(nets):
    net = nets(pipeline(run_on_init=True), run_init_nodes=False)
    net.init_sync()
    net.run_until_blocked_sync()
    assert net.flush_output_queue("sink::out") == []
    net = nets(pipeline(run_on_init=True))
    net.init_sync(run_init_nodes=False)
    net.run_until_blocked_sync()
    assert net.flush_output_queue("sink::out") == []


def test_run_on_init_fires_once_on_the_first_run_without_init(nets):
    net = nets(pipeline(run_on_init=True))
    net.start()
    net.start()
    assert net.flush_output_queue("sink::out") == [10]


def test_run_on_init_skips_disabled_nodes(nets):
    net = nets(pipeline(run_on_init=True, enabled=False))
    net.init_sync()
    assert net.run_until_blocked_sync()[0] is False
    assert net.flush_output_queue("sink::out") == [] and not net.is_node_enabled("source")


def test_defer_init_calls_the_init_function_before_the_first_epoch(nets):
    calls = []

    def work(ctx, packets):
        calls.append("epoch")
        value = ctx.consume_packet(packets["x"][0])
        ctx.load_output_port("out", ctx.create_packet(value + 1))
        ctx.send_output_salvo("send")

    def make(defer):
        return config([manual("A", work, init_node_func=lambda net: calls.append("init"),
                              close_node_func=lambda net: calls.append("close"), defer_init=defer)])

    net = nets(make(True))
    net.init_sync()
    assert calls == []
    net.inject_data("A", "x", [1, 2])
    net.run_until_blocked_sync()
    assert calls == ["init", "epoch", "epoch"]
    assert net.flush_output_queue("A::out") == [2, 3]
    net.close_sync()
    assert calls[-1] == "close"

    calls.clear()
    net = nets(make(True))
    net.close_sync()
    assert calls == []  # never initialised: not closed either
    net = nets(make(False))
    net.init_sync()
    assert calls == ["init"]


# ---------------------------------------------------------------------------- execute
def test_execute_node_outside_the_net(nets):
    net = nets(pipeline())
    assert asyncio.run(net.execute_node("double", {"x": [10]}, outside_net=True)) == {"out": [20]}
    assert net.execute_node_sync("source", outside_net=True) == {"out": [5]}
    assert net.get_startable_epochs() == [] and net.flush_all_output_queues() == {}


def test_execute_node_inside_the_net_runs_an_epoch(nets):
    net = nets(pipeline())
    log = net.execute_node_sync("double", {"x": [7]})
    assert isinstance(log, EpochLog) and log.node_name == "double" and log.outcome == "success"
    # its output went on along the edge; the next run takes it to the sink
    net.run_until_blocked_sync()
    assert net.flush_output_queue("sink::out") == [14]


def test_execute_node_bad_input(nets):
    net = nets(pipeline())
    with pytest.raises(SalvoConditionNotMetError,
                       match=r"No input salvo condition of node 'double' is satisfied by the given inputs "
                             r"\(no packets\); its conditions are: trigger"):
        net.execute_node_sync("double")
    with pytest.raises(InputPortNotFoundError, match=r"Node 'double' has no input port 'y'; its input ports are: x"):
        net.execute_node_sync("double", {"y": [1]})
    with pytest.raises(TypeError, match=r"port 'x' of node 'double' got int \(wrap it in a list\)"):
        net.execute_node_sync("double", {"x": 1})
    with pytest.raises(NodeNotFoundError, match="Node not found: 'nope'"):
        net.execute_node_sync("nope")


def test_execute_epoch(nets):
    net = nets(pipeline())
    net.disable_node("double")
    net.inject_data("double", "x", [3])
    net.run_until_blocked_sync()
    [epoch_id] = net.get_startable_epochs_by_node("double")
    assert epoch_id in net.epochs and net.get_packets_in_epoch(epoch_id)
    log = net.execute_epoch_sync(epoch_id)  # by hand, even though the node is disabled
    assert log.epoch_id == epoch_id and log.outcome == "success"
    with pytest.raises(EpochNotFoundError, match=f"Epoch {epoch_id} is not a startable epoch of this net"):
        net.execute_epoch_sync(epoch_id)


# ---------------------------------------------------------------------------- background, enable/disable
def test_background_pause_resume_and_wait_until_blocked():
    async def main():
        async with Net(pipeline(), handle_sigint=False) as net:
            await net.start_background()
            net.inject_data("double", "x", [1])
            assert await net.async_get_output("sink::out", timeout=2) == 2
            net.pause()
            assert net.paused
            await net.wait_until_stopped()
            net.inject_data("double", "x", [2])
            await asyncio.sleep(0.05)
            assert net.try_get_output("sink::out") is None  # paused: nothing runs
            net.resume()
            assert not net.paused
            assert await net.wait_until_blocked() is True
            assert net.flush_output_queue("sink::out") == [4] and net.is_blocked()

    asyncio.run(main())


def test_disabled_nodes_keep_their_epochs_waiting(nets):
    net = nets(pipeline())
    net.disable_node("double")
    net.inject_data("double", "x", [1, 2])
    net.run_until_blocked_sync()
    assert len(net.get_startable_epochs_by_node("double")) == 2
    assert net.is_blocked()  # nothing an enabled node could start
    net.enable_node("double")
    assert not net.is_blocked()
    net.run_until_blocked_sync()
    assert net.flush_output_queue("sink::out") == [2, 4]
    with pytest.raises(NodeNotFoundError, match=r"Node not found: 'ghost'. The graph's nodes are: double, sink, source"):
        net.disable_node("ghost")


def test_inspection(nets):
    net = nets(pipeline())
    net.disable_node("double")
    [pid] = net.inject_data("double", "x", [9])
    assert net.get_packets_at_all_ports("double") == {"x": [pid]}
    assert net.netsim is net._core.engine.sim
    with pytest.raises(EpochNotFoundError, match="Epoch nope is not in the net"):
        net.get_packets_in_epoch("nope")
    assert net.clear_dead_letter_queue() == []


def test_a_plain_graph_net_keeps_the_project_spec_forms():
    """The clashing names stay synchronous on a net that was not opened with init()."""
    from netrun_sim import Graph

    from _net_graphs import pipeline as graph_pipeline

    net = Net(graph_pipeline("A"), handle_sigint=False)
    assert isinstance(net.graph, Graph)

    async def main():
        net.set_node_exec("A", lambda ctx, p: ctx.send_output_salvo("send") if not p else
                          (ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(p["in"][0]))),
                           ctx.send_output_salvo("send")))
        net.inject_data("A", "in", [1])
        assert net.run_step() is True  # sync even inside a coroutine: not in async mode
        return net.flush_output_queue("A::out")

    assert asyncio.run(main()) == [1]
    net.stop()


def test_config_nets_can_use_double_directly():
    assert double(2) == 4 and edge("a", "b")["target_port"] == "x" and fn("n", double)["name"] == "n"
