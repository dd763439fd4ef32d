"""``netrun ui``: the visual editor and live run monitor (FastAPI backend + SvelteKit frontend).

* :func:`serve` runs the editor for a project directory (what ``netrun ui [FILE]`` calls);
* :func:`create_app` builds the FastAPI application (for tests and embedding);
* :mod:`netrun.ui.monitor` watches a running ``Net`` and serves its state over a WebSocket
  (``serve_monitor(net, port=8766)``) so the editor can attach to it.

The frontend lives in ``ui/`` and is built into ``netrun/ui/static`` by ``python ui/build.py``.
"""

from __future__ import annotations

from typing import Any

from netrun.ui.errors import (
    ActionNotFoundError,
    MonitorError,
    NetFileExistsError,
    NetFileNotFoundError,
    NotANetFileError,
    PathOutsideRootError,
    RunError,
    UIError,
)

__version__ = "0.1.0"

__all__ = [
    "ActionNotFoundError",
    "MonitorError",
    "MonitorServer",
    "NetFileExistsError",
    "NetFileNotFoundError",
    "NetMonitor",
    "NotANetFileError",
    "PathOutsideRootError",
    "RunError",
    "UIError",
    "create_app",
    "serve",
    "serve_monitor",
]


def create_app(root: Any = ".", **options: Any) -> Any:
    """The editor's FastAPI app (see :func:`netrun.ui.app.create_app`)."""
    from netrun.ui.app import create_app as _create_app

    return _create_app(root, **options)


def serve(path: str | None = None, **options: Any) -> None:
    """Serve the editor until Ctrl-C (see :func:`netrun.ui.server.serve`)."""
    from netrun.ui.server import serve as _serve

    _serve(path, **options)


def __getattr__(name: str) -> Any:
    # The monitor is importable without FastAPI (a net process only needs websockets).
    if name in ("NetMonitor", "MonitorServer", "serve_monitor"):
        from netrun.ui import monitor

        return getattr(monitor, name)
    raise AttributeError(f"module 'netrun.ui' has no attribute {name!r}")
