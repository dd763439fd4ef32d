"""The ``netrun`` command line (typer).

Every command prints for people by default and one JSON document with ``--json``; the exit
code says whether it worked (0 yes, 1 no, 2 bad usage). See ``netrun --help``.
"""

from __future__ import annotations

import typer

from netrun.cli import _edit, _inspect, _run, _ui
from netrun.cli._tools import actions_app, recipes_app

app = typer.Typer(
    name="netrun",
    help="Validate, inspect, edit and run netrun net files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_inspect.register(app)
_edit.register(app)
_run.register(app)
_ui.register(app)
app.add_typer(actions_app, name="actions")
app.add_typer(recipes_app, name="recipes")


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
