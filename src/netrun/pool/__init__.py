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
from netrun.pool.remote import RemotePoolClient, RemotePoolServer
from netrun.pool.thread import ThreadPool

__all__ = [
    "MultiprocessPool",
    "Pool",
    "PoolAlreadyStarted",
    "PoolError",
    "PoolInitMode",
    "PoolNotStarted",
    "PoolStartupFailed",
    "RemotePoolClient",
    "RemotePoolServer",
    "SingleWorkerPool",
    "TaskPool",
    "ThreadPool",
    "WorkerCrashed",
    "WorkerError",
    "WorkerException",
    "WorkerFn",
    "WorkerId",
    "WorkerMessage",
    "WorkerTimeout",
]

