"""Nodes and graphs: ``DependencyRequestConfig``, ``Node`` and ``Graph``.

A ``Graph`` is immutable once built. Building it only indexes the nodes and edges (a
duplicate node name raises ``GraphValidationError``); ``Graph.validate()`` reports every
problem as a ``GraphValidationErrorInfo`` and ``NetSim(graph)`` refuses a graph with any.
"""

from __future__ import annotations

from ._args import as_dict, as_instance, as_sequence, as_str, boundary_copy, cannot_convert
from ._quoting import rust_debug
from .enums import DependencyRequestTrigger
from .errors import GraphValidationError
from .ports import Edge, Port, PortRef
from .salvo import SalvoCondition

__all__ = ["DependencyRequestConfig", "Node", "Graph"]


class DependencyRequestConfig:
    """When and under which label a node asks its upstream sources for input.

    ``DependencyRequestConfig([DependencyRequestTrigger.OnStartup], "label")``. The node
    must be the target of at least one dependency edge (see ``Graph``).
    """

    __slots__ = ("_triggers", "_label")

    def __init__(self, triggers, label: str) -> None:
        seq = as_sequence(triggers, "triggers")
        for t in seq:
            if not isinstance(t, DependencyRequestTrigger):
                raise cannot_convert(t, "DependencyRequestTrigger", "triggers")
        object.__setattr__(self, "_triggers", tuple(seq))
        object.__setattr__(self, "_label", as_str(label, "label"))

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'DependencyRequestConfig' objects is not writable")

    @property
    def triggers(self) -> list:
        """A new list of the triggers."""
        return list(self._triggers)

    @property
    def label(self) -> str:
        """The label given to the requests."""
        return self._label

    def _has(self, trigger_value: int) -> bool:
        return any(t._value == trigger_value for t in self._triggers)

    def __repr__(self) -> str:
        trig = ", ".join(repr(t) for t in self._triggers)
        return f"DependencyRequestConfig(triggers=[{trig}], label={rust_debug(self._label)})"

    def __reduce__(self):
        return (DependencyRequestConfig, (list(self._triggers), self._label))


def _port_dict(value, arg: str) -> dict:
    if value is None:
        return {}
    out = {}
    for key, port in as_dict(value, arg).items():
        if not isinstance(key, str):
            raise cannot_convert(key, "PyString", arg)
        if type(port) is not Port:
            as_instance(port, Port, arg)
        out[str(key)] = port
    return out


def _condition_dict(value) -> dict:
    out = {}
    for key, cond in value.items():
        if not isinstance(key, str):
            raise cannot_convert(key, "PyString")
        if type(cond) is not SalvoCondition:
            as_instance(cond, SalvoCondition, None)
        out[str(key)] = cond
    return out


class Node:
    """A named processing unit with input/output ports and salvo conditions.

    ``Node(name, in_ports=None, out_ports=None, in_salvo_conditions=None,
    out_salvo_conditions=None, dependency_request_config=None)``. The port and condition
    arguments are dicts; the condition dicts keep their order, which decides which input
    condition wins when several are satisfied.
    """

    __slots__ = ("_name", "_in_ports", "_out_ports", "_in_conds", "_out_conds", "_drc")

    def __init__(
        self,
        name: str,
        in_ports=None,
        out_ports=None,
        in_salvo_conditions=None,
        out_salvo_conditions=None,
        dependency_request_config=None,
    ) -> None:
        _set = object.__setattr__
        _set(self, "_name", as_str(name, "name"))
        _set(self, "_in_ports", _port_dict(in_ports, "in_ports"))
        _set(self, "_out_ports", _port_dict(out_ports, "out_ports"))
        in_conds = {} if in_salvo_conditions is None else as_dict(in_salvo_conditions, "in_salvo_conditions")
        out_conds = {} if out_salvo_conditions is None else as_dict(out_salvo_conditions, "out_salvo_conditions")
        if dependency_request_config is not None and type(dependency_request_config) is not DependencyRequestConfig:
            as_instance(dependency_request_config, DependencyRequestConfig, "dependency_request_config")
        _set(self, "_in_conds", _condition_dict(in_conds))
        _set(self, "_out_conds", _condition_dict(out_conds))
        _set(self, "_drc", dependency_request_config)

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'Node' objects is not writable")

    @property
    def name(self) -> str:
        """The node's name."""
        return self._name

    @property
    def in_ports(self) -> dict:
        """A new ``{name: Port}`` dict, in declaration order."""
        return {k: boundary_copy(v) for k, v in self._in_ports.items()}

    @property
    def out_ports(self) -> dict:
        """A new ``{name: Port}`` dict, in declaration order."""
        return {k: boundary_copy(v) for k, v in self._out_ports.items()}

    @property
    def in_salvo_conditions(self) -> dict:
        """A new ``{name: SalvoCondition}`` dict, in insertion (priority) order."""
        return {k: boundary_copy(v) for k, v in self._in_conds.items()}

    @property
    def out_salvo_conditions(self) -> dict:
        """A new ``{name: SalvoCondition}`` dict, in insertion order."""
        return {k: boundary_copy(v) for k, v in self._out_conds.items()}

    @property
    def dependency_request_config(self):
        """A copy of the node's ``DependencyRequestConfig``, or None."""
        return None if self._drc is None else boundary_copy(self._drc)

    def __repr__(self) -> str:
        return f"Node({rust_debug(self._name)})"

    def __reduce__(self):
        return (
            Node,
            (self._name, self._in_ports, self._out_ports, self._in_conds, self._out_conds, self._drc),
        )


class Graph:
    """An immutable topology: nodes, edges and optional dependency edges.

    ``Graph(nodes, edges, dependency_edges=None)``. An edge listed twice is stored once.
    Fan-in (several edges into one input port) is allowed; fan-out is reported by
    ``validate()``.

    >>> Graph([Node("A")], [])
    Graph(nodes=1, edges=0)
    """

    __slots__ = (
        "_nodes",
        "_edges",
        "_edge_index",
        "_by_head",
        "_by_tail",
        "_dep_edges",
        "_dep_set",
        "_edge_args",
        "_shared",
    )

    def __init__(self, nodes, edges, dependency_edges=None) -> None:
        node_seq = as_sequence(nodes, "nodes")
        for n in node_seq:
            if type(n) is not Node:
                as_instance(n, Node, "nodes")
        edge_seq = as_sequence(edges, "edges")
        for e in edge_seq:
            if type(e) is not Edge:
                as_instance(e, Edge, "edges")
        dep_seq = () if dependency_edges is None else as_sequence(dependency_edges, "dependency_edges")
        for e in dep_seq:
            if type(e) is not Edge:
                as_instance(e, Edge, "dependency_edges")
        node_map: dict[str, Node] = {}
        for n in node_seq:
            if n._name in node_map:
                raise GraphValidationError(f"Duplicate node name: '{n._name}'")
            node_map[n._name] = n
        edge_index: dict[Edge, int] = {}
        by_head: dict[PortRef, list[Edge]] = {}
        by_tail: dict[PortRef, Edge] = {}
        for e in edge_seq:
            edge_index.setdefault(e, len(edge_index))
            by_head.setdefault(e._target, []).append(e)
            by_tail[e._source] = e  # the last edge with a given source wins
        dep_set: dict[Edge, None] = dict.fromkeys(dep_seq)
        _set = object.__setattr__
        _set(self, "_nodes", node_map)
        _set(self, "_edges", tuple(edge_index))
        _set(self, "_edge_index", edge_index)
        _set(self, "_by_head", by_head)
        _set(self, "_by_tail", by_tail)
        _set(self, "_dep_edges", tuple(dep_set))
        _set(self, "_dep_set", dep_set)
        _set(self, "_edge_args", tuple(edge_seq))
        # per-topology data shared by copies of this graph (validation result, compiled form)
        _set(self, "_shared", {})

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'Graph' objects is not writable")

    def _copy(self) -> "Graph":
        """A new Graph object sharing this one's immutable data."""
        other = object.__new__(Graph)
        for slot in Graph.__slots__:
            object.__setattr__(other, slot, getattr(self, slot))
        return other

    def nodes(self) -> dict:
        """A new ``{name: Node}`` dict (copies of the nodes), in constructor order."""
        return {k: boundary_copy(v) for k, v in self._nodes.items()}

    def edges(self) -> list:
        """Distinct edges in order of first appearance."""
        return list(self._edges)

    def dependency_edges(self) -> list:
        """Distinct dependency edges in order of first appearance."""
        return list(self._dep_edges)

    def is_dependency_edge(self, edge) -> bool:
        """Whether ``edge`` was given as a dependency edge."""
        if type(edge) is not Edge:
            as_instance(edge, Edge, "edge")
        return edge in self._dep_set

    def get_edges_by_head(self, input_port_ref) -> list:
        """Edges into ``input_port_ref`` in constructor order, duplicates included."""
        if type(input_port_ref) is not PortRef:
            as_instance(input_port_ref, PortRef, "input_port_ref")
        return list(self._by_head.get(input_port_ref, ()))

    def validate(self) -> list:
        """Every validation problem, as ``GraphValidationErrorInfo`` objects ([] if valid)."""
        from .validation import validate_graph

        return validate_graph(self)

    def __repr__(self) -> str:
        return f"Graph(nodes={len(self._nodes)}, edges={len(self._edges)})"

    def __reduce__(self):
        return (Graph, (list(self._nodes.values()), list(self._edge_args), list(self._dep_edges)))
