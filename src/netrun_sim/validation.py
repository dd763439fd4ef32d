"""Graph validation: the published rules, messages and pass order.

``validate_graph`` runs five passes and collects every problem:

1. each distinct edge (first-appearance order): missing nodes, wrong port types, missing ports;
2. fan-out: output ports with more than one distinct edge (first-appearance order of sources);
3. each node (constructor order): input conditions (max_salvos, ``ports`` keys, term ports),
   then output conditions (``ports`` keys, term ports);
4. dependency edges not in the edge set;
5. nodes with a dependency_request_config but no dependency edge into them.

Where the published engine iterates hash sets, the order used here is the one stated
above (first appearance / declaration order).
"""

from __future__ import annotations

from ._args import no_constructor
from .enums import MaxSalvos
from .ports import Edge, PortRef
from .salvo import term_port_names

__all__ = ["GraphValidationErrorInfo", "validate_graph", "invalid_graph_message"]


class GraphValidationErrorInfo:
    """One validation problem: ``kind`` (the rule), ``message`` and ``details`` (a dict).

    ``str(info)`` is the message.
    """

    __slots__ = ("_kind", "_message", "_details")

    def __new__(cls, *args, **kwargs):
        raise no_constructor(cls)

    @classmethod
    def _make(cls, kind: str, message: str, details: dict) -> "GraphValidationErrorInfo":
        obj = object.__new__(cls)
        object.__setattr__(obj, "_kind", kind)
        object.__setattr__(obj, "_message", message)
        object.__setattr__(obj, "_details", details)
        return obj

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'GraphValidationErrorInfo' objects is not writable")

    @property
    def kind(self) -> str:
        """The rule that failed (e.g. ``"MultipleEdgesFromOutputPort"``)."""
        return self._kind

    @property
    def message(self) -> str:
        """The human-readable message."""
        return self._message

    @property
    def details(self) -> dict:
        """A new dict; see the reference (section 3.3) for the keys of each kind."""
        return dict(self._details)

    def __str__(self) -> str:
        return self._message

    def __repr__(self) -> str:
        return f"GraphValidationErrorInfo(kind='{self._kind}', message='{self._message}')"

    def __reduce__(self):
        return (_rebuild_info, (self._kind, self._message, self._details))


def _rebuild_info(kind, message, details):
    return GraphValidationErrorInfo._make(kind, message, details)


def _edge_errors(edge: Edge, nodes: dict, out: list) -> None:
    src, tgt = edge._source, edge._target
    base = {"edge_source": src, "edge_target": tgt}
    for ref in (src, tgt):
        if ref._node not in nodes:
            out.append(
                GraphValidationErrorInfo._make(
                    "EdgeReferencesNonexistentNode",
                    f"edge {src} -> {tgt} references non-existent node '{ref._node}'",
                    {**base, "missing_node": ref._node},
                )
            )
            return
    if src._type._value != 1:
        out.append(
            GraphValidationErrorInfo._make(
                "EdgeSourceNotOutputPort", f"edge source {src} must be an output port", dict(base)
            )
        )
    elif src._port not in nodes[src._node]._out_ports:
        out.append(
            GraphValidationErrorInfo._make(
                "EdgeReferencesNonexistentPort",
                f"edge {src} -> {tgt} references non-existent port {src}",
                {**base, "missing_port": src},
            )
        )
    if tgt._type._value != 0:
        out.append(
            GraphValidationErrorInfo._make(
                "EdgeTargetNotInputPort", f"edge target {tgt} must be an input port", dict(base)
            )
        )
    elif tgt._port not in nodes[tgt._node]._in_ports:
        out.append(
            GraphValidationErrorInfo._make(
                "EdgeReferencesNonexistentPort",
                f"edge {src} -> {tgt} references non-existent port {tgt}",
                {**base, "missing_port": tgt},
            )
        )


def _condition_errors(node, name: str, cond, is_input: bool, out: list) -> None:
    side = "input" if is_input else "output"
    ports = node._in_ports if is_input else node._out_ports
    if is_input and cond._max != 1:
        shown = "Infinite" if cond._max is None else f"Finite({cond._max})"
        out.append(
            GraphValidationErrorInfo._make(
                "InputSalvoConditionInvalidMaxSalvos",
                f"input salvo condition '{name}' on node '{node._name}' has max_salvos={shown}, "
                "but must be Finite(1). Input salvos must have exactly one packet to trigger an epoch.",
                {
                    "node_name": node._name,
                    "condition_name": name,
                    "max_salvos": MaxSalvos.Infinite if cond._max is None else MaxSalvos.finite(cond._max),  # type: ignore[attr-defined]
                },
            )
        )
    for port in cond._ports:
        if port not in ports:
            out.append(
                GraphValidationErrorInfo._make(
                    "SalvoConditionReferencesNonexistentPort",
                    f"{side} salvo condition '{name}' on node '{node._name}' references non-existent port '{port}'",
                    {
                        "node_name": node._name,
                        "condition_name": name,
                        "is_input_condition": is_input,
                        "missing_port": port,
                    },
                )
            )
    for port in term_port_names(cond._term):
        if port not in ports:
            out.append(
                GraphValidationErrorInfo._make(
                    "SalvoConditionTermReferencesNonexistentPort",
                    f"{side} salvo condition '{name}' on node '{node._name}' has term referencing "
                    f"non-existent port '{port}'",
                    {
                        "node_name": node._name,
                        "condition_name": name,
                        "is_input_condition": is_input,
                        "missing_port": port,
                    },
                )
            )


def validate_graph(graph) -> list:
    """Return every validation problem of ``graph`` (see the module docstring for the order)."""
    nodes = graph._nodes
    out: list = []
    # pass 1: edges
    for edge in graph._edges:
        _edge_errors(edge, nodes, out)
    # pass 2: fan-out (distinct edges per source)
    per_source: dict[PortRef, int] = {}
    for edge in graph._edges:
        per_source[edge._source] = per_source.get(edge._source, 0) + 1
    for source, count in per_source.items():
        if count > 1:
            out.append(
                GraphValidationErrorInfo._make(
                    "MultipleEdgesFromOutputPort",
                    f"output port {source} has {count} outgoing edges (only 1 allowed)",
                    {"output_port": source, "edge_count": count},
                )
            )
    # pass 3: salvo conditions
    for node in nodes.values():
        for name, cond in node._in_conds.items():
            _condition_errors(node, name, cond, True, out)
        for name, cond in node._out_conds.items():
            _condition_errors(node, name, cond, False, out)
    # pass 4: dependency edges must be edges
    for edge in graph._dep_edges:
        if edge not in graph._edge_index:
            out.append(
                GraphValidationErrorInfo._make(
                    "DependencyEdgeNotInGraph",
                    f"dependency edge {edge} is not in the graph's edge set",
                    {"edge": edge},
                )
            )
    # pass 5: request configs need a dependency edge into the node
    dep_targets = {e._target._node for e in graph._dep_edges if e._target._type._value == 0}
    for node in nodes.values():
        if node._drc is not None and node._name not in dep_targets:
            out.append(
                GraphValidationErrorInfo._make(
                    "DependencyRequestConfigWithoutDependencyEdges",
                    f"node '{node._name}' has dependency_request_config but no dependency edges on its input ports",
                    {"node_name": node._name},
                )
            )
    return out


def invalid_graph_message(errors: list) -> str:
    """The text of the error ``NetSim`` raises for an invalid graph."""
    return "Cannot create NetSim with invalid graph:\n  - " + "\n  - ".join(e._message for e in errors)
