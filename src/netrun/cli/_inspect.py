"""Read-only commands: validate, structure, info, nodes, node, factory-info, convert."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from netrun.config import NetConfig, NodeConfig, get_factory_info, validate_config
from netrun.config.files import format_of
from netrun.cli._common import (
    CommandFailed,
    ConfigOption,
    JsonOption,
    console,
    emit,
    err_console,
    fail,
    find_net_file,
    guarded,
    load_config,
    require_node,
)

FileArgument = typer.Argument(None, help="The net file (default: -c, or the only net file here).")


def _file(positional: Optional[Path], config: Optional[Path]) -> Path:
    return find_net_file(positional or config)


def _type_text(port_type: Any) -> str | None:
    if port_type is None:
        return None
    if isinstance(port_type, str):
        return port_type
    if isinstance(port_type, type):
        return port_type.__name__
    if isinstance(port_type, dict):
        cls = port_type.get("class")
        return cls if isinstance(cls, str) else getattr(cls, "__name__", repr(cls))
    name = getattr(port_type, "name", None)
    return name if isinstance(name, str) else str(port_type)


def _resolved(cfg: NetConfig) -> tuple[NetConfig, str | None]:
    """The resolved config (factory ports filled in), or the raw one and a warning."""
    try:
        return cfg.resolve(resolve_imports=False), None
    except Exception as exc:  # show what we can; the warning says why ports may be missing
        return cfg, f"could not resolve the net ({exc}); factory nodes are shown without their ports"


def _node_summary(node: Any) -> dict[str, Any]:
    if not isinstance(node, NodeConfig):
        return {"name": node.name, "type": "subgraph"}
    return {
        "name": node.name,
        "in_ports": {p: {"type": _type_text(c.port_type), "capacity": _capacity(c)} for p, c in node.in_ports.items()},
        "out_ports": {p: {"type": _type_text(c.port_type), "capacity": _capacity(c)} for p, c in node.out_ports.items()},
        "in_salvo_conditions": list(node.in_salvo_conditions or {}),
        "out_salvo_conditions": list(node.out_salvo_conditions or {}),
        "factory": node.factory if isinstance(node.factory, str) or node.factory is None else node.factory.__name__,
        "factory_args": node.factory_args,
    }


def _capacity(port: Any) -> int | None:
    return getattr(port.slots_spec, "capacity", None)


def register(app: typer.Typer) -> None:
    @app.command()
    def validate(
        file: Optional[Path] = FileArgument,
        config: Optional[Path] = ConfigOption,
        as_json: bool = JsonOption,
        no_imports: bool = typer.Option(False, "--no-imports", help="Do not import node functions and factories."),
    ) -> None:
        """Check a net file and report every problem found (not just the first)."""
        with guarded(as_json):
            path = _file(file, config)
            problems = validate_config(path, check_imports=not no_imports)
            if problems:
                fail(as_json, CommandFailed(f"{path}: {len(problems)} problem(s) found", problems=problems,
                                            valid=False, file=str(path)))
            emit(as_json, {"valid": True, "file": str(path)}, f"[green]valid:[/] {path}")

    @app.command()
    def structure(file: Optional[Path] = FileArgument, config: Optional[Path] = ConfigOption,
                  as_json: bool = JsonOption) -> None:
        """Show the graph: nodes with their ports and conditions, and the edges."""
        with guarded(as_json):
            cfg = load_config(_file(file, config))
            resolved, warning = _resolved(cfg)
            if warning:
                err_console.print(f"warning: {warning}", markup=False)
            data = {
                "nodes": [_node_summary(n) for n in resolved.graph.nodes],
                "edges": [str(e) for e in resolved.graph.edges],
            }

            def human() -> None:
                for node in data["nodes"]:
                    ins = ", ".join(node.get("in_ports", {})) or "-"
                    outs = ", ".join(node.get("out_ports", {})) or "-"
                    console.print(f"[bold]{node['name']}[/]  in: {ins}  out: {outs}")
                for edge in data["edges"]:
                    console.print(f"  {edge}", markup=False)

            emit(as_json, data, human)

    @app.command()
    def info(file: Optional[Path] = FileArgument, config: Optional[Path] = ConfigOption,
             as_json: bool = JsonOption) -> None:
        """Summarise a net: counts, pools, factories, actions and recipes."""
        from netrun.tools import get_project_actions, get_recipes

        with guarded(as_json):
            path = _file(file, config)
            cfg = load_config(path)
            pools = {name: p.spec.type for name, p in (cfg.pools or {"main": None}).items() if p} or {"main": "main"}
            nodes = cfg.graph.nodes
            data = {
                "file": str(path),
                "project_root": str(cfg.project_root_path),
                "nodes": sum(isinstance(n, NodeConfig) for n in nodes),
                "subgraphs": sum(not isinstance(n, NodeConfig) for n in nodes),
                "edges": len(cfg.graph.edges),
                "pools": pools,
                "factories": sorted({str(n.factory) for n in nodes if isinstance(n, NodeConfig) and n.factory}),
                "actions": len(get_project_actions(cfg)),
                "recipes": len(get_recipes(cfg)),
            }

            def human() -> None:
                table = Table(show_header=False, box=None)
                for key, value in data.items():
                    table.add_row(key, str(value))
                console.print(table)

            emit(as_json, data, human)

    @app.command()
    def nodes(file: Optional[Path] = FileArgument, config: Optional[Path] = ConfigOption,
              as_json: bool = JsonOption) -> None:
        """List the nodes with their ports and factory."""
        with guarded(as_json):
            cfg = load_config(_file(file, config))
            resolved, _ = _resolved(cfg)
            rows = [{"name": n["name"], "in_ports": list(n.get("in_ports", {})),
                     "out_ports": list(n.get("out_ports", {})), "factory": n.get("factory")}
                    for n in map(_node_summary, resolved.graph.nodes)]

            def human() -> None:
                table = Table("node", "in", "out", "factory")
                for r in rows:
                    table.add_row(r["name"], ", ".join(r["in_ports"]), ", ".join(r["out_ports"]), r["factory"] or "")
                console.print(table)

            emit(as_json, {"nodes": rows}, human)

    @app.command()
    def node(name: str = typer.Argument(..., help="The node's name."), config: Optional[Path] = ConfigOption,
             as_json: bool = JsonOption) -> None:
        """Show one node in detail."""
        with guarded(as_json):
            cfg = load_config(find_net_file(config))
            resolved, _ = _resolved(cfg)
            entry = require_node(resolved, name)
            data = _node_summary(entry)
            if isinstance(entry, NodeConfig):
                ex = entry.exec_config
                data["execution_config"] = {
                    "pools": ex.pools, "retries": ex.retries, "timeout": ex.timeout,
                    "type_checking_enabled": ex.type_checking_enabled,
                }
                data["extra"] = entry.extra
            emit(as_json, {"node": data}, lambda: console.print_json(data=data, default=str))

    @app.command("factory-info")
    def factory_info(factory: str = typer.Argument(..., help="Import path of the factory (module or file.py)."),
                     as_json: bool = JsonOption) -> None:
        """Show a factory's parameters (what goes in factory_args)."""
        with guarded(as_json):
            try:
                data = get_factory_info(factory, Path.cwd())
            except CommandFailed:
                raise
            except Exception as exc:
                raise CommandFailed(f"cannot load factory {factory!r}: {exc}") from exc

            def human() -> None:
                console.print(f"[bold]{data['factory']}[/] ({data['type']})")
                if data["description"]:
                    console.print(data["description"], markup=False)
                table = Table("parameter", "type", "default", "required")
                for p in data["parameters"]:
                    table.add_row(p["name"], str(p["type"] or ""), repr(p["default"]), "yes" if p["required"] else "")
                console.print(table)

            emit(as_json, data, human)

    @app.command()
    def convert(
        file: Path = typer.Argument(..., help="The net file to convert."),
        output: Path = typer.Option(..., "--output", "-o", help="Where to write (.toml or .json)."),
        layout: Optional[str] = typer.Option(None, help="'dsl' (PROJECT_SPEC [nodes.X]) or 'graph' (0.5.0)."),
        as_json: bool = JsonOption,
    ) -> None:
        """Convert a net file between TOML and JSON (and between the two layouts), without loss."""
        with guarded(as_json):
            cfg = load_config(find_net_file(file))
            try:
                format_of(output)
            except Exception as exc:
                raise CommandFailed(f"cannot write {output}: {exc}") from exc
            cfg.to_file(output, layout=layout, preserve_comments=False)
            emit(as_json, {"input": str(file), "output": str(output)}, f"wrote {output}")
