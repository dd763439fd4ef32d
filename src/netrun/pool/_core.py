"""Machinery shared by the message pools: the reply inbox, worker slots, failure delivery.

Replies from every worker land in one :class:`~netrun.rpc._mailbox.LoopMailbox` as
``(worker_id, key, data)``; a burst of replies costs one loop wake-up. A worker failure is
put into the same inbox after everything the worker sent, so the consumer sees events in
the order they happened. The slot state machine implements the failure contract of
``netrun.pool.base``:

``RUNNING`` --failure--> ``FAILED`` (sends discarded) --failure received--> ``RUNNING``
(replacement) or ``DEAD`` (sends raise :class:`WorkerCrashed`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from netrun.pool.base import (
    POOL_UP_ERROR_EXCEPTION,
    PoolAlreadyStarted,
    PoolNotStarted,
    WorkerCrashed,
    WorkerError,
    WorkerException,
    WorkerId,
    WorkerMessage,
)
from netrun.rpc._mailbox import LoopMailbox
from netrun.rpc.base import RPC_KEY_BROKEN, RPC_KEY_SHUTDOWN, ChannelClosed

RUNNING, FAILED, DEAD = "running", "failed", "dead"


class Failure:
    """A worker failure travelling through the inbox (internal)."""

    __slots__ = ("details", "exception", "key", "on_received")

    def __init__(
        self,
        key: str,
        details: dict[str, Any],
        exception: Any = None,
        on_received: Callable[[], None] | None = None,
    ) -> None:
        self.key = key
        self.details = details
        self.exception = exception
        self.on_received = on_received

    def to_error(self, worker_id: WorkerId) -> WorkerError:
        if self.key == POOL_UP_ERROR_EXCEPTION:
            return WorkerException(worker_id, self.exception, self.details)
        return WorkerCrashed(worker_id, self.details)

    def to_data(self) -> dict[str, Any]:
        data = dict(self.details)
        if self.exception is not None:
            data["exception"] = self.exception
        return data


class PoolCore:
    """Inbox, lifecycle flags and worker slot states for one pool."""

    def __init__(self, kind: str, num_workers: int) -> None:
        if not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(f"{kind} needs at least one worker (got num_workers={num_workers!r})")
        self.kind = kind
        self.num_workers = num_workers
        self.inbox = LoopMailbox(f"{kind} replies")
        self.lock = threading.Lock()
        self.state = [RUNNING] * num_workers
        self.generation = [0] * num_workers
        self.dead_reason: dict[WorkerId, str] = {}
        self.started = False
        self.closed = False
        self.tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------------
    def begin_start(self) -> None:
        if self.closed:
            raise PoolNotStarted(f"this {self.kind} was closed; create a new pool")
        if self.started:
            raise PoolAlreadyStarted(f"this {self.kind} is already running; call start() once")
        self.started = True

    def check_running(self, action: str) -> None:
        if not self.started or self.closed:
            state = "was closed" if self.closed else "was not started"
            raise PoolNotStarted(
                f"cannot {action}: the {self.kind} {state}; call `await pool.start()` first "
                "(or use `async with pool:`)"
            )

    def check_worker(self, worker_id: WorkerId) -> None:
        if not isinstance(worker_id, int) or not 0 <= worker_id < self.num_workers:
            raise ValueError(
                f"worker_id {worker_id!r} is not a worker of this {self.kind}; valid ids are "
                f"0..{self.num_workers - 1}"
            )

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run ``coro`` as a task owned by the pool (cancelled and awaited on close)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def cancel_tasks(self) -> None:
        tasks = [t for t in self.tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- sending side ---------------------------------------------------------------------
    def may_send(self, worker_id: WorkerId) -> bool:
        """True: deliver; False: discard (failure not yet received). Raises if dead."""
        state = self.state[worker_id]
        if state == RUNNING:
            return True
        if state == FAILED:
            return False
        raise WorkerCrashed(
            worker_id,
            {"reason": self.dead_reason.get(worker_id, "it is gone"), "restarted": False,
             "message": f"worker {worker_id} of this {self.kind} is gone "
             f"({self.dead_reason.get(worker_id, 'not replaced')}); send to another worker or "
             "create a new pool"},
        )

    # -- receiving side -------------------------------------------------------------------
    def push(self, worker_id: WorkerId, key: str, data: Any, generation: int) -> None:
        """A worker's reply (any thread); dropped if that worker has since been replaced."""
        with self.lock:
            if generation != self.generation[worker_id]:
                return
            self.inbox.put((worker_id, key, data))  # type: ignore[arg-type]

    def push_failure(self, worker_id: WorkerId, failure: Failure) -> None:
        """Record a failure after everything the worker sent; later replies are dropped."""
        with self.lock:
            self.generation[worker_id] += 1
            self.state[worker_id] = FAILED
            self.inbox.put((worker_id, failure.key, failure))  # type: ignore[arg-type]

    def _received(self, worker_id: WorkerId, failure: Failure) -> None:
        if failure.details.get("restarted"):
            self.state[worker_id] = RUNNING
        else:
            self.state[worker_id] = DEAD
            self.dead_reason[worker_id] = str(failure.details.get("reason", "it died"))
        if failure.on_received is not None:
            failure.on_received()

    def _message(self, item: Any, raise_errors: bool) -> WorkerMessage:
        worker_id, key, data = item
        if isinstance(data, Failure):
            self._received(worker_id, data)
            if raise_errors:
                raise data.to_error(worker_id)
            return WorkerMessage(worker_id, key, data.to_data())
        return WorkerMessage(worker_id, key, data)

    async def recv(self, timeout: float | None) -> WorkerMessage:
        self.check_running("recv")
        try:
            item = await self.inbox.get(timeout)
        except ChannelClosed:
            raise PoolNotStarted(f"the {self.kind} was closed while waiting in recv()") from None
        return self._message(item, True)

    async def recv_batch(self, timeout: float | None) -> list[WorkerMessage]:
        self.check_running("recv")
        try:
            items = await self.inbox.get_batch(timeout)
        except ChannelClosed:
            raise PoolNotStarted(f"the {self.kind} was closed while waiting in recv()") from None
        return [self._message(item, False) for item in items]

    def try_recv(self) -> WorkerMessage | None:
        self.check_running("recv")
        try:
            item = self.inbox.try_get()
        except ChannelClosed:
            raise PoolNotStarted(f"the {self.kind} was closed") from None
        return None if item is None else self._message(item, True)


class WorkerReplyBox:
    """The send box of an in-process worker's channel: tags each reply with the worker id
    and generation and puts it in the pool's inbox (dropped once that worker was replaced)."""

    __slots__ = ("_core", "_generation", "_worker_id")

    def __init__(self, core: PoolCore, worker_id: WorkerId, generation: int) -> None:
        self._core = core
        self._worker_id = worker_id
        self._generation = generation

    def put(self, item: tuple[str, Any]) -> None:
        if item[0] in (RPC_KEY_SHUTDOWN, RPC_KEY_BROKEN):
            return  # a worker's own exit is reported by the pool, as a failure
        self._core.push(self._worker_id, item[0], item[1], self._generation)


class PoolContextMixin:
    """``async with pool:`` starts it and closes it."""

    async def __aenter__(self) -> Any:
        await self.start()  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()  # type: ignore[attr-defined]
