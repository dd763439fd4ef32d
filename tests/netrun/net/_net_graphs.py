"""Small graphs for the runtime tests (shared by several test modules)."""

from __future__ import annotations

from netrun_sim import (
    Edge,
    Graph,
    MaxSalvos,
    Node,
    PacketCount,
    Port,
    PortRef,
    PortSlotSpec,
    PortState,
    PortType,
    SalvoCondition,
    SalvoConditionTerm,
)


def node(name: str, ins=("in",), outs=("out",), *, in_slots=None, take_one: bool = True) -> Node:
    """A node taking one packet per epoch from its first input port, with a "send" output
    condition over all its output ports."""
    in_ports = {p: Port(PortSlotSpec.finite(in_slots) if in_slots else None) for p in ins}
    out_ports = {p: Port() for p in outs}
    in_conds = {}
    if ins:
        ports = {ins[0]: PacketCount.count(1)} if take_one else list(ins)
        term = SalvoConditionTerm.port(ins[0], PortState.non_empty())
        if len(ins) > 1 and not take_one:
            term = SalvoConditionTerm.and_([SalvoConditionTerm.port(p, PortState.non_empty()) for p in ins])
        in_conds["default"] = SalvoCondition(MaxSalvos.finite(1), ports, term)
    out_conds = {}
    if outs:
        out_conds["send"] = SalvoCondition(
            MaxSalvos.infinite(), list(outs),
            SalvoConditionTerm.or_([SalvoConditionTerm.port(p, PortState.non_empty()) for p in outs])
            if len(outs) > 1 else SalvoConditionTerm.port(outs[0], PortState.non_empty()),
        )
    return Node(name, in_ports, out_ports, in_conds, out_conds)


def edge(a: str, b: str, out: str = "out", inp: str = "in") -> Edge:
    return Edge(PortRef(a, PortType.Output, out), PortRef(b, PortType.Input, inp))


def pipeline(*names: str) -> Graph:
    """A linear pipeline: names[0] -> names[1] -> ...; every node has ports in/out."""
    nodes = [node(n) for n in names]
    edges = [edge(a, b) for a, b in zip(names, names[1:])]
    return Graph(nodes, edges)


def source_pipeline() -> Graph:
    """Source (no inputs) -> Double -> Sink (Sink.out unconnected)."""
    return Graph([node("Source", ins=()), node("Double"), node("Sink")],
                 [edge("Source", "Double"), edge("Double", "Sink")])
