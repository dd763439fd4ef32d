"""Parallelism: max_parallel_epochs, thread pools, start/stop functions per worker, rate
limits (without busy spinning), order."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from _net_graphs import pipeline
from _net_nodes import make_sleeper, max_overlap, passthrough


def test_eight_injected_packets_start_four_epochs_at_once_in_a_pool(make_net):
    intervals = []
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 8}})
    net.set_node_exec("A", make_sleeper(0.15, intervals))
    net.set_node_config("A", pool="io", max_parallel_epochs=4)
    net.inject_data("A", "in", range(8))
    started = time.monotonic()
    net.start()
    elapsed = time.monotonic() - started
    assert max_overlap(intervals) == 4
    assert 0.28 <= elapsed < 0.95  # two waves of four, not eight serial epochs (1.2 s)
    assert sorted(net.flush_output_queue("A::out")) == list(range(8))


def test_async_nodes_run_concurrently_up_to_the_limit(make_net):
    active, peak = [0], [0]

    async def node_func(ctx, packets):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        await asyncio.sleep(0.05)
        active[0] -= 1
        value = await ctx.consume_packet(packets["in"][0])
        await ctx.load_output_port("out", await ctx.create_packet(value))
        await ctx.send_output_salvo("send")

    net = make_net(pipeline("A"))
    net.set_node_exec("A", node_func)
    net.set_node_config("A", max_parallel_epochs=3)
    net.inject_data("A", "in", range(9))
    started = time.monotonic()
    net.start()
    assert peak[0] == 3 and time.monotonic() - started < 1.0
    assert sorted(net.flush_output_queue("A::out")) == list(range(9))


def test_pool_size_bounds_concurrency(make_net):
    intervals = []
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 2}})
    net.set_node_exec("A", make_sleeper(0.05, intervals))
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", range(6))
    net.start()
    assert max_overlap(intervals) == 2


def test_threads_run_in_named_pool_threads(make_net):
    names = set()

    def node_func(ctx, packets):
        names.add(threading.current_thread().name)
        passthrough(ctx, packets)

    net = make_net(pipeline("A"), thread_pools={"io": {"size": 2}})
    net.set_node_exec("A", node_func)
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", range(4))
    net.start()
    assert names and all(n.startswith("netrun-io-") for n in names)


def test_single_worker_pipeline_keeps_order(make_net):
    net = make_net(pipeline("A", "B", "C"), thread_pools={"one": {"size": 1}})
    for name in "ABC":
        net.set_node_exec(name, passthrough)
        net.set_node_config(name, pool="one")
    net.inject_data("A", "in", range(200))
    net.start()
    assert net.flush_output_queue("C::out") == list(range(200))


def test_per_worker_start_and_stop_functions(make_net):
    starts, stops = [], []
    lock = threading.Lock()

    def start(net):
        with lock:
            starts.append(threading.current_thread().name)

    def stop(net):
        with lock:
            stops.append(threading.current_thread().name)

    net = make_net(pipeline("A"), thread_pools={"io": {"size": 3}})
    net.set_node_exec("A", passthrough, start_node_func=start, stop_node_func=stop)
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", [1])
    net.start()
    assert sorted(starts) == ["netrun-io-0", "netrun-io-1", "netrun-io-2"]
    net.start()  # start functions run once per worker for the net's lifetime
    assert len(starts) == 3
    net.stop()
    assert sorted(stops) == sorted(starts)


def test_global_start_function_runs_once(make_net):
    starts = []
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 3}})
    net.set_node_exec("A", passthrough, start_node_func=lambda n: starts.append(n))
    net.set_node_config("A", pool="io", pool_init_mode="global")
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert starts == [net]


def test_start_functions_on_the_main_loop_may_be_async(make_net):
    events = []

    async def start(net):
        await asyncio.sleep(0)
        events.append("start")

    async def stop(net):
        events.append("stop")

    net = make_net(pipeline("A"))
    net.set_node_exec("A", passthrough, start, stop)
    net.start()
    net.start()
    assert events == ["start"]
    net.stop()
    assert events == ["start", "stop"]


def test_failing_start_function_is_reported(make_net):
    from netrun.errors import NodeLifecycleError

    def start(net):
        raise OSError("no database")

    net = make_net(pipeline("A"))
    net.set_node_exec("A", passthrough, start_node_func=start)
    with pytest.raises(NodeLifecycleError, match="The start function of node 'A' failed: OSError: no database"):
        net.start()


def test_rate_limit_spaces_starts_without_busy_spinning(make_net):
    stamps = []

    def node_func(ctx, packets):
        stamps.append(time.monotonic())
        passthrough(ctx, packets)

    net = make_net(pipeline("A"))
    net.set_node_exec("A", node_func)
    net.set_node_config("A", rate_limit_per_second=20)
    net.inject_data("A", "in", range(5))
    cpu0, wall0 = time.process_time(), time.monotonic()
    net.start()
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert all(g >= 0.045 for g in gaps) and 0.19 <= wall < 1.0
    assert cpu < wall * 0.5  # sleeping, not spinning


def test_multiple_pools_least_busy(make_net):
    used = []

    def node_func(ctx, packets):
        used.append(threading.current_thread().name.split("-")[1])
        time.sleep(0.05)
        passthrough(ctx, packets)

    net = make_net(pipeline("A"), thread_pools={"p1": {"size": 1}, "p2": {"size": 1}})
    net.set_node_exec("A", node_func)
    net.set_node_config("A", pool=["p1", "p2"])
    net.inject_data("A", "in", range(2))
    net.start()
    assert sorted(used) == ["p1", "p2"]
