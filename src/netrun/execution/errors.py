"""Errors of the execution layer (the pool layer's errors are re-exported for convenience).

Faults of the *infrastructure* (a worker died, a job ran out of time, the manager was
closed) are raised by ``ExecutionManager.run``. An exception raised *by the function* is
not raised: it is returned in ``JobResult.exception`` together with the job's output, so
the caller always gets the print buffer of a failed job.
"""

from __future__ import annotations

from netrun.errors import NetrunRuntimeError
from netrun.pool.base import PoolError, WorkerCrashed, WorkerException, WorkerTimeout

__all__ = [
    "ArgumentsNotPicklable",
    "ExecutionError",
    "ExecutionManagerNotStarted",
    "FunctionNotFound",
    "FunctionNotPicklable",
    "JobCancelled",
    "PoolError",
    "RemoteException",
    "ResultNotPicklable",
    "UnknownPool",
    "WorkerCrashed",
    "WorkerException",
    "WorkerTimeout",
]


class ExecutionError(NetrunRuntimeError):
    """Base class of the execution layer's errors."""


class ExecutionManagerNotStarted(ExecutionError):
    """The ExecutionManager was not started, or is closed."""


class UnknownPool(ExecutionError, LookupError):
    """A pool id (or worker id) that the ExecutionManager does not have."""


class FunctionNotFound(ExecutionError, LookupError):
    """The function key is not registered on the worker and is not an importable path."""


class FunctionNotPicklable(ExecutionError, TypeError):
    """A function sent to a process or remote pool cannot be pickled (even by cloudpickle)."""


class ArgumentsNotPicklable(ExecutionError, TypeError):
    """A job's arguments cannot be pickled for a process or remote pool."""


class ResultNotPicklable(ExecutionError, TypeError):
    """A job's return value cannot travel back from a process or remote worker."""


class JobCancelled(ExecutionError):
    """The job was cancelled (``close(drain=False)``, or its caller was cancelled)."""


class RemoteException(ExecutionError):
    """Stands in for an exception that could not be pickled back from a worker.

    ``type_name``, ``message`` and ``remote_traceback`` describe the original.
    """

    def __init__(self, type_name: str, message: str, remote_traceback: str = "") -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.remote_traceback = remote_traceback

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (RemoteException, (self.type_name, self.message, self.remote_traceback))
