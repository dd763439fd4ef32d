"""Process pools: node functions in worker processes (one pool per test module, small)."""

from __future__ import annotations

import concurrent.futures
import os
import threading

import pytest
from _net_graphs import pipeline
from _net_nodes import passthrough

from netrun.errors import NodeExecutionFailed, PacketValueNotPicklable


def pid_tagger(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    print("in worker", value)
    ctx.load_output_port("out", ctx.create_packet((value, os.getpid())))
    ctx.send_output_salvo("send")


async def async_tagger(ctx, packets):
    value = await ctx.consume_packet(packets["in"][0])
    await ctx.load_output_port("out", await ctx.create_packet(value * 3))
    await ctx.send_output_salvo("send")


def returns_lock(ctx, packets):
    ctx.consume_packet(packets["in"][0])
    ctx.load_output_port("out", ctx.create_packet(threading.Lock()))
    ctx.send_output_salvo("send")


@pytest.mark.timeout(60)
def test_process_pool_runs_nodes_in_other_processes(make_net):
    net = make_net(pipeline("A", "B"), process_pools={"cpu": {"size": 2}}, on_error="continue")
    net.set_node_exec("A", pid_tagger)
    net.set_node_exec("B", passthrough)
    net.set_node_config("A", pool="cpu")
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    out = net.flush_output_queue("B::out")
    assert sorted(v for v, _ in out) == [1, 2, 3]
    assert all(p != os.getpid() for _, p in out)
    messages = sorted(e.message for e in net.get_node_log("A"))
    assert messages == ["in worker 1", "in worker 2", "in worker 3"]
    assert all(e.epoch_id for e in net.get_node_log("A"))

    # async functions and lazy values run in the worker too
    net.set_node_exec("A", async_tagger)
    net.inject_data("A", "in", [5])
    net.start()
    assert net.flush_output_queue("B::out") == [15]

    # values that cannot travel fail the epoch with a clear error, and nothing is lost
    net.inject_data("A", "in", [threading.Lock()])
    net.start()
    [entry] = net.dead_letter_queue.get_all()
    assert isinstance(entry.exception, PacketValueNotPicklable)
    assert "on input port 'in' of node 'A'" in str(entry.exception)

    net.set_node_exec("A", returns_lock)
    net.inject_data("A", "in", [1])
    net.start()
    error = net.dead_letter_queue.get_all()[-1].exception
    assert isinstance(error, PacketValueNotPicklable) and "created by node 'A'" in str(error)


def write_marker(path):
    def start(net):
        assert net is None  # the Net cannot travel to a worker process
        with open(path, "a") as fh:
            fh.write(f"start {os.getpid()}\n")

    def stop(net):
        with open(path, "a") as fh:
            fh.write(f"stop {os.getpid()}\n")

    return start, stop


@pytest.mark.timeout(60)
def test_process_pool_start_and_stop_functions_run_in_each_worker(make_net, tmp_path):
    marker = tmp_path / "marker.txt"
    start, stop = write_marker(str(marker))
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}})
    net.set_node_exec("A", pid_tagger, start_node_func=start, stop_node_func=stop)
    net.set_node_config("A", pool="cpu")
    net.inject_data("A", "in", [1])
    net.start()
    [(value, worker_pid)] = net.flush_output_queue("A::out")
    assert marker.read_text().split() == ["start", str(worker_pid)]
    net.stop()
    assert marker.read_text().split() == ["start", str(worker_pid), "stop", str(worker_pid)]


def test_process_pool_start_method_is_checked():
    from netrun.errors import NodeConfigError
    from netrun.net import Net

    with pytest.raises(NodeConfigError, match="start_method 'teleport' is not available"):
        Net(pipeline("A"), process_pools={"cpu": {"size": 1, "start_method": "teleport"}})


class CountsShipping:
    """An exec function that notes in a file each time it is unpickled (shipped)."""

    def __init__(self, path):
        self.path = path

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.path = state["path"]
        with open(self.path, "a") as fh:
            fh.write(f"{os.getpid()}\n")

    def __call__(self, ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet(value + 1))
        ctx.send_output_salvo("send")


def failing_start(net):
    raise RuntimeError("no database here")


@pytest.mark.timeout(60)
def test_node_functions_are_shipped_once_per_worker_not_per_epoch(make_net, tmp_path):
    shipped = tmp_path / "shipped"
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 2}})
    net.set_node_exec("A", CountsShipping(str(shipped)))
    net.set_node_config("A", pool="cpu")
    net.inject_data("A", "in", list(range(20)))
    net.start()
    assert sorted(net.flush_output_queue("A::out")) == list(range(1, 21))
    net.inject_data("A", "in", [100])
    net.start()  # a second run ships nothing new
    assert net.flush_output_queue("A::out") == [101]
    pids = shipped.read_text().split()
    assert len(pids) == 2 and len(set(pids)) == 2  # once per worker process


@pytest.mark.timeout(60)
def test_a_failing_start_function_in_a_worker_fails_the_run_naming_the_node(make_net):
    from netrun.errors import NodeLifecycleError

    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}})
    net.set_node_exec("A", pid_tagger, start_node_func=failing_start)
    net.set_node_config("A", pool="cpu")
    net.inject_data("A", "in", [1])
    with pytest.raises(NodeLifecycleError, match="no database here") as info:
        net.start()
    assert "'A'" in str(info.value) and "start" in str(info.value)


def test_node_functions_that_cannot_travel_are_refused_at_start(make_net):
    lock = threading.Lock()

    def holds_a_lock(ctx, packets):
        with lock:
            pass

    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}})
    net.set_node_exec("A", holds_a_lock)
    net.set_node_config("A", pool="cpu")
    net.inject_data("A", "in", [1])
    with pytest.raises(PacketValueNotPicklable, match="functions or port types of node 'A'.*process pool 'cpu'"):
        net.start()


@pytest.mark.timeout(60)
def test_a_process_pool_follows_the_net_from_its_own_loop_to_the_callers(make_net):
    import asyncio

    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}})
    net.set_node_exec("A", pid_tagger)
    net.set_node_config("A", pool="cpu")
    net.inject_data("A", "in", [1])
    net.start()  # on the net's private loop
    [(_, first)] = net.flush_output_queue("A::out")

    async def on_my_loop():
        net.inject_data("A", "in", [2])
        await net.async_start()
        out = net.flush_output_queue("A::out")
        await net.async_stop()  # the pool closes on the loop it runs on
        return out

    # the caller's own loop, on a thread of its own (the main thread may host another loop)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        [(value, second)] = pool.submit(asyncio.run, on_my_loop()).result(60)  # pool reopened there
    assert value == 2 and second != first
