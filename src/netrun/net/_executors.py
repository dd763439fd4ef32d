"""Where an attempt runs: the event loop, a thread pool, helper threads, a process pool.

The scheduler hands an attempt to an executor with ``execute(run, ctx)``; the executor
calls the node function and reports back with ``core.attempt_done(run, ctx, exc)`` on the
loop thread (worker threads use ``core.post_done``, which batches wake-ups). The interface
is deliberately small so other placements (remote workers, a cluster through an
``ExecutionManager``) can be added as further executors:

* ``name`` / ``kind`` (``"main"``, ``"thread"``, ``"process"``), ``size`` (``None`` = no
  limit) and ``busy``;
* ``in_process``: node functions run in this process and may talk to the net live;
* ``start(core)`` / ``close(core)`` (coroutines), ``init_nodes(core, nodes)`` /
  ``stop_nodes(core, nodes)`` for per-worker start/stop functions;
* ``execute(run, ctx)``, ``release(run)`` (the attempt's slot is free again) and
  ``abandon(run)`` (stop waiting for an attempt that ran past its timeout).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Optional

from netrun._util.aio import thread_loop
from netrun.errors import NodeLifecycleError
from netrun.net._records import NOT_STARTED

__all__ = ["MainLoopExecutor", "ThreadPoolExecutor", "HelperThreadExecutor"]


class MainLoopExecutor:
    """Runs node functions on the net's event loop: sync ones inline (no task per epoch),
    async ones as one task each. A sync function with a ``timeout`` runs on a helper thread
    instead, because a call that blocks the loop could not be stopped."""

    name = "main"
    kind = "main"
    in_process = True
    starts_epochs = False
    size: Optional[int] = None

    def __init__(self, core: Any) -> None:
        self.core = core
        self.busy = 0
        self.helper = HelperThreadExecutor(core)

    def has_capacity(self, node: Any = None) -> bool:
        return True

    def available(self) -> float:
        return float("inf")

    async def start(self, core: Any) -> None:
        return None

    async def close(self, core: Any) -> None:
        return None

    def execute(self, run: Any, ctx: Any) -> None:
        node = run.node
        if node.exec_async:
            run.task = self.core.loop.create_task(self.core.run_async(run, ctx))
        elif node.timeout is not None:
            run.executor = self.helper
            self.helper.execute(run, ctx)
        else:
            self.core.attempt_done(run, ctx, self.core.call_sync(run, ctx))

    def release(self, run: Any) -> None:
        return None

    def abandon(self, run: Any) -> None:
        task = run.task
        if task is not None and not task.done():
            task.cancel()


class HelperThreadExecutor:
    """One short-lived thread per attempt (for sync main-loop nodes with a timeout)."""

    name = "main"
    kind = "thread"
    in_process = True
    starts_epochs = False
    size: Optional[int] = None

    def __init__(self, core: Any) -> None:
        self.core = core
        self.busy = 0

    def has_capacity(self, node: Any = None) -> bool:
        return True

    def available(self) -> float:
        return float("inf")

    def execute(self, run: Any, ctx: Any) -> None:
        thread = threading.Thread(target=self._work, args=(run, ctx), daemon=True,
                                  name=f"netrun-timeout-{run.node.name}")
        thread.start()

    def _work(self, run: Any, ctx: Any) -> None:
        self.core.post_done(run, ctx, self.core.call_sync(run, ctx))

    def release(self, run: Any) -> None:
        return None

    def abandon(self, run: Any) -> None:
        return None  # the thread finishes on its own; its result is ignored


class _Worker:
    __slots__ = ("index", "thread", "retired", "initialized", "current")

    def __init__(self, index: int) -> None:
        self.index = index
        self.thread: Optional[threading.Thread] = None
        self.retired = False
        self.initialized: set[str] = set()
        self.current: Any = None


_STOP = object()


class ThreadPoolExecutor:
    """A named pool of worker threads (``thread_pools={"io": {"size": 4}}``).

    Workers take attempts from one shared queue, so a free worker always picks the oldest
    waiting attempt. To keep workers busy while the loop commits finished attempts, the pool
    accepts up to ``size`` extra attempts waiting in its queue, but only for nodes without a
    ``timeout``: an attempt with a timeout is only handed over when a worker is free, so its
    wall-clock limit starts when it really starts. A worker
    stuck in an abandoned attempt (past its timeout) is retired and replaced at once, so the
    pool keeps its size; the stuck thread exits when the call finally returns.
    """

    kind = "thread"
    in_process = True
    starts_epochs = True  # a worker starts the epoch in the engine when it takes it

    def __init__(self, core: Any, name: str, size: int) -> None:
        self.core = core
        self.name = name
        self.size = size
        self.busy = 0
        self._inbox: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._workers: list[_Worker] = []
        self._next_index = 0
        self._started = False
        self._lock = threading.Lock()

    # -- capacity ---------------------------------------------------------------------
    def has_capacity(self, node: Any = None) -> bool:
        if node is not None and node.timeout is None:
            return self.busy < 2 * self.size
        return self.busy < self.size

    def available(self) -> float:
        return float(self.size - self.busy)

    # -- lifecycle --------------------------------------------------------------------
    async def start(self, core: Any) -> None:
        if self._started:
            return
        self._started = True
        for _ in range(self.size):
            self._spawn()

    def _spawn(self) -> _Worker:
        with self._lock:
            worker = _Worker(self._next_index)
            self._next_index += 1
            self._workers.append(worker)
        thread = threading.Thread(target=self._run_worker, args=(worker,), daemon=True,
                                  name=f"netrun-{self.name}-{worker.index}")
        worker.thread = thread
        thread.start()
        return worker

    async def init_nodes(self, core: Any, nodes: list[Any]) -> None:
        """Run per-worker start functions on every worker (each worker exactly once)."""
        await self._broadcast(core, nodes, "start")

    async def stop_nodes(self, core: Any, nodes: list[Any]) -> None:
        """Run per-worker stop functions on every worker that initialised the node."""
        await self._broadcast(core, nodes, "stop")

    async def _broadcast(self, core: Any, nodes: list[Any], phase: str) -> None:
        if not nodes or not self._started:
            return
        live = [w for w in self._workers if not w.retired]
        barrier = threading.Barrier(len(live))
        loop = asyncio.get_running_loop()
        futures = []
        for _ in live:
            fut = loop.create_future()
            futures.append(fut)
            self._inbox.put(("__broadcast__", phase, nodes, barrier, loop, fut))
        results = await asyncio.gather(*futures)
        errors = [err for err in results if err is not None]
        if errors and phase == "start":
            raise errors[0]

    async def close(self, core: Any) -> None:
        if not self._started:
            return
        self._started = False
        threads = [w.thread for w in self._workers if w.thread is not None and not w.retired]
        for _ in threads:
            self._inbox.put(_STOP)
        loop = asyncio.get_running_loop()
        for thread in threads:
            await loop.run_in_executor(None, thread.join, 5.0)
        self._workers.clear()

    def close_now(self) -> None:
        """Ask every worker to exit, without waiting (used when a net is garbage collected)."""
        if not self._started:
            return
        self._started = False
        for worker in self._workers:
            if not worker.retired:
                self._inbox.put(_STOP)
        self._workers.clear()

    # -- work -------------------------------------------------------------------------
    def execute(self, run: Any, ctx: Any) -> None:
        self.busy += 1
        self._inbox.put((run, ctx))

    def release(self, run: Any) -> None:
        self.busy -= 1

    def abandon(self, run: Any) -> None:
        worker = run.worker
        if worker is None or worker.retired:
            return
        worker.retired = True
        task = getattr(run, "task", None)
        if task is not None:
            try:
                task.get_loop().call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass
        if self._started:
            self._spawn()

    def _run_worker(self, worker: _Worker) -> None:
        core = self.core
        inbox = self._inbox
        while not worker.retired:
            item = inbox.get()
            if item is _STOP:
                break
            if type(item) is tuple and len(item) == 6 and item[0] == "__broadcast__":
                self._do_broadcast(worker, *item[1:])
                continue
            run, ctx = item
            if run.ctx is not ctx:  # abandoned (timed out) while waiting in the queue
                del item, run, ctx
                continue
            if not run.in_engine:
                # queued attempts not taken yet when a pause is requested stay startable
                if core.pause_requested:
                    core.post_done(run, ctx, NOT_STARTED)
                    del item, run, ctx
                    continue
                try:
                    core.engine.start_epoch(run.id)
                except Exception as error:
                    core.post_done(run, ctx, error)
                    del item, run, ctx
                    continue
                run.in_engine = True
            run.worker = worker
            run.worker_index = worker.index
            node = run.node
            exc: Optional[BaseException] = None
            if node.start_func is not None and node.name not in worker.initialized and \
                    node.config.pool_init_mode == "per_worker":
                exc = self._init_one(worker, node)
            if exc is None:
                if node.exec_async:
                    exc = self._run_async(run, ctx)
                else:
                    exc = core.call_sync(run, ctx)
            run.worker = None
            core.post_done(run, ctx, exc)
            del item, run, ctx, node, exc  # hold nothing while waiting for the next job
        # retired workers just end: the pool spawned a replacement

    def _run_async(self, run: Any, ctx: Any) -> Optional[BaseException]:
        loop = thread_loop()
        task = loop.create_task(self.core.run_async(run, ctx, report=False))
        run.task = task
        try:
            return loop.run_until_complete(task)
        except BaseException as exc:  # cancelled after a timeout
            return exc
        finally:
            run.task = None

    def _init_one(self, worker: _Worker, node: Any) -> Optional[BaseException]:
        worker.initialized.add(node.name)
        try:
            self.core.call_lifecycle_blocking(node, node.start_func)
        except Exception as exc:
            return NodeLifecycleError(node.name, "start", exc)
        return None

    def _do_broadcast(self, worker: _Worker, phase: str, nodes: list[Any], barrier: threading.Barrier,
                      loop: asyncio.AbstractEventLoop, fut: asyncio.Future) -> None:
        error: Optional[BaseException] = None
        for node in nodes:
            func = node.start_func if phase == "start" else node.stop_func
            if func is None:
                continue
            if phase == "start":
                if node.name in worker.initialized:
                    continue
                error = error or self._init_one(worker, node)
            elif node.name in worker.initialized:
                worker.initialized.discard(node.name)
                try:
                    self.core.call_lifecycle_blocking(node, func)
                except Exception as exc:
                    self.core.report_lifecycle_error(node, "stop", exc)
        try:
            barrier.wait(timeout=30)  # each worker takes exactly one broadcast item
        except threading.BrokenBarrierError:
            pass
        loop.call_soon_threadsafe(_set_result, fut, error)


def _set_result(fut: asyncio.Future, value: Any) -> None:
    if not fut.done():
        fut.set_result(value)
