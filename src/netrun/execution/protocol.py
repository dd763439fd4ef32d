"""The ExecutionManager's message protocol and its result types.

Messages (``key`` is an :class:`ExecutionManagerProtocolKeys` value, ``data`` a tuple):

* ``RUN``: ``(msg_id, func_key, run_id, send_channel, payload, packed, stream_output)``.
  ``payload`` is ``(args, kwargs)``, or (``packed``) the pickled bytes of it, for pools that
  cross a process: the manager pickles arguments itself so that an unpicklable argument
  fails in the caller with an error naming the function.
* ``UP_PRINT_BUFFER``: ``(msg_id, [OutputLine, ...])``: output of a running job, sent as
  each line completes when the job was run with ``stream_output`` (``run(on_output=...)``).
* ``UP_RUN_STARTED``: ``(msg_id, started_at)``, sent before the function is called
  (times are ``time.time()`` floats on the wire).
* ``UP_RUN_RESPONSE``: ``(msg_id, started_at, completed_at, ok, value, packed, output,
  traceback)``: ``value`` is the result (``ok``) or the exception; ``packed`` as above;
  ``output`` the job's captured lines.
* ``SEND_FUNCTION``: ``(msg_id, func_key, func_or_pickled_bytes)`` -> ``UP_SEND_FUNCTION_RESPONSE``:
  ``(msg_id, func_key, error_text_or_None)``.
* ``CANCEL``: ``(msg_id,)``: cancel a running async job (event-loop pools only).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from netrun.pool._capture import OutputLine
from netrun.pool.base import WorkerId

__all__ = [
    "ExecutionManagerProtocolKeys",
    "JobResult",
    "OutputLine",
    "RunAllocationMethod",
    "SubmittedJobInfo",
    "utc_now",
]


class ExecutionManagerProtocolKeys(str, enum.Enum):
    """Message keys between the ExecutionManager and its workers."""

    RUN = "exec-manager:run"
    UP_RUN_STARTED = "exec-manager-up:run-started"
    UP_RUN_RESPONSE = "exec-manager-up:run-response"
    SEND_FUNCTION = "exec-manager:send-function"
    UP_SEND_FUNCTION_RESPONSE = "exec-manager-up:send-function-response"
    CANCEL = "exec-manager:cancel"
    UP_PRINT_BUFFER = "exec-manager-up:print-buffer"


KEY_RUN = ExecutionManagerProtocolKeys.RUN.value
KEY_STARTED = ExecutionManagerProtocolKeys.UP_RUN_STARTED.value
KEY_RESPONSE = ExecutionManagerProtocolKeys.UP_RUN_RESPONSE.value
KEY_SEND_FUNCTION = ExecutionManagerProtocolKeys.SEND_FUNCTION.value
KEY_FUNCTION_ACK = ExecutionManagerProtocolKeys.UP_SEND_FUNCTION_RESPONSE.value
KEY_CANCEL = ExecutionManagerProtocolKeys.CANCEL.value
KEY_PRINT_BUFFER = ExecutionManagerProtocolKeys.UP_PRINT_BUFFER.value


class RunAllocationMethod(str, enum.Enum):
    """How ``run_allocate`` picks a worker among candidates.

    ``ROUND_ROBIN``: a worker never used yet, else the least recently used.
    ``RANDOM``: uniformly at random. ``LEAST_BUSY``: the fewest outstanding jobs (ties: least
    recently used).
    """

    ROUND_ROBIN = "round-robin"
    RANDOM = "random"
    LEAST_BUSY = "least-busy"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def utc_from_timestamp(seconds: float) -> datetime:
    """Workers send times as ``time.time()`` floats (cheap to pickle); callers see datetimes."""
    return datetime.fromtimestamp(seconds, timezone.utc)


@dataclass(slots=True)
class JobResult:
    """What one job produced.

    ``result`` is the return value (a ``distributed.Future`` for Dask jobs run with
    ``keep_remote=True``). If the function raised, ``exception`` holds the exception
    (``result`` is ``None``) and ``traceback`` its formatted traceback. ``print_buffer``
    holds every line the job printed, as :class:`OutputLine` ``(timestamp, is_stderr, text)``.
    ``converted_to_str`` is always ``False`` (kept for compatibility: results are never
    silently turned into strings; an unpicklable result is a ``ResultNotPicklable`` error).
    """

    timestamp_utc_submitted: datetime
    timestamp_utc_started: datetime
    timestamp_utc_completed: datetime
    func_import_path_or_key: str
    pool_id: str
    worker_id: WorkerId
    converted_to_str: bool
    result: Any
    print_buffer: list[OutputLine] = field(default_factory=list)
    exception: BaseException | None = None
    traceback: str | None = None
    run_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the function returned (did not raise)."""
        return self.exception is None

    def value(self) -> Any:
        """The result, or raise the function's exception."""
        if self.exception is not None:
            raise self.exception
        return self.result


@dataclass(slots=True)
class SubmittedJobInfo:
    """A job sent to a worker and not finished yet."""

    run_id: str
    timestamp_utc_submitted: datetime
    timestamp_utc_started: datetime | None
    func_import_path_or_key: str
    pool_id: str
    worker_id: WorkerId
