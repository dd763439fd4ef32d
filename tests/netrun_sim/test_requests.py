"""Dependency requests (new in 0.2.0): triggers, tokens, the backward cascade, merging,
and the non-atomic cascade error (reference sections 5.2 phase 2b/3, 5.3, 6.11, 6.12)."""

from __future__ import annotations

import pytest

import netrun_sim as ns
from netrun_sim import (
    DependencyRequestConfig,
    DependencyRequestTrigger as Trig,
    Edge,
    Graph,
    MaxSalvos,
    NetAction as A,
    NetSim,
    Node,
    PacketLocation as Loc,
    Port,
    PortRef,
    PortState,
    PortType,
    Salvo,
    SalvoCondition,
    SalvoConditionTerm as T,
)

NATIVE = not hasattr(NetSim, "snapshot")
OUT, IN = PortType.Output, PortType.Input


def edge(a, ap, b, bp):
    return Edge(PortRef(a, OUT, ap), PortRef(b, IN, bp))


def fixed_order(actual, expected):
    assert (sorted(actual) == sorted(expected)) if NATIVE else (actual == expected)


def kinds(events):
    return [e.kind for e in events]


def cfg(*triggers, label="L"):
    return DependencyRequestConfig(list(triggers), label)


def diamond(*triggers, t_conditions=None):
    """S1, S2 -> M(a, b) -> T(t), with M -> T a dependency edge; T has the request config."""
    s1, s2 = Node("S1", out_ports={"o": Port()}), Node("S2", out_ports={"o": Port()})
    m = Node("M", in_ports={"a": Port(), "b": Port()}, out_ports={"o": Port()})
    t = Node("T", in_ports={"t": Port()}, dependency_request_config=cfg(*triggers), in_salvo_conditions=t_conditions or {})
    mt = edge("M", "o", "T", "t")
    return Graph([s1, s2, m, t], [edge("S1", "o", "M", "a"), edge("S2", "o", "M", "b"), mt], [mt])


def test_on_startup_fires_once_on_the_first_step():
    net = NetSim(diamond(Trig.OnStartup))
    assert not net.is_blocked()  # startup requests pending
    progress, events = net.run_step()
    assert progress and kinds(events) == ["RequestCreated", "RequestCascadeResolved", "EpochCreated",
                                          "RequestEpochCreated", "EpochCreated", "RequestEpochCreated"]
    assert events[0].request_source == "OnStartup"
    fixed_order(events[1].source_nodes, ["S1", "S2"])
    for created, announced in ((events[2], events[3]), (events[4], events[5])):
        assert created.epoch_id == announced.epoch_id and announced.label == "L"
        epoch = net.get_epoch(created.epoch_id)
        assert epoch.node_name == announced.node_name and epoch.in_salvo.salvo_condition == "__request__"
        assert epoch.in_salvo.packets == [] and epoch.state == ns.EpochState.Startable
    assert net.is_blocked() and net.run_step() == (False, [])


def test_on_no_salvo_triggered_uses_a_token_replenished_by_finish_and_cancel():
    never = {"never": SalvoCondition(MaxSalvos.finite(1), "t", T.false_())}
    net = NetSim(diamond(Trig.OnNoSalvoTriggered, t_conditions=never))
    assert net.run_step() == (False, [])  # no packets at T: nothing to do
    pid = net.do_action(A.create_packet())[0].packet_id
    net.do_action(A.transport_packet_to_location(pid, Loc.input_port("T", "t")))
    _, events = net.run_step()
    assert kinds(events)[:2] == ["RequestCreated", "RequestCascadeResolved"]
    assert (events[0].node_name, events[0].label, events[0].request_source) == ("T", "L", "OnNoSalvoTriggered")
    sources = [e.epoch_id for e in events if e.kind == "EpochCreated"]
    assert net.run_step() == (False, [])  # token spent
    # finishing (or cancelling) any epoch of T replenishes the token
    t_epoch = net.do_action(A.create_epoch("T", Salvo("m", [])))[0].epoch.id
    net.do_action(A.start_epoch(t_epoch))
    net.do_action(A.finish_epoch(t_epoch))
    _, events = net.run_step()
    assert kinds(events)[0] == "RequestCreated"
    t_epoch = net.do_action(A.create_epoch("T", Salvo("m", [])))[0].epoch.id
    net.do_action(A.cancel_epoch(t_epoch))
    assert kinds(net.run_step()[1])[0] == "RequestCreated"
    assert len(sources) == 2


def test_requests_in_one_step_are_merged_per_source_and_label():
    net = NetSim(diamond())
    for label in ("X", "X", "Y"):
        net.do_action(A.create_request("T", label))
    _, events = net.run_step()
    assert kinds(events) == ["RequestCascadeResolved"] * 3 + ["EpochCreated", "RequestEpochCreated"] * 4
    fixed_order([(e.node_name, e.label) for e in events if e.kind == "RequestEpochCreated"],
                [("S1", "X"), ("S2", "X"), ("S1", "Y"), ("S2", "Y")])
    net.do_action(A.create_request("T", "X"))
    _, events = net.run_step()  # a later step is never merged with an earlier one
    assert kinds(events).count("RequestEpochCreated") == 2


def test_request_without_dependency_edges_is_dropped_silently():
    net = NetSim(diamond())
    net.do_action(A.create_request("M", "L"))
    assert not net.is_blocked()
    assert net.run_step() == (False, [])
    assert net.is_blocked()


def test_cascade_through_a_pure_cycle_finds_no_sources():
    a = Node("A", in_ports={"i": Port()}, out_ports={"o": Port()})
    b = Node("B", in_ports={"i": Port()}, out_ports={"o": Port(), "p": Port()})
    t = Node("T", in_ports={"t": Port()}, dependency_request_config=cfg())
    ab, ba, bt = edge("A", "o", "B", "i"), edge("B", "o", "A", "i"), edge("B", "p", "T", "t")
    net = NetSim(Graph([a, b, t], [ab, ba, bt], [bt]))
    net.do_action(A.create_request("T", "L"))
    progress, events = net.run_step()
    assert progress is False and kinds(events) == ["RequestCascadeResolved"] and events[0].source_nodes == []


def test_cascade_reaching_an_unconnected_port_fails_the_step_after_its_changes():
    s = Node("S", out_ports={"o": Port()})
    m = Node("M", in_ports={"a": Port(), "loose": Port()}, out_ports={"o": Port()})
    t = Node("T", in_ports={"t": Port()}, dependency_request_config=cfg(Trig.OnStartup))
    b = Node("B", in_ports={"i": Port()},
             in_salvo_conditions={"go": SalvoCondition(MaxSalvos.finite(1), "i", T.port("i", PortState.NonEmpty))})
    mt = edge("M", "o", "T", "t")
    net = NetSim(Graph([s, m, t, b], [edge("S", "o", "M", "a"), mt], [mt]))
    pid = net.do_action(A.create_packet())[0].packet_id
    net.do_action(A.transport_packet_to_location(pid, Loc.input_port("B", "i")))
    with pytest.raises(ns.RequestUnconnectedPortError) as info:
        net.run_step()
    assert str(info.value) == "Request cascade reached unconnected input port 'loose' on node 'M'"
    # phase 2 happened (B fired), the startup flag is set and the pending list is empty
    (eid,) = [str(u) for u in net.get_startable_epochs()]
    assert net.get_epoch(eid).node_name == "B" and net.packet_count_at(Loc.node(eid)) == 1
    assert net.is_blocked()
    if not NATIVE:  # the lost events are attached to the exception
        assert kinds(info.value.events) == ["InputSalvoTriggered", "EpochCreated", "PacketMoved", "RequestCreated"]
    net.do_action(A.create_request("T", "again"))
    with pytest.raises(ns.RequestUnconnectedPortError):
        net.do_action(A.run_step())
    assert net.run_until_blocked() == []  # errors are swallowed here


def test_request_epochs_are_ordinary_startable_epochs():
    net = NetSim(diamond(Trig.OnStartup))
    _, events = net.run_step()
    for eid in [e.epoch_id for e in events if e.kind == "EpochCreated"]:
        net.do_action(A.start_epoch(eid))
        net.do_action(A.finish_epoch(eid))
    assert net.get_startable_epochs() == []


def test_request_event_reprs():
    net = NetSim(diamond(Trig.OnStartup))
    _, events = net.run_step()
    ts = events[0].timestamp
    assert repr(events[0]) == f'NetEvent.RequestCreated(ts={ts}, node="T", label="L", source="OnStartup")'
    assert repr(events[1]).startswith(f"NetEvent.RequestCascadeResolved(ts={ts}, source_nodes=[")
    assert repr(events[3]) == (
        f"NetEvent.RequestEpochCreated(ts={ts}, epoch_id='{events[3].epoch_id}', "
        f'source_node="{events[3].node_name}", label="L")'
    )
