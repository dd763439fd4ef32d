"""Original module path of the pool names (``netrun.pools``)."""

from netrun.net.pools import (
    BackgroundNetRunner,
    ManagedPool,
    PoolConfig,
    PoolInitMode,
    PoolManager,
    PoolType,
    WorkerState,
    run_in_process_with_event_loop,
    validate_picklable,
)

__all__ = ["BackgroundNetRunner", "ManagedPool", "PoolConfig", "PoolInitMode", "PoolManager",
           "PoolType", "WorkerState", "run_in_process_with_event_loop", "validate_picklable"]
