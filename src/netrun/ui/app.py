"""The editor's web application: API, monitor WebSocket and the built frontend.

:func:`create_app` is what ``netrun ui`` serves and what tests drive with ``TestClient``.
The backend serves only the project directory (``root``): every path is checked by
:class:`~netrun.ui.project.ProjectRoot`. It answers only requests addressed to the host it
is bound to (default ``127.0.0.1``/``localhost``), which stops DNS-rebinding pages from
reaching it, and the monitor WebSocket accepts only same-host origins.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any, Iterable, Optional
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from netrun.config import ConfigError, ConfigValidationFailed, FactoryNotFoundError
from netrun.config.errors import format_path
from netrun.errors import NetrunRuntimeError
from netrun.tools import RecipeError
from netrun.ui.api import build_router
from netrun.ui.errors import UIError
from netrun.ui.monitor import DEFAULT_INTERVAL
from netrun.ui.project import ProjectRoot
from netrun.ui.runs import MonitorHub

__all__ = ["DEFAULT_ALLOWED_HOSTS", "STATIC_DIR", "create_app"]

#: Where ``python ui/build.py`` puts the built frontend.
STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")

_NOT_BUILT = """<!doctype html><html><head><title>netrun ui</title></head>
<body style="font-family: system-ui; max-width: 640px; margin: 10vh auto">
<h1>The editor's frontend is not built</h1>
<p>The API is running, but <code>{static}</code> holds no built assets.
Build them (needs Node.js 20.19+ and npm) from the repository root with:</p>
<pre>python ui/build.py</pre><p>then reload this page.</p></body></html>"""


class _State:
    def __init__(self, root: ProjectRoot, initial_file: Optional[str], interval: float) -> None:
        self.root = root
        self.initial_file = initial_file
        self.interval = interval
        self.hub = MonitorHub()


def _relative_file(root: ProjectRoot, file: Optional[str]) -> Optional[str]:
    if not file:
        return None
    try:
        return root.relative(Path(file))
    except ValueError:
        return file


def _config_error_detail(exc: ConfigError, root: ProjectRoot) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "message": exc.message,
        "type": type(exc).__name__,
        "file": _relative_file(root, exc.file),
        "line": exc.line,
        "column": exc.column,
        "path": format_path(exc.path) if exc.path else None,
        "expected": exc.expected,
    }
    if isinstance(exc, ConfigValidationFailed):
        problems = []
        for p in exc.problems:
            data = p.model_dump(mode="json")
            data["file"] = _relative_file(root, p.file)
            data["location"] = format_path(p.loc)
            problems.append(data)
        detail["problems"] = problems
        first = problems[0] if problems else None
        if first is not None:
            detail["line"] = detail["line"] or first.get("line")
            where = f"{first['location']}: " if first.get("location") else ""
            detail["message"] = f"{exc.message}: {where}{first['msg']}" + (
                f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    return detail


def _install_error_handlers(app: FastAPI, root: ProjectRoot) -> None:
    @app.exception_handler(UIError)
    async def ui_error(_: Request, exc: UIError) -> JSONResponse:
        return JSONResponse({"detail": exc.to_detail()}, status_code=exc.status)

    @app.exception_handler(ConfigError)
    async def config_error(_: Request, exc: ConfigError) -> JSONResponse:
        status = 404 if isinstance(exc, FactoryNotFoundError) else 422
        return JSONResponse({"detail": _config_error_detail(exc, root)}, status_code=status)

    @app.exception_handler(RecipeError)
    async def recipe_error(_: Request, exc: RecipeError) -> JSONResponse:
        return JSONResponse({"detail": {"message": str(exc), "type": "RecipeError"}}, status_code=422)

    @app.exception_handler(NetrunRuntimeError)
    async def runtime_error(_: Request, exc: NetrunRuntimeError) -> JSONResponse:
        return JSONResponse({"detail": {"message": str(exc), "type": type(exc).__name__}}, status_code=422)

    @app.exception_handler(ValueError)
    async def value_error(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": {"message": str(exc), "type": type(exc).__name__}}, status_code=422)


def _origin_allowed(websocket: WebSocket, hosts: Iterable[str]) -> bool:
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser (a script or a test client)
        return True
    host = urlsplit(origin).hostname or ""
    own = (websocket.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
    return host in {h.strip("[]") for h in hosts} or host == own


def create_app(
    root: str | os.PathLike[str] = ".",
    *,
    initial_file: Optional[str] = None,
    static_dir: Optional[str | os.PathLike[str]] = None,
    allowed_hosts: Optional[Iterable[str]] = None,
    interval: float = DEFAULT_INTERVAL,
) -> Any:
    """The editor application for the project directory ``root``.

    ``initial_file`` (relative to ``root``) is opened when the page loads; ``allowed_hosts``
    are the Host names the app answers (default: loopback names); ``interval`` is the
    monitor's batch period in seconds.

    >>> from fastapi.testclient import TestClient                 # doctest: +SKIP
    >>> client = TestClient(create_app("."), base_url="http://127.0.0.1")
    >>> client.get("/api/files").json()                            # doctest: +SKIP
    """
    project = ProjectRoot(root)
    if initial_file:
        initial_file = project.relative(project.net_file(initial_file))
    state = _State(project, initial_file, interval)
    hosts = list(allowed_hosts) if allowed_hosts is not None else list(DEFAULT_ALLOWED_HOSTS)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        yield
        await state.hub.close()

    from netrun.ui import __version__

    app = FastAPI(title="netrun ui", version=__version__, lifespan=lifespan, docs_url="/api/docs",
                  openapi_url="/api/openapi.json", redoc_url=None)
    app.state.netrun = state
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    _install_error_handlers(app, project)
    app.include_router(build_router(state))

    @app.websocket("/ws/monitor")
    async def monitor_socket(websocket: WebSocket) -> None:
        if not _origin_allowed(websocket, hosts):
            await websocket.close(code=1008, reason="origin not allowed")
            return
        await websocket.accept()
        queue = state.hub.connect()

        async def forward() -> None:
            while True:
                await websocket.send_json(await queue.get())

        sender = asyncio.get_running_loop().create_task(forward())
        try:
            while True:
                message = await websocket.receive()
                if message.get("type") == "websocket.disconnect":
                    break
        except WebSocketDisconnect:
            pass
        finally:
            state.hub.disconnect(queue)
            sender.cancel()
            with contextlib.suppress(BaseException):
                await sender

    static = Path(static_dir) if static_dir is not None else STATIC_DIR
    if (static / "index.html").is_file():
        app.mount("/", StaticFiles(directory=static, html=True), name="static")
    else:
        @app.get("/", response_class=HTMLResponse, status_code=503)
        async def not_built() -> str:
            return _NOT_BUILT.format(static=static)

    return app
