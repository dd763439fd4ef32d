"""Logging back-ends for a net's observability records (the published 0.5.0 module path).

``JsonlEpochLogger`` (an ``on_epoch_end`` callback), ``JsonlNetActionLogger`` (an
``on_net_actions`` callback) and ``SqliteLogger`` (both, in SQLite), each with a loader.
See :mod:`netrun.logging._backends`. The record types they store (``EpochLog``,
``NetActionLog``, ``NetEventLog``) and the ``net.logs`` query (``NetLogQuery``,
``EpochLogNotFoundError``) are importable from here too.
"""

from netrun.logging._backends import JsonlEpochLogger, JsonlNetActionLogger, SqliteLogger
from netrun.logging.errors import LogBackendError, LogFileError, LoggerClosedError
from netrun.net.action_log import NetActionLog, NetEventLog
from netrun.net.epoch_log import EpochLog
from netrun.net.log_query import EpochLogNotFoundError, NetLogQuery

__all__ = [
    "JsonlEpochLogger",
    "JsonlNetActionLogger",
    "SqliteLogger",
    "LogBackendError",
    "LogFileError",
    "LoggerClosedError",
    "EpochLog",
    "NetActionLog",
    "NetEventLog",
    "NetLogQuery",
    "EpochLogNotFoundError",
]
