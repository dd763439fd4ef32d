"""Graph construction and validation: every error kind with its message and details, the
pass order, and NetSim's refusal of invalid graphs."""

from __future__ import annotations

import pytest

import netrun_sim as ns
from netrun_sim import (
    DependencyRequestConfig,
    DependencyRequestTrigger,
    Edge,
    Graph,
    GraphValidationError,
    MaxSalvos,
    NetSim,
    Node,
    Port,
    PortRef,
    PortState,
    PortType,
    SalvoCondition,
    SalvoConditionTerm as T,
)

NATIVE = not hasattr(NetSim, "snapshot")
extension = pytest.mark.skipif(NATIVE, reason="replaces a panic of the published engine")
OUT, IN = PortType.Output, PortType.Input


def fixed_order(actual, expected):
    """The published engine leaves this order unspecified (⟂); this engine fixes it."""
    assert (sorted(actual, key=repr) == sorted(expected, key=repr)) if NATIVE else (actual == expected)


def ref(node, side, port):
    return PortRef(node, OUT if side == "out" else IN, port)


def edge(a, ap, b, bp):
    return Edge(ref(a, "out", ap), ref(b, "in", bp))


def one(kind_errors):
    (info,) = kind_errors
    return info


def infos(graph):
    return [(i.kind, i.message) for i in graph.validate()]


def test_valid_graph_has_no_errors():
    g = Graph([Node("A", out_ports={"o": Port()}), Node("B", in_ports={"i": Port()})], [edge("A", "o", "B", "i")])
    assert g.validate() == []
    NetSim(g)


def test_edge_to_missing_nodes_reports_the_source_first_and_skips_the_rest():
    g = Graph([Node("A", out_ports={"o": Port()})], [edge("X", "o", "Y", "i"), edge("A", "o", "Z", "i")])
    errors = sorted(g.validate(), key=lambda e: e.message)
    assert [(e.kind, e.message) for e in errors] == [
        ("EdgeReferencesNonexistentNode", "edge A.out.o -> Z.in.i references non-existent node 'Z'"),
        ("EdgeReferencesNonexistentNode", "edge X.out.o -> Y.in.i references non-existent node 'X'"),
    ]
    assert errors[0].details == {"edge_source": ref("A", "out", "o"), "edge_target": ref("Z", "in", "i"), "missing_node": "Z"}
    assert str(errors[0]) == errors[0].message
    assert repr(errors[0]) == (
        "GraphValidationErrorInfo(kind='EdgeReferencesNonexistentNode', "
        "message='edge A.out.o -> Z.in.i references non-existent node 'Z'')"
    )


def test_edge_port_type_and_missing_port_errors_are_independent():
    a = Node("A", in_ports={"x": Port()}, out_ports={"o": Port()})
    b = Node("B", in_ports={"i": Port()}, out_ports={"y": Port()})
    wrong_types = Edge(ref("A", "in", "x"), ref("B", "out", "y"))
    missing_ports = edge("A", "nope", "B", "gone")
    g = Graph([a, b], [wrong_types, missing_ports])
    errors = g.validate()
    fixed_order([(e.kind, e.message) for e in errors], [
        ("EdgeSourceNotOutputPort", "edge source A.in.x must be an output port"),
        ("EdgeTargetNotInputPort", "edge target B.out.y must be an input port"),
        ("EdgeReferencesNonexistentPort", "edge A.out.nope -> B.in.gone references non-existent port A.out.nope"),
        ("EdgeReferencesNonexistentPort", "edge A.out.nope -> B.in.gone references non-existent port B.in.gone"),
    ])
    by_kind = {e.kind: e for e in errors}
    assert by_kind["EdgeSourceNotOutputPort"].details == {"edge_source": ref("A", "in", "x"), "edge_target": ref("B", "out", "y")}
    assert [e.details["missing_port"] for e in errors if e.kind == "EdgeReferencesNonexistentPort"][-1 if not NATIVE else 0] in (
        ref("B", "in", "gone"), ref("A", "out", "nope"))


def test_fan_out_counts_distinct_edges():
    a = Node("A", out_ports={"o": Port()})
    b = Node("B", in_ports={"i": Port(), "j": Port()})
    once = Graph([a, b], [edge("A", "o", "B", "i"), edge("A", "o", "B", "i")])
    assert once.validate() == [] and len(once.edges()) == 1
    twice = Graph([a, b], [edge("A", "o", "B", "i"), edge("A", "o", "B", "j")])
    info = one(twice.validate())
    assert (info.kind, info.message) == ("MultipleEdgesFromOutputPort", "output port A.out.o has 2 outgoing edges (only 1 allowed)")
    assert info.details == {"output_port": ref("A", "out", "o"), "edge_count": 2}


def test_input_condition_rules():
    bad = SalvoCondition(MaxSalvos.Infinite, ["i", "x"], T.and_([T.port("y", PortState.Empty), T.port("i", PortState.Full)]))
    three = SalvoCondition(MaxSalvos.finite(3), "i", T.true_())
    g = Graph([Node("A", in_ports={"i": Port()}, in_salvo_conditions={"bad": bad, "three": three})], [])
    errors = g.validate()
    assert [(e.kind, e.message) for e in errors] == [
        ("InputSalvoConditionInvalidMaxSalvos",
         "input salvo condition 'bad' on node 'A' has max_salvos=Infinite, but must be Finite(1). "
         "Input salvos must have exactly one packet to trigger an epoch."),
        ("SalvoConditionReferencesNonexistentPort",
         "input salvo condition 'bad' on node 'A' references non-existent port 'x'"),
        ("SalvoConditionTermReferencesNonexistentPort",
         "input salvo condition 'bad' on node 'A' has term referencing non-existent port 'y'"),
        ("InputSalvoConditionInvalidMaxSalvos",
         "input salvo condition 'three' on node 'A' has max_salvos=Finite(3), but must be Finite(1). "
         "Input salvos must have exactly one packet to trigger an epoch."),
    ]
    details = errors[0].details
    assert details["node_name"] == "A" and details["condition_name"] == "bad" and details["max_salvos"] == MaxSalvos.Infinite
    assert errors[3].details["max_salvos"].max == 3
    assert errors[1].details == {"node_name": "A", "condition_name": "bad", "is_input_condition": True, "missing_port": "x"}


def test_output_condition_rules_have_no_max_salvos_restriction():
    cond = SalvoCondition(MaxSalvos.finite(0), {"o": ns.PacketCount.All, "i": ns.PacketCount.count(1)},
                          T.port("in_only", PortState.NonEmpty))
    node = Node("A", in_ports={"i": Port()}, out_ports={"o": Port()}, out_salvo_conditions={"s": cond})
    errors = Graph([node], []).validate()
    assert [(e.kind, e.message) for e in errors] == [
        ("SalvoConditionReferencesNonexistentPort", "output salvo condition 's' on node 'A' references non-existent port 'i'"),
        ("SalvoConditionTermReferencesNonexistentPort",
         "output salvo condition 's' on node 'A' has term referencing non-existent port 'in_only'"),
    ]
    assert errors[0].details["is_input_condition"] is False


def test_dependency_edge_rules():
    cfg = DependencyRequestConfig([DependencyRequestTrigger.OnStartup], "L")
    a = Node("A", out_ports={"o": Port()})
    b = Node("B", in_ports={"i": Port()}, dependency_request_config=cfg)
    c = Node("C", dependency_request_config=cfg)
    stray = edge("A", "o", "C", "i")
    g = Graph([a, b, c], [edge("A", "o", "B", "i")], dependency_edges=[stray])
    errors = g.validate()
    assert [(e.kind, e.message) for e in errors] == [
        ("DependencyEdgeNotInGraph", "dependency edge A.out.o -> C.in.i is not in the graph's edge set"),
        ("DependencyRequestConfigWithoutDependencyEdges",
         "node 'B' has dependency_request_config but no dependency edges on its input ports"),
    ]
    assert errors[0].details == {"edge": stray}
    assert errors[1].details == {"node_name": "B"}
    # a dependency edge that is not in the graph still counts for C ("has one")


def test_pass_order_edges_fanout_conditions_dependency():
    cfg = DependencyRequestConfig([], "L")
    a = Node("A", out_ports={"o": Port()}, in_salvo_conditions={"c": SalvoCondition(MaxSalvos.Infinite, [], T.true_())},
             dependency_request_config=cfg)
    b = Node("B", in_ports={"i": Port(), "j": Port()})
    ghost = edge("A", "o", "Q", "i")
    g = Graph([a, b], [edge("A", "o", "B", "i"), edge("A", "o", "B", "j"), ghost], [edge("Z", "o", "B", "i")])
    assert [e.kind for e in g.validate()] == [
        "EdgeReferencesNonexistentNode",
        "MultipleEdgesFromOutputPort",
        "InputSalvoConditionInvalidMaxSalvos",
        "DependencyEdgeNotInGraph",
        "DependencyRequestConfigWithoutDependencyEdges",
    ]
    assert g.validate()[1].details["edge_count"] == 3


def test_things_that_are_not_validated():
    loop = SalvoCondition(MaxSalvos.finite(1), [], T.false_())
    a = Node("A", in_ports={"i": Port(ns.PortSlotSpec.finite(0))}, out_ports={"i": Port()}, in_salvo_conditions={"x": loop})
    g = Graph([a, Node("")], [edge("A", "i", "A", "i")])
    assert g.validate() == []


@extension
def test_duplicate_node_name_raises_graph_validation_error():
    with pytest.raises(GraphValidationError) as info:
        Graph([Node("A"), Node("A")], [])
    assert str(info.value) == "Duplicate node name: 'A'"
    assert info.value.errors == []


@extension
def test_net_sim_refuses_an_invalid_graph_with_all_messages():
    g = Graph([Node("A", out_ports={"o": Port()},
                    in_salvo_conditions={"c": SalvoCondition(MaxSalvos.finite(3), "x", T.port("y", PortState.Empty))})],
              [edge("A", "o", "Z", "i")])
    with pytest.raises(GraphValidationError) as info:
        NetSim(g)
    assert str(info.value) == (
        "Cannot create NetSim with invalid graph:\n"
        "  - edge A.out.o -> Z.in.i references non-existent node 'Z'\n"
        "  - input salvo condition 'c' on node 'A' has max_salvos=Finite(3), but must be Finite(1). "
        "Input salvos must have exactly one packet to trigger an epoch.\n"
        "  - input salvo condition 'c' on node 'A' references non-existent port 'x'\n"
        "  - input salvo condition 'c' on node 'A' has term referencing non-existent port 'y'"
    )
    assert [e.kind for e in info.value.errors] == [e.kind for e in g.validate()]
    assert isinstance(info.value, ns.NetrunError)


def test_graph_queries():
    a = Node("A", out_ports={"o": Port(), "p": Port()})
    b = Node("B", in_ports={"i": Port()})
    e1, e2 = edge("A", "o", "B", "i"), edge("A", "p", "B", "i")
    g = Graph((a, b), (e1, e2, e1), dependency_edges=[e2, e2])
    fixed_order(list(g.nodes()), ["A", "B"])
    fixed_order(g.edges(), [e1, e2])
    assert g.get_edges_by_head(ref("B", "in", "i")) == [e1, e2, e1]  # duplicates kept, constructor order
    assert g.get_edges_by_head(ref("A", "in", "zz")) == []
    assert g.dependency_edges() == [e2]
    assert g.is_dependency_edge(e2) and not g.is_dependency_edge(e1)
    assert repr(g) == "Graph(nodes=2, edges=2)"
    assert Graph(nodes=[a], edges=[], dependency_edges=None).dependency_edges() == []


def test_node_getters_keep_declaration_order():
    conds = {name: SalvoCondition(MaxSalvos.finite(1), [], T.true_()) for name in ("z", "a", "m")}
    node = Node("N", in_ports={"b": Port(), "a": Port()}, out_ports={"y": Port(), "x": Port()},
                in_salvo_conditions=conds, out_salvo_conditions=dict(reversed(list(conds.items()))))
    assert list(node.in_salvo_conditions) == ["z", "a", "m"]
    assert list(node.out_salvo_conditions) == ["m", "a", "z"]
    if not NATIVE:  # ⟂ in the published engine
        assert list(node.in_ports) == ["b", "a"] and list(node.out_ports) == ["y", "x"]
    assert node.name == "N" and node.dependency_request_config is None
    assert Node("N", None, None, None, None, None).in_ports == {}
