"""A cluster pool on Dask distributed (``pip install 'netrun[dask]'``).

``DaskPool()`` starts an embedded ``LocalCluster`` that listens on the loopback interface
only, with the dashboard off (``processes=False`` by default: workers are threads of this process;
``processes=True`` gives real worker processes). ``DaskPool(address="tcp://host:8786")``
joins an existing cluster instead. Jobs become Dask tasks (``submit``); Dask futures passed
as arguments are resolved on the worker that runs the task, so values already in the
cluster are not copied through this process.

This is a *task pool* (``netrun.pool.base.TaskPool``), not a message pool: it has no
long-lived worker loops to talk to, so it offers ``submit`` instead of ``send``/``recv``.
``num_workers`` is the cluster's total thread count (the number of jobs it runs at once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from netrun.pool._core import PoolContextMixin
from netrun.pool.base import PoolAlreadyStarted, PoolError, PoolNotStarted

__all__ = ["DaskPool"]


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "DaskPool needs Dask distributed: pip install 'netrun[dask]'"
        ) from exc
    return distributed


class DaskPool(PoolContextMixin):
    """A pool whose jobs are Dask tasks on a local or remote Dask cluster."""

    def __init__(
        self,
        address: str | None = None,
        *,
        n_workers: int = 1,
        threads_per_worker: int = 2,
        processes: bool = False,
        cluster_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
        start_timeout: float = 60.0,
        name: str = "DaskPool",
    ) -> None:
        if address is None and (not isinstance(n_workers, int) or n_workers < 1):
            raise ValueError(f"{name} needs n_workers >= 1 (got {n_workers!r})")
        if address is None and (not isinstance(threads_per_worker, int) or threads_per_worker < 1):
            raise ValueError(f"{name} needs threads_per_worker >= 1 (got {threads_per_worker!r})")
        self._address = address
        # Dask always starts small HTTP servers (health/metrics) and, unless told otherwise,
        # binds them and the dashboard to every interface: keep all of it on loopback, with
        # the dashboard off.
        self._cluster_kwargs: dict[str, Any] = {
            "n_workers": n_workers,
            "threads_per_worker": threads_per_worker,
            "processes": processes,
            "dashboard_address": "127.0.0.1:0",
            "worker_dashboard_address": "127.0.0.1:0",
            "scheduler_kwargs": {"dashboard": False},
        }
        if processes:
            # Worker processes talk over TCP: loopback only. (Without processes, Dask uses
            # in-process communication for its own traffic.)
            self._cluster_kwargs["host"] = "127.0.0.1"
        self._cluster_kwargs.update(cluster_kwargs or {})
        self._client_kwargs = dict(client_kwargs or {})
        self._start_timeout = start_timeout
        self._name = name
        self._cluster: Any = None
        self._client: Any = None
        self._num_workers = 0
        self._started = False
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the embedded cluster (or connect to ``address``) and an async client."""
        if self._started:
            raise PoolAlreadyStarted(f"this {self._name} is already running; call start() once")
        if self._closed:
            raise PoolNotStarted(f"this {self._name} was closed; create a new pool")
        distributed = _distributed()
        self._started = True
        try:
            if self._address is None:
                self._cluster = await asyncio.wait_for(
                    distributed.LocalCluster(asynchronous=True, **self._cluster_kwargs), self._start_timeout
                )
                target: Any = self._cluster
            else:
                target = self._address
            # Keep the client before awaiting it, so a failed start still closes it.
            self._client = distributed.Client(
                target, asynchronous=True, timeout=self._start_timeout, **self._client_kwargs
            )
            await asyncio.wait_for(self._client, self._start_timeout)
            nthreads = await asyncio.wait_for(self._client.nthreads(), self._start_timeout)
            self._num_workers = sum(nthreads.values())
            if self._num_workers < 1:
                raise PoolError(f"{self._name}: the Dask cluster at {self._address or 'LocalCluster'} has no workers")
        except BaseException as exc:
            await self.close()
            if isinstance(exc, (asyncio.TimeoutError, OSError)):
                raise PoolError(
                    f"{self._name} could not reach the Dask scheduler at {self._address or 'the local cluster'} "
                    f"within {self._start_timeout} s ({type(exc).__name__}: {exc}); check the address"
                ) from exc
            raise

    async def close(self, timeout: float | None = 10.0) -> None:
        """Close the client and, if embedded, the cluster. Running tasks are abandoned."""
        if self._closed:
            return
        self._closed = True
        wait = 10.0 if not timeout else timeout
        if self._client is not None:
            try:
                await asyncio.wait_for(self._client.close(), wait)
            except (asyncio.TimeoutError, OSError):
                pass
        if self._cluster is not None:
            try:
                await asyncio.wait_for(self._cluster.close(), wait)
            except (asyncio.TimeoutError, OSError):
                pass

    # -- properties -----------------------------------------------------------------------
    @property
    def num_workers(self) -> int:
        """Total worker threads of the cluster (how many jobs run at once)."""
        return self._num_workers

    @property
    def is_running(self) -> bool:
        return self._started and not self._closed and self._client is not None

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (asynchronous) behind this pool."""
        self._check_running("use the client")
        return self._client

    @property
    def scheduler_address(self) -> str:
        self._check_running("read the scheduler address")
        return self._client.scheduler.address

    def _check_running(self, action: str) -> None:
        if not self.is_running:
            state = "was closed" if self._closed else "was not started"
            raise PoolNotStarted(f"cannot {action}: the {self._name} {state}; call `await pool.start()` first")

    # -- tasks ----------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``client.submit(fn, *args, pure=False, **kwargs)``: returns a ``distributed.Future``."""
        self._check_running("submit")
        kwargs.setdefault("pure", False)
        return self._client.submit(fn, *args, **kwargs)

    async def scatter(self, data: Any, broadcast: bool = False) -> Any:
        """Put ``data`` in cluster memory now; returns a future usable as a job argument."""
        self._check_running("scatter")
        return await self._client.scatter(data, broadcast=broadcast, hash=False)

    async def gather(self, futures: Any) -> Any:
        self._check_running("gather")
        return await self._client.gather(futures)

    async def register_worker_plugin(self, plugin: Any, name: str) -> None:
        """Install a Dask ``WorkerPlugin`` on every worker (and on workers that join later)."""
        self._check_running("register a plugin")
        await self._client.register_plugin(plugin, name=name)
