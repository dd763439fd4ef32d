"""Pool benchmarks, each printed as a ratio to a baseline measured in the same run.

1. Thread pool, trivial function: ExecutionManager jobs/s on a ThreadPool(4) against plain
   ``loop.run_in_executor`` on a ``concurrent.futures.ThreadPoolExecutor(4)`` (same calls,
   same concurrency: all jobs in flight at once, awaited from the event loop).
2. Process pool, ~1 ms of CPU per call, 2 processes: ExecutionManager on a
   MultiprocessPool(2) against ``ProcessPoolExecutor(2)`` (spawn) mapping the same function
   over the same inputs. Target: >= 80 % of the baseline's throughput.
3. Remote pool over localhost, trivial function: an ExecutionManager server in another
   process (2 worker processes), jobs/s from this process. Target: >= 5,000 jobs/s; the
   ratio to (1) is printed too.
4. Dask pool: per-job time of ExecutionManager jobs on an embedded LocalCluster against
   ``client.submit`` of the same function on the same cluster. Target: <= 1.3x.

Every figure is best-of-N; pools are started (and warmed up) outside the timings. The same
targets measured through a ``Net`` are in ``bench_net_pools.py``.

Run: ``python benchmarks/bench_pools.py [--jobs 20000] [--cpu-jobs 2000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from netrun.execution import ExecutionManager
from netrun.pool import MultiprocessPool, ThreadPool
from netrun.pool.remote import RemotePoolClient

TOKEN = "benchmark-token-0123456789abcdef"
CPU_LOOPS = 0  # calibrated in main()


def trivial(x: int) -> int:
    return x + 1


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


async def best_of(repeats: int, func) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await func()
        times.append(time.perf_counter() - start)
    return min(times)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


# -- 1. thread pool -------------------------------------------------------------------------
async def bench_threads(jobs: int, repeats: int) -> float:
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(4) as tpe:
        async def baseline() -> None:
            results = await asyncio.gather(*(loop.run_in_executor(tpe, trivial, i) for i in range(jobs)))
            assert results[-1] == jobs

        await baseline()
        base = await best_of(repeats, baseline)
    async with ExecutionManager({"t": (ThreadPool, {"num_workers": 4})}) as em:
        await em.send_function_to_pool("t", "trivial", trivial)

        async def ours() -> None:
            results = await asyncio.gather(*(em.run_allocate(["t"], "least-busy", "trivial", func_args=(i,))
                                             for i in range(jobs)))
            assert results[-1].result == jobs

        await ours()
        mine = await best_of(repeats, ours)
    rate, base_rate = jobs / mine, jobs / base
    print(f"thread pool, trivial jobs:   {rate:10,.0f} jobs/s   ThreadPoolExecutor {base_rate:10,.0f} jobs/s   "
          f"ratio {rate / base_rate:.2f}x")
    return rate


# -- 2. process pool ------------------------------------------------------------------------
async def bench_processes(jobs: int, repeats: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    inputs = list(range(jobs))
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as ppe:
        list(ppe.map(cpu_work, range(4)))  # start the workers

        async def baseline() -> None:
            results = await asyncio.to_thread(lambda: list(ppe.map(cpu_work, inputs, chunksize=1)))
            assert len(results) == jobs

        async with ExecutionManager({"p": (MultiprocessPool, {"num_processes": 2})}) as em:
            await em.send_function_to_pool("p", "cpu", cpu_work)

            async def ours() -> None:
                results = await asyncio.gather(*(em.run_allocate(["p"], "least-busy", "cpu", func_args=(x,))
                                                 for x in inputs))
                assert len(results) == jobs and all(r.ok for r in results)

            await ours()
            base_times, our_times = [], []
            for _ in range(repeats):  # alternate, so a change of machine load hits both alike
                base_times.append(await best_of(1, baseline))
                our_times.append(await best_of(1, ours))
    base, mine = min(base_times), min(our_times)
    ratio = base / mine
    print(f"process pool, ~1 ms CPU jobs: {jobs / mine:10,.0f} jobs/s   ProcessPoolExecutor {jobs / base:10,.0f} jobs/s   "
          f"ratio {ratio:.2f}x   (target >= 0.80x: {verdict(ratio >= 0.8)})")


# -- 3. remote pool -------------------------------------------------------------------------
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


async def bench_remote(jobs: int, repeats: int, thread_rate: float) -> None:
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
                await asyncio.sleep(0.05)
            url = f"ws://127.0.0.1:{port_file.read_text()}"
            cfg = {"url": url, "token": TOKEN, "num_processes": 2, "threads_per_process": 1}
            async with ExecutionManager({"r": (RemotePoolClient, cfg)}) as em:
                await em.send_function_to_pool("r", "trivial", trivial, by_value=True)

                async def ours() -> None:
                    results = await asyncio.gather(*(em.run_allocate(["r"], "least-busy", "trivial", func_args=(i,))
                                                     for i in range(jobs)))
                    assert results[-1].result == jobs

                await ours()
                mine = await best_of(repeats, ours)
                stopper = RemotePoolClient(url, token=TOKEN)
                await stopper.request_shutdown()
                await stopper.close()
        finally:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    rate = jobs / mine
    print(f"remote pool (localhost, 2 processes), trivial jobs: {rate:10,.0f} jobs/s   "
          f"(target >= 5,000: {verdict(rate >= 5000)})   ratio to thread pool {rate / thread_rate:.2f}x")


# -- 4. dask --------------------------------------------------------------------------------
async def bench_dask(jobs: int, repeats: int) -> None:
    try:
        from netrun.pool.dask import DaskPool
    except ImportError:
        print("dask pool: skipped (pip install 'netrun[dask]')")
        return
    async with ExecutionManager({"d": (DaskPool, {"n_workers": 1, "threads_per_worker": 2})}) as em:
        await em.send_function_to_pool("d", "trivial", trivial)
        client = em.get_pool("d").client

        async def baseline() -> None:
            results = await asyncio.gather(*(client.submit(trivial, i, pure=False) for i in range(jobs)))
            assert results[-1] == jobs

        async def ours() -> None:
            results = await asyncio.gather(*(em.run_allocate(["d"], "least-busy", "trivial", func_args=(i,))
                                             for i in range(jobs)))
            assert results[-1].result == jobs

        await baseline()
        await ours()
        base_times, our_times = [], []
        for _ in range(repeats):  # alternate, so a change of machine load hits both alike
            base_times.append(await best_of(1, baseline))
            our_times.append(await best_of(1, ours))
    base, mine = min(base_times), min(our_times)
    ratio = mine / base
    print(f"dask pool, per-job time: {1e3 * mine / jobs:.3f} ms   client.submit {1e3 * base / jobs:.3f} ms   "
          f"ratio {ratio:.2f}x   (target <= 1.3x: {verdict(ratio <= 1.3)})")


async def main(args: argparse.Namespace) -> None:
    loops = calibrate_cpu_loops()
    print(f"(CPU job: {loops} loop iterations ~ 1 ms here; {os.cpu_count()} CPUs)")
    thread_rate = await bench_threads(args.jobs, args.repeats)
    await bench_processes(args.cpu_jobs, args.repeats)
    await bench_remote(args.jobs, args.repeats, thread_rate)
    await bench_dask(args.dask_jobs, args.repeats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--cpu-jobs", type=int, default=2_000)
    parser.add_argument("--dask-jobs", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
