"""Where node code runs: the ExecutionManager over pools (main loop, threads, processes,
remote servers, Dask).

The published module path ``netrun.execution_manager`` re-exports this package's surface.
"""

from netrun.execution.errors import (
    ArgumentsNotPicklable,
    ExecutionError,
    ExecutionManagerNotStarted,
    FunctionNotFound,
    FunctionNotPicklable,
    JobCancelled,
    RemoteException,
    ResultNotPicklable,
    UnknownPool,
)
from netrun.execution.manager import ExecutionManager, PoolType
from netrun.execution.protocol import (
    ExecutionManagerProtocolKeys,
    JobResult,
    OutputLine,
    RunAllocationMethod,
    SubmittedJobInfo,
)
from netrun.execution.server import create_execution_manager_server
from netrun.execution.worker import (
    async_execution_worker,
    execution_worker,
    remote_execution_manager_worker,
)
from netrun.pool.base import PoolInitMode, WorkerCrashed, WorkerException, WorkerTimeout

__all__ = [
    "ArgumentsNotPicklable",
    "ExecutionError",
    "ExecutionManager",
    "ExecutionManagerNotStarted",
    "ExecutionManagerProtocolKeys",
    "FunctionNotFound",
    "FunctionNotPicklable",
    "JobCancelled",
    "JobResult",
    "OutputLine",
    "PoolInitMode",
    "PoolType",
    "RemoteException",
    "ResultNotPicklable",
    "RunAllocationMethod",
    "SubmittedJobInfo",
    "UnknownPool",
    "WorkerCrashed",
    "WorkerException",
    "WorkerTimeout",
    "async_execution_worker",
    "create_execution_manager_server",
    "execution_worker",
    "remote_execution_manager_worker",
]
