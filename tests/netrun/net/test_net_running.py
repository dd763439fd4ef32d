"""Background runs, pause/stop, waiting, polling, SIGINT, output queues, epoch callbacks."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from _net_graphs import pipeline
from _net_nodes import make_sleeper, passthrough

from netrun.errors import NetStateError, NodeExecutionFailed, OutputQueueNotFoundError
from netrun.net import BackgroundNetRunner, ConsumedOutputPacket, EpochLog, NetState


def test_background_run_picks_up_later_work(make_net):
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", passthrough)
    runner = net.start(threaded=True)
    assert isinstance(runner, BackgroundNetRunner) and runner.is_running
    assert net.wait_until_blocked(2) and net.poll()
    net.inject_data("A", "in", [1, 2])
    assert net.get_output("B::out", timeout=2) == 1
    assert net.get_output(node="B", port="out", timeout=2) == 2
    assert runner.wait_until_blocked(2) and runner.poll()
    assert net.state is NetState.RUNNING
    net.pause()
    assert net.state is NetState.PAUSED and not runner.is_running


def test_wait_until_blocked_times_out_while_busy(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", make_sleeper(0.3))
    net.set_node_config("A", timeout=5)  # runs on a helper thread
    net.inject_data("A", "in", [1])
    net.start(threaded=True)
    assert net.wait_until_blocked(0.05) is False
    assert net.poll() is False
    assert net.wait_until_blocked(3) is True


def test_pause_lets_running_epochs_finish(make_net):
    intervals = []
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 2}})
    net.set_node_exec("A", make_sleeper(0.1, intervals))
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", range(10))
    net.start(threaded=True)
    time.sleep(0.05)
    net.pause()
    done = len(intervals)
    assert done == 2 and net.state is NetState.PAUSED   # the two running ones finished
    assert len(net.get_startable_epochs()) == 8         # the rest wait
    net.start()
    assert len(net.flush_output_queue("A::out")) == 10


def test_starting_twice_is_refused(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", passthrough)
    net.start(threaded=True)
    with pytest.raises(NetStateError, match="already running"):
        net.start(threaded=True)
    with pytest.raises(NetStateError, match="already running"):
        net.start()
    net.pause()


def test_background_error_is_reraised_by_wait(make_net):
    def bad(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        raise RuntimeError("broken")

    net = make_net(pipeline("A"), on_error="raise")
    net.set_node_exec("A", bad)
    runner = net.start(threaded=True)
    net.inject_data("A", "in", [1])
    with pytest.raises(NodeExecutionFailed, match="broken"):
        net.wait_until_blocked(3)
    assert isinstance(runner.get_exception(), NodeExecutionFailed)


def test_run_step_threaded(make_net):
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", passthrough)
    net.inject_data("A", "in", [1])
    runner = net.run_step(threaded=True)
    assert runner.result(2) is True
    assert net.flush_output_queue("B::out") == []  # only A ran


def test_stop_from_background_run(make_net):
    stops = []
    net = make_net(pipeline("A"))
    net.set_node_exec("A", passthrough, stop_node_func=stops.append)
    net.start(threaded=True)
    net.inject_data("A", "in", [1])
    assert net.wait_until_blocked(2)
    net.inject_data("A", "in", [2])
    net.stop()  # pauses first: the new packet's epoch may not start
    assert net.state is NetState.STOPPED and stops == [net]
    assert net.flush_output_queue("A::out")[:1] == [1]


def test_async_control_methods(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", passthrough)

    async def main():
        net.start(threaded=True)   # runs on the net's own loop thread
        net.inject_data("A", "in", [1, 2])
        assert await net.async_wait_until_blocked(2)
        assert await net.async_get_output("A::out", timeout=1) == 1
        await net.async_pause()
        assert net.state is NetState.PAUSED
        with pytest.raises(TimeoutError, match="within 0.05 s"):
            await net.async_get_output("A::out", timeout=0.05) if net.try_get_output("A::out") == 2 else None
        await net.async_stop()
        return net.state

    assert asyncio.run(main()) is NetState.STOPPED


def test_output_queue_reading(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", passthrough)
    [p1, _] = net.inject_data("A", "in", ["x", "y"])
    net.start()
    first = net.try_get_output("A::out", include_metadata=True)
    assert isinstance(first, ConsumedOutputPacket)
    assert (first.value, first.from_node, first.from_port, first.queue_name) == ("x", "A", "out", "A::out")
    assert len(first.packet_id) == 26 and first.packet_id != p1 and first.epoch_id
    assert net.flush_all_output_queues() == {"A::out": ["y"]}
    assert net.flush_all_output_queues() == {}
    assert net.try_get_output("A::out") is None
    with pytest.raises(TimeoutError, match="No value arrived in output queue 'A::out' within 0.01 s"):
        net.get_output("A::out", timeout=0.01)
    with pytest.raises(OutputQueueNotFoundError, match=r"No output queue named 'B::out'.*known queues: A::out"):
        net.flush_output_queue("B::out")
    with pytest.raises(KeyError):
        net.get_output(node="A", port="nope")
    assert net.get_packet(first.packet_id) is None  # it left the net


def test_output_queues_can_be_disabled_or_chosen(make_net):
    from netrun.errors import NodeConfigError

    net = make_net(pipeline("A"), output_queues=False)
    net.set_node_exec("A", passthrough)
    net.inject_data("A", "in", [1])
    net.start()
    assert net.output_queue_names == []
    [pid] = net.value_store.active_ids()  # the packet stays outside the net, with its value
    assert net.get_packet(pid).location.kind == "OutsideNet"
    net2 = make_net(pipeline("A"), output_queues={"A::out": "results"})
    assert net2.output_queue_names == ["results"]
    with pytest.raises(NodeConfigError, match="no unconnected output port 'x' on node 'A'"):
        make_net(pipeline("A"), output_queues=["A::x"])


def test_epoch_callbacks(make_net):
    events = []
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", passthrough)
    remove_start = net.on_epoch_start(lambda node, epoch: events.append(("start", node)))
    net.on_epoch_end(lambda node, epoch, log: events.append(("end", node, log.outcome)), node="B")

    async def async_cb(node, epoch, log):
        assert isinstance(log, EpochLog) and log.epoch_id == epoch and log.duration_ms >= 0
        events.append(("async-end", node))

    net.on_epoch_end(async_cb)
    net.inject_data("A", "in", [1])
    net.start()
    # async callbacks run as tasks: their order relative to sync ones is not fixed
    assert [e for e in events if e[0] != "async-end"] == [("start", "A"), ("start", "B"), ("end", "B", "success")]
    assert sorted(e for e in events if e[0] == "async-end") == [("async-end", "A"), ("async-end", "B")]
    remove_start()
    events.clear()
    net.inject_data("A", "in", [2])
    net.start()
    assert ("start", "A") not in events
    with pytest.raises(TypeError, match="needs a callable"):
        net.on_epoch_start(5)


def test_epoch_log_round_trip(make_net):
    logs = []
    net = make_net(pipeline("A"))

    def printer(ctx, packets):
        print("hello")
        passthrough(ctx, packets)

    net.set_node_exec("A", printer)
    net.on_epoch_end(lambda n, e, log: logs.append(log))
    net.inject_data("A", "in", [1])
    net.start()
    [log] = logs
    assert log.logs[0][1] == "hello" and log.in_salvo_packet_count == 1 and log.pool_id == "main"
    again = EpochLog.from_dict(log.to_dict())
    assert again == log


SIGINT_SCRIPT = textwrap.dedent(
    """
    import sys, time, os
    sys.path.insert(0, {tests!r})
    from _net_graphs import pipeline
    from netrun.net import Net

    def slow(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        time.sleep(0.2)
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")
        print("done", value, file=sys.stderr, flush=True)

    net = Net(pipeline("A"), thread_pools={{"io": {{"size": 1}}}})
    net.set_node_exec("A", slow)
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", range(20))
    print("ready", flush=True)
    net.start()
    out = net.flush_output_queue("A::out")
    print("returned", net.state.name, len(out), len(net.get_startable_epochs()), flush=True)
    net.stop()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_pauses_a_running_net_cleanly(tmp_path):
    script = tmp_path / "sigint_net.py"
    script.write_text(SIGINT_SCRIPT.format(tests=os.path.dirname(__file__)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    state, done, waiting = out.split()[1:4]
    assert state == "PAUSED" and 1 <= int(done) < 20 and int(done) + int(waiting) == 20
    assert "Traceback" not in err


def test_state_snapshot_only_while_paused(make_net):
    from netrun.errors import NetNotPausedError

    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.inject_data("A", "in", [1, 2])
    net.start()
    state = net._core.snapshot_state()
    assert len(state["epochs"]) == 2 and all(e["node_name"] == "B" for e in state["epochs"])
    assert sorted(state["values"].values()) == [1, 2] and state["state"] == "PAUSED"
    assert state["engine"] is None or isinstance(state["engine"], dict)
    net.start(threaded=True)
    with pytest.raises(NetNotPausedError, match="requires the net to be paused"):
        net._core.snapshot_state()
    net.pause()


def test_async_functions_in_a_thread_pool(make_net):
    names = []

    async def node_func(ctx, packets):
        names.append(threading.current_thread().name)
        await asyncio.sleep(0.01)
        value = await ctx.consume_packet(packets["in"][0])
        await ctx.load_output_port("out", await ctx.create_packet(value + 1))
        await ctx.send_output_salvo("send")

    net = make_net(pipeline("A"), thread_pools={"io": {"size": 2}})
    net.set_node_exec("A", node_func)
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    assert sorted(net.flush_output_queue("A::out")) == [2, 3, 4]
    assert all(n.startswith("netrun-io-") for n in names)


def test_sync_run_from_inside_a_node_is_refused(make_net):
    net = make_net(pipeline("A"), on_error="raise")
    caught = []

    def reentrant(ctx, packets):
        try:
            net.run_step()
        except NetStateError as exc:
            caught.append(str(exc))
        passthrough(ctx, packets)

    net.set_node_exec("A", reentrant)
    net.inject_data("A", "in", [1])
    net.start()
    assert caught and "from inside the net's own event loop" in caught[0]


def test_an_unstopped_net_releases_its_threads_when_collected():
    import gc

    from netrun.net import Net

    before = {t.name for t in threading.enumerate()}
    net = Net(pipeline("A"), thread_pools={"gcpool": {"size": 2}})
    net.set_node_exec("A", passthrough)
    net.set_node_config("A", pool="gcpool")
    net.inject_data("A", "in", [1])
    net.start()
    assert any(t.name.startswith("netrun-gcpool-") for t in threading.enumerate())
    del net
    gc.collect()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        names = {t.name for t in threading.enumerate()} - before
        if not any(n.startswith(("netrun-gcpool-", "netrun-loop-")) for n in names):
            break
        time.sleep(0.02)
    assert not any(n.startswith(("netrun-gcpool-", "netrun-loop-")) for n in names)


def test_loop_closed_when_close_runs_on_its_own_thread():
    """close() called on the loop's own thread (as when a Net is collected there) still
    closes the loop once it stops, instead of leaving it to the garbage collector."""
    from netrun.net._loop import LoopThread

    lt = LoopThread("netrun-loop-selfclose")
    loop = lt.loop
    thread = lt._thread
    loop.call_soon_threadsafe(lt.close)
    thread.join(5)
    assert not thread.is_alive()
    assert loop.is_closed()
