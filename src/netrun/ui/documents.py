"""What the editor does with net files, on top of :mod:`netrun.config` (no HTTP here).

The browser edits a net as plain data in the published 0.5.0 *graph* layout
(``graph.nodes`` list, flat edges, ``pools``, ``output_queues``, ``node_vars``, ``extra``),
whatever layout the file uses: :func:`open_net_file` loads the file with
``NetConfig.from_file`` and hands out ``NetConfig.to_data("graph")``; :func:`save_net_file`
validates the data back into a ``NetConfig`` and writes it with ``NetConfig.to_file`` in the
file's own layout (a PROJECT_SPEC DSL file stays a DSL file), which keeps keys in schema
order and the comments of an existing TOML file where the content did not change.

Node positions live in each node's ``extra.ui.position`` (``meta.ui.position`` in the DSL
layout), the place the 0.5.0 editor used.

:func:`analyze` is the editor's validation: every problem ``validate_config`` finds, each
tied to the node or edge it concerns, plus what the runtime will make of every node (ports a
factory adds, generated salvo conditions and their ``when`` text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from netrun.config import (
    ConfigError,
    ConfigValidationFailed,
    NetConfig,
    NodeConfig,
    Problem,
    SubgraphConfig,
    detect_layout,
    get_factory_info,
    import_factory,
    parse_when,
    term_to_when,
    validate_config,
    validate_factory_args,
)
from netrun.config.errors import ExpressionParseError, format_path
from netrun.config.files import read_config_data
from netrun.config.resolve import resolve_node
from netrun.config.salvo import term_port_names
from netrun.ui.errors import NetFileExistsError, NetFileNotFoundError
from netrun.ui.project import ProjectRoot

__all__ = [
    "BUILTIN_FACTORIES",
    "analyze",
    "available_factories",
    "check_expression",
    "edge_key",
    "factory_info",
    "factory_node",
    "load_config",
    "new_net_file",
    "open_net_file",
    "problem_to_json",
    "save_net_file",
]

#: Factories offered as suggestions in "add node" (only those that import are listed).
BUILTIN_FACTORIES = (
    "netrun.factories.from_function",
    "netrun.factories.broadcast",
    "netrun.factories.join",
)


def edge_key(edge: Any) -> str:
    """The id of an edge in the editor: ``"A.out->B.in"``."""
    get = edge.get if isinstance(edge, dict) else lambda k: getattr(edge, k)
    return f"{get('source_node')}.{get('source_port')}->{get('target_node')}.{get('target_port')}"


def _format(path: Path) -> str:
    return "json" if path.suffix.lower() == ".json" else "toml"


def _file_layout(path: Path) -> str | None:
    """The layout of the file on disk (``None`` if it is missing, empty or unreadable)."""
    if not path.is_file():
        return None
    try:
        data = read_config_data(path)
        return detect_layout(data) if data else None
    except ConfigError:
        return None


# -- files -----------------------------------------------------------------------------------


def open_net_file(root: ProjectRoot, rel: str) -> dict[str, Any]:
    """Load a net file for editing: ``{path, format, layout, data, analysis}``.

    Raises ``ConfigFileError`` (malformed TOML/JSON, with line and column) or
    ``ConfigValidationFailed`` (every schema problem, with lines) from :mod:`netrun.config`.
    """
    path = root.net_file(rel)
    if not path.is_file():
        raise NetFileNotFoundError(
            f"net file {rel!r} does not exist under {root}; create it with 'New file'", path=rel
        )
    cfg = NetConfig.from_file(path)
    data = cfg.to_data("graph")
    return {
        "path": root.relative(path),
        "format": _format(path),
        "layout": _file_layout(path) or ("dsl" if _format(path) == "toml" else "graph"),
        "data": data,
        "analysis": analyze(root, root.relative(path), data),
    }


def new_net_file(root: ProjectRoot, rel: str) -> dict[str, Any]:
    """Create an empty net file (refused if it exists); returns it as :func:`open_net_file`."""
    path = root.net_file(rel)
    if path.exists():
        raise NetFileExistsError(f"{rel!r} already exists; open it instead, or pick another name", path=rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg = NetConfig()
    text = cfg.to_json() if _format(path) == "json" else "# A netrun net. Edit it with `netrun ui`.\n"
    path.write_text(text, encoding="utf-8")
    return open_net_file(root, root.relative(path))


def load_config(root: ProjectRoot, rel: str | None, data: dict[str, Any]) -> NetConfig:
    """A ``NetConfig`` from editor data, anchored at the file ``rel`` (so relative imports
    and the project root work as they will when the file is run)."""
    file = root.net_file(rel) if rel else None
    return NetConfig.from_data(data, file=file)


def save_net_file(root: ProjectRoot, rel: str, data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` and write it to ``rel`` in the file's layout; returns
    ``{path, format, layout, data, text}`` where ``data`` is what the file now holds."""
    path = root.net_file(rel)
    cfg = load_config(root, rel, data)
    layout = _file_layout(path) or ("dsl" if _format(path) == "toml" else "graph")
    path.parent.mkdir(parents=True, exist_ok=True)
    cfg.to_file(path, layout=layout)
    saved = NetConfig.from_file(path)
    return {
        "path": root.relative(path),
        "format": _format(path),
        "layout": layout,
        "data": saved.to_data("graph"),
        "text": path.read_text(encoding="utf-8"),
    }


# -- validation ------------------------------------------------------------------------------


def _target(loc: list[Any], data: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    graph = data.get("graph") if isinstance(data.get("graph"), dict) else {}
    nodes = graph.get("nodes") if isinstance(graph.get("nodes"), list) else []
    edges = graph.get("edges") if isinstance(graph.get("edges"), list) else []
    if len(loc) >= 3 and loc[0] == "graph" and loc[1] == "nodes":
        key = loc[2]
        if isinstance(key, int) and 0 <= key < len(nodes) and isinstance(nodes[key], dict):
            key = nodes[key].get("name")
        if isinstance(key, str):
            return {"kind": "node", "key": key}, list(loc[3:])
    if len(loc) >= 3 and loc[0] == "graph" and loc[1] == "edges" and isinstance(loc[2], int):
        if 0 <= loc[2] < len(edges) and isinstance(edges[loc[2]], dict):
            return {"kind": "edge", "key": edge_key(edges[loc[2]])}, list(loc[3:])
    return {"kind": "net", "key": None}, list(loc)


def problem_to_json(problem: Problem, data: dict[str, Any]) -> dict[str, Any]:
    """A problem for the browser: its fields, a readable ``location``, the node or edge it
    concerns (``target``) and the key path inside that node (``where``)."""
    target, rest = _target(list(problem.loc), data)
    out = problem.model_dump(mode="json")
    out["location"] = format_path(problem.loc)
    out["target"] = target
    out["where"] = format_path(rest) if rest and target["kind"] != "net" else None
    return out


def _port_info(port: Any) -> dict[str, Any]:
    dumped = port.model_dump(mode="json")
    return {"capacity": port.capacity, "type": dumped.get("port_type"), "slots_spec": dumped.get("slots_spec")}


def _condition_info(cond: Any) -> dict[str, Any]:
    return {"when": term_to_when(cond.term), "data": cond.model_dump(mode="json", exclude_defaults=True)}


def _resolve(node: Any, cfg: NetConfig) -> Any:
    """The node as the runtime will see it, or the ``ConfigError`` its factory raised."""
    if isinstance(node, SubgraphConfig):
        return node
    try:
        return resolve_node(node, cfg, resolve_imports=False)
    except ConfigError as exc:
        return exc


def _node_info(resolved: Any) -> dict[str, Any]:
    empty = {"in_ports": {}, "out_ports": {}, "in_salvo_conditions": {}, "out_salvo_conditions": {}}
    if isinstance(resolved, ConfigError):
        return {"kind": "node", **empty, "error": str(resolved)}
    if isinstance(resolved, SubgraphConfig):
        return {
            "kind": "subgraph",
            **empty,
            "in_ports": {name: {"capacity": None, "type": None} for name in resolved.exposed_in_ports},
            "out_ports": {name: {"capacity": None, "type": None} for name in resolved.exposed_out_ports},
            "error": None,
        }
    return {
        "kind": "node",
        "in_ports": {name: _port_info(p) for name, p in resolved.in_ports.items()},
        "out_ports": {name: _port_info(p) for name, p in resolved.out_ports.items()},
        "in_salvo_conditions": {n: _condition_info(c) for n, c in (resolved.in_salvo_conditions or {}).items()},
        "out_salvo_conditions": {n: _condition_info(c) for n, c in (resolved.out_salvo_conditions or {}).items()},
        "error": None,
    }


def analyze(root: ProjectRoot, rel: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """Validate editor data: ``{ok, problems: [...], nodes: {name: resolved info}}``.

    Never raises for a bad net: schema problems and validation problems alike come back in
    ``problems``. Only a path outside the root is refused.
    """
    try:
        cfg = load_config(root, rel, data)
    except ConfigValidationFailed as exc:
        problems = [problem_to_json(p, data) for p in exc.problems]
        return {"ok": False, "problems": problems, "nodes": {}}
    except ConfigError as exc:
        return {"ok": False, "problems": [problem_to_json(exc.to_problem(), data)], "nodes": {}}
    found = validate_config(cfg)
    resolved = {node.name: _resolve(node, cfg) for node in cfg.graph.nodes if node.name}
    problems = [problem_to_json(p, data) for p in found]
    nodes = {name: _node_info(r) for name, r in resolved.items()}
    return {"ok": not problems, "problems": problems, "nodes": nodes}


def check_expression(text: str, ports: list[str] | None = None, side: str = "in") -> dict[str, Any]:
    """Parse a ``when`` expression for the editor (as-you-type validation).

    ``{"ok": True, "term": {...}, "when": normalized text, "warnings": [...]}`` or
    ``{"ok": False, "error": {"message", "column", "expected"}}``; ``warnings`` name ports the
    expression uses that are not among ``ports``.
    """
    try:
        term = parse_when(text)
    except ExpressionParseError as exc:
        return {"ok": False, "error": {"message": exc.message, "column": exc.expression_column,
                                       "expected": exc.expected}}
    warnings = []
    if ports is not None:
        known = set(ports)
        side_name = "input" if side == "in" else "output"
        for name in term_port_names(term):
            if name not in known:
                listing = ", ".join(sorted(known)) or "none"
                warnings.append(f"{name!r} is not an {side_name} port of this node ({side_name} ports: {listing})")
    return {"ok": True, "term": term.model_dump(mode="json"), "when": term_to_when(term), "warnings": warnings}


# -- factories -------------------------------------------------------------------------------


def _project_root(root: ProjectRoot, rel: str | None) -> Path:
    if not rel:
        return root.path
    return load_config(root, rel, {}).project_root_path


def factory_info(root: ProjectRoot, factory: str, rel: str | None = None) -> dict[str, Any]:
    """``netrun factory-info`` for the browser. Raises ``FactoryNotFoundError`` (404) or
    ``InvalidFactoryError`` from :mod:`netrun.config`."""
    if not factory or not factory.strip():
        raise ConfigError("no factory was given", expected="an import path such as 'netrun.factories.from_function'")
    return get_factory_info(factory.strip(), _project_root(root, rel))


def factory_node(root: ProjectRoot, rel: str | None, factory: str, factory_args: dict[str, Any],
                 name: str | None = None) -> dict[str, Any]:
    """A node built by ``factory`` with ``factory_args``: the factory is called now so a bad
    argument is reported before the node is added. Returns ``{"node": data, "info": ...}``."""
    if not factory or not factory.strip():
        raise ConfigError("no factory was given", expected="an import path such as 'netrun.factories.from_function'")
    validate_factory_args(factory_args)
    cfg = load_config(root, rel, {})
    node = NodeConfig(name=name or "", factory=factory.strip(), factory_args=factory_args)
    resolved = resolve_node(node, cfg, resolve_imports=False)  # raises the factory's own error
    if not node.name:
        node = node.model_copy(update={"name": resolved.name})
    return {"node": node.model_dump(mode="json", exclude_defaults=True), "info": _node_info(resolved)}


def available_factories() -> list[str]:
    """The built-in factories that import in this installation."""
    found = []
    for path in BUILTIN_FACTORIES:
        try:
            import_factory(path)
        except ConfigError:
            continue
        found.append(path)
    return found
