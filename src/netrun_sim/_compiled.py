"""The compiled, immutable form of a validated graph, shared by every net built on it.

Compilation turns names into positions: each node gets its ports in declaration order,
its input conditions as ``(name, take_plan, test)`` and its output conditions as
``(max_salvos, take_plan, test, one)``, where ``take_plan`` lists ``(port_position, port,
count_or_None)``, ``test`` is a compiled term over the port queues and ``one`` is the
plan's single step when the test is just "that port is non-empty" (else None). ``pick``
tests the input conditions in order in one call (the first satisfied one) and ``always``
is the first one when it holds whenever the node holds an input packet.
The backward request cascade depends only on the graph, so its result (source nodes or
the unconnected port it hits) is computed once per requesting node and cached.
"""

from __future__ import annotations

from collections import deque

from .ports import PortRef
from .salvo import compile_first, compile_term

__all__ = ["CompiledGraph", "NodeInfo", "compiled"]


class NodeInfo:
    """Positions, capacities, conditions and request settings of one node."""

    __slots__ = (
        "name",
        "index",
        "in_names",
        "in_caps",
        "in_pos",
        "out_names",
        "out_caps",
        "out_pos",
        "out_edge",
        "in_conds",
        "pick",
        "always",
        "out_conds",
        "startup",
        "no_salvo",
        "label",
    )

    def __init__(self, node, index: int, by_tail: dict) -> None:
        self.name = node._name
        self.index = index
        self.in_names = tuple(node._in_ports)
        self.in_caps = tuple(p._cap for p in node._in_ports.values())
        self.in_pos = {n: i for i, n in enumerate(self.in_names)}
        self.out_names = tuple(node._out_ports)
        self.out_caps = tuple(p._cap for p in node._out_ports.values())
        self.out_pos = {n: i for i, n in enumerate(self.out_names)}
        # the edge leaving each output port (None: packets sent there are orphaned)
        self.out_edge = tuple(by_tail.get(PortRef._of(self.name, True, p)) for p in self.out_names)
        self.in_conds = tuple(
            (name, _plan(c, self.in_pos), compile_term(c._term, self.in_pos, self.in_caps))
            for name, c in node._in_conds.items()
        )
        # the first satisfied input condition (an ``in_conds`` entry) or None, in one call
        self.pick = compile_first(
            [(c._term, cond) for c, cond in zip(node._in_conds.values(), self.in_conds)], self.in_pos, self.in_caps
        )
        # the first input condition when it holds whenever the node holds an input packet
        # (one input port and the term "that port is non-empty"), else None
        first = next(iter(node._in_conds.values()), None)
        term = None if first is None else first._term
        self.always = (
            self.in_conds[0]
            if term is not None and len(self.in_names) == 1 and term._kind == "Port" and term._port == self.in_names[0]
            and term._state == "NonEmpty"
            else None
        )
        self.out_conds = {
            name: (c._max, plan, compile_term(c._term, self.out_pos, self.out_caps, ".q"), _only_non_empty(c, plan))
            for name, c in node._out_conds.items()
            for plan in (_plan(c, self.out_pos),)
        }
        drc = node._drc
        self.startup = drc is not None and drc._has(0)
        self.no_salvo = drc is not None and drc._has(1)
        self.label = drc._label if drc is not None else None


def _only_non_empty(cond, plan: tuple):
    """``plan``'s one step when ``cond`` takes from one port and its term is "that port is
    non-empty" (the fast lane's send tests it inline), else None."""
    term = cond._term
    if len(plan) == 1 and term._kind == "Port" and term._state == "NonEmpty" and term._port == plan[0][1]:
        return plan[0]
    return None


def _plan(cond, positions: dict) -> tuple:
    # ports missing from the node cannot occur in a validated graph; they would take nothing
    return tuple((positions[p], p, n) for p, n in cond._plan if p in positions)


class CompiledGraph:
    """Everything the net needs from a (valid) graph, computed once."""

    __slots__ = (
        "graph",
        "nodes",
        "by_name",
        "edges",
        "edge_index",
        "startup_nodes",
        "no_salvo_nodes",
        "has_requests",
        "_cascades",
        "_dep_targets",
    )

    def __init__(self, graph) -> None:
        self.graph = graph
        self.nodes = tuple(NodeInfo(n, i, graph._by_tail) for i, n in enumerate(graph._nodes.values()))
        self.by_name = {info.name: info for info in self.nodes}
        self.edges = graph._edges
        self.edge_index = graph._edge_index
        self.startup_nodes = tuple(i for i in self.nodes if i.startup)
        self.no_salvo_nodes = tuple(i for i in self.nodes if i.no_salvo)
        self.has_requests = bool(self.startup_nodes or self.no_salvo_nodes)
        targets: dict[str, list] = {}
        for edge in graph._dep_edges:
            targets.setdefault(edge._target._node, []).append(edge._target)
        self._dep_targets = targets
        self._cascades: dict[str, tuple] = {}

    def cascade(self, node_name: str) -> tuple:
        """The backward cascade from ``node_name``'s dependency edges (cached).

        Returns ``("skip",)`` when the node has no dependency edge, ``("ok", sources)`` or
        ``("error", node, port)`` for the unconnected input port the walk reached.
        """
        cached = self._cascades.get(node_name)
        if cached is None:
            cached = self._walk(node_name)
            self._cascades[node_name] = cached
        return cached

    def _walk(self, node_name: str) -> tuple:
        start = self._dep_targets.get(node_name)
        if not start:
            return ("skip",)
        by_head = self.graph._by_head
        nodes = self.graph._nodes
        queue = deque(start)
        processed: set[str] = set()
        sources: list[str] = []
        while queue:
            port = queue.popleft()
            incoming = by_head.get(port)
            if not incoming:
                return ("error", port._node, port._port)
            for edge in incoming:
                up = edge._source._node
                if up in processed:
                    continue
                processed.add(up)
                node = nodes[up]
                ins = [PortRef._of(up, False, p) for p in node._in_ports]
                if not ins or not any(by_head.get(ref) for ref in ins):
                    if up not in sources:
                        sources.append(up)
                    continue
                queue.extend(ins)
        return ("ok", tuple(sources))


def compiled(graph) -> CompiledGraph:
    """The graph's compiled form, built on first use and shared by its copies."""
    shared = graph._shared
    comp = shared.get("compiled")
    if comp is None:
        comp = CompiledGraph(graph)
        shared["compiled"] = comp
    return comp
