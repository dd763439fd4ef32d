"""Worker pools: where workers run (event loop, threads, processes, remote servers, Dask).

Message pools (``SingleWorkerPool``, ``ThreadPool``, ``MultiprocessPool``,
``RemotePoolClient``) host worker loops and route ``(key, data)`` messages; ``DaskPool``
(``netrun.pool.dask``, ``netrun[dask]``) runs function calls as Dask tasks. The contract
and the failure semantics are in :mod:`netrun.pool.base`.
"""

from netrun.pool.aio import SingleWorkerPool
from netrun.pool.base import (
    Pool,
    PoolAlreadyStarted,
    PoolError,
    PoolInitMode,
    PoolNotStarted,
    PoolStartupFailed,
    TaskPool,
    WorkerCrashed,
    WorkerError,
    WorkerException,
    WorkerFn,
    WorkerId,
    WorkerMessage,
    WorkerTimeout,
)
from netrun.pool.multiprocess import MultiprocessPool
from netrun.pool.thread import ThreadPool

__all__ = [
    "WorkerId",
    "WorkerFn",
    "WorkerMessage",
    "Pool",
    "TaskPool",
    "PoolInitMode",
    "PoolError",
    "PoolNotStarted",
    "PoolAlreadyStarted",
    "PoolStartupFailed",
    "WorkerError",
    "WorkerException",
    "WorkerCrashed",
    "WorkerTimeout",
    "SingleWorkerPool",
    "ThreadPool",
    "MultiprocessPool",
    "RemotePoolServer",
    "RemotePoolClient",
]


def __getattr__(name: str):  # the remote pool imports lazily (it needs netrun[remote] to run)
    if name in ("RemotePoolServer", "RemotePoolClient"):
        from netrun.pool import remote

        return getattr(remote, name)
    raise AttributeError(f"module 'netrun.pool' has no attribute {name!r}")
