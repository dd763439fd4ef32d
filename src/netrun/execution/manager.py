"""The ExecutionManager: run a function on a chosen pool and worker, get a :class:`JobResult`.

>>> async def demo():
...     manager = ExecutionManager({"threads": (ThreadPool, {"num_workers": 2})})
...     async with manager:
...         await manager.send_function_to_pool("threads", "add", lambda a, b: a + b)
...         job = await manager.run("threads", 0, "add", func_args=(1, 2))
...         return job.result
>>> asyncio.run(demo())
3

Pools are given as ``{pool_id: (PoolClass, init_kwargs)}``; the manager supplies the
worker function. Functions are shipped once per worker (``send_function_to_pool``, cloudpickle
for process and remote pools) and then referred to by key; a key that was never sent is
imported as a dotted path on the worker. What is raised and what is returned:

* the function's own exception: returned in ``JobResult.exception`` (with its output);
* ``WorkerCrashed``: the worker died while running the job (the pool replaces it);
* ``WorkerTimeout``: the job ran longer than ``timeout`` (counted from its start; the worker
  is killed, abandoned or cancelled, and replaced, so it stops holding a slot);
* ``JobCancelled``: the manager was closed with ``drain=False`` (or the drain timed out);
* ``ArgumentsNotPicklable`` / ``FunctionNotPicklable``: raised before anything is sent.

On the event-loop pool (``SingleWorkerPool``) a *sync* function blocks the loop while it
runs, so its time limit can only be noticed once it returns; async functions there are
cancelled on time.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import random
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from netrun.errors import NetrunRuntimeError
from netrun.execution._runtime import MessagePoolRuntime
from netrun.execution.errors import (
    ExecutionError,
    ExecutionManagerNotStarted,
    UnknownPool,
)
from netrun.execution.protocol import (
    JobResult,
    OutputLine,
    RunAllocationMethod,
    SubmittedJobInfo,
)
from netrun.execution.worker import async_execution_worker, execution_worker
from netrun.pool.aio import SingleWorkerPool
from netrun.pool.base import PoolInitMode, WorkerId, WorkerMessage
from netrun.pool.dask import DaskPool
from netrun.pool.multiprocess import MultiprocessPool
from netrun.pool.remote import RemotePoolClient
from netrun.pool.thread import ThreadPool

__all__ = ["ExecutionManager", "PoolType"]

#: The pool classes an ExecutionManager can drive.
PoolType = ThreadPool | MultiprocessPool | SingleWorkerPool | RemotePoolClient | DaskPool

_DEFAULT: Any = object()
_METHODS = {m: m for m in RunAllocationMethod} | {m.value: m for m in RunAllocationMethod}


class ExecutionManager:
    """Runs functions on named pools; see the module docstring for the contract.

    A pool is ``(PoolClass, init_kwargs)`` (the manager builds it with its worker), or a
    ready ``DaskPool``/``RemotePoolClient`` instance (they take no worker function).

    ``init_kwargs`` may include ``func_preprocessor(func, key) -> func`` (wraps each function
    once per worker) and ``func_done_callback(key, result, exception)`` (runs on the worker
    after each job); not for remote pools, whose server decides. ``default_timeout`` applies
    to jobs run without an explicit ``timeout``. ``capture_prints=False`` leaves
    ``sys.stdout``/``sys.stderr`` alone (``print_buffer`` is then empty).
    ``on_worker_message(pool_id, WorkerMessage)`` receives messages workers send through
    the channel given to ``send_channel=True`` jobs.
    """

    def __init__(
        self,
        pool_configs: Mapping[str, tuple[type, dict[str, Any]] | DaskPool | RemotePoolClient],
        *,
        default_timeout: float | None = None,
        capture_prints: bool = True,
        on_worker_message: Callable[[str, WorkerMessage], None] | None = None,
        function_timeout: float = 60.0,
    ) -> None:
        if not pool_configs:
            raise ValueError("an ExecutionManager needs at least one pool: {pool_id: (PoolClass, init_kwargs)}")
        self._capture = capture_prints
        self._on_worker_message = on_worker_message
        self._default_timeout = default_timeout
        self._function_timeout = function_timeout
        self._runtimes: dict[str, Any] = {}
        for pool_id, config in pool_configs.items():
            if not isinstance(pool_id, str) or not pool_id:
                raise ValueError(f"pool ids must be non-empty strings (got {pool_id!r})")
            self._runtimes[pool_id] = self._build(pool_id, config)
        self._started = False
        self._closed = False
        self._closing = False
        self._run_ids = itertools.count(1)
        self._use_clock = itertools.count(1)
        self._last_used: dict[tuple[str, WorkerId], int] = {}
        self._candidates: dict[tuple[Any, ...], tuple[int, list[tuple[str, WorkerId]], list[Any]]] = {}
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def _build(self, pool_id: str, config: Any) -> Any:
        if isinstance(config, (DaskPool, RemotePoolClient)):
            if isinstance(config, DaskPool):
                from netrun.execution._dask import DaskPoolRuntime

                return DaskPoolRuntime(pool_id, config, None, self._capture)
            return MessagePoolRuntime(pool_id, config, "remote", self._on_worker_message)
        if not (isinstance(config, tuple) and len(config) == 2 and isinstance(config[0], type)
                and isinstance(config[1], Mapping)):
            raise TypeError(
                f"pool {pool_id!r}: expected (PoolClass, init_kwargs) such as (ThreadPool, {{'num_workers': 4}}), "
                f"got {config!r}"
            )
        cls, kwargs = config[0], dict(config[1])
        if "worker_fn" in kwargs:
            raise ValueError(
                f"pool {pool_id!r}: do not pass worker_fn; the ExecutionManager provides the worker function"
            )
        pre = kwargs.pop("func_preprocessor", None)
        done = kwargs.pop("func_done_callback", None)
        worker_kwargs = {"func_preprocessor": pre, "func_done_callback": done, "capture_prints": self._capture}
        if issubclass(cls, DaskPool):
            from netrun.execution._dask import DaskPoolRuntime

            if done is not None:
                raise ValueError(f"pool {pool_id!r}: func_done_callback is not supported on Dask pools")
            return DaskPoolRuntime(pool_id, cls(**kwargs), pre, self._capture)
        if issubclass(cls, RemotePoolClient):
            if pre is not None or done is not None:
                raise ValueError(
                    f"pool {pool_id!r}: func_preprocessor/func_done_callback of a remote pool are set on the server "
                    "(create_execution_manager_server(...)), not in the client's init_kwargs"
                )
            kwargs.setdefault("worker_name", "execution_manager")
            return MessagePoolRuntime(pool_id, cls(**kwargs), "remote", self._on_worker_message)
        if issubclass(cls, SingleWorkerPool):
            worker: Any = functools.partial(async_execution_worker, **worker_kwargs)
            kind = "main"
        else:
            worker = functools.partial(execution_worker, **worker_kwargs)
            kind = "process" if getattr(cls, "serializes_messages", False) else "thread"
        return MessagePoolRuntime(pool_id, cls(worker, **kwargs), kind, self._on_worker_message)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every pool (concurrently); if one fails, close the others and raise."""
        if self._started:
            raise ExecutionError("this ExecutionManager is already started; call start() once")
        if self._closed:
            raise ExecutionManagerNotStarted("this ExecutionManager was closed; create a new one")
        self._started = True
        results = await asyncio.gather(*(rt.start() for rt in self._runtimes.values()), return_exceptions=True)
        errors = [(pid, r) for pid, r in zip(self._runtimes, results) if isinstance(r, BaseException)]
        if errors:
            await self.close(drain=False)
            pool_id, error = errors[0]
            if isinstance(error, (NetrunRuntimeError, ImportError)):
                raise error
            raise ExecutionError(f"pool {pool_id!r} failed to start: {type(error).__name__}: {error}") from error

    async def close(self, drain: bool = True, timeout: float | None = 30.0) -> None:
        """Close every pool: ``drain=True`` waits (at most ``timeout`` s) for running jobs;
        ``drain=False`` (or what is left after the drain) fails them with ``JobCancelled``,
        kills process workers and abandons thread workers. Idempotent."""
        if self._closed or not self._started:
            self._closed = True
            return
        self._closing = True
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        if drain and self._inflight:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        reason = "the ExecutionManager was closed" + (" before the job finished (drain timed out)" if drain else "")
        for rt in self._runtimes.values():
            await rt.cancel_pending(reason)
        remaining = None if deadline is None else max(0.0, deadline - loop.time())
        pool_timeout = (remaining if remaining is not None else 10.0) if drain else 0
        await asyncio.gather(*(rt.close(pool_timeout) for rt in self._runtimes.values()), return_exceptions=True)
        self._closed = True

    async def __aenter__(self) -> ExecutionManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def started(self) -> bool:
        return self._started and not self._closed

    # -- lookups --------------------------------------------------------------------------
    def _runtime(self, pool_id: str) -> Any:
        rt = self._runtimes.get(pool_id)
        if rt is None:
            raise UnknownPool(f"no pool {pool_id!r} in this ExecutionManager (pools: {sorted(self._runtimes)})")
        return rt

    def _running(self, pool_id: str, action: str) -> Any:
        rt = self._runtime(pool_id)
        if not self._started or self._closed or self._closing:
            state = "is closed" if (self._closed or self._closing) else "was not started"
            raise ExecutionManagerNotStarted(
                f"cannot {action}: the ExecutionManager {state}; use `async with manager:` or `await manager.start()`"
            )
        return rt

    def _check_worker(self, rt: Any, pool_id: str, worker_id: Any) -> None:
        if type(worker_id) is not int or not 0 <= worker_id < rt.num_workers:
            raise UnknownPool(
                f"pool {pool_id!r} has no worker {worker_id!r} (workers 0..{rt.num_workers - 1})"
            )

    @property
    def pools(self) -> dict[str, Any]:
        """``{pool_id: pool}``."""
        return {pid: rt.pool for pid, rt in self._runtimes.items()}

    def get_pool(self, pool_id: str) -> Any:
        return self._runtime(pool_id).pool

    def pool_kind(self, pool_id: str) -> str:
        """``"main"``, ``"thread"``, ``"process"``, ``"remote"`` or ``"dask"``."""
        return self._runtime(pool_id).kind

    def get_num_workers(self, pool_id: str) -> int:
        rt = self._runtime(pool_id)
        return rt.num_workers or getattr(rt.pool, "num_workers", 0)

    def get_worker_ids(self, pool_id: str) -> list[WorkerId]:
        """Every worker id of the pool (including workers that died and were not replaced)."""
        return list(range(self.get_num_workers(pool_id)))

    def live_worker_ids(self, pool_id: str) -> list[WorkerId]:
        rt = self._runtime(pool_id)
        return [w for w in range(rt.num_workers) if w not in rt.dead]

    def get_worker_jobs(self, pool_id: str, worker_id: WorkerId) -> list[SubmittedJobInfo]:
        """The jobs sent to a worker that have not finished."""
        rt = self._runtime(pool_id)
        self._check_worker(rt, pool_id, worker_id)
        return rt.worker_infos(worker_id)

    def get_process_ids(self, pool_id: str) -> list[int | None]:
        """The pids of a multiprocess (or remote, as reported at creation) pool's processes."""
        pool = self._runtime(pool_id).pool
        if not hasattr(pool, "get_process_ids"):
            raise ExecutionError(f"pool {pool_id!r} ({type(pool).__name__}) has no processes of its own")
        return pool.get_process_ids()

    async def flush_pool_stdout(self, pool_id: str, process_idx: int,
                                timeout: float | None = 5.0) -> list[tuple[datetime, bool, str]]:
        """Output printed outside jobs by one process of a multiprocess/remote pool."""
        pool = self._running(pool_id, "flush output").pool
        if not hasattr(pool, "flush_stdout"):
            raise ExecutionError(f"pool {pool_id!r} ({type(pool).__name__}) has no process output to flush")
        return await pool.flush_stdout(process_idx, timeout)

    async def flush_all_pool_stdout(self, pool_id: str,
                                    timeout: float | None = 5.0) -> dict[int, list[tuple[datetime, bool, str]]]:
        pool = self._running(pool_id, "flush output").pool
        if not hasattr(pool, "flush_all_stdout"):
            raise ExecutionError(f"pool {pool_id!r} ({type(pool).__name__}) has no process output to flush")
        return await pool.flush_all_stdout(timeout)

    # -- functions ------------------------------------------------------------------------
    async def send_function(self, pool_id: str, worker_id: WorkerId, func_key: str,
                            func: Callable[..., Any], timeout: float | None = None, *, by_value: bool = False) -> None:
        """Register ``func`` under ``func_key`` on one worker (all workers for Dask pools)."""
        rt = self._running(pool_id, "send a function")
        self._check_worker(rt, pool_id, worker_id)
        await rt.send_function([worker_id], func_key, func, timeout or self._function_timeout, by_value)

    async def send_function_to_pool(self, pool_id: str, func_key: str, func: Callable[..., Any],
                                    timeout: float | None = None, *, by_value: bool = False) -> None:
        """Register ``func`` under ``func_key`` on every worker of the pool, once.

        Workers that are replaced later receive it again automatically. Process, remote
        and Dask workers get it through cloudpickle, which refers to functions of importable
        modules by name; ``by_value=True`` ships the code of ``func``'s module too, for
        workers that cannot import it (a remote server without this project installed).
        Waits at most ``timeout`` seconds for every worker to confirm.
        """
        rt = self._running(pool_id, "send a function")
        if not callable(func):
            raise TypeError(f"send_function_to_pool({pool_id!r}, {func_key!r}, ...): {func!r} is not callable")
        await rt.send_function(self.live_worker_ids(pool_id), func_key, func, timeout or self._function_timeout, by_value)

    # -- running --------------------------------------------------------------------------
    async def run(
        self,
        pool_id: str,
        worker_id: WorkerId,
        func_import_path_or_key: str,
        send_channel: bool = False,
        func_args: Any = (),
        func_kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = _DEFAULT,
        run_id: str | None = None,
        keep_remote: bool = False,
        on_output: Callable[[list[OutputLine]], None] | None = None,
    ) -> JobResult:
        """Run a function on ``worker_id`` of ``pool_id`` and return its :class:`JobResult`.

        ``timeout`` (seconds from the job's start; default: the manager's
        ``default_timeout``) bounds the run. ``keep_remote=True`` (Dask pools) leaves the
        result in the cluster: ``JobResult.result`` is then a ``distributed.Future``.
        ``send_channel=True`` passes the worker's channel as the first argument.
        ``on_output(lines)`` is called on the event loop with each output line of the job
        while it runs (the lines are also in ``JobResult.print_buffer``); not on Dask pools.
        """
        rt = self._running(pool_id, "run a job")
        self._check_worker(rt, pool_id, worker_id)
        if timeout is _DEFAULT:
            timeout = self._default_timeout
        if run_id is None:
            run_id = f"{pool_id}:{next(self._run_ids)}"
        args = func_args if type(func_args) is tuple else tuple(func_args)
        kwargs = dict(func_kwargs) if func_kwargs else {}
        self._last_used[(pool_id, worker_id)] = next(self._use_clock)
        self._inflight += 1
        self._idle.clear()
        try:
            if rt.kind == "dask":
                if send_channel or on_output is not None:
                    raise ExecutionError(
                        f"pool {pool_id!r}: Dask jobs have no worker channel (send_channel=True) and no live "
                        "output (on_output=...); their output arrives in JobResult.print_buffer"
                    )
                return await rt.run(worker_id, func_import_path_or_key, run_id, args, kwargs, timeout, keep_remote)
            if keep_remote:
                raise ValueError(f"keep_remote=True needs a Dask pool; pool {pool_id!r} is a {rt.kind} pool")
            future = await rt.submit(worker_id, func_import_path_or_key, run_id, send_channel, args, kwargs, timeout,
                                     on_output)
            try:
                return await future
            except asyncio.CancelledError:
                rt.abandon(future)
                raise
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._idle.set()

    def submit(
        self,
        pool_id: str,
        worker_id: WorkerId,
        func_import_path_or_key: str,
        func_args: Any = (),
        func_kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = _DEFAULT,
        run_id: str | None = None,
        on_output: Callable[[list[OutputLine]], None] | None = None,
        split_result: bool = False,
    ) -> asyncio.Future[JobResult]:
        """:meth:`run` without the coroutine: send the job now and return a future of its
        :class:`JobResult` (call on the event loop's thread).

        For callers that keep many jobs in flight (the ``Net`` runs one per epoch): no task
        is created per job on message pools. The same errors as :meth:`run` are raised
        synchronously (``ArgumentsNotPicklable``, ``WorkerCrashed`` for a dead worker) or
        set on the future. Cancelling the future abandons the job like a cancelled
        ``run``; :meth:`abandon` can also restart its worker.

        ``split_result=True`` (Dask pools only): the function returns ``(inline, resident)``;
        ``JobResult.result`` is ``(inline, future)`` where ``future`` keeps ``resident`` in
        the cluster (``None`` when it is empty); see ``netrun.execution._dask``.
        """
        rt = self._running(pool_id, "run a job")
        if type(worker_id) is not int or not 0 <= worker_id < rt.num_workers:
            self._check_worker(rt, pool_id, worker_id)
        if timeout is _DEFAULT:
            timeout = self._default_timeout
        if run_id is None:
            run_id = f"{pool_id}:{next(self._run_ids)}"
        args = func_args if type(func_args) is tuple else tuple(func_args)
        kwargs = dict(func_kwargs) if func_kwargs else {}
        if rt.kind == "dask":
            if on_output is not None:
                raise ExecutionError(f"pool {pool_id!r}: Dask jobs have no live output (on_output=...); "
                                     "their output arrives in JobResult.print_buffer")
            future: asyncio.Future[JobResult] = asyncio.get_running_loop().create_task(
                rt.run(worker_id, func_import_path_or_key, run_id, args, kwargs, timeout, False, split_result))
        else:
            if split_result:
                raise ValueError(f"split_result=True needs a Dask pool; pool {pool_id!r} is a {rt.kind} pool")
            future = rt.submit_nowait(worker_id, func_import_path_or_key, run_id, False, args, kwargs, timeout,
                                      on_output)
        self._last_used[(pool_id, worker_id)] = next(self._use_clock)
        self._inflight += 1
        self._idle.clear()
        future.add_done_callback(self._settled)
        return future

    def _settled(self, future: asyncio.Future[JobResult]) -> None:
        self._inflight -= 1
        if not self._inflight:
            self._idle.set()
        if future.cancelled():
            return
        future.exception()  # retrieved here: an abandoned job's failure is not "never retrieved"

    def abandon(self, pool_id: str, future: asyncio.Future[JobResult], *, restart_worker: bool = False,
                reason: str = "its job was abandoned") -> bool:
        """Stop waiting for a job made by :meth:`submit`: it is forgotten (its answer will
        be ignored) and its future cancelled. ``restart_worker=True`` kills and replaces
        the worker of a job that already started on a process or remote pool, so a stuck
        call stops holding the worker. Returns whether a restart was requested."""
        rt = self._runtime(pool_id)
        restarted = False
        if rt.kind == "dask":
            future.cancel()  # the task's own cancellation cancels the Dask future
            return False
        if not future.done():
            restarted = rt.abandon(future, restart_worker, reason)
            future.cancel()
        return restarted

    def allocate(self, pool_worker_ids: list[str | tuple[str, WorkerId]],
                 allocation_method: RunAllocationMethod | str = RunAllocationMethod.ROUND_ROBIN) -> tuple[str, WorkerId]:
        """Pick ``(pool_id, worker_id)`` among candidates (a pool id means all its live workers)."""
        method = _METHODS.get(allocation_method) or RunAllocationMethod(allocation_method)
        key = tuple(pool_worker_ids)
        cached = self._candidates.get(key)
        dead_count = sum(len(rt.dead) for rt in self._runtimes.values())
        if cached is not None and cached[0] == dead_count:
            candidates, loads = cached[1], cached[2]
        else:
            candidates = self._expand(pool_worker_ids)
            # Per candidate, the live dict of its outstanding jobs (its ``len`` is the load).
            loads = [self._runtimes[pool_id].worker_jobs[wid] for pool_id, wid in candidates]
            self._candidates[key] = (dead_count, candidates, loads)
        if not candidates:
            raise ExecutionError(
                f"no live worker among {pool_worker_ids!r}: every candidate worker died and could not be replaced"
            )
        if method is RunAllocationMethod.RANDOM:
            return random.choice(candidates)
        last = self._last_used
        if method is RunAllocationMethod.ROUND_ROBIN:
            return min(candidates, key=lambda c: last.get(c, 0))
        best, best_key = candidates[0], None
        for cand, jobs in zip(candidates, loads):
            load = (len(jobs), last.get(cand, 0))
            if best_key is None or load < best_key:
                best, best_key = cand, load
        return best

    def _expand(self, pool_worker_ids: list[str | tuple[str, WorkerId]]) -> list[tuple[str, WorkerId]]:
        candidates: list[tuple[str, WorkerId]] = []
        for entry in pool_worker_ids:
            if isinstance(entry, str):
                candidates.extend((entry, w) for w in self.live_worker_ids(entry))
            else:
                pool_id, wid = entry
                rt = self._runtime(pool_id)
                self._check_worker(rt, pool_id, wid)
                if wid not in rt.dead:
                    candidates.append((pool_id, wid))
        return candidates

    async def run_allocate(
        self,
        pool_worker_ids: list[str | tuple[str, WorkerId]],
        allocation_method: RunAllocationMethod | str,
        func_import_path_or_key: str,
        send_channel: bool = False,
        func_args: Any = (),
        func_kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> JobResult:
        """:meth:`allocate` a worker, then :meth:`run` on it (``options`` go to ``run``)."""
        pool_id, worker_id = self.allocate(pool_worker_ids, allocation_method)
        return await self.run(pool_id, worker_id, func_import_path_or_key, send_channel, func_args, func_kwargs,
                              **options)

    async def run_on_workers(
        self,
        pool_id: str,
        func_import_path_or_key: str,
        mode: PoolInitMode | str = PoolInitMode.PER_WORKER,
        func_args: Any = (),
        func_kwargs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = _DEFAULT,
    ) -> list[JobResult]:
        """Run a function for set-up or tear-down: on every worker (``per_worker``), or once
        per address space (``global``: once for main/thread/Dask pools, once per process for
        process and remote pools). Returns one JobResult per run, in worker order."""
        rt = self._running(pool_id, "run on workers")
        mode = PoolInitMode(mode)
        live = self.live_worker_ids(pool_id)
        if mode is PoolInitMode.GLOBAL or rt.kind == "dask":
            if rt.kind in ("process", "remote"):
                tpp = getattr(rt.pool, "threads_per_process", 1)
                firsts: dict[int, WorkerId] = {}
                for w in live:
                    firsts.setdefault(w // tpp, w)
                targets = list(firsts.values())
            else:
                targets = live[:1]
        else:
            targets = live
        return list(await asyncio.gather(*(
            self.run(pool_id, w, func_import_path_or_key, False, func_args, func_kwargs, timeout=timeout)
            for w in targets
        )))
