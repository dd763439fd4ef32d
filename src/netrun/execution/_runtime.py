"""The manager's side of one message pool: job bookkeeping, replies, failures, time limits.

One receive task per pool takes reply bursts (``recv_batch``) and settles jobs. A worker
failure fails the jobs that had *started* on that worker (``WorkerCrashed``; the job that
ran out of time already failed with ``WorkerTimeout``). Jobs that had not started are sent
again to the replacement worker, after the functions it needs; if the worker was not
replaced they fail with ``WorkerCrashed``. The pool contract (``netrun.pool.base``)
guarantees that "not started" is exact: a worker's start notice always precedes its
failure in the reply stream.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import cloudpickle

from netrun._util.callables import callable_name
from netrun.execution.errors import (
    ArgumentsNotPicklable,
    ExecutionError,
    FunctionNotPicklable,
    JobCancelled,
    ResultNotPicklable,
)
from netrun.execution.protocol import (
    KEY_CANCEL,
    KEY_FUNCTION_ACK,
    KEY_PRINT_BUFFER,
    KEY_RESPONSE,
    KEY_RUN,
    KEY_SEND_FUNCTION,
    KEY_STARTED,
    JobResult,
    SubmittedJobInfo,
    utc_from_timestamp,
    utc_now,
)
from netrun.pool.base import (
    POOL_UP_ERROR_CRASHED,
    POOL_UP_ERROR_EXCEPTION,
    PoolNotStarted,
    WorkerCrashed,
    WorkerId,
    WorkerTimeout,
)
from netrun.rpc import _codec
from netrun.rpc.base import MessageNotSerializable

_log = logging.getLogger("netrun.execution")
_msg_ids = itertools.count(1)


def pickle_function(func: Callable[..., Any], by_value: bool) -> bytes:
    """cloudpickle ``func``; ``by_value`` also carries its module's code (for workers that
    cannot import that module, e.g. a remote server without the caller's project)."""
    module = sys.modules.get(getattr(func, "__module__", None) or "")
    if not by_value or module is None or module.__name__ == "__main__":
        return cloudpickle.dumps(func)
    cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(func)
    finally:
        cloudpickle.unregister_pickle_by_value(module)


class Job:
    """One submitted job (internal)."""

    __slots__ = (
        "func_key",
        "future",
        "message",
        "msg_id",
        "on_output",
        "pool_id",
        "run_id",
        "started",
        "submitted",
        "timeout",
        "timer",
        "worker_id",
    )

    def __init__(self, msg_id: int, func_key: str, run_id: str, worker_id: WorkerId, message: tuple[Any, ...],
                 future: asyncio.Future[JobResult], timeout: float | None, pool_id: str) -> None:
        self.msg_id = msg_id
        self.func_key = func_key
        self.run_id = run_id
        self.worker_id = worker_id
        self.message = message
        self.future = future
        self.submitted = utc_now()
        self.started: datetime | None = None
        self.timeout = timeout
        self.timer: asyncio.TimerHandle | None = None
        self.pool_id = pool_id
        self.on_output: Callable[[list[Any]], None] | None = None

    def describe(self) -> str:
        return f"function {self.func_key!r} (run {self.run_id}) on pool {self.pool_id!r} worker {self.worker_id}"

    def info(self) -> SubmittedJobInfo:
        return SubmittedJobInfo(self.run_id, self.submitted, self.started, self.func_key, self.pool_id, self.worker_id)


class MessagePoolRuntime:
    """Bookkeeping for one message pool (thread, process, remote or event-loop)."""

    def __init__(self, pool_id: str, pool: Any, kind: str,
                 on_worker_message: Callable[[str, Any], None] | None) -> None:
        self.pool_id = pool_id
        self.pool = pool
        self.kind = kind  # "main" | "thread" | "process" | "remote"
        self.packed = bool(getattr(pool, "serializes_messages", False))
        self.num_workers: int = 0
        self.jobs: dict[int, Job] = {}
        self.worker_jobs: list[dict[int, Job]] = []
        self.dead: set[WorkerId] = set()
        self.functions: dict[str, Any] = {}  # key -> function object or cloudpickled bytes
        self.fn_waiters: dict[int, tuple[WorkerId, str, asyncio.Future[None]]] = {}
        self.receiver: asyncio.Task[None] | None = None
        self.background: set[asyncio.Task[Any]] = set()
        self.on_worker_message = on_worker_message
        self.closing = False

    async def start(self) -> None:
        await self.pool.start()
        self.num_workers = self.pool.num_workers
        self.worker_jobs = [{} for _ in range(self.num_workers)]
        self.receiver = asyncio.get_running_loop().create_task(self._receive())

    # -- functions ------------------------------------------------------------------------
    def pack_function(self, func_key: str, func: Callable[..., Any], by_value: bool = False) -> Any:
        if not self.packed:
            return func
        try:
            return pickle_function(func, by_value)
        except Exception as exc:
            raise FunctionNotPicklable(
                f"function {func_key!r} ({callable_name(func)}) cannot be sent to pool {self.pool_id!r}: it cannot be "
                f"pickled ({type(exc).__name__}: {exc}); define it at module level or use a thread pool"
            ) from exc

    async def send_function(self, worker_ids: list[WorkerId], func_key: str, func: Callable[..., Any],
                            timeout: float, by_value: bool = False) -> None:
        payload = self.pack_function(func_key, func, by_value)
        self.functions[func_key] = payload
        loop = asyncio.get_running_loop()
        waiters = []
        msg_ids = []
        for wid in worker_ids:
            fut = loop.create_future()
            msg_id = next(_msg_ids)
            self.fn_waiters[msg_id] = (wid, func_key, fut)
            waiters.append(fut)
            msg_ids.append(msg_id)
            self.pool.send_nowait(wid, KEY_SEND_FUNCTION, (msg_id, func_key, payload))
        try:
            await asyncio.wait_for(asyncio.gather(*waiters), timeout)
        except asyncio.TimeoutError:
            raise ExecutionError(
                f"pool {self.pool_id!r}: workers did not confirm function {func_key!r} within {timeout} s"
            ) from None
        finally:
            for msg_id in msg_ids:
                entry = self.fn_waiters.pop(msg_id, None)
                if entry is not None and entry[2].done() and not entry[2].cancelled():
                    entry[2].exception()  # retrieved: the first error is the one raised

    def _function_ack(self, worker_id: WorkerId, data: tuple[Any, ...]) -> None:
        msg_id, func_key, error = data
        entry = self.fn_waiters.pop(msg_id, None)
        for fut in ([entry[2]] if entry is not None else []):
            if fut.done():
                continue
            if error is None:
                fut.set_result(None)
            else:
                hint = ""
                if "No module named" in error or "Can't get attribute" in error:
                    hint = "; the worker cannot import the function's module: install it there or send with by_value=True"
                fut.set_exception(ExecutionError(
                    f"worker {worker_id} of pool {self.pool_id!r} could not load function {func_key!r}: {error}{hint}"
                ))

    # -- jobs -----------------------------------------------------------------------------
    async def submit(self, worker_id: WorkerId, func_key: str, run_id: str, send_channel: bool,
                     args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float | None,
                     on_output: Callable[[list[Any]], None] | None = None) -> asyncio.Future[JobResult]:
        return self.submit_nowait(worker_id, func_key, run_id, send_channel, args, kwargs, timeout, on_output)

    def submit_nowait(self, worker_id: WorkerId, func_key: str, run_id: str, send_channel: bool,
                      args: tuple[Any, ...], kwargs: dict[str, Any], timeout: float | None,
                      on_output: Callable[[list[Any]], None] | None = None) -> asyncio.Future[JobResult]:
        """Send one job now (loop thread); the returned future settles with its JobResult."""
        if worker_id in self.dead:
            raise WorkerCrashed(worker_id, {"message": f"worker {worker_id} of pool {self.pool_id!r} is gone "
                                            "(it died and could not be replaced); use another worker"})
        payload: Any = (args, kwargs)
        if self.packed:
            try:
                payload = _codec.dumps(payload)
            except MessageNotSerializable as exc:
                raise ArgumentsNotPicklable(
                    f"the arguments of function {func_key!r} (run {run_id}) cannot be sent to pool "
                    f"{self.pool_id!r}: {exc.__cause__ or exc}; pass picklable values or use a thread pool"
                ) from None
        msg_id = next(_msg_ids)
        message = (msg_id, func_key, run_id, send_channel, payload, self.packed, on_output is not None)
        future: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        job = Job(msg_id, func_key, run_id, worker_id, message, future, timeout, self.pool_id)
        job.on_output = on_output
        self.jobs[msg_id] = job
        self.worker_jobs[worker_id][msg_id] = job
        try:
            self.pool.send_nowait(worker_id, KEY_RUN, message)
        except BaseException:
            self._forget(job)
            raise
        return future

    def _forget(self, job: Job) -> None:
        self.jobs.pop(job.msg_id, None)
        self.worker_jobs[job.worker_id].pop(job.msg_id, None)
        if job.timer is not None:
            job.timer.cancel()
            job.timer = None

    def _fail(self, job: Job, error: BaseException) -> None:
        self._forget(job)
        if not job.future.done():
            job.future.set_exception(error)

    def abandon(self, job_future: asyncio.Future[JobResult], restart_worker: bool = False,
                reason: str = "its job was abandoned") -> bool:
        """The caller stopped waiting: forget the job (cancel it if it is an async job).

        ``restart_worker=True`` also kills and replaces the worker of a job that has
        started (process and remote pools), so a stuck call stops holding the worker; a
        job that has not started yet is only forgotten (the worker runs it later and its
        answer is ignored). Returns whether a restart was requested."""
        for job in list(self.jobs.values()):
            if job.future is job_future:
                self._forget(job)
                if self.kind == "main":
                    self.pool.send_nowait(job.worker_id, KEY_CANCEL, (job.msg_id,))
                elif restart_worker and job.started is not None and self.kind in ("process", "remote"):
                    self._spawn(self.pool.restart_worker(job.worker_id, reason))
                    return True
                return False
        return False

    def outstanding(self, worker_id: WorkerId) -> int:
        return len(self.worker_jobs[worker_id])

    def worker_infos(self, worker_id: WorkerId) -> list[SubmittedJobInfo]:
        return [job.info() for job in self.worker_jobs[worker_id].values()]

    # -- replies --------------------------------------------------------------------------
    async def _receive(self) -> None:
        pool = self.pool
        try:
            while True:
                for msg in await pool.recv_batch():
                    key = msg.key
                    if key == KEY_RESPONSE:
                        self._completed(msg.worker_id, msg.data)
                    elif key == KEY_STARTED:
                        self._started(msg.data)
                    elif key == KEY_PRINT_BUFFER:
                        self._output(msg.data)
                    elif key == KEY_FUNCTION_ACK:
                        self._function_ack(msg.worker_id, msg.data)
                    elif key == POOL_UP_ERROR_CRASHED or key == POOL_UP_ERROR_EXCEPTION:
                        self._worker_failed(msg.worker_id, msg.data)
                    elif self.on_worker_message is not None:
                        self.on_worker_message(self.pool_id, msg)
                    else:
                        _log.warning("pool %r worker %d sent %r, which nobody listens to", self.pool_id,
                                     msg.worker_id, key)
        except PoolNotStarted:
            return  # the pool was closed
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never leave callers waiting on a dead receive loop
            _log.exception("the receive loop of pool %r failed", self.pool_id)
            for job in list(self.jobs.values()):
                self._fail(job, ExecutionError(f"pool {self.pool_id!r} stopped answering: {type(exc).__name__}: {exc}"))

    def _started(self, data: tuple[int, float]) -> None:
        job = self.jobs.get(data[0])
        if job is None:
            return
        job.started = utc_from_timestamp(data[1])
        if job.timeout is not None:
            job.timer = asyncio.get_running_loop().call_later(job.timeout, self._timed_out, job)

    def _output(self, data: tuple[int, list[Any]]) -> None:
        job = self.jobs.get(data[0])
        if job is None or job.on_output is None:
            return
        try:
            job.on_output(data[1])
        except Exception:
            _log.exception("the on_output callback of %s raised", job.describe())

    def _completed(self, worker_id: WorkerId, data: tuple[Any, ...]) -> None:
        msg_id, started, completed, ok, value, packed, output, tb = data
        job = self.jobs.get(msg_id)
        if job is None:
            return  # late answer of a job that timed out or was abandoned
        self._forget(job)
        if packed:
            try:
                value = _codec.loads(value)
            except Exception as exc:
                ok, tb = False, None
                value = ResultNotPicklable(
                    f"the result of {job.describe()} could not be unpickled here ({type(exc).__name__}: {exc}); "
                    "make its classes importable in this process"
                )
        if job.future.done():
            return
        job.future.set_result(JobResult(
            job.submitted, job.started or utc_from_timestamp(started), utc_from_timestamp(completed), job.func_key,
            self.pool_id, worker_id, False,
            value if ok else None, output, None if ok else value, tb, job.run_id,
        ))

    def _timed_out(self, job: Job) -> None:
        if job.future.done():
            return
        action = {"main": "its task was cancelled", "thread": "its thread was abandoned and replaced",
                  "process": "its process was killed and replaced", "remote": "its remote process was killed and replaced"}
        self._fail(job, WorkerTimeout(job.worker_id, job.timeout or 0.0,
                                      f"{job.describe()} ran longer than its {job.timeout} s time limit; "
                                      f"{action.get(self.kind, 'its worker was replaced')}"))
        if self.kind == "main":
            self.pool.send_nowait(job.worker_id, KEY_CANCEL, (job.msg_id,))
        else:
            reason = f"function {job.func_key!r} (run {job.run_id}) exceeded its {job.timeout} s time limit"
            self._spawn(self.pool.restart_worker(job.worker_id, reason))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None and not self.closing:
            _log.warning("pool %r: %r", self.pool_id, task.exception())

    def _worker_failed(self, worker_id: WorkerId, details: dict[str, Any]) -> None:
        restarted = bool(details.get("restarted"))
        not_started: list[Job] = []
        for job in list(self.worker_jobs[worker_id].values()):
            if job.started is not None:
                info = dict(details, message=(
                    f"{job.describe()} did not complete: the worker {_failure_text(details)}"
                    + (" A replacement worker was started." if restarted else "")
                ))
                self._fail(job, WorkerCrashed(worker_id, info))
            else:
                not_started.append(job)
        if not restarted:
            self.dead.add(worker_id)
            for job in not_started:
                self._fail(job, WorkerCrashed(worker_id, dict(details, message=(
                    f"{job.describe()} could not run: the worker {_failure_text(details)} and was not replaced"))))
            for msg_id, (wid, _key, fut) in list(self.fn_waiters.items()):
                if wid == worker_id:
                    del self.fn_waiters[msg_id]
                    if not fut.done():
                        fut.set_exception(WorkerCrashed(worker_id, details))
            return
        # The replacement needs the functions first, then the jobs it never started.
        # Sent synchronously, so nothing submitted meanwhile can overtake them; a function
        # whose confirmation is awaited is re-sent under the same message id.
        send = self.pool.send_nowait
        waiting = {key: msg_id for msg_id, (wid, key, _f) in self.fn_waiters.items() if wid == worker_id}
        for func_key, payload in self.functions.items():
            send(worker_id, KEY_SEND_FUNCTION, (waiting.get(func_key) or next(_msg_ids), func_key, payload))
        for job in not_started:
            send(worker_id, KEY_RUN, job.message)

    # -- shutting down ----------------------------------------------------------------------
    async def cancel_pending(self, reason: str) -> None:
        """Fail every job still waiting with :class:`JobCancelled`."""
        self.cancel_all(reason)

    def cancel_all(self, reason: str) -> None:
        for job in list(self.jobs.values()):
            self._fail(job, JobCancelled(f"{job.describe()} was cancelled: {reason}"))

    async def close(self, timeout: float | None) -> None:
        self.closing = True
        try:
            await self.pool.close(timeout)
        finally:
            tasks = [t for t in (self.receiver, *self.background) if t is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.cancel_all("the ExecutionManager was closed")


def _failure_text(details: dict[str, Any]) -> str:
    text = str(details.get("reason", "died"))
    if details.get("pid") is not None:
        text = f"(process {details['pid']}) failed: {text}"
        if details.get("exitcode") is not None:
            code = details["exitcode"]
            text += f" (exit code {code})" if code >= 0 else f" (killed by signal {-code})"
    else:
        text = f"failed: {text}"
    return text + "."

