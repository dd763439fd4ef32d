"""Dependency requests: a node asks the nodes upstream of it for input.

The engine does the work (``netrun_sim`` 0.2.0 requests): a graph's *dependency edges* mark
the inputs a node may request; a node with a ``DependencyRequestConfig`` requests on its own
(``on_startup``: on the net's first step; ``on_no_salvo_triggered``: when packets wait at its
inputs but no input salvo condition fires, once until one of its epochs ends). A request
walks back from the node's dependency edges along every edge to the *source nodes* (nodes
without connected inputs) and creates one epoch there (salvo condition ``"__request__"``, no
packets); requests with the same label that reach the same source in the same step make one
epoch. The runtime runs those epochs like any other: this is how source nodes fire without
``inject_source_epoch``.

What the runtime adds: :meth:`RequestMethods.request` (``net.request(node, label)``) and a
check, before anything runs, that a request can be resolved. The engine silently drops a
request to a node without dependency edges, and fails a whole step when the walk reaches an
input port without an edge; here both are a :class:`~netrun.errors.RequestError` naming the
node and port, raised by ``net.request`` or (for automatic requests) by ``Net(...)``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from netrun.errors import RequestError

__all__ = ["REQUEST_CONDITION", "IdleRequests", "RequestMethods", "check_request_config", "request_sources"]

#: Salvo condition name of the epochs a request creates at source nodes (the engine's).
REQUEST_CONDITION = "__request__"


def _dependency_targets(graph: Any) -> dict[str, list[tuple[str, str]]]:
    """``{node: [(source node, source port)...]}`` of the dependency edges into each node."""
    deps = graph.dependency_edges() if hasattr(graph, "dependency_edges") else []
    out: dict[str, list[tuple[str, str]]] = {}
    for edge in deps:
        out.setdefault(edge.target.node_name, []).append((edge.target.port_name, edge.source.node_name))
    return out


def request_sources(graph: Any, node_name: str) -> list[str]:
    """The source nodes a request of ``node_name`` reaches (the engine's backward walk).

    Raises :class:`RequestError` when the node has no dependency edge into it, or when the
    walk reaches an input port without an edge (the engine would fail the whole step).
    """
    deps = _dependency_targets(graph).get(node_name)
    if not deps:
        raise RequestError(
            f"Node '{node_name}' cannot request input: no dependency edge leads into it. Mark "
            f"an edge into it as a dependency (EdgeConfig(..., dependency=True), or "
            f"Graph(nodes, edges, dependency_edges=[...]))")
    nodes = graph.nodes()
    incoming: dict[tuple[str, str], list[str]] = {}
    for edge in graph.edges():
        incoming.setdefault((edge.target.node_name, edge.target.port_name), []).append(edge.source.node_name)
    queue = deque((node_name, port) for port, _ in deps)
    processed: set[str] = set()
    sources: list[str] = []
    while queue:
        node, port = queue.popleft()
        ups = incoming.get((node, port))
        if not ups:
            raise RequestError(
                f"A request of node '{node_name}' walks back to input port '{port}' of node "
                f"'{node}', which has no edge, so the request cannot reach a source node; connect "
                f"that port or feed '{node}' only through connected ports")
        for up in ups:
            if up in processed:
                continue
            processed.add(up)
            ports = list(nodes[up].in_ports)
            if not ports or all(not incoming.get((up, p)) for p in ports):
                if up not in sources:
                    sources.append(up)
                continue
            queue.extend((up, p) for p in ports)
    return sources


def check_request_config(graph: Any) -> None:
    """Check that every node with automatic requests (a request config with triggers) can
    resolve them (``RequestError``)."""
    for name, node in graph.nodes().items():
        config = getattr(node, "dependency_request_config", None)
        if config is not None and list(config.triggers):
            request_sources(graph, name)


class IdleRequests:
    """Re-steps the engine when the net is about to go idle, for ``on_no_salvo_triggered``.

    The engine makes such a request during a step, and gives the node its request token back
    when one of its epochs ends; but nothing makes a step happen after that, so a node still
    holding unmatched packets would wait forever (the engine's own ``run_until_blocked`` does
    not see these requests either). When nothing runs any more, :meth:`poke` lets the engine
    take one more step; it reports whether that created new epochs (then the run goes on).
    Built only for graphs with such nodes: other nets pay nothing.
    """

    def __init__(self, core: Any) -> None:
        self.core = core

    @classmethod
    def of(cls, core: Any) -> IdleRequests | None:
        from netrun_sim import DependencyRequestTrigger

        on_no_salvo = DependencyRequestTrigger.on_no_salvo_triggered()
        for node in core.engine.graph.nodes().values():
            config = getattr(node, "dependency_request_config", None)
            if config is not None and any(t == on_no_salvo for t in config.triggers):
                return cls(core)
        return None

    def poke(self) -> bool:
        core = self.core
        before = len(core.runs) + len(core.pending_controls)
        core.engine.dirty = True
        core.advance()
        return len(core.runs) + len(core.pending_controls) > before and bool(core.ready_nodes or core.pending_controls)


class RequestMethods:
    """``Net.request`` (mixed into :class:`netrun.net.Net`)."""

    _core: Any

    def request(self, node_name: str, label: str = "main") -> list[Any]:
        """Ask the source nodes upstream of ``node_name`` (through its dependency edges) for
        input: each gets one epoch the next time the net runs. Requests with the same
        ``label`` that reach the same source in the same step make one epoch. Returns the
        engine's events (``RequestCreated``). Thread-safe.

        >>> net.request("Report")          # doctest: +SKIP
        >>> net.start()                     # the sources feeding Report run once
        """
        core = self._core
        check_open = getattr(self, "_check_open", None)
        if check_open is not None:
            check_open("make a request")
        core.node(node_name)
        if not isinstance(label, str):
            raise TypeError(f"A request label must be a str, got {type(label).__name__} {label!r}")
        request_sources(core.engine.graph, node_name)
        events = core.engine.create_request(node_name, label)
        core.work_arrived()
        return events
