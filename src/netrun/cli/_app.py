"""0.5.0 path of the CLI application (its console script was ``netrun.cli._app:app_main``)."""

from __future__ import annotations

from netrun.cli import app, main

app_main = main

__all__ = ["app", "app_main"]
