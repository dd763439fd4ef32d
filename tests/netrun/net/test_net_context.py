"""NodeExecutionContext: packet operations, value functions, deferred actions, misuse."""

from __future__ import annotations

import asyncio

import pytest
from _net_graphs import pipeline
from _net_nodes import passthrough

from netrun.errors import (
    ContextMisuseError,
    DeferredPacketIdAccessError,
    EpochCancelled,
    NodeExecutionFailed,
    OutputPortNotFoundError,
    SalvoConditionNotFoundError,
    ValueFunctionFailed,
)
from netrun.net import AsyncNodeExecutionContext, DeferredPacket, NodeExecutionContext


def run_one(make_net, func, values=(1,), *, downstream=passthrough, **config):
    net = make_net(pipeline("A", "B"), on_error="raise")
    net.set_node_exec("A", func)
    net.set_node_exec("B", downstream)
    if config:
        net.set_node_config("A", **config)
    net.inject_data("A", "in", list(values))
    net.start()
    return net


def test_value_functions_are_called_lazily_on_consumption(make_net):
    calls = []

    def make_lazy(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet_from_value_func(lambda: calls.append(value) or value * 10))
        ctx.send_output_salvo("send")
        assert calls == []

    net = run_one(make_net, make_lazy, [4])
    assert calls == [4]
    assert net.flush_output_queue("B::out") == [40]


def test_async_value_function_in_sync_and_async_consumers(make_net):
    async def compute():
        await asyncio.sleep(0)
        return "computed"

    def producer(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet_from_value_func(compute))
        ctx.send_output_salvo("send")

    async def async_consumer(ctx, packets):
        value = await ctx.consume_packet(packets["in"][0])
        await ctx.load_output_port("out", await ctx.create_packet(value.upper()))
        await ctx.send_output_salvo("send")

    net = run_one(make_net, producer, downstream=passthrough)
    assert net.flush_output_queue("B::out") == ["computed"]
    net = run_one(make_net, producer, downstream=async_consumer)
    assert net.flush_output_queue("B::out") == ["COMPUTED"]


def test_failing_value_function_raises_value_function_failed(make_net):
    def producer(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet_from_value_func(lambda: 1 / 0))
        ctx.send_output_salvo("send")

    net = make_net(pipeline("A", "B"), on_error="raise")
    net.set_node_exec("A", producer)
    net.set_node_exec("B", passthrough)
    net.inject_data("A", "in", [1])
    with pytest.raises(NodeExecutionFailed) as info:
        net.start()
    cause = info.value.original_exception
    assert isinstance(cause, ValueFunctionFailed)
    assert isinstance(cause.original_exception, ZeroDivisionError)
    assert "read by node 'B'" in str(cause) and "create_packet_from_value_func" in str(cause)
    # the packet keeps its value function: it is in the DLQ, not lost
    [entry] = net.dead_letter_queue.get_by_node("B")
    assert len(entry.packet_values) == 1


def test_create_packet_from_value_func_needs_a_callable(make_net):
    def bad(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        ctx.create_packet_from_value_func(42)

    with pytest.raises(NodeExecutionFailed, match="needs a callable, got int"):
        run_one(make_net, bad)


@pytest.mark.parametrize(
    "body, error, message",
    [
        ("ctx.consume_packet('01ARZ3NDEKTSV4RRFFQ69G5FAV')", ContextMisuseError, "is not an input packet of epoch"),
        ("ctx.consume_packet(p); ctx.consume_packet(p)", ContextMisuseError, "already consumed"),
        ("ctx.consume_packet(p); ctx.load_output_port('nope', ctx.create_packet(1))", OutputPortNotFoundError,
         "has no output port 'nope'.*its output ports are: out"),
        ("ctx.consume_packet(p); ctx.send_output_salvo('nope')", SalvoConditionNotFoundError,
         "has no output salvo condition 'nope'.*conditions are: send"),
        ("ctx.consume_packet(object())", TypeError, "Expected a packet"),
    ],
)
def test_context_misuse_errors(make_net, body, error, message):
    def node_func(ctx, packets):
        p = packets["in"][0]  # noqa: F841
        exec(body)

    with pytest.raises(NodeExecutionFailed) as info:
        run_one(make_net, node_func)
    assert isinstance(info.value.original_exception, error)
    assert pytest.raises(error, lambda: (_ for _ in ()).throw(info.value.original_exception)) \
        if False else __import__("re").search(message, str(info.value.original_exception))


def test_context_used_after_the_epoch_ended(make_net):
    kept = []

    def keep(ctx, packets):
        kept.append(ctx)
        passthrough(ctx, packets)

    run_one(make_net, keep)
    with pytest.raises(ContextMisuseError, match="used after its attempt ended"):
        kept[0].create_packet(1)


def test_async_context_methods_must_be_awaited(make_net):
    async def forgetful(ctx, packets):
        assert isinstance(ctx, AsyncNodeExecutionContext)
        value = await ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", value)  # not awaited
        await ctx.send_output_salvo("send")

    with pytest.raises(NodeExecutionFailed, match=r"called 1 ctx operation\(s\) without `await`"):
        run_one(make_net, forgetful)


def test_sync_exec_gets_sync_context(make_net):
    seen = []

    def check(ctx, packets):
        seen.append(type(ctx))
        passthrough(ctx, packets)

    run_one(make_net, check)
    assert seen == [NodeExecutionContext]


def test_cancel_epoch_destroys_its_packets_without_dlq(make_net):
    ended = []

    def canceller(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        ctx.cancel_epoch()

    net = make_net(pipeline("A", "B"), on_error="raise")
    net.set_node_exec("A", canceller)
    net.set_node_exec("B", passthrough)
    net.on_epoch_end(lambda node, epoch, log: ended.append((node, log.outcome, log.was_cancelled)))
    net.inject_data("A", "in", [1, 2])
    net.start()  # no exception: cancellation is not a failure
    assert ended == [("A", "cancelled", True)] * 2
    assert net.dead_letter_queue.get_all() == []
    assert net.get_startable_epochs() == []
    with pytest.raises(EpochCancelled) as info:
        raise EpochCancelled("A", "E1")
    assert info.value.node_name == "A" and info.value.epoch_id == "E1"


def test_deferred_actions_commit_on_success(make_net):
    kept = {}

    def deferred(ctx, packets):
        assert ctx.defer_net_actions
        value = ctx.consume_packet(packets["in"][0])
        out = ctx.create_packet(value + 1)
        assert isinstance(out, DeferredPacket) and not out.is_resolved
        with pytest.raises(DeferredPacketIdAccessError, match="has no packet id yet"):
            out.id
        with pytest.raises(DeferredPacketIdAccessError):
            out.location
        kept["packet"] = out
        ctx.load_output_port("out", out)
        ctx.send_output_salvo("send")
        assert [a.action_type.value for a in ctx.deferred_actions.actions] == [
            "consume_packet", "create_packet", "load_output_port", "send_output_salvo"]

    net = run_one(make_net, deferred, [1], defer_net_actions=True)
    packet = kept["packet"]
    assert packet.is_resolved and len(packet.id) == 26 and repr(packet).startswith("DeferredPacket(resolved=")
    assert net.flush_output_queue("B::out") == [2]


def test_deferred_failure_leaves_nothing_behind(make_net):
    def half(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet("partial"))
        ctx.send_output_salvo("send")
        raise RuntimeError("late failure")

    net = make_net(pipeline("A", "B"), on_error="continue")
    net.set_node_exec("A", half)
    net.set_node_exec("B", passthrough)
    net.set_node_config("A", defer_net_actions=True)
    net.inject_data("A", "in", [1])
    net.start()
    assert net.flush_output_queue("B::out") == []  # the send never reached the engine
    [entry] = net.dead_letter_queue.get_all()
    assert list(entry.packet_values.values()) == [1]


def test_live_failure_keeps_what_was_already_sent(make_net):
    def half(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet("partial"))
        ctx.send_output_salvo("send")
        raise RuntimeError("late failure")

    net = make_net(pipeline("A", "B"), on_error="continue")
    net.set_node_exec("A", half)
    net.set_node_exec("B", passthrough)
    net.inject_data("A", "in", [1])
    net.start()
    assert net.flush_output_queue("B::out") == ["partial"]


def test_commit_failure_is_rolled_back_and_retried(make_net):
    attempts = []

    def flaky_send(ctx, packets):
        attempts.append(ctx.retry_count)
        ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet(ctx.retry_count))
        if ctx.retry_count == 0:
            return  # forgot to send: the commit cannot finish the epoch
        ctx.send_output_salvo("send")

    net = run_one(make_net, flaky_send, [1], defer_net_actions=True, retries=1)
    assert attempts == [0, 1]
    assert net.flush_output_queue("B::out") == [1]


def test_manual_context_for_a_running_epoch(make_net):
    made = []

    def node_func(ctx, packets):
        made.append(NodeExecutionContext(ctx._net, ctx.epoch_id, "A"))
        passthrough(ctx, packets)

    run_one(make_net, node_func)
    assert made[0].node_name == "A"
    net = make_net(pipeline("A"))
    with pytest.raises(ContextMisuseError, match="is not running in this net"):
        NodeExecutionContext(net, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "A")
