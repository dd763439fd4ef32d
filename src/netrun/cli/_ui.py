"""``netrun ui``: the visual editor and live monitor in the browser (extra ``netrun[ui]``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from netrun.cli._common import CommandFailed, guarded


def register(app: typer.Typer) -> None:
    @app.command()
    def ui(
        file: Optional[Path] = typer.Argument(None, help="Net file to open (created if it does not exist)."),
        root: Path = typer.Option(Path("."), "--root", help="Project directory the editor may read and write."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
        port: int = typer.Option(0, "--port", help="Port (0: 8765, or a free one if taken)."),
        no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser window."),
    ) -> None:
        """Open the editor (and live monitor) on localhost until Ctrl-C."""
        with guarded(False):
            try:
                from netrun.ui import serve
            except ImportError as exc:  # pragma: no cover - depends on installed extras
                raise CommandFailed(f"the editor needs the 'ui' extra: pip install 'netrun[ui]' ({exc})") from exc
            try:
                serve(str(file) if file else None, host=host, port=port, open_browser=not no_browser,
                      root=str(root))
            except (OSError, ValueError) as exc:
                raise CommandFailed(str(exc)) from exc
