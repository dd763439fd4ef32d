"""Errors of the logging back-ends (``netrun.logging``)."""

from __future__ import annotations

from netrun.errors import NetrunRuntimeError

__all__ = ["LogBackendError", "LogFileError", "LoggerClosedError"]


class LogBackendError(NetrunRuntimeError):
    """Base class of the logging back-ends' errors."""


class LogFileError(LogBackendError, ValueError):
    """A log file (JSONL or SQLite) that cannot be read back: missing, or a line/row that is
    not a record of the expected kind. The message names the file and the line or row."""


class LoggerClosedError(LogBackendError, RuntimeError):
    """A logger was used after ``close()``."""
