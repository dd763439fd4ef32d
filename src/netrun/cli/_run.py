"""``netrun run``: execute a net file, feed it inputs, show progress, print the outputs.

Inputs (any mix):

* ``VALUE...`` after the file: values for the net's only *open* input port (an input port
  no edge feeds); with several open ports, name the port with ``--input``.
* ``--input NODE.PORT=VALUE`` (repeatable).
* ``--inputs FILE``: ``.json`` holding ``{"NODE.PORT": [values...]}``, or ``.jsonl`` with one
  ``{"NODE.PORT": value}`` object per line.
* ``--stdin``: JSONL on standard input, as for a ``.jsonl`` file.

Values are parsed as JSON when they are JSON (``3``, ``"x"``, ``[1, 2]``) and taken as text
otherwise. Nodes without input ports (sources) are fired once each unless ``--fire`` names
the ones to fire (``--fire none`` fires nothing). Outputs are the net's output queues (one
per unconnected output port, named ``node::port``), printed as JSON or written with
``--output`` (``.json``, or ``.jsonl`` with one ``{"queue", "value"}`` per line). The exit
code is 1 when an epoch failed for good (its packets are in the dead-letter queue, which is
reported) or the net could not run.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer

from netrun.cli._common import CommandFailed, JsonOption, console, emit, err_console, fail, guarded, to_jsonable


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _port_key(key: str, where: str) -> tuple[str, str]:
    node, sep, port = key.rpartition(".")
    if not sep or not node or not port:
        raise CommandFailed(f"{where}: {key!r} is not NODE.PORT")
    return node, port


def _jsonl_inputs(lines: list[str], where: str) -> list[tuple[str, str, Any]]:
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandFailed(f"{where} line {number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise CommandFailed(f"{where} line {number}: expected an object like {{\"NODE.PORT\": value}}")
        for key, value in record.items():
            out.append((*_port_key(key, f"{where} line {number}"), value))
    return out


def _file_inputs(path: Path) -> list[tuple[str, str, Any]]:
    if not path.exists():
        raise CommandFailed(f"--inputs file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return _jsonl_inputs(text.splitlines(), str(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandFailed(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, dict):
        raise CommandFailed(f'{path}: expected {{"NODE.PORT": [values...]}}')
    out = []
    for key, values in data.items():
        node, port = _port_key(key, str(path))
        for value in values if isinstance(values, list) else [values]:
            out.append((node, port, value))
    return out


def _open_input_ports(graph: Any) -> list[tuple[str, str]]:
    """Input ports no edge feeds. When some belong to *entry* nodes (nodes none of whose
    inputs are fed), only those count: an unfed extra port on an inner node is usually an
    optional parameter, not where the data goes in."""
    fed = {(e.target.node_name, e.target.port_name) for e in graph.edges()}
    ports, entry_ports = [], []
    for name, node in graph.nodes().items():
        data_ports = [p for p in node.in_ports if not p.startswith("__control_")]
        open_here = [(name, p) for p in data_ports if (name, p) not in fed]
        ports += open_here
        if data_ports and len(open_here) == len(data_ports):
            entry_ports += open_here
    return entry_ports or ports


def build_net(path: Path) -> Any:
    """A ``Net`` for a net file (validated first: every problem is reported at once)."""
    from netrun.net import Net

    return Net.from_file(path)


class _Progress:
    """A live per-node table of started/finished epochs, drawn only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.started: Counter[str] = Counter()
        self.ended: Counter[str] = Counter()
        self.live = None
        if enabled:
            from rich.live import Live

            self.live = Live(self._render(), console=err_console, refresh_per_second=8, transient=False)

    def _render(self) -> Any:
        from rich.table import Table

        table = Table("node", "started", "finished", title="netrun run")
        for node in sorted(set(self.started) | set(self.ended)):
            table.add_row(node, str(self.started[node]), str(self.ended[node]))
        return table

    def on_start(self, node_name: str, *_: Any) -> None:
        self.started[node_name] += 1
        if self.live is not None:
            self.live.update(self._render())

    def on_end(self, node_name: str, *_: Any) -> None:
        self.ended[node_name] += 1
        if self.live is not None:
            self.live.update(self._render())


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        file: Path = typer.Argument(..., help="The net file to run."),
        values: list[str] = typer.Argument(None, help="Values for the net's only open input port."),
        input: list[str] = typer.Option([], "--input", "-i", help="NODE.PORT=VALUE; repeatable."),
        inputs: Optional[Path] = typer.Option(None, "--inputs", help="A .json or .jsonl file of inputs."),
        stdin: bool = typer.Option(False, "--stdin", help="Read JSONL inputs from standard input."),
        fire: list[str] = typer.Option([], "--fire", help="Source node(s) to fire (default: all; 'none': none)."),
        output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write outputs to .json / .jsonl."),
        progress: Optional[bool] = typer.Option(None, "--progress/--no-progress",
                                                help="Live progress table (default: on a terminal)."),
        as_json: bool = JsonOption,
    ) -> None:
        """Run a net file to completion and print what came out."""
        with guarded(as_json):
            if not file.exists():
                raise CommandFailed(f"net file {str(file)!r} does not exist")
            net = build_net(file)
            feeds: list[tuple[str, str, Any]] = []
            for item in input:
                key, sep, raw = item.partition("=")
                if not sep:
                    raise CommandFailed(f"--input {item!r} is not NODE.PORT=VALUE")
                feeds.append((*_port_key(key, "--input"), _parse_value(raw)))
            if inputs is not None:
                feeds += _file_inputs(inputs)
            if stdin:
                feeds += _jsonl_inputs(sys.stdin.read().splitlines(), "stdin")
            if values:
                open_ports = _open_input_ports(net.graph)
                if len(open_ports) != 1:
                    names = ", ".join(f"{n}.{p}" for n, p in open_ports) or "none"
                    raise CommandFailed(
                        f"positional values need exactly one open input port; this net has: {names}. "
                        "Use --input NODE.PORT=VALUE instead")
                feeds += [(*open_ports[0], _parse_value(v)) for v in values]

            sources = [n for n, node in net.graph.nodes().items() if not node.in_ports]
            if fire == ["none"]:
                to_fire: list[str] = []
            elif fire:
                unknown = [n for n in fire if n not in net.graph.nodes()]
                if unknown:
                    raise CommandFailed(f"--fire: no node(s) {', '.join(map(repr, unknown))} in the net")
                to_fire = list(fire)
            else:
                to_fire = [] if feeds else sources

            if not feeds and not to_fire:
                err_console.print("nothing to run: no inputs were given and no source node was fired "
                                  "(give VALUE..., --input NODE.PORT=VALUE, --inputs FILE or --stdin)", markup=False)
            show = sys.stderr.isatty() and not as_json if progress is None else progress
            bar = _Progress(show)
            net.on_epoch_start(bar.on_start)
            net.on_epoch_end(bar.on_end)
            try:
                for node, port, value in feeds:
                    net.inject_data(node, port, [value])
                for node in to_fire:
                    net.inject_source_epoch(node)
                if bar.live is not None:
                    with bar.live:
                        net.start()
                else:
                    net.start()
                outputs = net.flush_all_output_queues()
                failures = [
                    {"node": e.node_name, "epoch": e.epoch_id, "error": repr(e.exception)}
                    for e in net.dead_letter_queue.get_all()
                ]
            finally:
                net.close()

            result = {"outputs": to_jsonable(outputs), "epochs": dict(bar.ended), "failed": failures}
            if output is not None:
                _write_outputs(output, outputs)
            if failures:
                fail(as_json, CommandFailed(f"{len(failures)} epoch(s) failed; their packets are in the "
                                            "dead-letter queue", **result))

            def human() -> None:
                if output is not None:
                    console.print(f"wrote outputs to {output}")
                    return
                console.print_json(data=result["outputs"])

            emit(as_json, result, human)


def _write_outputs(path: Path, outputs: dict[str, list[Any]]) -> None:
    if path.suffix == ".jsonl":
        lines = [json.dumps({"queue": q, "value": to_jsonable(v)}) for q, vals in outputs.items() for v in vals]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    else:
        path.write_text(json.dumps(to_jsonable(outputs), indent=2) + "\n", encoding="utf-8")
