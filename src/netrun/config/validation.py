"""Whole-net validation that reports every problem at once (``netrun validate``).

:func:`validate_config` checks, without running anything:

* the file (syntax, unknown keys, types) — when given a path;
* the graph: duplicate/empty names, edges to missing nodes or ports, fan-out, salvo
  conditions naming missing ports, input conditions not limited to one salvo;
* references: environment variables that are not set, node variables that are placeholders
  (no value, not optional) or inherit from nothing, ``$var`` names that are not declared;
* imports: factories that cannot be imported or called, function import paths;
* the resolved net again (factory ports known), pools a node names but the net does not
  define, output queues naming missing ports, remote pools without a URL, retries with
  ``defer_net_actions = false``; finally the engine's own graph validation.

Problems carry the file, line and column when the config came from a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel

from netrun.config._model import ConfigModel, as_var_ref, storage_refs
from netrun.config.errors import ConfigError, ConfigValidationFailed, FactoryNotFoundError, Problem
from netrun.config.var_ref import VarRef

__all__ = ["load_net_definition", "validate_config"]


_PRIMITIVES = (str, int, float, bool, type(None))


def _env_refs(value: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], VarRef]]:
    found: list[tuple[tuple[Any, ...], VarRef]] = []
    if isinstance(value, _PRIMITIVES):
        return found
    if isinstance(value, VarRef):
        if value.is_env:
            found.append((path, value))
    elif isinstance(value, BaseModel):
        if not isinstance(value, ConfigModel) and hasattr(type(value), "resolve_refs"):  # a storage config
            found += [(path + where, as_var_ref(ref)) for where, ref, _ in storage_refs(value)
                      if ref.env is not None]
            return found
        for name, field_value in value.__dict__.items():
            if not isinstance(field_value, _PRIMITIVES):
                found += _env_refs(field_value, path + (name,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _env_refs(v, path + (i,))
    elif isinstance(value, dict):
        for k, v in value.items():
            found += _env_refs(v, path + (k,))
    return found


def _problem(exc: ConfigError, loc: tuple[Any, ...]) -> Problem:
    p = exc.to_problem()
    return p.model_copy(update={"loc": list(loc + tuple(exc.path)) if not p.loc or loc else p.loc,
                                "file": None, "line": None, "column": None})


def _var_problems(cfg: Any, environ: Mapping[str, str]) -> list[Problem]:
    from netrun.config.node_vars import merge_node_vars
    from netrun.config.nodes import NodeConfig

    problems: list[Problem] = []
    for name, var in (cfg.node_vars or {}).items():
        loc = ("node_vars", name)
        if var.inherit:
            problems.append(Problem(loc=[*loc, "inherit"], type="node_variable_error", value=True,
                                    msg=f"net-level node variable {name!r} cannot inherit",
                                    expected="inherit = false on net-level variables"))
            continue
        try:
            var.resolve_value(name, environ=environ)
        except ConfigError as exc:
            if not isinstance(var.value, VarRef):  # env problems are reported separately
                problems.append(_problem(exc, loc + ("value",)))
    for i, node in enumerate(cfg.graph.nodes):
        if not isinstance(node, NodeConfig) or not node.execution_config or not node.execution_config.node_vars:
            continue
        for name, var in node.execution_config.node_vars.items():
            loc = ("graph", "nodes", i, "execution_config", "node_vars", name)
            try:
                merged = merge_node_vars(cfg.node_vars if not var.inherit else
                                         {k: v for k, v in (cfg.node_vars or {}).items() if not v.inherit},
                                         {name: var})
                if var.inherit or var.value is not None or not var.optional:
                    merged[name].resolve_value(name, environ=environ, node=node.name)
            except ConfigError as exc:
                if not isinstance(var.value, VarRef):
                    problems.append(_problem(exc, loc))
    return problems


def _import_problems(cfg: Any) -> list[Problem]:
    from netrun.config.factory import import_factory
    from netrun.config.imports import import_from_path
    from netrun.config.nodes import NodeConfig

    problems: list[Problem] = []
    root = cfg.project_root_path
    seen: dict[str, ConfigError | None] = {}  # one import per distinct path

    def check(path: str) -> None:
        if path not in seen:
            try:
                import_from_path(path, root)
                seen[path] = None
            except ConfigError as exc:
                seen[path] = exc
        if seen[path] is not None:
            raise seen[path]

    for i, node in enumerate(cfg.graph.nodes):
        if not isinstance(node, NodeConfig):
            continue
        base = ("graph", "nodes", i)
        if node.factory is not None:
            try:
                import_factory(node.factory, root)
            except ConfigError as exc:
                problems.append(_problem(exc, base + ("factory",)))
        if node.execution_config is not None:
            for field, value in node.execution_config.func_fields().items():
                if isinstance(value, str):
                    try:
                        check(value)
                    except ConfigError as exc:
                        problems.append(_problem(exc, base + ("execution_config", field)))
    for field in ("dead_letter_callback", "error_callback"):
        value = getattr(cfg, field)
        if isinstance(value, str):
            try:
                import_from_path(value, root)
            except ConfigError as exc:
                problems.append(_problem(exc, (field,)))
    return problems


def _factory_problems(cfg: Any) -> list[Problem]:
    from netrun.config.nodes import NodeConfig
    from netrun.config.resolve import resolve_node

    problems: list[Problem] = []
    for i, node in enumerate(cfg.graph.nodes):
        if isinstance(node, NodeConfig) and node.factory is not None:
            try:
                resolve_node(node, cfg, resolve_imports=False)
            except ConfigError as exc:
                about_factory = isinstance(exc, FactoryNotFoundError) or "is not a node factory" in exc.message
                field = "factory" if about_factory else "factory_args"
                problems.append(_problem(exc, ("graph", "nodes", i, field)))
    return problems


def _resolved_problems(cfg: Any, resolved: Any, origins: Any) -> list[Problem]:
    from netrun.config.graph import validate_graph_structure
    from netrun.config.nodes import NodeConfig

    def remap(loc: list[Any]) -> list[Any]:
        # Paths of the resolved graph → where the node or edge was written (flattened
        # subgraph members and rewired edges included, see netrun.config.resolve.Origins).
        if len(loc) >= 3 and loc[0] == "graph" and loc[1] in ("nodes", "edges") and isinstance(loc[2], int):
            found = origins.nodes if loc[1] == "nodes" else origins.edges
            if loc[2] < len(found):
                path, exact = found[loc[2]]
                return ["graph", *path, *loc[3:]] if exact else ["graph", *path]
        return loc

    problems = [p.model_copy(update={"loc": remap(p.loc)})
                for p in validate_graph_structure(resolved.graph, path=("graph",))]
    for k, node in enumerate(resolved.graph.nodes):
        if not isinstance(node, NodeConfig):
            continue
        ec = node.execution_config
        if ec is None:
            continue
        if isinstance(ec.retries, int) and ec.retries > 0 and ec.defer_net_actions is False:
            problems.append(Problem(
                loc=remap(["graph", "nodes", k, "execution_config", "defer_net_actions"]), type="invalid_value",
                value=False, msg=f"node {node.name!r} has retries = {ec.retries} but defer_net_actions = false; "
                                 "a retried epoch must not have committed its packet operations",
                expected="defer_net_actions = true (or leave it unset) when retries > 0"))
    for name, pool in (resolved.pools or {}).items():
        if pool.spec.type == "remote" and not pool.spec.url:
            problems.append(Problem(loc=["pools", name, "spec", "url"], type="missing", value=None,
                                    msg=f"remote pool {name!r} has no url",
                                    expected='url = "ws://host:port" (or an {"$env": ...} reference)'))
    ports = {n.name: set(n.out_ports) for n in resolved.graph.nodes if isinstance(n, NodeConfig)}
    for qname, queue in (cfg.output_queues or {}).items():
        if not isinstance(queue.ports, list):
            continue
        for j, (node, port) in enumerate(queue.ports):
            if node not in ports or port not in ports[node]:
                what = f"node {node!r}" if node not in ports else f"output port {node}.{port}"
                known = ", ".join(sorted(ports.get(node, ()))) if node in ports else ", ".join(ports)
                problems.append(Problem(loc=["output_queues", qname, "ports", j], type="unknown_port",
                                        value=f"{node}.{port}", msg=f"output queue {qname!r} collects from {what}, "
                                        "which does not exist", expected=f"one of: {known}"))
    return problems


def _pool_problems(cfg: Any) -> list[Problem]:
    from netrun.config.nodes import NodeConfig

    pools = set(cfg.pools or {}) | {"main"}
    problems: list[Problem] = []
    for i, node in enumerate(cfg.graph.nodes):
        ec = node.execution_config if isinstance(node, NodeConfig) else None
        if ec is None or not isinstance(ec.pools, list):
            continue
        for pool in ec.pools:
            if pool not in pools:
                problems.append(Problem(
                    loc=["graph", "nodes", i, "execution_config", "pools"], type="unknown_pool", value=pool,
                    msg=f"node {node.name!r} runs in pool {pool!r}, which the net does not define",
                    expected="one of the pools: " + ", ".join(sorted(pools))))
    return problems


def _engine_problems(resolved: Any) -> list[Problem]:
    try:
        graph = resolved.graph.to_graph()
        infos = graph.validate()
    except Exception as exc:  # noqa: BLE001 - the engine's own complaint, reported as is
        return [Problem(loc=["graph"], type="engine_error", msg=f"the engine rejects the graph: {exc}")]
    return [Problem(loc=["graph"], type=f"engine_{info.kind}", msg=info.message) for info in infos]


def validate_config(
    config: Any,
    *,
    global_node_vars: Mapping[str, Any] | None = None,
    node_vars: Mapping[Any, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
    check_imports: bool = True,
) -> list[Problem]:
    """Every problem of a net (a ``NetConfig`` or a file path), in file order; ``[]`` if none."""
    from netrun.config.graph import validate_graph_structure
    from netrun.config.net_config import NetConfig

    environ = os.environ if environ is None else environ
    if isinstance(config, (str, Path)):
        try:
            config = NetConfig.from_file(config, global_node_vars=global_node_vars, node_vars=node_vars)
        except ConfigValidationFailed as exc:
            return exc.problems
        except ConfigError as exc:
            return [exc.to_problem()]
    cfg = config
    problems: list[Problem] = list(validate_graph_structure(cfg.graph, path=("graph",)))
    for path, ref in _env_refs(cfg, ()):
        if ref.env not in environ and not ref.has_default:
            problems.append(Problem(
                loc=list(path), type="missing_env_var", value=ref.describe(),
                msg=f"environment variable {ref.env!r} is not set and the reference has no default",
                expected=f'set {ref.env}, or add a default: {{"$env": "{ref.env}", "default": ...}}'))
    problems += _var_problems(cfg, environ)
    problems += _pool_problems(cfg)
    if check_imports:
        problems += _import_problems(cfg)
    if not problems:
        problems += _factory_problems(cfg)
    if not problems:
        from netrun.config.resolve import Origins

        origins = Origins()
        try:
            resolved = cfg.resolve(resolve_imports=False, environ=environ, origins=origins)
        except ConfigError as exc:
            problems.append(_problem(exc, ()))
        else:
            problems += _resolved_problems(cfg, resolved, origins)
            if not problems:
                problems += _engine_problems(resolved)
    source = getattr(cfg, "_source", None)
    if source is not None:
        problems = [source.locate(p) for p in problems]
    unique: dict[tuple[Any, ...], Problem] = {}
    for p in problems:
        unique.setdefault((tuple(p.loc), p.msg), p)
    return sorted(unique.values(), key=lambda p: (p.line if p.line is not None else 10**9, p.column or 0))


def load_net_definition(
    path: str | Path,
    *,
    global_node_vars: Mapping[str, Any] | None = None,
    node_vars: Mapping[Any, Mapping[str, Any]] | None = None,
    check_imports: bool = True,
) -> Any:
    """Load and fully validate a net file; raise :class:`ConfigValidationFailed` listing
    every problem. Returns the (unresolved) ``NetConfig``; the runtime calls ``resolve()``."""
    from netrun.config.net_config import NetConfig

    cfg = NetConfig.from_file(path, global_node_vars=global_node_vars, node_vars=node_vars)
    problems = validate_config(cfg, check_imports=check_imports)
    if problems:
        raise ConfigValidationFailed(problems, file=str(cfg.file_path))
    return cfg
