"""Failures: retries, timeouts, on_error, error_callback, the dead-letter queue."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from _net_graphs import pipeline
from _net_nodes import passthrough

from netrun.errors import EpochTimeout, NodeExecutionFailed
from netrun.net import DeadLetterEntry, DeadLetterQueue, NetState, NodeFailureContext


def flaky(fail_times, log):
    def node_func(ctx, packets):
        log.append((ctx.retry_count, len(ctx.retry_exceptions), len(ctx.retry_timestamps)))
        value = ctx.consume_packet(packets["in"][0])
        if ctx.retry_count < fail_times:
            raise ValueError(f"boom {ctx.retry_count}")
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    return node_func


def test_retries_unconsume_packets_and_succeed(make_net):
    log, failures = [], []
    calls = []
    net = make_net(pipeline("A", "B"))

    def producer(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet_from_value_func(lambda: calls.append(1) or "v"))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", producer)
    net.set_node_exec("B", flaky(2, log), exec_failed_node_func=failures.append)
    net.set_node_config("B", retries=2, defer_net_actions=True)
    net.inject_data("A", "in", [1])
    net.start()
    assert log == [(0, 0, 0), (1, 1, 1), (2, 2, 2)]
    assert net.flush_output_queue("B::out") == ["v"]
    assert len(calls) == 3  # the value function ran again on every retry
    assert [type(f) for f in failures] == [NodeFailureContext, NodeFailureContext]
    first = failures[0]
    assert first.retry_count == 0 and len(first.retry_exceptions) == 1 and first.packet_values
    assert str(first.exception) == "boom 0" and list(first.input_salvo) == ["in"]
    assert net.dead_letter_queue.get_all() == []


def test_retry_wait_with_backoff(make_net):
    stamps = []
    net = make_net(pipeline("A"), on_error="continue")

    def always_fails(ctx, packets):
        stamps.append(time.monotonic())
        ctx.consume_packet(packets["in"][0])
        raise RuntimeError("no")

    net.set_node_exec("A", always_fails)
    net.set_node_config("A", retries=2, defer_net_actions=True, retry_wait=0.05, retry_backoff=3)
    net.inject_data("A", "in", [1])
    net.start()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert len(stamps) == 3
    assert 0.04 <= gaps[0] < 0.14 and 0.14 <= gaps[1] < 0.4


def test_failure_goes_to_dlq_with_values_and_callback(make_net):
    calls = []
    net = make_net(pipeline("A", "B"), on_error="continue",
                   error_callback=lambda exc, node, epoch: calls.append((type(exc).__name__, node, epoch)))
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", flaky(5, []))
    net.set_node_config("B", retries=1, defer_net_actions=True)
    net.inject_data("A", "in", [10, 20])
    net.start()
    entries = net.dead_letter_queue.get_by_node("B")
    assert len(entries) == 2 and net.dead_letter_queue.get_by_node("A") == []
    entry = entries[0]
    assert isinstance(entry, DeadLetterEntry) and entry.retry_count == 1
    assert len(entry.retry_exceptions) == 2 and str(entry.exception) == "boom 1"
    assert sorted(v for e in entries for v in e.packet_values.values()) == [10, 20]
    assert list(entry.input_packets) == ["in"]
    assert [c[:2] for c in calls] == [("ValueError", "B")] * 2
    assert net.state is NetState.PAUSED


def test_on_error_pause_stops_starting_new_epochs(make_net):
    net = make_net(pipeline("A"))  # on_error="pause" is the default
    seen = []

    def fail_first(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        seen.append(value)
        if value == 0:
            raise RuntimeError("first fails")
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", fail_first)
    net.inject_data("A", "in", [0, 1, 2])
    net.start()
    assert seen == [0] and net.state is NetState.PAUSED
    assert len(net.get_startable_epochs()) == 2  # the rest waits, nothing lost
    net.start()  # resume
    assert net.flush_output_queue("A::out") == [1, 2]


def test_on_error_raise(make_net):
    net = make_net(pipeline("A"), on_error="raise")
    net.set_node_exec("A", flaky(9, []))
    net.inject_data("A", "in", [1])
    with pytest.raises(NodeExecutionFailed) as info:
        net.start()
    error = info.value
    assert error.node_name == "A" and isinstance(error.original_exception, ValueError)
    assert error.__cause__ is error.original_exception
    assert "Node 'A' failed in epoch" in str(error) and "net.dead_letter_queue" in str(error)
    assert net.state is NetState.PAUSED


def test_failed_func_and_error_callback_may_be_async_and_may_fail(make_net):
    seen = []

    async def failed(fctx):
        await asyncio.sleep(0)
        seen.append(("failed", fctx.node_name))
        raise RuntimeError("handler broken")

    async def callback(exc, node, epoch):
        seen.append(("callback", node))

    net = make_net(pipeline("A"), on_error="continue", error_callback=callback)
    net.set_node_exec("A", flaky(9, []), exec_failed_node_func=failed)
    net.inject_data("A", "in", [1])
    with pytest.warns(RuntimeWarning, match="exec_failed_node_func of node 'A' raised RuntimeError"):
        net.start()
    assert seen == [("failed", "A"), ("callback", "A")]
    assert any("handler broken" in e.message for e in net.get_node_log("A"))


def test_failing_epoch_does_not_cancel_running_siblings(make_net):
    net = make_net(pipeline("A"), on_error="continue", thread_pools={"io": {"size": 3}})
    release = threading.Event()

    def node_func(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        if value == "bad":
            raise RuntimeError("bad input")
        release.wait(5)
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", node_func)
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", ["ok1", "bad", "ok2"])
    runner = net.start(threaded=True)
    deadline = time.monotonic() + 5
    while not net.dead_letter_queue.get_all() and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    assert runner.wait_until_blocked(5)
    assert sorted(net.flush_output_queue("A::out")) == ["ok1", "ok2"]
    assert len(net.dead_letter_queue.get_all()) == 1


def test_timeout_abandons_sync_function_in_thread_pool(make_net):
    net = make_net(pipeline("A"), on_error="continue", thread_pools={"io": {"size": 1}})
    finished = threading.Event()
    late_error = []

    def slow(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        if value == "slow":
            time.sleep(1.0)
            try:
                ctx.create_packet("too late")
            except EpochTimeout as exc:
                late_error.append(exc)
            finished.set()
            return
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", slow)
    net.set_node_config("A", pool="io", timeout=0.1)
    net.inject_data("A", "in", ["slow", "fast"])
    started = time.monotonic()
    net.start()
    elapsed = time.monotonic() - started
    assert elapsed < 0.8  # the pool kept its size: "fast" did not wait for "slow"
    assert net.flush_output_queue("A::out") == ["fast"]
    [entry] = net.dead_letter_queue.get_all()
    assert isinstance(entry.exception, EpochTimeout) and entry.exception.timeout_seconds == 0.1
    assert "exceeded its timeout of 0.1 s" in str(entry.exception)
    assert finished.wait(3) and late_error and isinstance(late_error[0], EpochTimeout)
    assert any("abandoned" in e.message for e in net.get_node_log("A"))


def test_timeout_cancels_async_function(make_net):
    cancelled = []
    net = make_net(pipeline("A"), on_error="continue")

    async def slow(ctx, packets):
        await ctx.consume_packet(packets["in"][0])
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    net.set_node_exec("A", slow)
    net.set_node_config("A", timeout=0.05)
    net.inject_data("A", "in", [1])
    started = time.monotonic()
    net.start()
    assert time.monotonic() - started < 1
    assert cancelled == [True]
    [entry] = net.dead_letter_queue.get_all()
    assert isinstance(entry.exception, EpochTimeout)


def test_timeout_of_sync_main_loop_function_is_enforced(make_net):
    net = make_net(pipeline("A"), on_error="continue")

    def slow(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        time.sleep(1.0)

    net.set_node_exec("A", slow)
    net.set_node_config("A", timeout=0.05)
    net.inject_data("A", "in", [1])
    started = time.monotonic()
    net.start()
    assert time.monotonic() - started < 0.8
    assert isinstance(net.dead_letter_queue.get_all()[0].exception, EpochTimeout)


def test_timeout_is_not_retried(make_net):
    attempts = []
    net = make_net(pipeline("A"), on_error="continue")

    async def slow(ctx, packets):
        attempts.append(ctx.retry_count)
        await asyncio.sleep(1)

    net.set_node_exec("A", slow)
    net.set_node_config("A", timeout=0.05, retries=3, defer_net_actions=True)
    net.inject_data("A", "in", [1])
    net.start()
    assert attempts == [0]


def test_dlq_file_mode_writes_jsonl(make_net, tmp_path):
    net = make_net(pipeline("A"), on_error="continue", dead_letter_queue="file",
                   dead_letter_path=str(tmp_path / "dlq") + "/")
    net.set_node_exec("A", flaky(9, []))
    net.inject_data("A", "in", [1, {"k": "v"}])
    net.start()
    lines = (tmp_path / "dlq" / "dead_letters.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["node_name"] for r in records] == ["A", "A"]
    assert records[0]["exception"] == {"type": "ValueError", "message": "boom 0"}
    assert sorted(json.dumps(list(r["packet_values"].values())) for r in records) == ['[1]', '[{"k": "v"}]']
    assert len(net.dead_letter_queue) == 2
    net.dead_letter_queue.clear()
    assert not (tmp_path / "dlq" / "dead_letters.jsonl").exists()


def test_dlq_callback_modes(make_net):
    got = []
    net = make_net(pipeline("A"), on_error="continue", dead_letter_queue="callback",
                   dead_letter_callback=got.append)
    net.set_node_exec("A", flaky(9, []))
    net.inject_data("A", "in", [1])
    net.start()
    assert len(got) == 1 and net.dead_letter_queue.get_all() == []
    got2 = []
    net2 = make_net(pipeline("A"), on_error="continue", dead_letter_queue=got2.append)
    net2.set_node_exec("A", flaky(9, []))
    net2.inject_data("A", "in", [1])
    net2.start()
    assert len(got2) == 1 and net2.dead_letter_queue.mode == "callback"


def test_dlq_can_be_disabled_per_node(make_net):
    net = make_net(pipeline("A"), on_error="continue")
    net.set_node_exec("A", flaky(9, []))
    net.set_node_config("A", dead_letter_queue=False)
    net.inject_data("A", "in", [1])
    net.start()
    assert net.dead_letter_queue.get_all() == []


def test_dlq_configuration_errors():
    from netrun.errors import NodeConfigError

    with pytest.raises(NodeConfigError, match="must be 'memory', 'file', 'callback'"):
        DeadLetterQueue("disk")
    with pytest.raises(NodeConfigError, match="needs dead_letter_path"):
        DeadLetterQueue("file")
    with pytest.raises(NodeConfigError, match="needs dead_letter_callback"):
        DeadLetterQueue("callback")


def test_an_internal_error_in_failure_handling_ends_the_run_instead_of_hanging(make_net):
    """A bug in the failure path (simulated: cancelling the epoch in the engine raises) used
    to leave the failing epoch counted as running, so the run waited for it forever."""
    net = make_net(pipeline("A", "B"), on_error="continue")
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", flaky(5, []))
    net.inject_data("A", "in", [10])

    def broken(run):
        raise RuntimeError("internal bug in the failure path")

    net._core._cancel_in_engine = broken
    done = threading.Event()
    errors: list = []

    def run():
        try:
            net.start()
        except BaseException as exc:  # noqa: BLE001 - what the run raised is the result
            errors.append(exc)
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(10), "the run hung after an internal error in failure handling"
    assert [type(e) for e in errors] == [RuntimeError]
    assert str(errors[0]) == "internal bug in the failure path"


def test_after_an_internal_error_the_next_run_works(make_net):
    """The counters an internal error resets never go negative when the epochs that were
    still running end, so a later run neither hangs nor miscounts."""
    async def a_slow_for_big_values(ctx, packets):
        [pid] = packets["in"]
        value = await ctx.consume_packet(pid)
        await asyncio.sleep(0 if value == 1 else 0.3)  # 2 and 3 are still running when B fails
        await ctx.load_output_port("out", await ctx.create_packet(value))
        await ctx.send_output_salvo("send")

    net = make_net(pipeline("A", "B"), on_error="continue")
    net.set_node_exec("A", a_slow_for_big_values)
    net.set_node_exec("B", flaky(1, []))
    net.inject_data("A", "in", [1, 2, 3])
    original = net._core._cancel_in_engine
    net._core._cancel_in_engine = lambda run: (_ for _ in ()).throw(RuntimeError("internal bug"))
    with pytest.raises(RuntimeError, match="internal bug"):
        net.start()
    net._core._cancel_in_engine = original
    core = net._core
    net.inject_data("A", "in", [4])
    done = threading.Event()
    threading.Thread(target=lambda: (net.start(), done.set()), daemon=True).start()
    assert done.wait(10), "a run after an internal error hung"
    assert core.running == 0 and all(n.running >= 0 for n in core.nodes.values())
