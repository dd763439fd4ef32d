"""Building and running a Net: pipelines, steps, sources, states, node setup errors."""

from __future__ import annotations

import asyncio

import pytest
from _net_graphs import node, pipeline, source_pipeline
from _net_nodes import async_double, double, passthrough
from netrun_sim import Graph

from netrun.errors import (
    EpochIncompleteError,
    InputPortFullError,
    InputPortNotFoundError,
    NetStateError,
    NodeConfigError,
    NodeNotFoundError,
    OutputPortNotFoundError,
)
from netrun.net import Net, NetState, NodeExecFuncs, PacketRef


def build(make_net, **options):
    net = make_net(pipeline("A", "B", "C"), **options)
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", double)
    net.set_node_exec("C", passthrough)
    return net


def test_linear_pipeline_delivers_in_order(make_net):
    net = build(make_net)
    assert net.state is NetState.CREATED
    ids = net.inject_data("A", "in", range(50))
    assert len(ids) == 50 and all(isinstance(i, str) and len(i) == 26 for i in ids)
    net.start()
    assert net.flush_output_queue("C::out") == [2 * i for i in range(50)]
    assert net.state is NetState.PAUSED
    assert net.output_queue_names == ["C::out"]


def test_start_again_after_more_input(make_net):
    net = build(make_net)
    net.inject_data("A", "in", [1])
    net.start()
    net.inject_data("A", "in", [2, 3])
    net.start()
    assert net.flush_output_queue("C::out") == [2, 4, 6]


def test_run_step_runs_one_step_at_a_time(make_net):
    net = build(make_net)
    net.inject_data("A", "in", [1, 2])
    assert net.run_step() is True       # both A epochs
    assert net.flush_output_queue("C::out") == []
    assert net.run_step() is True       # both B epochs
    assert net.run_step() is True       # both C epochs
    assert net.flush_output_queue("C::out") == [2, 4]
    assert net.run_step() is False      # nothing left


def test_run_step_without_starting_epochs_only_creates_them(make_net):
    net = build(make_net)
    net.inject_data("A", "in", [1, 2, 3])
    assert net.run_step(start_epochs=False) is False
    assert len(net.get_startable_epochs_by_node("A")) == 3
    assert net.get_startable_epochs_by_node("B") == []


def test_source_node_runs_through_inject_source_epoch(make_net):
    net = make_net(source_pipeline())
    seen = []

    def source(ctx, packets):
        seen.append(packets)
        for v in (1, 2, 3):
            ctx.load_output_port("out", ctx.create_packet(v))
        ctx.send_output_salvo("send")

    net.set_node_exec("Source", source)
    net.set_node_exec("Double", double)
    net.set_node_exec("Sink", passthrough)
    net.start()  # nothing injected: nothing runs, no error
    assert seen == []
    epoch_id = net.inject_source_epoch("Source")
    assert isinstance(epoch_id, str)
    net.start()
    assert seen == [{}]
    assert net.flush_output_queue("Sink::out") == [2, 4, 6]


def test_async_exec_functions_run_on_the_loop(make_net):
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", async_double)
    net.set_node_exec("B", async_double)
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    assert net.flush_output_queue("B::out") == [4, 8, 12]


def test_async_start_from_a_running_loop(make_net):
    net = build(make_net)

    async def main():
        net.inject_data("A", "in", [5])
        await net.async_start()
        assert await net.async_run_step() is False
        return net.flush_output_queue("C::out")

    assert asyncio.run(main()) == [10]


def test_context_managers_stop_the_net():
    with Net(pipeline("A")) as net:
        net.set_node_exec("A", passthrough)
        net.inject_data("A", "in", [1])
        net.start()
    assert net.state is NetState.STOPPED

    async def main():
        async with Net(pipeline("A")) as anet:
            anet.set_node_exec("A", passthrough)
            anet.inject_data("A", "in", [7])
            await anet.async_start()
            assert anet.flush_output_queue("A::out") == [7]
        return anet.state

    assert asyncio.run(main()) is NetState.STOPPED


def test_sync_methods_keep_one_loop_for_the_net_lifetime(make_net):
    net = build(make_net)
    loops = []

    async def record_loop(ctx, packets):
        loops.append(asyncio.get_running_loop())
        await ctx.consume_packet(packets["in"][0])

    net.set_node_exec("C", record_loop)
    for i in range(3):
        net.inject_data("A", "in", [i])
        net.start()
    assert len(loops) == 3 and loops[0] is loops[1] is loops[2] and not loops[0].is_closed()


def test_set_node_exec_accepts_both_keyword_spellings(make_net):
    net = make_net(pipeline("A"))
    start = lambda net: None  # noqa: E731
    net.set_node_exec("A", exec_node_func=passthrough, start_node_func=start)
    assert net.get_node_exec_funcs("A") == NodeExecFuncs(passthrough, start, None, None)
    net.set_node_exec("A", exec_func=double, failed_func=start)
    funcs = net.get_node_exec_funcs("A")
    assert funcs.exec_node_func is double and funcs.exec_failed_node_func is start
    with pytest.raises(TypeError, match="either exec_node_func or exec_func"):
        net.set_node_exec("A", passthrough, exec_func=double)
    with pytest.raises(NodeConfigError, match="exec_node_func of node 'A' must be callable"):
        net.set_node_exec("A", 42)


def test_unknown_node_and_port_errors_name_the_choices(make_net):
    net = build(make_net)
    with pytest.raises(NodeNotFoundError, match=r"Node not found: 'X'.*A, B, C"):
        net.set_node_exec("X", passthrough)
    with pytest.raises(NodeNotFoundError, match="'X'"):
        net.set_node_config("X", retries=0)
    with pytest.raises(NodeNotFoundError):
        net.inject_source_epoch("X")
    with pytest.raises(InputPortNotFoundError, match=r"no input port 'nope'; its input ports are: in"):
        net.inject_data("A", "nope", [1])
    with pytest.raises(OutputPortNotFoundError, match="no output port 'x'"):
        net.set_output_port_type("A", "x", int)
    with pytest.raises(TypeError, match="iterable of values"):
        net.inject_data("A", "in", 5)


def test_input_port_full_error_says_how_many_went_in(make_net):
    graph = Graph([node("A", in_slots=2)], [])
    net = make_net(graph)
    with pytest.raises(InputPortFullError, match=r"full: injected 2 of 3 value\(s\)"):
        net.inject_data("A", "in", [1, 2, 3])


def test_node_without_exec_function_keeps_startable_epochs(make_net):
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.inject_data("A", "in", [1, 2])
    net.start()
    waiting = net.get_startable_epochs_by_node("B")
    assert len(waiting) == 2 and sorted(net.get_startable_epochs()) == sorted(waiting)
    assert net.get_epoch(waiting[0]).node_name == "B"
    net.set_node_exec("B", passthrough)  # now they can run
    net.start()
    assert net.flush_output_queue("B::out") == [1, 2]


def test_changing_functions_while_running_is_refused(make_net):
    net = build(make_net)
    errors = []

    def meddler(ctx, packets):
        try:
            net.set_node_exec("A", passthrough)
        except NetStateError as exc:
            errors.append(str(exc))
        try:
            net.set_node_config("A", retries=0)
        except NetStateError as exc:
            errors.append(str(exc))
        passthrough(ctx, packets)

    net.set_node_exec("C", meddler)
    net.inject_data("A", "in", [1])
    net.start()
    assert len(errors) == 2
    assert "while the net is running; call net.pause()" in errors[0]


def test_stopped_net_refuses_to_run(make_net):
    net = build(make_net)
    net.stop()
    assert net.state is NetState.STOPPED
    with pytest.raises(NetStateError, match="stopped"):
        net.start()
    with pytest.raises(NetStateError, match="stopped"):
        net.run_step()
    with pytest.raises(NetStateError, match="stopped"):
        net.inject_data("A", "in", [1])
    with pytest.raises(NetStateError, match="stopped"):
        net.set_node_exec("A", passthrough)
    net.stop()  # idempotent


def test_packets_argument_holds_packet_refs(make_net):
    net = make_net(pipeline("A"))
    seen = {}

    def look(ctx, packets):
        ref = packets["in"][0]
        seen["ref"] = ref
        seen["location"] = ref.location.kind
        seen["id"] = ref.id
        passthrough(ctx, packets)

    net.set_node_exec("A", look)
    [pid] = net.inject_data("A", "in", ["x"])
    net.start()
    assert isinstance(seen["ref"], PacketRef) and seen["ref"] == pid and seen["id"] == pid
    assert seen["location"] == "Node"


def test_unconsumed_input_fails_with_a_clear_message(make_net):
    net = make_net(pipeline("A"), on_error="raise")

    def lazy(ctx, packets):
        pass

    net.set_node_exec("A", lazy)
    [pid] = net.inject_data("A", "in", [1])
    from netrun.errors import NodeExecutionFailed

    with pytest.raises(NodeExecutionFailed) as info:
        net.start()
    cause = info.value.original_exception
    assert isinstance(cause, EpochIncompleteError)
    assert f"left input packet(s) ['{pid}']" in str(cause) and "ctx.consume_packet" in str(cause)
    # nothing lost: the value is in the dead-letter queue
    [entry] = net.dead_letter_queue.get_all()
    assert entry.packet_values == {pid: 1}


def test_unsent_output_fails_with_a_clear_message(make_net):
    net = make_net(pipeline("A"), on_error="raise")

    def no_send(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet(value))

    net.set_node_exec("A", no_send)
    net.inject_data("A", "in", [1])
    from netrun.errors import NodeExecutionFailed

    with pytest.raises(NodeExecutionFailed, match="did not send them: call ctx.send_output_salvo"):
        net.start()


def test_on_error_values_are_checked():
    with pytest.raises(NodeConfigError, match="on_error must be one of"):
        Net(pipeline("A"), on_error="explode")
    with pytest.raises(TypeError, match="Graph"):
        Net("not a graph")
    with pytest.raises(NodeConfigError, match="size >= 1"):
        Net(pipeline("A"), thread_pools={"io": {"size": 0}})
    with pytest.raises(NodeConfigError, match="not 'main'"):
        Net(pipeline("A"), thread_pools={"main": {"size": 1}})
