"""Resolution: from a config as written to the config the runtime runs.

``NetConfig.resolve()`` runs, in order:

1. ``{"$env": ...}`` references everywhere → values of the field types;
2. net-level ``{"$var": ...}`` references → net-level node variables;
3. relative paths (``dead_letter_path``, ``history_file``, ``packet_storage_path``, storage
   paths of the net; those of a node's own storage in step 5) → absolute, against the
   project root (the net file's directory);
4. pools: ``main`` is always present;
5. the graph: subgraphs flattened (``outer.inner`` names, edges to exposed ports rewired),
   factory nodes built (``get_node_config``; explicit ports/conditions win), signal and
   control ports added, default salvo conditions generated, ``ports`` omitted in a condition
   filled with all ports of its side, dependency-edge targets given a request config, and
   node-level ``$var`` references resolved against the node's merged variables;
6. output queues: one ``"node::port"`` queue per unconnected output port, unless declared;
7. import paths of node functions and callbacks → the objects (``resolve_imports=True``).

The input is never modified; each step returns copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator

from netrun.config.errors import ConfigError
from netrun.config.node_vars import NodeVariable, merge_node_vars
from netrun.config.nodes import (
    DependencyRequestConfig,
    EdgeConfig,
    NodeConfig,
    SubgraphConfig,
    default_in_salvo_conditions,
    default_out_salvo_conditions,
)
from netrun.config.salvo import SalvoConditionConfig
from netrun.config.signals import (
    generate_control_ports,
    generate_control_salvo_conditions,
    generate_signal_ports,
    generate_signal_salvo_conditions,
    is_control_port,
    is_signal_port,
    resolve_effective_controls,
    resolve_effective_signals,
)

__all__ = ["LazyVars", "Origins", "resolve_graph", "resolve_node", "resolve_node_funcs", "node_var_scope"]


class LazyVars(Mapping):
    """Node variables resolved on first access (so an unused placeholder does not raise)."""

    def __init__(self, declared: Mapping[str, NodeVariable], *, node: str | None = None) -> None:
        self._declared = dict(declared)
        self._cache: dict[str, Any] = {}
        self._node = node

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            try:
                var = self._declared[name]
            except KeyError:
                raise KeyError(name) from None
            self._cache[name] = var.resolve_value(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._declared)

    def __len__(self) -> int:
        return len(self._declared)

    def __contains__(self, name: object) -> bool:
        return name in self._declared


def node_var_scope(node: NodeConfig, net_config: Any = None) -> dict[str, NodeVariable]:
    """The node's effective variable declarations (net-level merged with its own)."""
    global_vars = getattr(net_config, "node_vars", None) if net_config is not None else None
    own = node.execution_config.node_vars if node.execution_config else None
    return merge_node_vars(global_vars, own)


def _project_root(net_config: Any) -> Path | None:
    if net_config is None:
        return None
    return getattr(net_config, "project_root_path", None)


def _merge_factory(node: NodeConfig, produced: NodeConfig) -> NodeConfig:
    return node.model_copy(update={
        "name": node.name or produced.name,
        "description": node.description if node.description is not None else produced.description,
        "in_ports": {**produced.in_ports, **node.in_ports},
        "out_ports": {**produced.out_ports, **node.out_ports},
        "in_salvo_conditions": node.in_salvo_conditions
        if node.in_salvo_conditions is not None else produced.in_salvo_conditions,
        "out_salvo_conditions": node.out_salvo_conditions
        if node.out_salvo_conditions is not None else produced.out_salvo_conditions,
        "dependency_request": node.dependency_request or produced.dependency_request,
        "extra": {**produced.extra, **node.extra},
    })


def _fill_ports(conds: dict[str, SalvoConditionConfig], side_ports: list[str]) -> dict[str, SalvoConditionConfig]:
    out = {}
    for name, cond in conds.items():
        if cond.ports is None:
            cond = cond.model_copy(update={"ports": cond.effective_ports(side_ports)})
        out[name] = cond
    return out


def resolve_node(
    node: NodeConfig,
    net_config: Any = None,
    *,
    resolve_imports: bool = True,
    project_root: Path | None = None,
) -> NodeConfig | SubgraphConfig:
    """One node as the runtime uses it (see the module docstring, step 5).

    A factory that builds a subgraph returns the ``SubgraphConfig`` (named after the node);
    :func:`resolve_graph` flattens it.
    """
    from netrun.config.factory import call_get_node_config

    root = project_root or _project_root(net_config)
    if node.factory is not None:
        produced = call_get_node_config(node.factory, node.factory_args, net_config=net_config,
                                        project_root=root)
        if isinstance(produced, SubgraphConfig):
            return produced.model_copy(update={"name": node.name or produced.name})
        node = _merge_factory(node, produced)
    default_signals = list(getattr(net_config, "default_signals", None) or [])
    default_controls = list(getattr(net_config, "default_controls", None) or [])
    signals = resolve_effective_signals(node.execution_config, default_signals)
    controls = resolve_effective_controls(node.execution_config, default_controls)
    in_ports = dict(node.in_ports)
    for name, port in generate_control_ports(controls).items():
        in_ports.setdefault(name, port)
    out_ports = dict(node.out_ports)
    for name, port in generate_signal_ports(signals).items():
        out_ports.setdefault(name, port)
    data_in = [p for p in in_ports if not is_control_port(p)]
    data_out = [p for p in out_ports if not is_signal_port(p)]
    ins = node.in_salvo_conditions
    ins = default_in_salvo_conditions(in_ports) if ins is None else _fill_ports(ins, data_in)
    outs = node.out_salvo_conditions
    outs = default_out_salvo_conditions(out_ports) if outs is None else _fill_ports(outs, data_out)
    ins = {**ins, **{k: v for k, v in generate_control_salvo_conditions(controls).items() if k not in ins}}
    outs = {**outs, **{k: v for k, v in generate_signal_salvo_conditions(signals).items() if k not in outs}}
    update: dict[str, Any] = {
        "in_ports": in_ports,
        "out_ports": out_ports,
        "in_salvo_conditions": ins,
        "out_salvo_conditions": outs,
    }
    if resolve_imports and node.execution_config is not None:
        try:
            update["execution_config"] = node.execution_config.resolve(root)
        except ConfigError as exc:
            raise exc.with_location(path=("graph", "nodes", node.name))
    out = node.model_copy(update=update)
    out._resolved = True
    return out


def resolve_node_funcs(node: NodeConfig, net_config: Any = None) -> "Any":
    """The node's ``NodeFuncs(exec, start, stop, failed)``.

    Explicit functions (callables or import paths in ``execution_config``) win over the
    factory's, slot by slot; a factory's ``get_node_funcs`` is called only when needed.
    """
    from netrun.config.factory import NodeFuncs, call_get_node_funcs
    from netrun.config.imports import import_from_path

    root = _project_root(net_config)
    explicit = node.execution_config.func_fields() if node.execution_config else {}
    values = []
    for name in ("exec_node_func", "init_node_func", "close_node_func", "on_node_failure"):
        value = explicit.get(name)
        if isinstance(value, str):
            try:
                value = import_from_path(value, root)
            except ConfigError as exc:
                raise exc.with_location(path=("nodes", node.name, "execution_config", name))
        values.append(value)
    if node.factory is not None and any(v is None for v in values):
        produced = call_get_node_funcs(node.factory, node.factory_args, net_config=net_config,
                                       project_root=root)
        values = [v if v is not None else p for v, p in zip(values, produced)]
    return NodeFuncs(*values)


def _subgraph_file(path: str, base_path: Path | None) -> Path:
    file = Path(path)
    if not file.is_absolute():
        file = (base_path or Path.cwd()) / file
    return file.resolve()


def _load_subgraph_file(file: Path, seen: frozenset[str]) -> tuple[list[Any], list[EdgeConfig]]:
    from netrun.config.files import load_graph_file

    if str(file) in seen:
        raise ConfigError(
            f"subgraph file {str(file)!r} includes itself (circular subgraph references)",
            value=str(file), expected="subgraph files that do not refer back to each other")
    graph = load_graph_file(file)
    return list(graph.nodes), list(graph.edges)


_Maps = dict[str, tuple[str, str]]


#: Where a resolved node or edge was written: a key path relative to the unresolved graph
#: (``("nodes", 2, "edges", 0)``), and whether the path is the entry itself (``True``) or only
#: the nearest place written in this file (a subgraph's ``path``, a factory-made subgraph).
Origin = tuple[tuple[Any, ...], bool]


class Origins:
    """Filled by :func:`resolve_graph` when asked: the :data:`Origin` of every resolved node
    and edge, in the order of the resolved graph's ``nodes`` and ``edges``."""

    __slots__ = ("nodes", "edges")

    def __init__(self) -> None:
        self.nodes: list[Origin] = []
        self.edges: list[Origin] = []


def _flatten(
    entry: Any, prefix: str, net_config: Any, base_path: Path | None, seen: frozenset[str],
    resolve_imports: bool, origin: Origin = ((), True), origins: Origins | None = None,
) -> tuple[list[NodeConfig], list[EdgeConfig], _Maps, _Maps, bool]:
    """Nodes, edges, exposed-port maps (``exposed name -> (leaf node, port)``) of an entry,
    and whether the entry turned out to be a group (a subgraph). ``origin`` is where the
    entry was written; with ``origins`` given, the origin of every node and edge is added."""
    loc, exact = origin
    if isinstance(entry, NodeConfig):
        resolved = resolve_node(entry, net_config, resolve_imports=resolve_imports)
        if isinstance(resolved, NodeConfig):
            if prefix:
                resolved = resolved.model_copy(update={"name": prefix + resolved.name})
            if origins is not None:
                origins.nodes.append(origin)
            return [resolved], [], {}, {}, False
        entry = resolved
        exact = False  # the factory made the subgraph: its contents were not written here
    sub: SubgraphConfig = entry
    inner_prefix = f"{prefix}{sub.name}."
    sub_base, sub_seen = base_path, seen
    if sub.nodes is not None:
        inner_nodes, inner_edges = list(sub.nodes), list(sub.edges)
        node_locs = [((*loc, "nodes", k), exact) for k in range(len(inner_nodes))]
        edge_locs = [((*loc, "edges", j), exact) for j in range(len(inner_edges))]
    else:
        file = _subgraph_file(sub.path, base_path)
        inner_nodes, file_edges = _load_subgraph_file(file, seen)
        inner_edges = file_edges + list(sub.edges)
        sub_base, sub_seen = file.parent, seen | {str(file)}
        in_file = ((*loc, "path"), False) if exact else (loc, False)
        node_locs = [in_file] * len(inner_nodes)
        edge_locs = [in_file] * len(file_edges) + [((*loc, "edges", j), exact) for j in range(len(sub.edges))]
    nodes: list[NodeConfig] = []
    edges: list[EdgeConfig] = []
    in_maps: dict[str, _Maps] = {}
    out_maps: dict[str, _Maps] = {}
    for child, child_origin in zip(inner_nodes, node_locs):
        c_nodes, c_edges, c_in, c_out, group = _flatten(
            child, inner_prefix, net_config, sub_base, sub_seen, resolve_imports, child_origin, origins)
        nodes += c_nodes
        edges += c_edges
        if group:
            in_maps[child.name] = c_in
            out_maps[child.name] = c_out
    if origins is not None:
        origins.edges += edge_locs

    def leaf(node: str, port: str, maps: dict[str, _Maps]) -> tuple[str, str]:
        if node in maps:
            if port not in maps[node]:
                raise ConfigError(
                    f"subgraph {inner_prefix + node!r} exposes no port {port!r}",
                    value=port, expected="one of: " + (", ".join(maps[node]) or "none"))
            return maps[node][port]
        return inner_prefix + node, port

    for edge in inner_edges:
        s_node, s_port = leaf(edge.source_node, edge.source_port, out_maps)
        t_node, t_port = leaf(edge.target_node, edge.target_port, in_maps)
        edges.append(edge.model_copy(update={"source_node": s_node, "source_port": s_port,
                                             "target_node": t_node, "target_port": t_port}))
    exposed_in = {n: leaf(p.internal_node, p.internal_port, in_maps) for n, p in sub.exposed_in_ports.items()}
    exposed_out = {n: leaf(p.internal_node, p.internal_port, out_maps) for n, p in sub.exposed_out_ports.items()}
    return nodes, edges, exposed_in, exposed_out, True


def resolve_graph(
    graph: Any, *, net_config: Any = None, base_path: Path | None = None, resolve_imports: bool = True,
    origins: Origins | None = None,
) -> Any:
    """The graph with subgraphs flattened and every node resolved (step 5).

    Order: nodes as the entries are listed (a subgraph's members in its place); edges inside
    subgraphs first (innermost first), then the graph's own edges in their order, so the last
    ``len(graph.edges)`` resolved edges are the graph's own. Pass an :class:`Origins` to learn
    where each resolved node and edge was written (used to locate problems).
    """
    from netrun.config.graph import GraphConfig

    base = base_path or _project_root(net_config)
    nodes: list[NodeConfig] = []
    edges: list[EdgeConfig] = []
    in_maps: dict[str, dict[str, tuple[str, str]]] = {}
    out_maps: dict[str, dict[str, tuple[str, str]]] = {}
    for i, entry in enumerate(graph.nodes):
        c_nodes, c_edges, c_in, c_out, group = _flatten(entry, "", net_config, base, frozenset(),
                                                        resolve_imports, (("nodes", i), True), origins)
        nodes += c_nodes
        edges += c_edges
        if group:
            in_maps[entry.name] = c_in
            out_maps[entry.name] = c_out
    for i, edge in enumerate(graph.edges):
        s_node, s_port, t_node, t_port = edge.source_node, edge.source_port, edge.target_node, edge.target_port
        if s_node in out_maps:
            if s_port not in out_maps[s_node]:
                raise ConfigError(f"edge {edge}: subgraph {s_node!r} exposes no output port {s_port!r}",
                                  path=("graph", "edges", i, "source_port"), value=s_port,
                                  expected="one of: " + (", ".join(out_maps[s_node]) or "none"))
            s_node, s_port = out_maps[s_node][s_port]
        if t_node in in_maps:
            if t_port not in in_maps[t_node]:
                raise ConfigError(f"edge {edge}: subgraph {t_node!r} exposes no input port {t_port!r}",
                                  path=("graph", "edges", i, "target_port"), value=t_port,
                                  expected="one of: " + (", ".join(in_maps[t_node]) or "none"))
            t_node, t_port = in_maps[t_node][t_port]
        edges.append(edge.model_copy(update={"source_node": s_node, "source_port": s_port,
                                             "target_node": t_node, "target_port": t_port}))
    if origins is not None:
        origins.edges += [(("edges", i), True) for i in range(len(graph.edges))]
    dep_targets = {e.target_node for e in edges if e.dependency}
    out_nodes = []
    for node in nodes:
        if node.name in dep_targets and node.dependency_request is None:
            node = node.model_copy(update={"dependency_request": DependencyRequestConfig()})
        scope = node_var_scope(node, net_config)
        # Returns the node itself when it holds no references (nothing is copied).
        node = node.resolve_var_refs(LazyVars(scope, node=node.name), _path=("graph", "nodes", node.name))
        ec = node.execution_config
        if base is not None and ec is not None and ec.storage is not None:
            # Relative local paths of the node's own backends: from the project root, like the
            # net's storage (a node inside a subgraph file too).
            storage = ec.storage.with_absolute_paths(base)
            if storage != ec.storage:
                node = node.model_copy(update={"execution_config": ec.model_copy(update={"storage": storage})})
        out_nodes.append(node)
    return GraphConfig(nodes=out_nodes, edges=edges, extra=dict(graph.extra))
