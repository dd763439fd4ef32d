"""Serving the editor: ``netrun ui [FILE]`` calls :func:`serve`."""

from __future__ import annotations

import os
import socket
import threading
import webbrowser
from pathlib import Path
from typing import Optional

from netrun.ui.app import DEFAULT_ALLOWED_HOSTS, create_app
from netrun.ui.errors import NotANetFileError
from netrun.ui.project import ProjectRoot

__all__ = ["DEFAULT_PORT", "serve"]

#: The port tried first; when it is taken, a free one is picked.
DEFAULT_PORT = 8765


def _pick_port(host: str, port: int) -> int:
    if port:
        return port
    for candidate in (DEFAULT_PORT, 0):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise OSError(f"no free port on {host}")


def serve(
    path: Optional[str] = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    root: str | os.PathLike[str] = ".",
) -> None:
    """Serve the editor for the project directory ``root`` until Ctrl-C.

    ``path`` (a net file under ``root``) is opened in the browser; a ``.toml``/``.json``
    path that does not exist yet is created empty first. ``port=0`` uses 8765, or any free
    port when 8765 is taken. Binding to anything but a loopback address makes the editor
    reachable from the network: it is allowed, but it serves the project's files to
    whoever reaches it.
    """
    import uvicorn

    project = ProjectRoot(root)
    initial = None
    if path:
        file = project.net_file(path)
        if not file.exists():
            from netrun.ui.documents import new_net_file

            new_net_file(project, project.relative(file))
        elif not file.is_file():
            raise NotANetFileError(f"{path!r} is not a file")
        initial = project.relative(file)
    port = _pick_port(host, port)
    hosts = list(DEFAULT_ALLOWED_HOSTS)
    if host not in hosts and host not in ("0.0.0.0", "::"):
        hosts.append(host)
    elif host in ("0.0.0.0", "::"):
        hosts = ["*"]
    app = create_app(project.path, initial_file=initial, allowed_hosts=hosts)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown_host if ':' not in shown_host else f'[{shown_host}]'}:{port}/"
    if initial:
        url += f"?file={initial}"
    print(f"netrun ui: serving {project.path} at {url} (Ctrl-C to stop)", flush=True)
    if open_browser:
        threading.Timer(0.8, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _main() -> None:  # pragma: no cover - `python -m netrun.ui.server [FILE]` for development
    import sys

    serve(sys.argv[1] if len(sys.argv) > 1 else None, root=Path.cwd())


if __name__ == "__main__":  # pragma: no cover
    _main()
