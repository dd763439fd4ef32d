"""Pools measured THROUGH a Net, each figure a ratio to a baseline measured in the same run.

1. Thread pool: 3-node pipeline (trivial sync functions) with every node on a 4-thread pool,
   epochs/s, vs a plain ``queue.Queue`` pipeline with one thread per stage. Target: >= 20,000
   epochs/s. Also printed: bare ExecutionManager ThreadPool jobs/s (no net at all), the upper
   bound of a thread executor built on the ExecutionManager, which is why the net keeps its
   in-house thread executor.
2. Process pool: one node doing ~1 ms of CPU per epoch on a 2-process pool, vs
   ``concurrent.futures.ProcessPoolExecutor(2)`` mapping the same function over the same
   inputs. Target: >= 0.8x the baseline's throughput.
3. Remote pool: the 1-node net with a trivial function on a pool server on localhost (another
   process, 2 worker processes). Target: >= 5,000 epochs/s.
4. Dask pool: per-epoch time of a 1-node net on an embedded LocalCluster (1 worker, 2 threads)
   vs ``client.submit`` of the same computation on the same cluster. Target: <= 1.3x.
5. Dask values kept in the cluster: a 2-node pipeline on one Dask pool passing a large
   value (a ``numpy`` array, ``--big-mb`` MB) from the first node to the second, which
   returns a small summary; ``keep_values=True`` (the value stays in the cluster) vs
   ``keep_values=False`` (it travels through the net and back), same cluster settings.

Every figure is best-of-N; pools are started (and warmed up) outside the timings.

Run: ``python benchmarks/bench_net_pools.py [--n 20000] [--cpu-n 2000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import multiprocessing
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from netrun_sim import (
    Edge,
    Graph,
    MaxSalvos,
    Node,
    PacketCount,
    Port,
    PortRef,
    PortState,
    PortType,
    SalvoCondition,
    SalvoConditionTerm,
)

from netrun.net import Net

TOKEN = "benchmark-token-0123456789abcdef"
CPU_LOOPS = 0  # calibrated in main()


# -- functions --------------------------------------------------------------------------------
def cpu_work(x: int) -> int:
    total = 0
    for i in range(CPU_LOOPS or int(os.environ.get("NETRUN_BENCH_CPU_LOOPS", "20000"))):
        total += (i * x) % 7
    return total


def calibrate_cpu_loops() -> int:
    global CPU_LOOPS
    loops = 20_000
    for _ in range(3):
        CPU_LOOPS = loops
        start = time.perf_counter()
        for x in range(20):
            cpu_work(x)
        per_call = (time.perf_counter() - start) / 20
        loops = max(1000, int(loops * 0.001 / per_call))
    CPU_LOOPS = loops
    os.environ["NETRUN_BENCH_CPU_LOOPS"] = str(loops)  # for the spawned workers
    return loops


def identity(ctx, packets):
    value = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def cpu_node(ctx, packets):
    value = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(cpu_work(value)))
    ctx.send_output_salvo("send")


def trivial(x: int) -> int:
    return x + 1


def make_array(ctx, packets):
    import numpy

    n = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(numpy.full(n, 1.0)))
    ctx.send_output_salvo("send")


def array_sum(ctx, packets):
    value = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(float(value.sum())))
    ctx.send_output_salvo("send")


# -- graphs -----------------------------------------------------------------------------------
def _node(name: str) -> Node:
    return Node(
        name, {"x": Port()}, {"out": Port()},
        {"default": SalvoCondition(MaxSalvos.finite(1), {"x": PacketCount.count(1)},
                                   SalvoConditionTerm.port("x", PortState.non_empty()))},
        {"send": SalvoCondition(MaxSalvos.infinite(), "out", SalvoConditionTerm.port("out", PortState.non_empty()))},
    )


def pipeline(*names: str) -> Graph:
    edges = [Edge(PortRef(a, PortType.Output, "out"), PortRef(b, PortType.Input, "x")) for a, b in zip(names, names[1:])]
    return Graph([_node(n) for n in names], edges)


def best_of(repeats: int, func: Any) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def run_net(net: Net, sink: str, values: list, source: str = "") -> list:
    net.inject_data(source or sink, "x", values)
    net.start()
    return net.flush_output_queue(f"{sink}::out")


# -- 1. thread pool ---------------------------------------------------------------------------
def queue_pipeline(n: int) -> list:
    q1: queue.Queue = queue.Queue()
    q2: queue.Queue = queue.Queue()
    q3: queue.Queue = queue.Queue()
    q4: queue.Queue = queue.Queue()
    stop = object()

    def stage(inbox: queue.Queue, outbox: queue.Queue) -> None:
        while True:
            item = inbox.get()
            if item is stop:
                outbox.put(stop)
                return
            outbox.put(item)

    threads = [threading.Thread(target=stage, args=qs) for qs in ((q1, q2), (q2, q3), (q3, q4))]
    for t in threads:
        t.start()
    for i in range(n):
        q1.put(i)
    q1.put(stop)
    out = []
    while (item := q4.get()) is not stop:
        out.append(item)
    for t in threads:
        t.join()
    return out


def bench_threads(n: int, repeats: int) -> None:
    base = best_of(repeats, lambda: queue_pipeline(n))
    net = Net(pipeline("a", "b", "c"), thread_pools={"io": {"size": 4}})
    try:
        for name in ("a", "b", "c"):
            net.set_node_exec(name, identity)
            net.set_node_config(name, pool="io")
        values = list(range(n))

        def ours() -> None:
            out = run_net(net, "c", values, "a")
            assert sorted(out) == values

        ours()
        mine = best_of(repeats, ours)
    finally:
        net.stop()
    rate, base_rate = 3 * n / mine, 3 * n / base
    print(f"1. thread pool, 3-node pipeline: {rate:10,.0f} epochs/s   queue.Queue pipeline {base_rate:10,.0f} "
          f"items x stages/s   ratio {rate / base_rate:.2f}x   (target >= 20,000 epochs/s: {verdict(rate >= 20_000)})")

    async def em_jobs() -> float:
        from netrun.execution import ExecutionManager
        from netrun.pool import ThreadPool

        async with ExecutionManager({"t": (ThreadPool, {"num_workers": 4})}) as em:
            await em.send_function_to_pool("t", "trivial", trivial)

            async def once() -> None:
                await asyncio.gather(*(em.run_allocate(["t"], "least-busy", "trivial", func_args=(i,))
                                       for i in range(n)))

            await once()
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                await once()
                best = min(best, time.perf_counter() - start)
            return n / best

    em_rate = asyncio.run(em_jobs())
    print(f"   bare ExecutionManager ThreadPool jobs (no net): {em_rate:10,.0f} jobs/s -> the in-house thread "
          f"executor through a net is {rate / em_rate:.2f}x that bound, so thread pools keep it")


# -- 2. process pool --------------------------------------------------------------------------
def bench_processes(n: int, repeats: int) -> None:
    inputs = list(range(n))
    ctx = multiprocessing.get_context("spawn")
    net = Net(pipeline("cpu"), process_pools={"p": {"size": 2}})
    try:
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as ppe:
            list(ppe.map(cpu_work, range(4)))
            net.set_node_exec("cpu", cpu_node)
            net.set_node_config("cpu", pool="p")
            run_net(net, "cpu", list(range(20)))  # start the processes, ship the node

            def ours() -> None:
                out = run_net(net, "cpu", inputs)
                assert len(out) == n

            base_times, our_times = [], []
            for _ in range(repeats):  # alternate, so a change of machine load hits both alike
                base_times.append(best_of(1, lambda: list(ppe.map(cpu_work, inputs, chunksize=1))))
                our_times.append(best_of(1, ours))
    finally:
        net.stop()
    base, mine = min(base_times), min(our_times)
    ratio = base / mine
    print(f"2. process pool, ~1 ms CPU node, 2 processes: {n / mine:8,.0f} epochs/s   ProcessPoolExecutor "
          f"{n / base:8,.0f} calls/s   ratio {ratio:.2f}x   (target >= 0.80x: {verdict(ratio >= 0.8)})")


# -- 3. remote pool ---------------------------------------------------------------------------
SERVER = """
import asyncio, sys
from pathlib import Path
from netrun.execution import create_execution_manager_server

async def main():
    server = create_execution_manager_server(token=sys.argv[2])
    async with server.serve_background("127.0.0.1", 0) as running:
        Path(sys.argv[1]).write_text(str(running.port))
        await server.wait_for_shutdown()

if __name__ == "__main__":
    asyncio.run(main())
"""


def bench_remote(n: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        script = Path(tmp) / "server.py"
        script.write_text(SERVER)
        proc = subprocess.Popen([sys.executable, str(script), str(port_file), TOKEN])
        try:
            deadline = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text()):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the benchmark server did not start")
                time.sleep(0.05)
            url = f"ws://127.0.0.1:{port_file.read_text()}"
            net = Net(pipeline("r"), pools={"far": {"type": "remote", "url": url, "token": TOKEN,
                                                    "num_processes": 2}})
            try:
                net.set_node_exec("r", identity)
                net.set_node_config("r", pool="far")
                values = list(range(n))
                run_net(net, "r", values[:100])

                def ours() -> None:
                    out = run_net(net, "r", values)
                    assert sorted(out) == values

                mine = best_of(repeats, ours)
            finally:
                net.stop()
        finally:
            proc.kill()
            proc.wait(15)
    rate = n / mine
    print(f"3. remote pool (localhost, 2 processes), trivial node: {rate:10,.0f} epochs/s   "
          f"ratio to target {rate / 5000:.2f}x   (target >= 5,000 epochs/s: {verdict(rate >= 5000)})")


# -- 4. dask ----------------------------------------------------------------------------------
def bench_dask(n: int, repeats: int) -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("4. dask pool: skipped (pip install 'netrun[dask]')")
        return
    net = Net(pipeline("d"), pools={"cl": {"type": "dask", "n_workers": 1, "threads_per_worker": 2}})
    try:
        net.set_node_exec("d", identity)
        net.set_node_config("d", pool="cl")
        values = list(range(n))
        run_net(net, "d", values[:50])
        executor = net._core.executors["cl"]
        client = executor.em.get_pool("cl").client
        loop = executor._loop

        async def submit_all() -> None:
            results = await asyncio.gather(*(client.submit(trivial, i, pure=False) for i in range(n)))
            assert results[-1] == n

        def baseline() -> None:
            asyncio.run_coroutine_threadsafe(submit_all(), loop).result(600)

        def ours() -> None:
            out = run_net(net, "d", values)
            assert sorted(out) == values

        baseline()
        base_times, our_times = [], []
        for _ in range(repeats):  # alternate, so a change of machine load hits both alike
            base_times.append(best_of(1, baseline))
            our_times.append(best_of(1, ours))
    finally:
        net.stop()
    base, mine = min(base_times), min(our_times)
    ratio = mine / base
    print(f"4. dask pool, per-epoch time: {1e3 * mine / n:.3f} ms   client.submit {1e3 * base / n:.3f} ms   "
          f"ratio {ratio:.2f}x   (target <= 1.3x: {verdict(ratio <= 1.3)})")


# -- 5. dask: values kept in the cluster -------------------------------------------------------
def bench_dask_resident(n: int, big_mb: int, repeats: int) -> None:
    try:
        import distributed  # noqa: F401
        import numpy  # noqa: F401
    except ImportError:
        print("5. dask values kept in the cluster: skipped (needs dask and numpy)")
        return
    size = big_mb * 1024 * 1024 // 8
    nets = {}
    try:
        for keep in (False, True):
            net = Net(pipeline("a", "b"), pools={"cl": {"type": "dask", "n_workers": 1, "threads_per_worker": 2,
                                                        "keep_values": keep}})
            net.set_node_exec("a", make_array)
            net.set_node_exec("b", array_sum)
            net.set_node_config("a", pool="cl")
            net.set_node_config("b", pool="cl")
            run_net(net, "b", [10] * 4, source="a")
            nets[keep] = net

        def run(keep: bool) -> None:
            out = run_net(nets[keep], "b", [size] * n, source="a")
            assert out == [float(size)] * n

        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(repeats):
            for keep in (False, True):
                times[keep].append(best_of(1, lambda k=keep: run(k)))
    finally:
        for net in nets.values():
            net.stop()
    through, kept = min(times[False]), min(times[True])
    print(f"5. dask, {big_mb} MB value between two nodes of one pool: kept in the cluster {1e3 * kept / n:.2f} ms/epoch"
          f"   through the net {1e3 * through / n:.2f} ms/epoch   ratio {kept / through:.2f}x (lower is better)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--cpu-n", type=int, default=2_000)
    parser.add_argument("--dask-n", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big-mb", type=int, default=16)
    parser.add_argument("--big-n", type=int, default=20)
    parser.add_argument("--only", default="12345")
    args = parser.parse_args()
    loops = calibrate_cpu_loops()
    print(f"(CPU node: {loops} loop iterations ~ 1 ms here; {os.cpu_count()} CPUs)")
    if "1" in args.only:
        bench_threads(args.n, args.repeats)
    if "2" in args.only:
        bench_processes(args.cpu_n, args.repeats)
    if "3" in args.only:
        bench_remote(args.n, args.repeats)
    if "4" in args.only:
        bench_dask(args.dask_n, args.repeats)
    if "5" in args.only:
        bench_dask_resident(args.big_n, args.big_mb, args.repeats)


if __name__ == "__main__":
    main()
