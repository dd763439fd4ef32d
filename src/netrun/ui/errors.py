"""Errors of the editor backend. Each carries the HTTP status the API answers with.

The API turns a :class:`UIError` into ``{"detail": {"message": ..., "type": ...}}`` with
``status``; config errors from :mod:`netrun.config` keep their own location fields (file,
line, column, key path) and every problem when there are several.
"""

from __future__ import annotations

from typing import Any

from netrun.errors import NetrunRuntimeError

__all__ = [
    "ActionNotFoundError",
    "MonitorError",
    "NetFileExistsError",
    "NetFileNotFoundError",
    "NotANetFileError",
    "PathOutsideRootError",
    "RunError",
    "UIError",
]


class UIError(NetrunRuntimeError):
    """A request the editor backend refuses; ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if status is not None:
            self.status = status

    def to_detail(self) -> dict[str, Any]:
        """The JSON body's ``detail``: the message, the error type and any extra fields."""
        return {"message": self.message, "type": type(self).__name__, **self.detail}


class PathOutsideRootError(UIError, PermissionError):
    """A path leads outside the project root; the backend serves only the project's files."""

    status = 403


class NotANetFileError(UIError, ValueError):
    """A path that is not a ``.toml`` or ``.json`` file was given where a net file is needed."""

    status = 400


class NetFileNotFoundError(UIError, FileNotFoundError):
    """The net file does not exist (under the project root)."""

    status = 404


class NetFileExistsError(UIError, FileExistsError):
    """``new`` was asked for a file that already exists."""

    status = 409


class ActionNotFoundError(UIError, KeyError):
    """An action or recipe id the config does not define."""

    status = 404

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class RunError(UIError, RuntimeError):
    """A net cannot be started or stopped from the editor (already running, nothing running...)."""

    status = 409


class MonitorError(UIError, RuntimeError):
    """The monitor cannot attach to a net or answer a request about it."""

    status = 502
