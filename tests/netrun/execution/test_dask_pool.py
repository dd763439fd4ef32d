"""DaskPool and the ExecutionManager on a real (embedded) Dask LocalCluster."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

sys.path.insert(0, str(Path(__file__).parent))
import _jobs

from netrun.execution import ExecutionManager, WorkerTimeout
from netrun.pool import PoolError, PoolNotStarted
from netrun.pool.dask import DaskPool


@pytest.fixture(scope="module")
def manager(runner: Any) -> Iterator[ExecutionManager]:
    em = ExecutionManager({"dask": (DaskPool, {"n_workers": 1, "threads_per_worker": 2})})
    runner.run(em.start())

    async def ship() -> None:
        for name in ("add", "async_add", "fail", "sleep", "raise_unpicklable"):
            await em.send_function_to_pool("dask", name, getattr(_jobs, name))

    runner.run(ship())
    yield em
    runner.run(em.close())


def test_jobs_become_dask_tasks_with_output_and_errors(manager: ExecutionManager, runner: Any) -> None:
    assert manager.get_num_workers("dask") == 2 and manager.pool_kind("dask") == "dask"
    job = runner.run(manager.run("dask", 0, "add", func_args=(1, 2)))
    assert job.result == 3 and [(l.is_stderr, l.text) for l in job.print_buffer] == [(False, "adding 1 and 2"), (True, "careful")]
    assert job.timestamp_utc_submitted <= job.timestamp_utc_started <= job.timestamp_utc_completed
    job = runner.run(manager.run("dask", 1, "async_add", func_args=(1, 2)))
    assert job.result == 3
    job = runner.run(manager.run("dask", 0, "fail", func_args=("dask says no",)))
    assert isinstance(job.exception, ValueError) and "dask says no" in job.traceback
    assert runner.run(manager.run("dask", 0, "_jobs.add", func_args=(5, 5))).result == 10


def test_embedded_cluster_listens_on_loopback_only(manager: ExecutionManager) -> None:
    import os

    import psutil

    listening = [c.laddr for c in psutil.Process(os.getpid()).net_connections() if c.status == psutil.CONN_LISTEN]
    assert listening, "the embedded cluster should have its (health) HTTP servers running"
    assert all(addr.ip in ("127.0.0.1", "::1") for addr in listening), listening
    assert all(addr.port != 8787 for addr in listening)  # no dashboard on its default port


def test_values_stay_in_the_cluster_as_futures(manager: ExecutionManager, runner: Any) -> None:
    async def main() -> None:
        first = await manager.run("dask", 0, "add", func_args=(1, 2), keep_remote=True)
        future = first.result
        assert type(future).__name__ == "Future" and first.ok
        # Passing the future to the next job resolves it on the Dask worker, not here.
        second = await manager.run("dask", 1, "add", func_args=(future, 10))
        assert second.result == 13
        assert await future == 3

    runner.run(main())


def test_time_limit_cancels_the_task(manager: ExecutionManager, runner: Any) -> None:
    with pytest.raises(WorkerTimeout, match=r"function 'sleep' .* on Dask pool 'dask' ran longer than its 0.2 s time limit"):
        runner.run(manager.run("dask", 0, "sleep", func_args=(1.0,), timeout=0.2))
    assert runner.run(manager.run("dask", 0, "add", func_args=(1, 1))).result == 2


def test_allocation_and_run_on_workers(manager: ExecutionManager, runner: Any) -> None:
    async def main() -> None:
        jobs = await asyncio.gather(*(manager.run_allocate(["dask"], "least-busy", "add", func_args=(i, 1)) for i in range(20)))
        assert [j.result for j in jobs] == [i + 1 for i in range(20)]
        assert len(await manager.run_on_workers("dask", "add", "per_worker", func_args=(1, 1))) == 1

    runner.run(main())


def test_joining_a_cluster_by_scheduler_address(manager: ExecutionManager, runner: Any) -> None:
    address = manager.get_pool("dask").scheduler_address

    async def main() -> None:
        async with ExecutionManager({"joined": DaskPool(address)}) as em:
            await em.send_function_to_pool("joined", "add", _jobs.add)
            assert (await em.run("joined", 0, "add", func_args=(20, 22))).result == 42

    runner.run(main())


def test_bad_address_and_lifecycle_errors(runner: Any) -> None:
    async def main() -> None:
        pool = DaskPool("tcp://127.0.0.1:9", start_timeout=1.0)
        with pytest.raises(PoolError, match="could not reach the Dask scheduler at tcp://127.0.0.1:9"):
            await pool.start()
        with pytest.raises(PoolNotStarted, match="cannot submit: the DaskPool was closed"):
            pool.submit(print)

    runner.run(main(), timeout=60)


def test_missing_dask_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)

    async def main() -> None:
        with pytest.raises(ImportError, match=r"DaskPool needs Dask distributed: pip install 'netrun\[dask\]'"):
            await DaskPool().start()

    asyncio.run(main())
