"""Pools as the original implementation exposed them (``netrun.pools``).

The executors in ``_executors.py`` (event loop, threads) and ``_pool_executor.py``
(processes, remote pool servers, Dask, through the ``ExecutionManager``) do the work; these classes are
the original names over them: :class:`PoolManager` (``net.pool_manager``), one
:class:`ManagedPool` per pool, :class:`PoolConfig`, :class:`PoolType`,
:class:`WorkerState`, plus the helpers :func:`validate_picklable` and
:func:`run_in_process_with_event_loop`.
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import pickle
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

from netrun.errors import NodeConfigError, PacketValueNotPicklable
from netrun.net.options import PoolInitMode
from netrun.net.runner import BackgroundNetRunner

__all__ = [
    "BackgroundNetRunner", "ManagedPool", "PoolConfig", "PoolInitMode", "PoolManager", "PoolType",
    "WorkerState", "run_in_process_with_event_loop", "validate_picklable",
]


class PoolType(enum.Enum):
    """Kind of executor behind a pool."""

    THREAD = 1
    PROCESS = 2
    REMOTE = 3
    DASK = 4


_KINDS = {"thread": PoolType.THREAD, "process": PoolType.PROCESS, "remote": PoolType.REMOTE, "dask": PoolType.DASK}


@dataclass
class PoolConfig:
    """One pool's settings."""

    name: str
    pool_type: PoolType
    size: int

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise NodeConfigError(f"Pool {self.name!r} needs an integer size >= 1, got {self.size!r}")


class WorkerState:
    """Bookkeeping of one worker: active tasks and the nodes initialised there."""

    def __init__(self, worker_id: int, pool_name: str) -> None:
        self.worker_id = worker_id
        self.pool_name = pool_name
        self.active_tasks = 0
        self.initialized_nodes: set[str] = set()

    def acquire_task(self) -> None:
        self.active_tasks += 1

    def release_task(self) -> None:
        self.active_tasks = max(0, self.active_tasks - 1)

    def mark_node_initialized(self, node_name: str) -> None:
        self.initialized_nodes.add(node_name)

    def is_node_initialized(self, node_name: str) -> bool:
        return node_name in self.initialized_nodes


class ManagedPool:
    """A view of one of the net's pools."""

    def __init__(self, config: PoolConfig, executor: Any = None) -> None:
        self.config = config
        self._executor = executor

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def pool_type(self) -> PoolType:
        return self.config.pool_type

    @property
    def size(self) -> int:
        return self.config.size

    @property
    def is_thread_pool(self) -> bool:
        return self.config.pool_type is PoolType.THREAD

    @property
    def is_process_pool(self) -> bool:
        """Workers in other processes (process, remote and Dask pools)."""
        return self.config.pool_type is not PoolType.THREAD

    def get_available_workers(self) -> int:
        """Workers not running an attempt right now."""
        busy = self._executor.busy if self._executor is not None else 0
        return max(0, self.size - busy)

    def get_total_active_tasks(self) -> int:
        """Attempts running in this pool right now."""
        return self._executor.busy if self._executor is not None else 0

    def workers(self) -> List[WorkerState]:
        """One :class:`WorkerState` per live worker (thread pools)."""
        out = []
        for worker in getattr(self._executor, "_workers", ()):
            if worker.retired:
                continue
            state = WorkerState(worker.index, self.name)
            state.initialized_nodes = set(worker.initialized)
            out.append(state)
        return out


class PoolManager:
    """All pools of a net (``net.pool_manager``)."""

    def __init__(self, thread_pools: Optional[Dict[str, dict]] = None,
                 process_pools: Optional[Dict[str, dict]] = None) -> None:
        self._pools: dict[str, ManagedPool] = {}
        for specs, kind in ((thread_pools or {}, PoolType.THREAD), (process_pools or {}, PoolType.PROCESS)):
            for name, spec in specs.items():
                self._pools[name] = ManagedPool(PoolConfig(name, kind, int((spec or {}).get("size", 4))))

    @classmethod
    def _of_net(cls, net: Any) -> "PoolManager":
        manager = cls()
        for name, executor in net._core.executors.items():
            if name == "main":
                continue
            kind = _KINDS.get(executor.kind, PoolType.THREAD)
            manager._pools[name] = ManagedPool(PoolConfig(name, kind, executor.size), executor)
        return manager

    def get_pool(self, name: str) -> Optional[ManagedPool]:
        return self._pools.get(name)

    def get_pools(self, names: List[str]) -> List[ManagedPool]:
        return [self._pools[n] for n in names if n in self._pools]

    def select_pool(self, pool_names: List[str], algorithm: str = "least_busy") -> Optional[ManagedPool]:
        """The pool to use among ``pool_names`` (``"least_busy"``: most free workers)."""
        if algorithm != "least_busy":
            raise ValueError(f"Unknown pool selection algorithm {algorithm!r}; use 'least_busy'")
        pools = self.get_pools(pool_names)
        if not pools:
            return None
        return max(pools, key=lambda p: p.get_available_workers())

    def has_pools(self) -> bool:
        return bool(self._pools)

    @property
    def pool_names(self) -> List[str]:
        return list(self._pools)


def validate_picklable(value: Any, context: str = "") -> None:
    """Raise :class:`~netrun.errors.PacketValueNotPicklable` (a ``ValueError``) if ``value``
    cannot be pickled; ``context`` says what the value is (for the message)."""
    try:
        pickle.dumps(value)
    except Exception as exc:
        what = context or f"A value of type {type(value).__name__}"
        raise PacketValueNotPicklable(what, exc) from exc


def run_in_process_with_event_loop(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func``; when it is a coroutine function, run it on this thread's persistent
    event loop (never ``asyncio.run`` per call)."""
    result = func(*args, **kwargs)
    if inspect.isawaitable(result):
        from netrun._util.aio import run_coroutine_blocking

        async def _await() -> Any:
            return await result

        return run_coroutine_blocking(_await())
    return result
