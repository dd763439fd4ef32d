"""Logging back-ends for a net's observability records (the published 0.5.0 module path).

``JsonlEpochLogger`` (an ``on_epoch_end`` callback), ``JsonlNetActionLogger`` (an
``on_net_actions`` callback) and ``SqliteLogger`` (both, in SQLite), each with a loader.
See :mod:`netrun.logging._backends`.
"""

from netrun.logging._backends import JsonlEpochLogger, JsonlNetActionLogger, SqliteLogger
from netrun.logging.errors import LogBackendError, LogFileError, LoggerClosedError

__all__ = [
    "JsonlEpochLogger",
    "JsonlNetActionLogger",
    "SqliteLogger",
    "LogBackendError",
    "LogFileError",
    "LoggerClosedError",
]
