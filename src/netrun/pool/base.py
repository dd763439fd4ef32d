"""The worker-pool contract, its message type and its errors.

A pool runs ``num_workers`` copies of a *worker function* and routes opaque ``(key, data)``
messages to them (``send``/``broadcast``) and back (``recv``), each reply tagged with the
worker it came from. Pools know nothing of what the messages mean.

Worker failures are part of the message stream, in order: after everything a failed worker
sent, ``recv`` raises :class:`WorkerCrashed` (the worker died or was restarted on request)
or :class:`WorkerException` (the worker function raised). ``recv_batch`` returns the same
events as messages with the ``POOL_UP_ERROR_*`` keys instead of raising. The contract
around a failure, relied on by the ExecutionManager:

* every message sent to the failed worker that it had not answered is lost;
* until the failure has been received, messages sent to that worker are discarded too
  (they belong to the dead worker);
* once received, if ``details["restarted"]`` is true, the same worker id is served by a
  fresh worker (messages sent now wait for it to be ready); otherwise the worker is gone
  and ``send`` to it raises :class:`WorkerCrashed`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from netrun.errors import NetrunRuntimeError
from netrun.rpc.base import SyncRPCChannel

__all__ = [
    "POOL_UP_ERROR_CRASHED",
    "POOL_UP_ERROR_EXCEPTION",
    "POOL_UP_ERROR_TIMEOUT",
    "Pool",
    "PoolAlreadyStarted",
    "PoolError",
    "PoolInitMode",
    "PoolNotStarted",
    "PoolStartupFailed",
    "TaskPool",
    "WorkerCrashed",
    "WorkerError",
    "WorkerException",
    "WorkerFn",
    "WorkerId",
    "WorkerMessage",
    "WorkerTimeout",
]

WorkerId = int
#: A worker: loops on ``channel.recv()`` until it raises ``ChannelClosed``, then returns.
WorkerFn = Callable[[SyncRPCChannel, WorkerId], None]

POOL_UP_ERROR_EXCEPTION = "__pool-up:error-exception"
POOL_UP_ERROR_CRASHED = "__pool-up:error-crashed"
#: Reserved for the ExecutionManager's job time limits (pools never time out by themselves).
POOL_UP_ERROR_TIMEOUT = "__pool-up:error-timeout"


@dataclass(frozen=True, slots=True)
class WorkerMessage:
    """One message received from a pool: which worker sent it, its key and its data."""

    worker_id: WorkerId
    key: str
    data: Any


class PoolInitMode(str, enum.Enum):
    """Where a start-up function runs.

    ``PER_WORKER``: once in every worker (thread), before it takes messages.
    ``GLOBAL``: once per address space: once for a thread pool, once per process for a
    process pool (processes share nothing, so "global" cannot mean less than that).
    """

    PER_WORKER = "per_worker"
    GLOBAL = "global"


class PoolError(NetrunRuntimeError):
    """Base class of the pool layer's errors."""


class PoolNotStarted(PoolError):
    """The pool is not running (never started, or closed)."""


class PoolAlreadyStarted(PoolError):
    """``start()`` was called on a pool that is already running."""


class WorkerError(PoolError):
    """Something went wrong with one worker."""

    def __init__(self, worker_id: WorkerId, message: str) -> None:
        super().__init__(message)
        self.worker_id = worker_id

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.worker_id, str(self)))


class PoolStartupFailed(WorkerError):
    """A worker's start-up function raised, or a worker did not become ready in time."""


class WorkerException(WorkerError):
    """The worker function itself raised (it is restarted; see the module docstring)."""

    def __init__(
        self, worker_id: WorkerId, exception: BaseException | dict[str, Any], details: dict[str, Any] | None = None
    ) -> None:
        self.exception = exception
        self.details = dict(details or {})
        if isinstance(exception, dict):
            desc = f"{exception.get('type', 'Exception')}: {exception.get('message', '')}"
        else:
            desc = f"{type(exception).__name__}: {exception}"
        restarted = " It was restarted." if self.details.get("restarted") else ""
        super().__init__(worker_id, f"the worker function of worker {worker_id} raised {desc}.{restarted}")

    def __reduce__(self):  # type: ignore[no-untyped-def]
        exception = self.exception
        if isinstance(exception, BaseException):
            exception = {"type": type(exception).__name__, "message": str(exception)}
        return (WorkerException, (self.worker_id, exception, self.details))


class WorkerCrashed(WorkerError):
    """A worker died (process killed, thread abandoned, server gone) before answering."""

    def __init__(self, worker_id: WorkerId, details: dict[str, Any]) -> None:
        self.details = dict(details)
        reason = self.details.get("reason", "it died")
        where = ""
        if self.details.get("pid") is not None:
            where = f" (process {self.details['pid']}"
            if self.details.get("exitcode") is not None:
                where += f", {_describe_exit(self.details['exitcode'])}"
            where += ")"
        tail = ""
        if self.details.get("restarted"):
            tail = " A replacement worker was started."
        elif "restarted" in self.details:
            tail = " It was not replaced."
        message = self.details.get("message") or f"worker {worker_id} crashed{where}: {reason}.{tail}"
        super().__init__(worker_id, message)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild_crashed, (self.worker_id, self.details, str(self)))


class WorkerTimeout(WorkerError, TimeoutError):
    """A job ran longer than its time limit; its worker was killed or abandoned."""

    def __init__(self, worker_id: WorkerId, timeout: float, message: str | None = None) -> None:
        self.timeout = timeout
        super().__init__(worker_id, message or f"worker {worker_id} exceeded the {timeout} s time limit")

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (WorkerTimeout, (self.worker_id, self.timeout, str(self)))


def _rebuild_crashed(worker_id: WorkerId, details: dict[str, Any], message: str) -> WorkerCrashed:
    """Unpickle a :class:`WorkerCrashed` (it crosses processes as a retry exception)."""
    return WorkerCrashed(worker_id, dict(details, message=message))


def _describe_exit(exitcode: int) -> str:
    if exitcode < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


@runtime_checkable
class Pool(Protocol):
    """A message pool (ThreadPool, MultiprocessPool, SingleWorkerPool, RemotePoolClient)."""

    @property
    def num_workers(self) -> int: ...

    @property
    def is_running(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self, timeout: float | None = None) -> None: ...

    async def send(self, worker_id: WorkerId, key: str, data: Any) -> None: ...

    def send_nowait(self, worker_id: WorkerId, key: str, data: Any) -> None:
        """``send`` from synchronous code on the loop thread (sends keep their order)."""

    async def recv(self, timeout: float | None = None) -> WorkerMessage: ...

    async def try_recv(self) -> WorkerMessage | None: ...

    async def broadcast(self, key: str, data: Any) -> None: ...

    async def recv_batch(self, timeout: float | None = None) -> list[WorkerMessage]: ...

    async def restart_worker(self, worker_id: WorkerId, reason: str) -> None: ...


@runtime_checkable
class TaskPool(Protocol):
    """A pool that runs function calls as tasks instead of hosting worker loops (Dask)."""

    @property
    def num_workers(self) -> int: ...

    @property
    def is_running(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self, timeout: float | None = None) -> None: ...

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...
