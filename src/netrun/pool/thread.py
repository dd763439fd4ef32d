"""A pool of worker threads in this process.

>>> def echo_worker(channel, worker_id):
...     while True:
...         try:
...             key, data = channel.recv()
...         except ChannelClosed:
...             return
...         channel.send(key, (worker_id, data))
>>> async def demo():
...     async with ThreadPool(echo_worker, num_workers=2) as pool:
...         await pool.send(1, "job", "x")
...         msg = await pool.recv(timeout=5)
...         return msg.worker_id, msg.data
>>> asyncio.run(demo())
(1, (1, 'x'))
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from netrun._util.callables import callable_name
from netrun.pool._core import Failure, PoolContextMixin, PoolCore, WorkerReplyBox
from netrun.pool.base import (
    POOL_UP_ERROR_CRASHED,
    POOL_UP_ERROR_EXCEPTION,
    PoolInitMode,
    PoolStartupFailed,
    WorkerFn,
    WorkerId,
    WorkerMessage,
)
from netrun.rpc._mailbox import SyncMailbox
from netrun.rpc.base import RPC_KEY_BROKEN, RPC_KEY_SHUTDOWN, ChannelClosed  # noqa: F401 (doctest)
from netrun.rpc.thread import SyncThreadChannel

__all__ = ["ThreadPool"]

_log = logging.getLogger("netrun.pool.thread")


class _WorkerThread:
    __slots__ = ("abandoned", "channel", "generation", "mailbox", "ready", "thread", "worker_id")

    def __init__(self, core: PoolCore, worker_id: WorkerId, generation: int) -> None:
        self.worker_id = worker_id
        self.generation = generation
        self.mailbox = SyncMailbox(f"channel of thread worker {worker_id}")
        self.channel = SyncThreadChannel(WorkerReplyBox(core, worker_id, generation), self.mailbox)
        self.thread: threading.Thread | None = None
        self.abandoned = False
        self.ready: concurrent.futures.Future[None] = concurrent.futures.Future()


class ThreadPool(PoolContextMixin):
    """``num_workers`` daemon threads, each running ``worker_fn(channel, worker_id)``.

    ``worker_startup(worker_id)`` runs before a worker takes messages: in every worker
    thread (``init_mode="per_worker"``, the default), or once on a helper thread before any
    worker starts (``init_mode="global"``, called with ``None``; the function must then be
    thread-safe for what it sets up). A worker whose function raises or returns while the
    pool runs is reported through ``recv`` and replaced when ``restart_workers`` is true.
    ``restart_worker`` *abandons* a stuck thread (Python cannot kill a thread): it is left to
    finish on its own, its replies are dropped, and a fresh thread takes its id.
    """

    def __init__(
        self,
        worker_fn: WorkerFn,
        num_workers: int,
        *,
        worker_startup: Callable[[WorkerId | None], Any] | None = None,
        init_mode: PoolInitMode | str = PoolInitMode.PER_WORKER,
        restart_workers: bool = True,
        start_timeout: float = 30.0,
        name: str = "ThreadPool",
    ) -> None:
        self._core = PoolCore(name, num_workers)
        self._worker_fn = worker_fn
        self._startup = worker_startup
        self._init_mode = PoolInitMode(init_mode)
        self._restart = restart_workers
        self._start_timeout = start_timeout
        self._name = name
        self._workers: list[_WorkerThread] = []
        self._closing = False

    @property
    def num_workers(self) -> int:
        return self._core.num_workers

    @property
    def is_running(self) -> bool:
        return self._core.started and not self._core.closed

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every worker; raise :class:`PoolStartupFailed` if a start-up function fails."""
        self._core.begin_start()
        try:
            if self._startup is not None and self._init_mode is PoolInitMode.GLOBAL:
                try:
                    await asyncio.wait_for(asyncio.to_thread(self._startup, None), self._start_timeout)
                except Exception as exc:
                    raise PoolStartupFailed(
                        0, f"the start-up function {callable_name(self._startup)} raised "
                        f"{type(exc).__name__}: {exc} in the global start-up of {self._name}",
                    ) from exc
            self._workers = [self._launch(wid, 0) for wid in range(self.num_workers)]
            await self._wait_ready(self._workers)
        except BaseException:
            await self.close(timeout=0)
            raise

    async def _wait_ready(self, workers: list[_WorkerThread]) -> None:
        futures = [asyncio.wrap_future(w.ready) for w in workers]
        _done, pending = await asyncio.wait(futures, timeout=self._start_timeout)
        if pending:
            wid = workers[futures.index(next(iter(pending)))].worker_id
            raise PoolStartupFailed(
                wid, f"worker {wid} of {self._name} did not become ready within {self._start_timeout} s "
                "(is its start-up function stuck?)",
            )
        for fut in futures:
            fut.result()  # raises the first start-up failure

    def _launch(self, worker_id: WorkerId, generation: int) -> _WorkerThread:
        worker = _WorkerThread(self._core, worker_id, generation)
        worker.thread = threading.Thread(
            target=self._run_worker, args=(worker,), name=f"netrun-{self._name}-worker-{worker_id}", daemon=True
        )
        worker.thread.start()
        return worker

    def _run_worker(self, worker: _WorkerThread) -> None:
        wid = worker.worker_id
        if self._startup is not None and self._init_mode is PoolInitMode.PER_WORKER:
            try:
                self._startup(wid)
            except BaseException as exc:
                worker.ready.set_exception(
                    PoolStartupFailed(
                        wid, f"the start-up function {callable_name(self._startup)} raised "
                        f"{type(exc).__name__}: {exc} in worker {wid} of {self._name}",
                    )
                )
                return
        worker.ready.set_result(None)
        try:
            self._worker_fn(worker.channel, wid)
        except BaseException as exc:
            if self._gone(worker):
                return
            self._worker_failed(
                worker,
                Failure(
                    POOL_UP_ERROR_EXCEPTION,
                    {"reason": f"the worker function raised {type(exc).__name__}: {exc}", "restarted": self._restart},
                    exception=exc,
                ),
            )
        else:
            if self._gone(worker):
                return
            self._worker_failed(
                worker,
                Failure(
                    POOL_UP_ERROR_CRASHED,
                    {"reason": "the worker function returned while the pool was running", "restarted": self._restart},
                ),
            )

    def _gone(self, worker: _WorkerThread) -> bool:
        return worker.abandoned or self._closing or self._core.closed

    def _worker_failed(self, worker: _WorkerThread, failure: Failure) -> None:
        with self._core.lock:
            if worker.abandoned or self._closing:
                return
            worker.abandoned = True
        worker.mailbox.close_local()
        if self._restart:  # in place before anyone can learn of the failure and send again
            self._replace(worker.worker_id, worker.generation + 1)
        self._core.push_failure(worker.worker_id, failure)

    def _replace(self, worker_id: WorkerId, generation: int) -> None:
        replacement = self._launch(worker_id, generation)
        self._workers[worker_id] = replacement

        def check_ready(fut: concurrent.futures.Future[None]) -> None:
            exc = fut.exception()
            if exc is not None:
                self._worker_failed(
                    replacement,
                    Failure(POOL_UP_ERROR_CRASHED, {"reason": f"its replacement failed to start: {exc}", "restarted": False}),
                )

        replacement.ready.add_done_callback(check_ready)

    async def restart_worker(self, worker_id: WorkerId, reason: str = "restart requested") -> None:
        """Abandon worker ``worker_id`` and give its id to a fresh thread (see class doc)."""
        self._core.check_running("restart a worker")
        self._core.check_worker(worker_id)
        worker = self._workers[worker_id]
        with self._core.lock:
            if worker.abandoned:
                return  # already failed; its failure is on its way
            worker.abandoned = True
        worker.mailbox.close_local()
        self._replace(worker_id, worker.generation + 1)
        self._core.push_failure(
            worker_id,
            Failure(
                POOL_UP_ERROR_CRASHED,
                {"reason": reason, "restarted": True, "requested": True, "abandoned_thread": worker.thread.name},
            ),
        )

    async def close(self, timeout: float | None = 10.0) -> None:
        """Ask every worker to stop after the messages already sent to it, then wait.

        Waits at most ``timeout`` seconds (``0``: do not wait, discard queued messages);
        threads still busy after that are abandoned (they are daemon threads).
        """
        if self._core.closed:
            return
        self._closing = True
        self._core.closed = True
        for worker in self._workers:
            if timeout == 0:
                worker.mailbox.close_local()
            else:
                worker.mailbox.put((RPC_KEY_SHUTDOWN, None))
        deadline = time.monotonic() + (timeout or 0)
        stuck: list[str] = []
        for worker in self._workers:
            thread = worker.thread
            if thread is None or worker.abandoned:
                continue
            remaining = deadline - time.monotonic()
            if remaining > 0:
                await asyncio.to_thread(thread.join, remaining)
            if thread.is_alive():
                worker.mailbox.close_local()
                stuck.append(thread.name)
        if stuck and timeout:
            _log.warning("%s: threads still busy after %s s were abandoned: %s", self._name, timeout, stuck)
        self._core.inbox.close_local()
        await self._core.cancel_tasks()

    # -- messages -------------------------------------------------------------------------
    async def send(self, worker_id: WorkerId, key: str, data: Any) -> None:
        """Queue ``(key, data)`` for worker ``worker_id`` (passed by reference)."""
        self.send_nowait(worker_id, key, data)

    def send_nowait(self, worker_id: WorkerId, key: str, data: Any) -> None:
        core = self._core
        if not core.started or core.closed:
            core.check_running("send")
        if type(worker_id) is not int or not 0 <= worker_id < core.num_workers:
            core.check_worker(worker_id)
        if core.may_send(worker_id):
            self._workers[worker_id].mailbox.put((key, data))

    async def broadcast(self, key: str, data: Any) -> None:
        """Send ``(key, data)`` to every live worker."""
        self._core.check_running("broadcast")
        for wid in range(self.num_workers):
            if self._core.may_send(wid):
                self._workers[wid].mailbox.put((key, data))

    async def recv(self, timeout: float | None = None) -> WorkerMessage:
        """The next reply; raises ``WorkerCrashed``/``WorkerException`` for failures."""
        return await self._core.recv(timeout)

    async def recv_batch(self, timeout: float | None = None) -> list[WorkerMessage]:
        """Every reply buffered (waiting for at least one); failures come as messages."""
        return await self._core.recv_batch(timeout)

    async def try_recv(self) -> WorkerMessage | None:
        return self._core.try_recv()
