"""The manager's side of a Dask pool, and the task function Dask workers run.

Functions are shipped once per Dask worker as a ``WorkerPlugin`` (installed on every
current worker and on workers that join later); each job is one ``client.submit`` of
:func:`run_dask_job`, which looks the function up by key, captures its output and returns
``(started, completed, ok, value, output, traceback)``. Time limits count from submission
(Dask decides when a task starts); a task that is already running on a Dask worker thread
cannot be interrupted, so on timeout it is cancelled in the scheduler and left to finish.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import traceback
import uuid
from collections.abc import Callable
from typing import Any

import cloudpickle
from distributed import KilledWorker, WorkerPlugin

from netrun._util.aio import thread_loop
from netrun.execution._runtime import pickle_function
from netrun.execution.errors import ExecutionError, FunctionNotPicklable, JobCancelled
from netrun.execution.protocol import JobResult, SubmittedJobInfo, utc_now
from netrun.execution.worker import _exception_value, resolve_import_path
from netrun.pool._capture import capture_output
from netrun.pool.base import WorkerCrashed, WorkerId, WorkerTimeout
from netrun.pool.dask import DaskPool

_REGISTRY: dict[tuple[str, str], Callable[..., Any]] = {}


class FunctionPlugin(WorkerPlugin):
    """Installs one function under ``(namespace, key)`` in each Dask worker's process."""

    def __init__(self, namespace: str, key: str, blob: bytes, preprocessor: Any = None) -> None:
        self.namespace = namespace
        self.key = key
        self.blob = blob
        self.preprocessor = preprocessor

    def setup(self, worker: Any) -> None:
        func = cloudpickle.loads(self.blob)
        if self.preprocessor is not None:
            func = self.preprocessor(func, self.key)
        _REGISTRY[(self.namespace, self.key)] = func


def run_dask_job(namespace: str, func_key: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                 capture: bool) -> tuple[Any, ...]:
    """The Dask task behind every job (runs on a Dask worker)."""
    started = utc_now()
    output: list[Any] = []
    tb = None
    try:
        func = _REGISTRY.get((namespace, func_key)) or resolve_import_path(func_key)
        if capture:
            with capture_output() as cap:
                try:
                    result = func(*args, **kwargs)
                    if inspect.isawaitable(result):
                        result = thread_loop().run_until_complete(result)
                finally:
                    output = cap.finish()
        else:
            result = func(*args, **kwargs)
            if inspect.isawaitable(result):
                result = thread_loop().run_until_complete(result)
        ok, value = True, result
    except BaseException as exc:
        ok, value, tb = False, _exception_value(exc, True), "".join(traceback.format_exception(exc))
    return (started, utc_now(), ok, value, output, tb)


def _envelope_meta(envelope: tuple[Any, ...]) -> tuple[Any, ...]:
    started, completed, ok, value, output, tb = envelope
    return (started, completed, ok, None if ok else value, output, tb)


def _envelope_value(envelope: tuple[Any, ...]) -> Any:
    return envelope[3]


def _envelope_split_meta(envelope: tuple[Any, ...]) -> tuple[Any, ...]:
    """The envelope of a job whose function returned ``(inline, resident)``: everything but
    ``resident`` (which stays on the Dask worker), plus whether ``resident`` is non-empty."""
    started, completed, ok, value, output, tb = envelope
    if ok and type(value) is tuple and len(value) == 2:
        return (started, completed, ok, value[0], output, tb, bool(value[1]))
    return (started, completed, ok, value, output, tb, False)


def pick_resident(envelope: tuple[Any, ...], key: Any) -> Any:
    """On a Dask worker: ``resident[key]`` of a split job's envelope (see ``split``)."""
    return envelope[3][1][key]


class DaskPoolRuntime:
    """Bookkeeping for one :class:`DaskPool` inside an ExecutionManager."""

    kind = "dask"

    def __init__(self, pool_id: str, pool: DaskPool, preprocessor: Any, capture: bool) -> None:
        self.pool_id = pool_id
        self.pool = pool
        self.namespace = uuid.uuid4().hex
        self.preprocessor = preprocessor
        self.capture = capture
        self.num_workers = 0
        self.worker_jobs: list[dict[int, SubmittedJobInfo]] = []
        self.dead: set[WorkerId] = set()
        self.futures: dict[int, Any] = {}
        self.cancelled_reason: str | None = None
        self._ids = itertools.count(1)

    async def start(self) -> None:
        await self.pool.start()
        self.num_workers = self.pool.num_workers
        self.worker_jobs = [{} for _ in range(self.num_workers)]

    async def send_function(self, worker_ids: list[WorkerId], func_key: str, func: Callable[..., Any],
                            timeout: float, by_value: bool = False) -> None:
        try:
            blob = pickle_function(func, by_value)
        except Exception as exc:
            raise FunctionNotPicklable(
                f"function {func_key!r} cannot be sent to Dask pool {self.pool_id!r}: it cannot be pickled "
                f"({type(exc).__name__}: {exc}); define it at module level"
            ) from exc
        plugin = FunctionPlugin(self.namespace, func_key, blob, self.preprocessor)
        await asyncio.wait_for(
            self.pool.register_worker_plugin(plugin, f"netrun-fn-{self.namespace}-{func_key}"), timeout
        )

    def outstanding(self, worker_id: WorkerId) -> int:
        return len(self.worker_jobs[worker_id])

    def worker_infos(self, worker_id: WorkerId) -> list[SubmittedJobInfo]:
        return list(self.worker_jobs[worker_id].values())

    async def run(self, worker_id: WorkerId, func_key: str, run_id: str, args: tuple[Any, ...],
                  kwargs: dict[str, Any], timeout: float | None, keep_remote: bool,
                  split: bool = False) -> JobResult:
        """One job. ``keep_remote``: ``JobResult.result`` is a future of the value. ``split``:
        the function returns ``(inline, resident)``; ``JobResult.result`` is then
        ``(inline, envelope_future_or_None)``: ``inline`` travels back, ``resident`` stays
        in the worker's memory, held by the envelope future (read one entry with
        ``client.submit(pick_resident, envelope_future, key)``, or pass the future to
        another job, whose argument becomes the envelope ``(started, completed, ok,
        (inline, resident), output, traceback)``)."""
        if self.cancelled_reason is not None:
            raise JobCancelled(f"Dask pool {self.pool_id!r} no longer takes jobs: {self.cancelled_reason}")
        submitted = utc_now()
        job_id = next(self._ids)
        info = SubmittedJobInfo(run_id, submitted, None, func_key, self.pool_id, worker_id)
        self.worker_jobs[worker_id][job_id] = info
        describe = f"function {func_key!r} (run {run_id}) on Dask pool {self.pool_id!r}"
        client = self.pool.client
        env = client.submit(run_dask_job, self.namespace, func_key, args, kwargs, self.capture, pure=False)
        self.futures[job_id] = env
        result_future = None
        try:
            if split:
                waited = client.submit(_envelope_split_meta, env, pure=False)
            else:
                waited = client.submit(_envelope_meta, env, pure=False) if keep_remote else env
            try:
                envelope = await asyncio.wait_for(waited, timeout)
            except asyncio.TimeoutError:
                await client.cancel([env, waited])
                raise WorkerTimeout(worker_id, timeout or 0.0,
                                    f"{describe} ran longer than its {timeout} s time limit (counted from submission); "
                                    "the task was cancelled (a task already running on a Dask worker thread "
                                    "finishes in the background)") from None
            except asyncio.CancelledError:
                await asyncio.shield(client.cancel([env]))
                raise
            except KilledWorker as exc:
                raise WorkerCrashed(worker_id, {"reason": str(exc), "restarted": True,
                                                "message": f"{describe} did not complete: Dask workers running it "
                                                f"died ({exc})"}) from None
            except Exception as exc:
                if self.cancelled_reason is not None:
                    raise JobCancelled(f"{describe} was cancelled: {self.cancelled_reason}") from None
                raise ExecutionError(f"Dask could not run or return {describe}: {type(exc).__name__}: {exc}") from exc
            if split:
                started, completed, ok, value, output, tb, has_resident = envelope
                if ok:
                    value = (value, env if has_resident else None)
            else:
                started, completed, ok, value, output, tb = envelope
            if keep_remote and ok:
                result_future = client.submit(_envelope_value, env, pure=False)
                value = result_future
            return JobResult(submitted, started, completed, func_key, self.pool_id, worker_id, False,
                             value if ok else None, output, None if ok else value, tb, run_id)
        finally:
            self.worker_jobs[worker_id].pop(job_id, None)
            self.futures.pop(job_id, None)

    async def cancel_pending(self, reason: str) -> None:
        """Fail every job still waiting with :class:`JobCancelled` and cancel its task."""
        self.cancelled_reason = reason
        if self.futures and self.pool.is_running:
            futures = list(self.futures.values())
            self.futures.clear()
            try:
                await asyncio.wait_for(self.pool.client.cancel(futures), 10)
            except Exception:
                pass

    async def close(self, timeout: float | None) -> None:
        await self.cancel_pending("the ExecutionManager was closed")
        await self.pool.close(timeout)

