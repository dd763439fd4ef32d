"""ExecutionManager under faults: killed workers, time limits, closing, allocation."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _jobs
from conftest import wait_gone

from netrun.execution import (
    ArgumentsNotPicklable,
    ExecutionError,
    ExecutionManager,
    ExecutionManagerNotStarted,
    JobCancelled,
    RunAllocationMethod,
    UnknownPool,
    WorkerCrashed,
    WorkerTimeout,
)
from netrun.pool import MultiprocessPool, SingleWorkerPool, ThreadPool


def run(coro: Any, timeout: float = 90) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def _ship(em: ExecutionManager, pool_id: str, *names: str) -> None:
    for name in names:
        await em.send_function_to_pool(pool_id, name, getattr(_jobs, name))


def test_killed_process_fails_its_job_promptly_and_the_queue_moves_on(tmp_path: Path) -> None:
    marks = tmp_path / "marks"

    async def main() -> None:
        async with ExecutionManager({"p": (MultiprocessPool, {"num_processes": 1})}) as em:
            await _ship(em, "p", "sleep", "mark", "pid")
            old_pid = em.get_process_ids("p")[0]
            busy = asyncio.create_task(em.run("p", 0, "sleep", func_args=(30,)))
            queued = [asyncio.create_task(em.run("p", 0, "mark", func_args=(str(marks), f"q{i}"))) for i in range(3)]
            await asyncio.sleep(0.3)
            loop = asyncio.get_running_loop()
            start = loop.time()
            os.kill(old_pid, signal.SIGKILL)
            with pytest.raises(WorkerCrashed) as info:
                await busy
            assert loop.time() - start < 2.0
            msg = str(info.value)
            assert "function 'sleep'" in msg and "on pool 'p' worker 0 did not complete" in msg
            assert f"(process {old_pid})" in msg and "killed by signal 9" in msg and "replacement" in msg
            # The jobs queued behind it had not started: they ran on the replacement, once each.
            assert [(await q).result for q in queued] == ["q0", "q1", "q2"]
            assert marks.read_text().split() == ["q0", "q1", "q2"]
            # Later jobs run on the live replacement, which got the functions again.
            assert (await em.run("p", 0, "pid")).result not in (old_pid, None)

    run(main())


def test_process_job_timeout_kills_and_replaces_the_worker() -> None:
    async def main() -> None:
        async with ExecutionManager({"p": (MultiprocessPool, {"num_processes": 1})}) as em:
            await _ship(em, "p", "sleep", "pid")
            old_pid = em.get_process_ids("p")[0]
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(WorkerTimeout, match=r"function 'sleep' \(run p:\d+\) on pool 'p' worker 0 ran longer than "
                                                    r"its 0.3 s time limit; its process was killed and replaced"):
                await em.run("p", 0, "sleep", func_args=(30,), timeout=0.3)
            assert loop.time() - start < 1.5
            new_pid = (await em.run("p", 0, "pid", timeout=30)).result
            assert new_pid != old_pid
            assert not await asyncio.to_thread(wait_gone, [old_pid], 5)

    run(main())


def test_timeout_on_a_shared_process_fails_the_sibling_job_as_crashed() -> None:
    async def main() -> None:
        async with ExecutionManager({"p": (MultiprocessPool, {"num_processes": 1, "threads_per_process": 2})}) as em:
            await _ship(em, "p", "sleep")
            sibling = asyncio.create_task(em.run("p", 1, "sleep", func_args=(30,)))
            await asyncio.sleep(0.2)
            with pytest.raises(WorkerTimeout):
                await em.run("p", 0, "sleep", func_args=(30,), timeout=0.3)
            with pytest.raises(WorkerCrashed, match=r"exceeded its 0.3 s time limit"):
                await sibling

    run(main())


def test_thread_job_timeout_abandons_the_thread_and_frees_the_slot() -> None:
    async def main() -> None:
        async with ExecutionManager({"t": (ThreadPool, {"num_workers": 1})}) as em:
            await _ship(em, "t", "sleep", "thread_name")
            first = (await em.run("t", 0, "thread_name")).result
            with pytest.raises(WorkerTimeout, match="its thread was abandoned and replaced"):
                await em.run("t", 0, "sleep", func_args=(3.0,), timeout=0.2)
            loop = asyncio.get_running_loop()
            start = loop.time()
            job = await em.run("t", 0, "thread_name", timeout=5)
            assert loop.time() - start < 2.0  # not stuck behind the abandoned 3 s job
            assert job.result == first  # same worker id and name, fresh thread
        # (the abandoned daemon thread finishes its sleep on its own; its reply is dropped)

    run(main())


def test_async_job_timeout_on_the_event_loop_pool_cancels_it(tmp_path: Path) -> None:
    flag = tmp_path / "flag"

    async def main() -> None:
        async with ExecutionManager({"m": (SingleWorkerPool, {})}) as em:
            await _ship(em, "m", "async_sleep_then_mark", "add")
            with pytest.raises(WorkerTimeout, match="its task was cancelled"):
                await em.run("m", 0, "async_sleep_then_mark", func_args=(30, str(flag)), timeout=0.2)
            await asyncio.sleep(0.1)
            assert flag.read_text() == "cancelled"
            assert (await em.run("m", 0, "add", func_args=(1, 2))).result == 3

    run(main())


def test_close_drain_waits_for_running_jobs() -> None:
    async def main() -> None:
        em = ExecutionManager({"t": (ThreadPool, {"num_workers": 2}), "p": (MultiprocessPool, {"num_processes": 1})})
        await em.start()
        await _ship(em, "t", "sleep")
        await _ship(em, "p", "sleep")
        jobs = [asyncio.create_task(em.run(pid, 0, "sleep", func_args=(0.4,))) for pid in ("t", "p")]
        await asyncio.sleep(0.1)
        await em.close(drain=True, timeout=10)
        assert [(await j).result for j in jobs] == [0.4, 0.4]

    run(main())


def test_close_without_drain_cancels_jobs_and_kills_processes() -> None:
    async def main() -> list[Any]:
        em = ExecutionManager({"p": (MultiprocessPool, {"num_processes": 2})})
        await em.start()
        await _ship(em, "p", "sleep")
        pids = em.get_process_ids("p")
        jobs = [asyncio.create_task(em.run("p", w, "sleep", func_args=(30,))) for w in (0, 1)]
        await asyncio.sleep(0.3)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await em.close(drain=False)
        assert loop.time() - start < 3
        for j in jobs:
            with pytest.raises(JobCancelled, match="was cancelled: the ExecutionManager was closed"):
                await j
        with pytest.raises(ExecutionManagerNotStarted, match="is closed"):
            await em.run("p", 0, "sleep", func_args=(0,))
        return pids

    pids = run(main())
    assert not wait_gone(pids, 5)


def test_allocation_methods() -> None:
    async def main() -> None:
        async with ExecutionManager({"a": (ThreadPool, {"num_workers": 3}), "b": (ThreadPool, {"num_workers": 1})}) as em:
            await _ship(em, "a", "sleep")
            await _ship(em, "b", "sleep")
            order = [em.allocate(["a"], RunAllocationMethod.ROUND_ROBIN) for _ in range(1)]
            picks = []
            for _ in range(6):
                job = await em.run_allocate(["a"], "round-robin", "sleep", func_args=(0,))
                picks.append(job.worker_id)
            assert picks == [0, 1, 2, 0, 1, 2] and order == [("a", 0)]
            busy = [asyncio.create_task(em.run("a", w, "sleep", func_args=(0.5,))) for w in (0, 2)]
            await asyncio.sleep(0.05)
            assert em.allocate(["a"], "least-busy") == ("a", 1)
            assert em.allocate([("a", 0), ("b", 0)], "least-busy") == ("b", 0)
            for _ in range(20):
                assert em.allocate([("a", 2), "b"], "random") in {("a", 2), ("b", 0)}
            await asyncio.gather(*busy)
            with pytest.raises(ValueError, match="'fastest' is not a valid RunAllocationMethod"):
                em.allocate(["a"], "fastest")

    run(main())


def test_dead_worker_is_skipped_by_allocation_and_refused_by_run() -> None:
    async def main() -> None:
        pool_cfg = {"num_processes": 2, "restart_workers": False}
        async with ExecutionManager({"p": (MultiprocessPool, pool_cfg)}) as em:
            await _ship(em, "p", "sleep", "pid")
            victim = em.get_process_ids("p")[0]
            job = asyncio.create_task(em.run("p", 0, "sleep", func_args=(30,)))
            await asyncio.sleep(0.2)
            os.kill(victim, signal.SIGKILL)
            with pytest.raises(WorkerCrashed, match="was not replaced|did not complete"):
                await job
            assert em.live_worker_ids("p") == [1]
            assert {em.allocate(["p"], m) for m in ("round-robin", "least-busy", "random")} == {("p", 1)}
            with pytest.raises(WorkerCrashed, match="worker 0 of pool 'p' is gone"):
                await em.run("p", 0, "pid")
            assert (await em.run_allocate(["p"], "round-robin", "pid")).worker_id == 1

    run(main())


def test_configuration_and_lookup_errors() -> None:
    with pytest.raises(ValueError, match="pool 'x': do not pass worker_fn; the ExecutionManager provides"):
        ExecutionManager({"x": (ThreadPool, {"num_workers": 1, "worker_fn": print})})
    with pytest.raises(TypeError, match=r"pool 'x': expected \(PoolClass, init_kwargs\)"):
        ExecutionManager({"x": ThreadPool})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="needs at least one pool"):
        ExecutionManager({})

    async def main() -> None:
        em = ExecutionManager({"t": (ThreadPool, {"num_workers": 1})})
        with pytest.raises(ExecutionManagerNotStarted, match="was not started; use `async with manager:`"):
            await em.run("t", 0, "x")
        async with em:
            with pytest.raises(UnknownPool, match=r"no pool 'nope' in this ExecutionManager \(pools: \['t'\]\)"):
                await em.run("nope", 0, "x")
            with pytest.raises(UnknownPool, match=r"pool 't' has no worker 3 \(workers 0..0\)"):
                await em.run("t", 3, "x")
            with pytest.raises(ValueError, match="keep_remote=True needs a Dask pool"):
                await em.run("t", 0, "x", keep_remote=True)
            with pytest.raises(ExecutionError, match="already started"):
                await em.start()

    run(main())


def test_run_on_workers_per_worker_and_global() -> None:
    async def main() -> None:
        async with ExecutionManager({"t": (ThreadPool, {"num_workers": 3}),
                                     "p": (MultiprocessPool, {"num_processes": 2, "threads_per_process": 2})}) as em:
            await _ship(em, "t", "record_init")
            await _ship(em, "p", "record_init")
            _jobs.INIT_CALLS.clear()
            per = await em.run_on_workers("t", "record_init", "per_worker", func_args=("x",))
            assert [j.worker_id for j in per] == [0, 1, 2] and _jobs.INIT_CALLS == ["x"] * 3
            glob = await em.run_on_workers("t", "record_init", "global", func_args=("g",))
            assert len(glob) == 1
            per_p = await em.run_on_workers("p", "record_init", "per_worker", func_args=("x",))
            assert len(per_p) == 4
            glob_p = await em.run_on_workers("p", "record_init", "global", func_args=("g",))
            assert sorted(j.worker_id for j in glob_p) == [0, 2]
            assert len({j.result[0] for j in glob_p}) == 2  # once in each process

    run(main())


def test_preprocessor_and_done_callback() -> None:
    seen: list[Any] = []

    def pre(func: Any, key: str) -> Any:
        def wrapped(*args: Any) -> Any:
            return ("wrapped", key, func(*args))
        return wrapped

    async def main() -> None:
        cfg = {"num_workers": 1, "func_preprocessor": pre,
               "func_done_callback": lambda key, result, exc: seen.append((key, result, type(exc).__name__))}
        async with ExecutionManager({"t": (ThreadPool, cfg)}) as em:
            await _ship(em, "t", "add")
            job = await em.run("t", 0, "add", func_args=(1, 2))
            assert job.result == ("wrapped", "add", 3)
            await em.run("t", 0, "_jobs.fail", func_args=("no",))
        assert seen == [("add", ("wrapped", "add", 3), "NoneType"), ("_jobs.fail", None, "ValueError")]

    run(main())


def test_caller_cancellation_abandons_the_result() -> None:
    async def main() -> None:
        async with ExecutionManager({"t": (ThreadPool, {"num_workers": 1})}) as em:
            await _ship(em, "t", "sleep")
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(em.run("t", 0, "sleep", func_args=(0.3,)), 0.05)
            assert em.get_worker_jobs("t", 0) == []
            assert (await em.run("t", 0, "sleep", func_args=(0,))).result == 0

    run(main())





def test_submit_returns_a_future_and_abandon_can_replace_a_stuck_process_worker() -> None:
    async def main() -> None:
        em = ExecutionManager({"p": (MultiprocessPool, {"num_processes": 1})})
        async with em:
            await _ship(em, "p", "add", "sleep", "pid")
            futures = [em.submit("p", 0, "add", (i, i), run_id=f"job-{i}") for i in range(5)]
            results = await asyncio.gather(*futures)
            assert [r.result for r in results] == [0, 2, 4, 6, 8]
            assert [r.run_id for r in results] == [f"job-{i}" for i in range(5)]
            with pytest.raises(ArgumentsNotPicklable, match="function 'add'"):
                em.submit("p", 0, "add", (threading.Lock(), 1))
            old = (await em.submit("p", 0, "pid")).result
            stuck = em.submit("p", 0, "sleep", (30,))
            await asyncio.sleep(0.3)  # it started
            assert em.abandon("p", stuck, restart_worker=True, reason="stuck in a test")
            assert stuck.cancelled()
            assert await asyncio.to_thread(wait_gone, {old}, 10) == set()
            assert (await asyncio.wait_for(em.submit("p", 0, "pid"), 60)).result != old

    run(main())
