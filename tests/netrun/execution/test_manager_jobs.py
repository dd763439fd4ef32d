"""ExecutionManager: running functions on event-loop, thread and process pools."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _jobs

from netrun.execution import (
    ArgumentsNotPicklable,
    ExecutionManager,
    ExecutionManagerProtocolKeys,
    FunctionNotFound,
    RemoteException,
    ResultNotPicklable,
)
from netrun.pool import MultiprocessPool, SingleWorkerPool, ThreadPool

MESSAGES: list[Any] = []
POOLS = ["main", "thread", "process"]


@pytest.fixture(scope="module")
def manager(runner: Any) -> Iterator[ExecutionManager]:
    em = ExecutionManager(
        {
            "main": (SingleWorkerPool, {}),
            "thread": (ThreadPool, {"num_workers": 2}),
            "process": (MultiprocessPool, {"num_processes": 2, "threads_per_process": 1}),
        },
        on_worker_message=lambda pool_id, msg: MESSAGES.append((pool_id, msg.worker_id, msg.key, msg.data)),
    )
    runner.run(em.start())

    async def ship() -> None:
        for pool_id in POOLS:
            for name in ("add", "async_add", "fail", "pid", "return_lock", "raise_unpicklable", "talk", "print_slowly",
                         "async_print_slowly"):
                await em.send_function_to_pool(pool_id, name, getattr(_jobs, name))

    runner.run(ship())
    yield em
    runner.run(em.close())


@pytest.mark.parametrize("pool_id", POOLS)
def test_result_timestamps_and_output(manager: ExecutionManager, runner: Any, pool_id: str) -> None:
    job = runner.run(manager.run(pool_id, 0, "add", func_args=(2, 3), run_id="r-1"))
    assert job.ok and job.result == 5 and job.exception is None
    assert (job.pool_id, job.worker_id, job.func_import_path_or_key, job.run_id) == (pool_id, 0, "add", "r-1")
    assert job.timestamp_utc_submitted <= job.timestamp_utc_started <= job.timestamp_utc_completed
    assert [(line.is_stderr, line.text) for line in job.print_buffer] == [(False, "adding 2 and 3"), (True, "careful")]
    assert all(job.timestamp_utc_started <= line.timestamp <= job.timestamp_utc_completed for line in job.print_buffer)
    assert job.converted_to_str is False


@pytest.mark.parametrize("pool_id", POOLS)
def test_async_function_and_kwargs(manager: ExecutionManager, runner: Any, pool_id: str) -> None:
    job = runner.run(manager.run(pool_id, 0, "async_add", func_args=[1], func_kwargs={"b": 41}))
    assert job.result == 42 and [line.text for line in job.print_buffer] == ["async adding"]


@pytest.mark.parametrize("pool_id", POOLS)
def test_exception_is_returned_with_output_and_traceback(manager: ExecutionManager, runner: Any, pool_id: str) -> None:
    job = runner.run(manager.run(pool_id, 0, "fail", func_args=("bad input",)))
    assert not job.ok and job.result is None
    assert isinstance(job.exception, ValueError) and str(job.exception) == "bad input"
    assert "in fail" in job.traceback and "ValueError: bad input" in job.traceback
    assert [line.text for line in job.print_buffer] == ["about to fail"]
    with pytest.raises(ValueError, match="bad input"):
        job.value()
    # The worker survives its function's failure.
    assert runner.run(manager.run(pool_id, 0, "add", func_args=(1, 1))).result == 2


@pytest.mark.parametrize("pool_id", POOLS)
def test_import_path_and_unknown_key(manager: ExecutionManager, runner: Any, pool_id: str) -> None:
    assert runner.run(manager.run(pool_id, 0, "_jobs.add", func_args=(1, 2))).result == 3
    assert runner.run(manager.run(pool_id, 0, "_jobs:add", func_args=(2, 2))).result == 4
    job = runner.run(manager.run(pool_id, 0, "never_sent", func_args=()))
    assert isinstance(job.exception, FunctionNotFound)
    assert "'never_sent' is neither a registered function key nor an import path" in str(job.exception)
    job = runner.run(manager.run(pool_id, 0, "_jobs.missing"))
    assert isinstance(job.exception, FunctionNotFound)
    assert "send the function first (send_function_to_pool) or fix the import path" in str(job.exception)


@pytest.mark.parametrize("pool_id", POOLS)
def test_send_channel_messages_reach_the_listener(manager: ExecutionManager, runner: Any, pool_id: str) -> None:
    MESSAGES.clear()
    job = runner.run(manager.run(pool_id, 0, "talk", send_channel=True, func_args=(7,)))
    assert job.result == 7
    assert MESSAGES == [(pool_id, 0, "progress", 7)]


@pytest.mark.parametrize("pool_id", ["thread", "process"])
def test_functions_are_shipped_once_per_worker(manager: ExecutionManager, runner: Any, pool_id: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pool = manager.get_pool(pool_id)
    sent: list[tuple[int, str, Any]] = []
    real = pool.send_nowait

    def spy(worker_id: int, key: str, data: Any) -> None:
        sent.append((worker_id, key, data))
        real(worker_id, key, data)

    monkeypatch.setattr(pool, "send_nowait", spy)
    import netrun.execution._runtime as runtime

    dumps_calls: list[Any] = []
    real_dumps = runtime.cloudpickle.dumps
    monkeypatch.setattr(runtime.cloudpickle, "dumps", lambda obj, *a, **k: (dumps_calls.append(obj), real_dumps(obj, *a, **k))[1])

    async def main() -> None:
        await manager.send_function_to_pool(pool_id, "pid2", _jobs.pid)
        for i in range(10):
            await manager.run(pool_id, i % 2, "pid2")

    runner.run(main())
    shipped = [(w, d[1]) for w, k, d in sent if k == ExecutionManagerProtocolKeys.SEND_FUNCTION.value]
    assert sorted(shipped) == [(0, "pid2"), (1, "pid2")]
    runs = [d for _, k, d in sent if k == ExecutionManagerProtocolKeys.RUN.value]
    assert len(runs) == 10 and all(d[1] == "pid2" for d in runs)
    assert len(dumps_calls) == (1 if pool_id == "process" else 0)  # pickled once, not per worker or job


def test_unpicklable_result_is_a_clear_error_naming_the_function(manager: ExecutionManager, runner: Any) -> None:
    job = runner.run(manager.run("process", 0, "return_lock"))
    assert isinstance(job.exception, ResultNotPicklable)
    msg = str(job.exception)
    assert "function 'return_lock' (_jobs.return_lock) returned a value of type _thread.lock" in msg
    assert "cannot be sent back from the worker" in msg
    # Thread pools pass results by reference: no pickling, no error.
    assert isinstance(runner.run(manager.run("thread", 0, "return_lock")).result, type(threading.Lock()))


def test_unpicklable_arguments_fail_in_the_caller(manager: ExecutionManager, runner: Any) -> None:
    with pytest.raises(ArgumentsNotPicklable, match="the arguments of function 'add' .* cannot be sent to pool 'process'"):
        runner.run(manager.run("process", 0, "add", func_args=(threading.Lock(), 1)))
    assert runner.run(manager.run("process", 0, "add", func_args=(1, 1))).result == 2


def test_unpicklable_exception_arrives_as_remote_exception(manager: ExecutionManager, runner: Any) -> None:
    job = runner.run(manager.run("process", 0, "raise_unpicklable"))
    assert isinstance(job.exception, RemoteException)
    assert job.exception.type_name == "UnpicklableError" and "holds a lock" in str(job.exception)
    assert "raise_unpicklable" in job.exception.remote_traceback


def test_get_worker_ids_and_jobs(manager: ExecutionManager) -> None:
    assert manager.get_worker_ids("process") == [0, 1]
    assert manager.get_num_workers("thread") == 2
    assert manager.get_worker_jobs("thread", 0) == []
    assert len(manager.get_process_ids("process")) == 2
    assert manager.pool_kind("main") == "main" and manager.pool_kind("process") == "process"
    assert set(manager.pools) == set(POOLS) and manager.started


@pytest.mark.parametrize("pool_id", POOLS)
def test_output_streams_live_while_the_job_runs(manager: ExecutionManager, runner: Any, pool_id: str,
                                                 tmp_path: Path) -> None:
    gate = tmp_path / "seen"
    live: list[str] = []

    def on_output(lines: list[Any]) -> None:
        live.extend(line.text for line in lines)
        gate.touch()  # the job only prints its second line once the first was seen here

    func = "async_print_slowly" if pool_id == "main" else "print_slowly"
    job = runner.run(manager.run(pool_id, 0, func, func_args=(str(gate),), on_output=on_output))
    assert job.result == "done"
    assert live == ["first line", "second line"]
    assert [line.text for line in job.print_buffer] == ["first line", "second line"]
