"""Commands that edit a net file: add-node, remove-node, edit-node, add-edge, remove-edge.

Edits go through the config models (so what is written is valid), then the file is saved
with :meth:`NetConfig.to_file`, which updates an existing TOML file in place and keeps its
comments wherever the content did not change. Unless ``--no-validate`` is given the edited
net is validated before anything is written: an edit that would break the net is refused
and the file is left as it was.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from netrun.config import EdgeConfig, NetConfig, NodeConfig, PortConfig, validate_config
from netrun.cli._common import (
    CommandFailed,
    ConfigOption,
    JsonOption,
    emit,
    find_net_file,
    guarded,
    load_config,
    parse_key_values,
    require_node,
    split_names,
)

NODE_SPACING = 300.0


def _save(cfg: NetConfig, path: Path, validate: bool) -> None:
    if validate:
        problems = validate_config(cfg, check_imports=False)
        if problems:
            raise CommandFailed(f"the edit would make {path} invalid; nothing was written", problems=problems)
    cfg.to_file(path)


def _node_names(cfg: NetConfig) -> list[str]:
    return [n.name for n in cfg.graph.nodes]


def _position(node: Any) -> tuple[float, float] | None:
    pos = ((getattr(node, "extra", None) or {}).get("ui") or {}).get("position")
    if isinstance(pos, dict) and isinstance(pos.get("x"), (int, float)):
        return float(pos["x"]), float(pos.get("y") or 0.0)
    return None


def _next_position(cfg: NetConfig) -> tuple[float, float]:
    placed = [p for p in (_position(n) for n in cfg.graph.nodes) if p]
    if not placed:
        return 0.0, 0.0
    return max(x for x, _ in placed) + NODE_SPACING, 0.0


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value  # lists and scalars are replaced
    return out


def _replace_node(cfg: NetConfig, name: str, new: Any) -> NetConfig:
    nodes = [new if n.name == name else n for n in cfg.graph.nodes]
    return _with_graph(cfg, nodes=nodes)


def _with_graph(cfg: NetConfig, **updates: Any) -> NetConfig:
    graph = cfg.graph.model_copy(update=updates)
    out = cfg.model_copy(update={"graph": graph})
    out._file_path, out._source = cfg._file_path, cfg._source
    return out


def _edge_matches(edge: EdgeConfig, sn: str, sp: str, tn: str, tp: str) -> bool:
    return (edge.source_node, edge.source_port, edge.target_node, edge.target_port) == (sn, sp, tn, tp)


def register(app: typer.Typer) -> None:
    @app.command("add-node")
    def add_node(
        name: str = typer.Argument(..., help="Name of the new node."),
        config: Optional[Path] = ConfigOption,
        factory: Optional[str] = typer.Option(None, "--factory", "-f", help="Factory import path."),
        factory_arg: list[str] = typer.Option([], "--factory-arg", help="KEY=VALUE (JSON values allowed); repeatable."),
        in_ports: Optional[str] = typer.Option(None, "--in-ports", help="Comma-separated input ports."),
        out_ports: Optional[str] = typer.Option(None, "--out-ports", help="Comma-separated output ports."),
        position: Optional[str] = typer.Option(None, "--position", help="x,y in the editor."),
        from_json: Optional[str] = typer.Option(None, "--from-json", help="The node as JSON ('-' reads stdin)."),
        no_validate: bool = typer.Option(False, "--no-validate", help="Write even if the net becomes invalid."),
        as_json: bool = JsonOption,
    ) -> None:
        """Add a node (plain, from a factory, or from a JSON description)."""
        with guarded(as_json):
            path = find_net_file(config)
            cfg = load_config(path)
            if name in _node_names(cfg):
                raise CommandFailed(f"a node named {name!r} already exists; choose another name or use edit-node")
            data: dict[str, Any] = {}
            if from_json is not None:
                raw = sys.stdin.read() if from_json == "-" else from_json
                try:
                    data = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise CommandFailed(f"--from-json is not valid JSON: {exc}") from exc
                if not isinstance(data, dict):
                    raise CommandFailed("--from-json must be a JSON object describing the node")
            data["name"] = name
            if factory:
                data["factory"] = factory
            if factory_arg:
                data["factory_args"] = {**data.get("factory_args", {}), **parse_key_values(factory_arg, "--factory-arg")}
            for key, text in (("in_ports", in_ports), ("out_ports", out_ports)):
                if text is not None:
                    data[key] = {p: {} for p in split_names(text)}
            if position is not None:
                try:
                    x, y = (float(v) for v in position.split(","))
                except ValueError as exc:
                    raise CommandFailed(f"--position {position!r} is not x,y (two numbers)") from exc
            else:
                x, y = _next_position(cfg)
            data.setdefault("extra", {}).setdefault("ui", {})["position"] = {"x": x, "y": y}
            try:
                node = NodeConfig.model_validate(data)
            except Exception as exc:
                raise CommandFailed(f"invalid node {name!r}: {exc}") from exc
            cfg = _with_graph(cfg, nodes=[*cfg.graph.nodes, node])
            _save(cfg, path, not no_validate)
            emit(as_json, {"added": name, "file": str(path)}, f"added node {name} to {path}")

    @app.command("remove-node")
    def remove_node(name: str = typer.Argument(...), config: Optional[Path] = ConfigOption,
                    as_json: bool = JsonOption) -> None:
        """Remove a node, its edges and its output-queue entries."""
        with guarded(as_json):
            path = find_net_file(config)
            cfg = load_config(path)
            require_node(cfg, name)
            edges = [e for e in cfg.graph.edges if name not in (e.source_node, e.target_node)]
            removed_edges = len(cfg.graph.edges) - len(edges)
            cfg = _with_graph(cfg, nodes=[n for n in cfg.graph.nodes if n.name != name], edges=edges)
            if cfg.output_queues:
                queues = {}
                for qname, queue in cfg.output_queues.items():
                    ports = [p for p in queue.ports if p[0] != name]
                    if ports:
                        queues[qname] = queue.model_copy(update={"ports": ports})
                cfg = cfg.model_copy(update={"output_queues": queues})
            _save(cfg, path, validate=False)
            emit(as_json, {"removed": name, "removed_edges": removed_edges},
                 f"removed node {name} and {removed_edges} edge(s)")

    @app.command("edit-node")
    def edit_node(
        name: str = typer.Argument(...),
        config: Optional[Path] = ConfigOption,
        rename: Optional[str] = typer.Option(None, "--rename", help="New name (edges and queues follow)."),
        add_in_port: list[str] = typer.Option([], "--add-in-port"),
        remove_in_port: list[str] = typer.Option([], "--remove-in-port"),
        add_out_port: list[str] = typer.Option([], "--add-out-port"),
        remove_out_port: list[str] = typer.Option([], "--remove-out-port"),
        merge: Optional[str] = typer.Option(None, "--merge", help="JSON deep-merged into the node ('-' = stdin)."),
        no_validate: bool = typer.Option(False, "--no-validate"),
        as_json: bool = JsonOption,
    ) -> None:
        """Change a node: rename it, add/remove ports, or deep-merge JSON into it."""
        with guarded(as_json):
            path = find_net_file(config)
            cfg = load_config(path)
            node = require_node(cfg, name)
            data = node.model_dump(exclude_unset=True)
            for port in add_in_port:
                data.setdefault("in_ports", {})[port] = PortConfig()
            for port in add_out_port:
                data.setdefault("out_ports", {})[port] = PortConfig()
            for key, ports in (("in_ports", remove_in_port), ("out_ports", remove_out_port)):
                for port in ports:
                    if port not in (data.get(key) or {}):
                        raise CommandFailed(f"node {name!r} has no {key[:-1].replace('_', ' ')} {port!r}")
                    del data[key][port]
            if merge is not None:
                raw = sys.stdin.read() if merge == "-" else merge
                try:
                    patch = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise CommandFailed(f"--merge is not valid JSON: {exc}") from exc
                data = _deep_merge(data, patch)
            new_name = rename or name
            if rename and rename != name and rename in _node_names(cfg):
                raise CommandFailed(f"cannot rename {name!r} to {rename!r}: that name is taken")
            data["name"] = new_name
            try:
                new_node = type(node).model_validate(data)
            except Exception as exc:
                raise CommandFailed(f"invalid node {name!r} after the edit: {exc}") from exc
            cfg = _replace_node(cfg, name, new_node)
            if rename:
                def ren(n: str) -> str:
                    return new_name if n == name else n

                edges = [e.model_copy(update={"source_node": ren(e.source_node), "target_node": ren(e.target_node)})
                         for e in cfg.graph.edges]
                cfg = _with_graph(cfg, edges=edges)
                if cfg.output_queues:
                    cfg = cfg.model_copy(update={"output_queues": {
                        q: v.model_copy(update={"ports": [(ren(n), p) for n, p in v.ports]})
                        for q, v in cfg.output_queues.items()}})
            _save(cfg, path, not no_validate)
            emit(as_json, {"edited": new_name}, f"edited node {new_name}")

    @app.command("add-edge")
    def add_edge(source_node: str, source_port: str, target_node: str, target_port: str,
                 config: Optional[Path] = ConfigOption,
                 dependency: bool = typer.Option(False, "--dependency", help="Mark it as a dependency edge."),
                 no_validate: bool = typer.Option(False, "--no-validate"),
                 as_json: bool = JsonOption) -> None:
        """Connect SOURCE_NODE.SOURCE_PORT to TARGET_NODE.TARGET_PORT."""
        with guarded(as_json):
            path = find_net_file(config)
            cfg = load_config(path)
            require_node(cfg, source_node)
            require_node(cfg, target_node)
            if any(_edge_matches(e, source_node, source_port, target_node, target_port) for e in cfg.graph.edges):
                raise CommandFailed("that edge already exists")
            edge = EdgeConfig(source_node=source_node, source_port=source_port, target_node=target_node,
                              target_port=target_port, dependency=dependency)
            cfg = _with_graph(cfg, edges=[*cfg.graph.edges, edge])
            _save(cfg, path, not no_validate)
            emit(as_json, {"added": str(edge)}, f"added edge {edge}")

    @app.command("remove-edge")
    def remove_edge(source_node: str, source_port: str, target_node: str, target_port: str,
                    config: Optional[Path] = ConfigOption, as_json: bool = JsonOption) -> None:
        """Remove the edge SOURCE_NODE.SOURCE_PORT -> TARGET_NODE.TARGET_PORT."""
        with guarded(as_json):
            path = find_net_file(config)
            cfg = load_config(path)
            edges = [e for e in cfg.graph.edges
                     if not _edge_matches(e, source_node, source_port, target_node, target_port)]
            if len(edges) == len(cfg.graph.edges):
                raise CommandFailed(
                    f"no edge {source_node}.{source_port} -> {target_node}.{target_port} in the net")
            cfg = _with_graph(cfg, edges=edges)
            _save(cfg, path, validate=False)
            emit(as_json, {"removed": f"{source_node}.{source_port} -> {target_node}.{target_port}"},
                 "removed the edge")
