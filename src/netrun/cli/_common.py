"""What every command shares: finding the net file, printing results, turning errors into
exit codes.

Output is for people by default (rich tables and text) and for programs with ``--json``:
then exactly one JSON document goes to stdout, ``{"ok": true, ...}`` or ``{"ok": false,
"error": ..., "problems": [...]}``. The exit code says whether the command worked: 0 yes,
1 no (invalid net, failed run, failed action), 2 bad usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

from netrun.config import ConfigError, ConfigValidationFailed, NetConfig, Problem

NET_FILE_SUFFIXES = (".netrun.toml", ".netrun.json")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOption = typer.Option(False, "--json", help="Print one machine-readable JSON document.")
ConfigOption = typer.Option(
    None, "--config", "-c",
    help="The net file (.toml/.json). Default: the only *.netrun.toml / *.netrun.json in this directory.",
)


class CommandFailed(Exception):
    """Raised inside a command to stop with exit code 1 and a message (and problems)."""

    def __init__(self, message: str, problems: list[Problem] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []
        self.extra = extra


def find_net_file(explicit: Path | None) -> Path:
    """The net file a command works on: the one given, or the only one in the cwd."""
    if explicit is not None:
        if not explicit.exists():
            raise CommandFailed(f"net file {str(explicit)!r} does not exist")
        return explicit
    found = sorted(p for p in Path.cwd().iterdir() if p.name.endswith(NET_FILE_SUFFIXES))
    if len(found) == 1:
        return found[0]
    if not found:
        raise CommandFailed(
            "no net file given and none found here; pass one with -c FILE "
            "(or name it *.netrun.toml / *.netrun.json)")
    names = ", ".join(p.name for p in found)
    raise CommandFailed(f"several net files here ({names}); choose one with -c FILE")


def load_config(path: Path) -> NetConfig:
    """Load a net file, turning every config error into a :class:`CommandFailed`."""
    try:
        return NetConfig.from_file(path)
    except ConfigValidationFailed as exc:
        raise CommandFailed(f"{path}: the net definition is invalid", problems=exc.problems) from exc
    except ConfigError as exc:
        raise CommandFailed(str(exc), problems=[exc.to_problem()]) from exc


def require_node(cfg: NetConfig, name: str) -> Any:
    """The graph entry called ``name``, or a :class:`CommandFailed` listing the nodes there are."""
    names = [n.name for n in cfg.graph.nodes]
    if name not in names:
        raise CommandFailed(f"node {name!r} is not in the net; nodes: {', '.join(names) or '(none)'}")
    return cfg.graph.get_node(name)


def to_jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def emit(as_json: bool, data: dict[str, Any], human: Any = None) -> None:
    """Print a successful result: JSON with ``ok: true``, or the human form."""
    if as_json:
        sys.stdout.write(json.dumps({"ok": True, **to_jsonable(data)}, indent=2) + "\n")
        sys.stdout.flush()
        return
    if callable(human):
        human()
    elif human is not None:
        console.print(human)


def fail(as_json: bool, exc: CommandFailed) -> NoReturn:
    """Report a failure (with every problem) and exit with code 1."""
    problems = [p.model_dump(mode="json", exclude_none=True) for p in exc.problems]
    if as_json:
        payload = {"ok": False, "error": exc.message, "problems": problems, **to_jsonable(exc.extra)}
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        sys.stdout.flush()
    else:
        err_console.print(f"[bold red]error:[/] {exc.message}", markup=True)
        for problem in exc.problems:
            err_console.print(f"  - {problem}", markup=False)
    raise typer.Exit(1)


def guarded(as_json: bool):
    """Context manager: run a command body, reporting :class:`CommandFailed` and config errors."""
    return _Guard(as_json)


class _Guard:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def __enter__(self) -> "_Guard":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or isinstance(exc, (typer.Exit, typer.Abort, KeyboardInterrupt, SystemExit)):
            return False
        if isinstance(exc, ConfigValidationFailed):
            fail(self.as_json, CommandFailed(str(exc).splitlines()[0], problems=exc.problems))
        if isinstance(exc, ConfigError):
            fail(self.as_json, CommandFailed(str(exc), problems=[exc.to_problem()]))
        if isinstance(exc, CommandFailed):
            fail(self.as_json, exc)
        return False


def parse_key_values(items: list[str], what: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` → ``{"a": 1, "b": "x"}``; values are JSON when they parse as JSON."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise CommandFailed(f"{what} {item!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def split_names(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]
