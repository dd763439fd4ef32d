"""The worked traces of the reference's Appendix A, event by event."""

from __future__ import annotations

import pytest

from netrun_sim import (
    Edge,
    EpochState,
    Graph,
    MaxSalvos,
    MaxSalvosExceededError,
    NetAction,
    NetActionResponseData,
    NetSim,
    Node,
    PacketCount,
    PacketLocation,
    Port,
    PortRef,
    PortSlotSpec,
    PortState,
    PortType,
    Salvo,
    SalvoCondition,
    SalvoConditionTerm as T,
)
import netrun_sim

OUT, IN = PortType.Output, PortType.Input
NATIVE = not hasattr(NetSim, "snapshot")  # these tests also run against the published engine


def fixed_order(actual, expected):
    """The published engine leaves this order unspecified (⟂); this engine fixes it."""
    assert (sorted(actual) == sorted(expected)) if NATIVE else (actual == expected)


def edge(a, ap, b, bp):
    return Edge(PortRef(a, OUT, ap), PortRef(b, IN, bp))


def go(port):
    return {"go": SalvoCondition(MaxSalvos.finite(1), port, T.port(port, PortState.NonEmpty))}


def kinds(events):
    return [e.kind for e in events]


def L(loc):
    """A location as comparable data (the published engine compares locations by identity)."""
    edge = loc.get_edge()
    return (loc.kind, loc.node_name, loc.port_name, loc.epoch_id, None if edge is None else str(edge))


@pytest.fixture
def pipeline():
    a = Node("A", out_ports={"out": Port()})
    b = Node(
        "B",
        in_ports={"in": Port()},
        out_ports={"out": Port()},
        in_salvo_conditions=go("in"),
        out_salvo_conditions={"send": SalvoCondition(MaxSalvos.Infinite, "out", T.port("out", PortState.NonEmpty))},
    )
    c = Node("C", in_ports={"in": Port()}, in_salvo_conditions=go("in"))
    ab, bc = edge("A", "out", "B", "in"), edge("B", "out", "C", "in")
    return NetSim(Graph([a, b, c], [ab, bc])), ab, bc


def test_lifecycle_of_one_packet(pipeline):
    net, ab, bc = pipeline
    resp, events = net.do_action(NetAction.create_packet())
    assert isinstance(resp, NetActionResponseData.Packet)
    p = resp.packet_id
    assert kinds(events) == ["PacketCreated"] and events[0].packet_id == p

    _, events = net.do_action(NetAction.transport_packet_to_location(p, PacketLocation.edge(ab)))
    (mv,) = events
    assert (mv.kind, L(mv.from_location), L(mv.to_location), mv.from_index) == (
        "PacketMoved",
        L(PacketLocation.outside_net()),
        L(PacketLocation.edge(ab)),
        0,
    )

    progress, events = net.run_step()
    assert progress is True
    assert kinds(events) == ["PacketMoved", "InputSalvoTriggered", "EpochCreated", "PacketMoved"]
    e1 = events[1].epoch_id
    assert events[1].salvo_condition == "go" and events[2].epoch_id == e1
    assert L(events[0].to_location) == L(PacketLocation.input_port("B", "in"))
    assert L(events[3].from_location) == L(PacketLocation.input_port("B", "in"))
    assert L(events[3].to_location) == L(PacketLocation.node(e1))

    assert net.run_step() == (False, [])
    assert net.is_blocked() is True

    resp, events = net.do_action(NetAction.start_epoch(e1))
    assert isinstance(resp, NetActionResponseData.StartedEpoch)
    assert resp.epoch.state == EpochState.Running and kinds(events) == ["EpochStarted"]

    _, events = net.do_action(NetAction.load_packet_into_output_port(p, "out"))
    assert L(events[0].to_location) == L(PacketLocation.output_port(e1, "out"))

    _, events = net.do_action(NetAction.send_output_salvo(e1, "send"))
    assert kinds(events) == ["PacketMoved", "OutputSalvoTriggered"]
    assert L(events[0].to_location) == L(PacketLocation.edge(bc))

    resp, events = net.do_action(NetAction.finish_epoch(e1))
    assert resp.epoch.state == EpochState.Finished
    assert events[0].epoch.state == EpochState.Running
    assert [s.packets for s in events[0].epoch.out_salvos] == [[("out", p)]]
    assert net.get_epoch(e1) is None

    events = net.run_until_blocked()
    assert kinds(events) == ["PacketMoved", "InputSalvoTriggered", "EpochCreated", "PacketMoved"]
    e2 = events[1].epoch_id
    assert net.get_startable_epochs() == [e2]
    assert L(net.get_packet(p).location) == L(PacketLocation.node(e2))


def test_input_salvo_with_counts():
    b = Node(
        "B",
        in_ports={"a": Port(), "b": Port()},
        in_salvo_conditions={
            "two_a": SalvoCondition(
                MaxSalvos.finite(1),
                {"a": PacketCount.count(2), "b": PacketCount.count(1)},
                T.port("a", PortState.equals_or_greater_than(2)),
            ),
            "any": SalvoCondition(
                MaxSalvos.finite(1), ["a", "b"], T.or_([T.port("a", PortState.NonEmpty), T.port("b", PortState.NonEmpty)])
            ),
        },
    )
    net = NetSim(Graph([b], []))
    ids = {}
    for name, port in [("a0", "a"), ("a1", "a"), ("a2", "a"), ("b0", "b"), ("b1", "b")]:
        pid = net.do_action(NetAction.create_packet())[0].packet_id
        net.do_action(NetAction.transport_packet_to_location(pid, PacketLocation.input_port("B", port)))
        ids[pid] = name
    _, events = net.run_step()
    assert kinds(events) == ["InputSalvoTriggered", "EpochCreated"] + ["PacketMoved"] * 3
    assert events[0].salvo_condition == "two_a"
    fixed_order([ids[e.packet_id] for e in events[2:]], ["a0", "a1", "b0"])
    assert [e.from_index for e in events[2:]] == [0, 0, 0]
    _, events = net.run_step()
    assert events[0].salvo_condition == "any"
    fixed_order([ids[e.packet_id] for e in events[2:]], ["a2", "b1"])  # ports in insertion order
    assert net.run_step() == (False, [])


def test_send_with_unconnected_port():
    a = Node(
        "A",
        out_ports={"o1": Port(PortSlotSpec.finite(2)), "orph": Port()},
        out_salvo_conditions={
            "once": SalvoCondition(
                MaxSalvos.finite(1), {"o1": PacketCount.count(1), "orph": PacketCount.All}, T.port("o1", PortState.NonEmpty)
            )
        },
    )
    b = Node("B", in_ports={"in": Port()})
    ab = edge("A", "o1", "B", "in")
    net = NetSim(Graph([a, b], [ab]))
    e = net.do_action(NetAction.create_epoch("A", Salvo("manual", [])))[0].epoch.id
    net.do_action(NetAction.start_epoch(e))
    made = [net.do_action(NetAction.create_packet(e))[0].packet_id for _ in range(6)]
    p0, p1, _p2, _p3, p4, p5 = made
    for pid, port in [(p1, "o1"), (p0, "o1"), (p4, "orph"), (p5, "orph")]:
        net.do_action(NetAction.load_packet_into_output_port(pid, port))
    _, events = net.do_action(NetAction.send_output_salvo(e, "once"))
    fixed_order(kinds(events[:3]), ["PacketMoved", "PacketOrphaned", "PacketOrphaned"])
    assert events[3].kind == "OutputSalvoTriggered"
    moved = [ev for ev in events if ev.kind == "PacketMoved"]
    assert moved[0].packet_id == p1 and L(moved[0].to_location) == L(PacketLocation.edge(ab))
    orphaned = [ev for ev in events if ev.kind == "PacketOrphaned"]
    assert [(ev.packet_id, ev.node_name, ev.orphaned_port_name, ev.salvo_condition) for ev in orphaned] == [
        (p4, "A", "orph", "once"),
        (p5, "A", "orph", "once"),
    ]
    epoch = net.get_epoch(e)
    fixed_order(epoch.out_salvos[-1].packets, [("o1", p1), ("orph", p4), ("orph", p5)])
    assert [(o.packet_id, o.from_port, o.salvo_condition) for o in epoch.orphaned_packets] == [
        (p4, "orph", "once"),
        (p5, "orph", "once"),
    ]
    assert net.get_packets_at_location(PacketLocation.outside_net()) == [p4, p5]
    with pytest.raises(MaxSalvosExceededError, match=f"^Max salvos exceeded for condition 'once' in epoch {e}$"):
        net.do_action(NetAction.send_output_salvo(e, "once"))


def request_graph():
    cfg = netrun_sim.DependencyRequestConfig(
        [netrun_sim.DependencyRequestTrigger.OnStartup, netrun_sim.DependencyRequestTrigger.OnNoSalvoTriggered], "L"
    )
    s1 = Node("S1", out_ports={"o": Port()})
    s2 = Node("S2", out_ports={"o": Port()})
    m = Node("M", in_ports={"a": Port(), "b": Port()}, out_ports={"o": Port()})
    t = Node("T", in_ports={"t": Port()}, dependency_request_config=cfg)
    mt = edge("M", "o", "T", "t")
    return Graph([s1, s2, m, t], [edge("S1", "o", "M", "a"), edge("S2", "o", "M", "b"), mt], [mt])


def test_requests_trace():
    net = NetSim(request_graph())
    progress, events = net.run_step()
    assert progress is True
    assert kinds(events) == [
        "RequestCreated",
        "RequestCascadeResolved",
        "EpochCreated",
        "RequestEpochCreated",
        "EpochCreated",
        "RequestEpochCreated",
    ]
    assert (events[0].node_name, events[0].label, events[0].request_source) == ("T", "L", "OnStartup")
    fixed_order(events[1].source_nodes, ["S1", "S2"])
    assert events[1].label == "L"
    fixed_order([(e.node_name, e.label) for e in events[3::2]], [("S1", "L"), ("S2", "L")])
    r1 = events[2].epoch_id
    assert events[3].epoch_id == r1
    epoch = net.get_epoch(r1)
    assert epoch.in_salvo.salvo_condition == "__request__" and epoch.in_salvo.packets == []

    net.do_action(NetAction.create_request("T", "X"))
    net.do_action(NetAction.create_request("T", "X"))
    _, events = net.run_step()
    assert kinds(events) == [
        "RequestCascadeResolved",
        "RequestCascadeResolved",
        "EpochCreated",
        "RequestEpochCreated",
        "EpochCreated",
        "RequestEpochCreated",
    ]
    fixed_order([e.node_name for e in events[3::2]], ["S1", "S2"])
