"""The graph: nodes (and subgraphs) plus edges, with structural validation and engine conversion."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from netrun.config._model import ConfigModel
from netrun.config.errors import Problem
from netrun.config.nodes import EdgeConfig, GraphNodeConfig, NodeConfig, SubgraphConfig
from netrun.config.signals import is_control_port, is_signal_port

__all__ = ["GraphConfig", "validate_graph_structure"]


class GraphConfig(ConfigModel):
    """Nodes (``NodeConfig`` or ``SubgraphConfig``), edges, and free-form ``extra`` data."""

    nodes: list[GraphNodeConfig] = Field(default_factory=list)
    edges: list[EdgeConfig] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)

    def has_subgraphs(self) -> bool:
        """True when some entry is a subgraph (resolution flattens them)."""
        return any(isinstance(n, SubgraphConfig) for n in self.nodes)

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def get_node(self, name: str) -> NodeConfig | SubgraphConfig:
        """The entry called ``name`` (``KeyError`` naming the known names otherwise)."""
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(self.node_names()) or "none"
        raise KeyError(f"no node named {name!r} in the graph (nodes: {known})")

    def validate(self, *, path: tuple[Any, ...] = ()) -> list[Problem]:  # type: ignore[override]
        """Every structural problem (see :func:`validate_graph_structure`)."""
        return validate_graph_structure(self, path=path)

    def resolve(self, base_path: Path | None = None, net_config: Any = None, *,
                resolve_imports: bool = True) -> "GraphConfig":
        """Subgraphs flattened, factories applied, defaults generated (see ``netrun.config.resolve``)."""
        from netrun.config.resolve import resolve_graph

        return resolve_graph(self, net_config=net_config, base_path=base_path,
                             resolve_imports=resolve_imports)

    def to_graph(self) -> Any:
        """The engine's ``netrun_sim.Graph`` (the graph is resolved first if needed)."""
        graph = self
        if self.has_subgraphs() or any(n.factory and not n.is_resolved for n in self.nodes):
            graph = self.resolve(resolve_imports=False)
        import netrun_sim

        nodes = [n.to_netrun_sim() for n in graph.nodes]
        edges = [e.to_netrun_sim() for e in graph.edges]
        deps = [e.to_netrun_sim() for e in graph.edges if e.dependency]
        return netrun_sim.Graph(nodes, edges, deps) if deps else netrun_sim.Graph(nodes, edges)

    #: The published runtime's name for :meth:`to_graph`.
    get_graph = to_graph

    @classmethod
    def from_graph(cls, graph: Any, **node_fields: Any) -> "GraphConfig":
        """A config from an engine ``netrun_sim.Graph`` (nodes in the graph's order)."""
        deps = []
        if hasattr(graph, "dependency_edges"):
            deps = list(graph.dependency_edges())
        nodes = [NodeConfig.from_netrun_sim(n, **node_fields.get(name, {}))
                 for name, n in graph.nodes().items()]
        edges = [EdgeConfig.from_netrun_sim(e, dependency=e in deps) for e in graph.edges()]
        return cls(nodes=nodes, edges=edges)


def _known(names: list[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "none"


def _exposed_port_problems(sub: SubgraphConfig, loc: list[Any]) -> list[Problem]:
    """Exposed ports of an inline subgraph that name a member or a port it does not have.

    Members' ports that a factory makes are unknown before resolution (not checked here; an
    edge through such a port is checked on the resolved graph). A ``path`` subgraph's members
    are read at resolution.
    """
    if sub.nodes is None:
        return []
    members = {n.name: n for n in sub.nodes}
    problems: list[Problem] = []
    for side, exposed in (("in", sub.exposed_in_ports), ("out", sub.exposed_out_ports)):
        kind = "input" if side == "in" else "output"
        for name, ref in exposed.items():
            where = [*loc, f"exposed_{side}_ports", name]
            member = members.get(ref.internal_node)
            if member is None:
                problems.append(Problem(
                    loc=[*where, "internal_node"], type="unknown_node", value=ref.internal_node,
                    msg=f"subgraph {sub.name!r} exposes {kind} port {name!r} from member "
                        f"{ref.internal_node!r}, which the subgraph does not have",
                    expected=f"one of its members: {_known(list(members))}"))
                continue
            if isinstance(member, SubgraphConfig):
                known = list(member.exposed_in_ports if side == "in" else member.exposed_out_ports)
            elif member.factory is not None and not member.is_resolved:
                continue
            else:
                known = list(member.in_ports if side == "in" else member.out_ports)
            reserved = is_control_port(ref.internal_port) if side == "in" else is_signal_port(ref.internal_port)
            if ref.internal_port not in known and not reserved:
                problems.append(Problem(
                    loc=[*where, "internal_port"], type="unknown_port", value=ref.internal_port,
                    msg=f"subgraph {sub.name!r} exposes {kind} port {name!r} from "
                        f"{ref.internal_node}.{ref.internal_port}, which member {ref.internal_node!r} "
                        "does not have",
                    expected=f"one of its {kind} ports: {_known(known)}"))
    return problems


def validate_graph_structure(graph: GraphConfig, *, path: tuple[Any, ...] = ()) -> list[Problem]:
    """Every structural problem of a graph, in file order.

    Duplicate and empty names, a name that is a dotted prefix of another (subgraph
    flattening uses ``outer.inner``), edges to missing nodes or ports, an output port with
    more than one edge (fan-out needs a broadcast node), and each node's own problems. Ports
    of a factory node are unknown until the node is resolved: edges to an *unresolved*
    factory node are not checked, while a resolved one (``NodeConfig.is_resolved``, as in
    ``NetConfig.resolve().graph``) is checked against its resolved ports (the factory's plus
    the explicit ones). A subgraph's ports are its exposed ports; those of an inline
    subgraph must name a member and one of its ports.
    """
    problems: list[Problem] = []
    gpath = [*path, "nodes"]
    first_index: dict[str, int] = {}
    ports: dict[str, tuple[list[str] | None, list[str] | None]] = {}
    for i, node in enumerate(graph.nodes):
        if node.name in first_index and node.name:
            problems.append(Problem(
                loc=[*gpath, i, "name"], type="duplicate_name", value=node.name,
                msg=f"node name {node.name!r} is used twice (entries {first_index[node.name]} and {i})",
                expected="unique node names"))
        else:
            first_index.setdefault(node.name, i)
        if node.name in ports:
            continue  # a duplicate: reported above; edges use the first node of that name
        if isinstance(node, SubgraphConfig):
            ports[node.name] = (list(node.exposed_in_ports), list(node.exposed_out_ports))
            if not node.name:
                problems.append(Problem(loc=[*gpath, i, "name"], type="empty_name",
                                        msg="the subgraph has no name", expected="a non-empty name"))
            problems.extend(_exposed_port_problems(node, [*gpath, i]))
        else:
            if node.factory is not None and not node.is_resolved:
                ports[node.name] = (None, None)  # unknown until the factory runs
            else:
                ports[node.name] = (list(node.in_ports), list(node.out_ports))
            problems.extend(node.validate(path=(*gpath, i)))
    names = sorted(n for n in first_index if n)
    for i, name in enumerate(names):
        for other in names[i + 1:]:
            if other.startswith(name + "."):
                problems.append(Problem(
                    loc=[*gpath, first_index[other], "name"], type="dotted_prefix", value=other,
                    msg=f"node name {other!r} starts with {name + '.'!r}, the name of another node "
                        "plus a dot; dotted names are reserved for subgraph members",
                    expected=f"rename {other!r} or {name!r}"))
            elif not other.startswith(name):
                break
    node_names = list(first_index)
    seen_sources: dict[tuple[str, str], int] = {}
    for i, edge in enumerate(graph.edges):
        epath = [*path, "edges", i]
        ok = True
        for end, node_key, port_key, side in (
            ("source", "source_node", "source_port", 1),
            ("target", "target_node", "target_port", 0),
        ):
            node_name = getattr(edge, node_key)
            port_name = getattr(edge, port_key)
            if node_name not in ports:
                ok = False
                problems.append(Problem(
                    loc=[*epath, node_key], type="unknown_node", value=node_name,
                    msg=f"edge {edge}: {end} node {node_name!r} does not exist",
                    expected=f"one of the nodes: {_known(node_names)}"))
                continue
            known_ports = ports[node_name][side]
            if known_ports is None:
                continue
            reserved = is_signal_port(port_name) if side == 1 else is_control_port(port_name)
            if port_name not in known_ports and not reserved:
                kind = "output" if side == 1 else "input"
                problems.append(Problem(
                    loc=[*epath, port_key], type="unknown_port", value=port_name,
                    msg=f"edge {edge}: node {node_name!r} has no {kind} port {port_name!r}",
                    expected=f"one of its {kind} ports: {_known(known_ports)}"))
        key = (edge.source_node, edge.source_port)
        if ok and key in seen_sources:
            first = graph.edges[seen_sources[key]]
            problems.append(Problem(
                loc=[*epath], type="fan_out", value=str(edge),
                msg=f"output port {edge.source_node}.{edge.source_port} already feeds "
                    f"{first.target_node}.{first.target_port} (edge {seen_sources[key]}); an output "
                    "port can feed only one edge",
                expected="a broadcast node to fan out: factory = "
                         "\"netrun.node_factories.broadcast\" with num_outputs = 2"))
        elif ok:
            seen_sources[key] = i
    return problems
