"""A one-worker pool whose worker is a coroutine on the caller's event loop (the "main" pool).

The worker function is ``async def worker(channel: AsyncChannel, worker_id: int)``. Work it
does synchronously blocks the loop (that is what "main" means: the code runs on the loop's
thread, e.g. for libraries that must stay on it); async work interleaves with the rest.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from netrun._util.callables import callable_name
from netrun.pool._core import Failure, PoolContextMixin, PoolCore, WorkerReplyBox
from netrun.pool.base import (
    POOL_UP_ERROR_CRASHED,
    POOL_UP_ERROR_EXCEPTION,
    PoolInitMode,
    PoolStartupFailed,
    WorkerId,
    WorkerMessage,
)
from netrun.rpc._mailbox import LoopMailbox
from netrun.rpc.aio import AsyncChannel
from netrun.rpc.base import RPC_KEY_SHUTDOWN

__all__ = ["AsyncWorkerFn", "SingleWorkerPool"]

AsyncWorkerFn = Callable[[AsyncChannel, WorkerId], Awaitable[None]]


class SingleWorkerPool(PoolContextMixin):
    """One async worker (id 0) running as a task on the current event loop.

    ``worker_startup(0)`` (sync or async) runs once before the worker starts. A worker
    that raises or returns while the pool runs is reported by ``recv`` and restarted when
    ``restart_workers`` is true; ``restart_worker`` cancels the worker task.
    """

    def __init__(
        self,
        worker_fn: AsyncWorkerFn,
        *,
        worker_startup: Callable[[WorkerId | None], Any] | None = None,
        restart_workers: bool = True,
        init_mode: PoolInitMode | str = PoolInitMode.PER_WORKER,
        name: str = "SingleWorkerPool",
    ) -> None:
        PoolInitMode(init_mode)  # validated; with one worker both modes mean "once"
        self._core = PoolCore(name, 1)
        self._worker_fn = worker_fn
        self._startup = worker_startup
        self._restart = restart_workers
        self._name = name
        self._generation = 0
        self._mailbox: LoopMailbox | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def num_workers(self) -> int:
        return 1

    @property
    def is_running(self) -> bool:
        return self._core.started and not self._core.closed

    async def start(self) -> None:
        self._core.begin_start()
        if self._startup is not None:
            try:
                result = self._startup(0)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self._core.closed = True
                raise PoolStartupFailed(
                    0, f"the start-up function {callable_name(self._startup)} raised "
                    f"{type(exc).__name__}: {exc} in worker 0 of {self._name}",
                ) from exc
        self._launch()

    def _launch(self) -> None:
        self._mailbox = LoopMailbox(f"channel of {self._name} worker")
        channel = AsyncChannel(WorkerReplyBox(self._core, 0, self._generation), self._mailbox)
        self._task = self._core.spawn(self._run(channel, self._generation))

    async def _run(self, channel: AsyncChannel, generation: int) -> None:
        try:
            await self._worker_fn(channel, 0)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if self._core.closed or generation != self._generation:
                return
            self._failed(
                Failure(
                    POOL_UP_ERROR_EXCEPTION,
                    {"reason": f"the worker function raised {type(exc).__name__}: {exc}", "restarted": self._restart},
                    exception=exc,
                )
            )
        else:
            if self._core.closed or generation != self._generation:
                return
            self._failed(
                Failure(
                    POOL_UP_ERROR_CRASHED,
                    {"reason": "the worker function returned while the pool was running", "restarted": self._restart},
                )
            )

    def _failed(self, failure: Failure) -> None:
        self._generation += 1
        if self._mailbox is not None:
            self._mailbox.close_local()
        if failure.details.get("restarted"):
            self._launch()
        self._core.push_failure(0, failure)

    async def restart_worker(self, worker_id: WorkerId = 0, reason: str = "restart requested") -> None:
        """Cancel the worker task and start a fresh one."""
        self._core.check_running("restart a worker")
        self._core.check_worker(worker_id)
        old = self._task
        self._failed(Failure(POOL_UP_ERROR_CRASHED, {"reason": reason, "restarted": True, "requested": True}))
        if old is not None:
            old.cancel()

    async def close(self, timeout: float | None = 10.0) -> None:
        """Let the worker finish the messages already sent (at most ``timeout`` s), then stop it."""
        if self._core.closed:
            return
        self._core.closed = True
        task = self._task
        if task is not None and self._mailbox is not None:
            if timeout == 0:
                self._mailbox.close_local()
            else:
                self._mailbox.put((RPC_KEY_SHUTDOWN, None))
                await asyncio.wait([task], timeout=timeout)
        self._core.inbox.close_local()
        await self._core.cancel_tasks()

    async def send(self, worker_id: WorkerId, key: str, data: Any) -> None:
        self.send_nowait(worker_id, key, data)

    def send_nowait(self, worker_id: WorkerId, key: str, data: Any) -> None:
        """:meth:`send` for synchronous code on the loop thread."""
        self._core.check_running("send")
        self._core.check_worker(worker_id)
        if self._core.may_send(worker_id):
            self._mailbox.put((key, data))  # type: ignore[union-attr]


    async def broadcast(self, key: str, data: Any) -> None:
        await self.send(0, key, data)

    async def recv(self, timeout: float | None = None) -> WorkerMessage:
        return await self._core.recv(timeout)

    async def recv_batch(self, timeout: float | None = None) -> list[WorkerMessage]:
        return await self._core.recv_batch(timeout)

    async def try_recv(self) -> WorkerMessage | None:
        return self._core.try_recv()
