"""Extensions for runtimes: full state snapshots (JSON-able, exact restore) and the
to_dict/from_dict forms of actions and events (persisted undo logs)."""

from __future__ import annotations

import json

import pytest

import netrun_sim as ns
from netrun_sim import (
    DependencyRequestConfig,
    DependencyRequestTrigger as Trig,
    Edge,
    Graph,
    MaxSalvos,
    NetAction as A,
    NetEvent,
    NetSim,
    Node,
    PacketCount,
    PacketLocation as Loc,
    Port,
    PortRef,
    PortSlotSpec,
    PortState,
    PortType,
    Salvo,
    SalvoCondition,
    SalvoConditionTerm as T,
)

pytestmark = pytest.mark.skipif(not hasattr(NetSim, "snapshot"), reason="extension of this engine")

OUT, IN = PortType.Output, PortType.Input
AB = Edge(PortRef("A", OUT, "o"), PortRef("B", IN, "i"))
SB = Edge(PortRef("S", OUT, "o"), PortRef("B", IN, "d"))


def graph() -> Graph:
    a = Node("A", out_ports={"o": Port(), "u": Port()},
             out_salvo_conditions={"send": SalvoCondition(MaxSalvos.finite(3), ["o", "u"], T.true_())})
    b = Node("B", in_ports={"i": Port(PortSlotSpec.finite(5)), "d": Port()},
             in_salvo_conditions={"go": SalvoCondition(MaxSalvos.finite(1), {"i": PacketCount.count(2)},
                                                       T.port("i", PortState.equals_or_greater_than(2)))},
             dependency_request_config=DependencyRequestConfig([Trig.OnStartup, Trig.OnNoSalvoTriggered], "L"))
    s = Node("S", out_ports={"o": Port()})
    return Graph([a, b, s], [AB, SB], [SB])


def busy_net() -> NetSim:
    net = NetSim(graph())
    do = net.do_action
    pids = [do(A.create_packet())[0].packet_id for _ in range(6)]
    for pid in pids[:3]:
        do(A.transport_packet_to_location(pid, Loc.edge(AB)))
    do(A.transport_packet_to_location(pids[3], Loc.input_port("B", "i")))
    net.run_step()  # startup request, a move, B fires on 2 packets
    e = do(A.create_epoch("A", Salvo("m", [])))[0].epoch.id
    do(A.start_epoch(e))
    for port in ("o", "u", "u"):
        q = do(A.create_packet(e))[0].packet_id
        do(A.load_packet_into_output_port(q, port))
    do(A.send_output_salvo(e, "send"))
    do(A.create_packet(e))
    do(A.create_epoch("A", Salvo("waiting", [])))
    do(A.create_request("B", "ext"))
    return net


def test_snapshot_is_json_and_restores_exactly():
    net = busy_net()
    data = net.snapshot()
    text = json.dumps(data)
    assert data["format"] == "netrun_sim.snapshot" and data["version"] == 1
    restored = NetSim.from_snapshot(net.graph, json.loads(text))
    assert restored.snapshot() == data
    assert NetSim.restore(net.graph, data).snapshot() == data
    for loc in (Loc.outside_net(), Loc.edge(AB), Loc.edge(SB), Loc.input_port("B", "i"), Loc.input_port("B", "d")):
        assert restored.get_packets_at_location(loc) == net.get_packets_at_location(loc)
    assert restored.get_startable_epochs() == net.get_startable_epochs()
    for eid in net.get_startable_epochs():
        a, b = net.get_epoch(eid), restored.get_epoch(eid)
        assert (repr(a), a.in_salvo.packets, repr(b.out_salvos)) == (repr(b), b.in_salvo.packets, repr(a.out_salvos))
    assert restored.is_blocked() == net.is_blocked()


def test_restored_net_behaves_identically():
    net = busy_net()
    twin = NetSim.from_snapshot(net.graph, net.snapshot())

    def shape(events):
        return [(e.kind, e.packet_id, e.from_index, e.salvo_condition, e.request_source, e.source_nodes) for e in events]

    for _ in range(4):
        a, b = net.run_step(), twin.run_step()
        assert a[0] == b[0] and shape(a[1]) == shape(b[1])
    assert shape(net.run_until_blocked()) == shape(twin.run_until_blocked())
    # new epochs get new random IDs; everything else matches
    assert len(net.get_startable_epochs()) == len(twin.get_startable_epochs())
    for loc in (Loc.outside_net(), Loc.edge(AB), Loc.input_port("B", "i"), Loc.input_port("B", "d")):
        assert net.get_packets_at_location(loc) == twin.get_packets_at_location(loc)


def test_snapshot_of_a_fresh_net_and_after_startup():
    net = NetSim(graph())
    fresh = net.snapshot()
    assert fresh["startup_requests_sent"] is False and fresh["request_tokens"] == {"B": True}
    assert fresh["epochs"] == [] and fresh["locations"] == [] and fresh["pending_requests"] == []
    net.run_step()
    assert net.snapshot()["startup_requests_sent"] is True


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: "nope", "not a netrun_sim snapshot"),
        (lambda d: {**d, "format": "x"}, "not a netrun_sim snapshot"),
        (lambda d: {**d, "version": 99}, "unsupported snapshot version 99; this engine reads version 1"),
        (lambda d: {**d, "graph": {**d["graph"], "edges": []}}, "the snapshot was taken on a different graph"),
        (lambda d: {**d, "startable": []}, "'startable' does not list exactly the Startable epochs"),
        (lambda d: {**d, "locations": d["locations"] + d["locations"][:1]}, "appears twice"),
        (lambda d: {**d, "locations": [[["I", "B", "zz"], []]]}, "does not exist in this net"),
        (lambda d: {**d, "request_tokens": {}}, "'request_tokens' must map each OnNoSalvoTriggered node"),
        (lambda d: {**d, "startup_requests_sent": "yes"}, "'startup_requests_sent' must be a bool"),
        (lambda d: {k: v for k, v in d.items() if k != "epochs"}, "malformed snapshot"),
        (lambda d: {**d, "pending_requests": [["Q", "l"]]}, "pending request"),
    ],
)
def test_bad_snapshots_are_refused(mutate, message):
    net = busy_net()
    with pytest.raises(ns.errors.SnapshotError) as info:
        NetSim.from_snapshot(net.graph, mutate(net.snapshot()))
    assert message in str(info.value)
    assert isinstance(info.value, ns.NetrunError) and isinstance(info.value, ValueError)


def test_snapshot_needs_the_same_graph():
    net = busy_net()
    other = Graph([Node("A")], [])
    with pytest.raises(ns.errors.SnapshotError, match="different graph"):
        NetSim.from_snapshot(other, net.snapshot())


def every_action(e: str, p: str) -> list:
    return [
        A.run_step(), A.create_packet(), A.create_packet(e), A.consume_packet(p), A.destroy_packet(p),
        A.start_epoch(e), A.finish_epoch(e), A.cancel_epoch(e), A.create_epoch("B", Salvo("m", [("i", p)])),
        A.load_packet_into_output_port(p, "o"), A.send_output_salvo(e, "send"),
        A.transport_packet_to_location(p, Loc.edge(AB)), A.transport_packet_to_location(p, Loc.output_port(e, "u")),
        A.transport_packet_to_location(p, Loc.outside_net()), A.create_request("B", "l"),
        A.run_net_until_blocked(), A.create_and_start_epoch("A", Salvo("m", [])),
    ]


def test_actions_round_trip_through_dicts():
    e, p = "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01BX5ZZKBKACTAV9WEVGEMMVRZ"
    for action in every_action(e, p):
        data = json.loads(json.dumps(action.to_dict()))
        again = A.from_dict(data)
        assert repr(again) == repr(action) and again.to_dict() == data
    assert A.create_epoch("B", Salvo("m", [("i", p)])).to_dict() == {
        "action": "create_epoch", "node_name": "B", "salvo": {"salvo_condition": "m", "packets": [["i", p]]}}
    with pytest.raises(ValueError, match="not a NetAction dict"):
        A.from_dict({"action": "explode"})
    with pytest.raises(ValueError, match="lacks the field 'packet_id'"):
        A.from_dict({"action": "consume_packet"})


def test_events_round_trip_and_drive_undo():
    net = busy_net()
    log = []
    for action in (A.run_step(), A.create_request("B", "x"), A.run_step()):
        _, events = net.do_action(action)
        log.append((action.to_dict(), [ev.to_dict() for ev in events]))
    e = [str(u) for u in net.get_startable_epochs()][-1]
    for action in (A.cancel_epoch(e),):
        _, events = net.do_action(action)
        log.append((action.to_dict(), [ev.to_dict() for ev in events]))
    stored = json.loads(json.dumps(log))
    kinds = {ev["kind"] for _, evs in stored for ev in evs}
    assert {"PacketMoved", "InputSalvoTriggered", "EpochCreated", "RequestCreated", "EpochCancelled"} <= kinds
    for action_data, event_data in stored:
        for raw in event_data:
            ev = NetEvent.from_dict(raw)
            assert ev.to_dict() == raw and isinstance(ev, NetEvent)
    before_cancel = None
    for action_data, event_data in reversed(stored):
        net.undo_action(A.from_dict(action_data), [NetEvent.from_dict(x) for x in event_data])
        if before_cancel is None:
            before_cancel = net.get_epoch(e)
            assert before_cancel is not None
    with pytest.raises(ValueError, match="not a NetEvent dict"):
        NetEvent.from_dict({"kind": "Nope"})
    with pytest.raises(ValueError, match="malformed PacketMoved event dict"):
        NetEvent.from_dict({"kind": "PacketMoved", "timestamp": 1})


def test_every_event_kind_round_trips():
    net = NetSim(graph())
    seen = {}
    e = net.do_action(A.create_epoch("A", Salvo("m", [])))[0].epoch.id
    actions = [A.run_step(), A.start_epoch(e), A.create_packet(e), A.create_packet(e), A.create_packet(e)]
    for action in actions:
        for ev in net.do_action(action)[1]:
            seen.setdefault(ev.kind, ev)
    inside = [str(u) for u in net.get_packets_at_location(Loc.node(e))]
    for pid, port in zip(inside, ("o", "u")):
        for ev in net.do_action(A.load_packet_into_output_port(pid, port))[1]:
            seen.setdefault(ev.kind, ev)
    for action in (A.send_output_salvo(e, "send"), A.consume_packet(inside[2]), A.finish_epoch(e)):
        for ev in net.do_action(action)[1]:
            seen.setdefault(ev.kind, ev)
    e2 = net.do_action(A.create_epoch("A", Salvo("m", [])))[0].epoch.id
    outside = net.do_action(A.create_packet())[0].packet_id
    for action in (A.transport_packet_to_location(outside, Loc.node(e2)), A.cancel_epoch(e2)):
        for ev in net.do_action(action)[1]:
            seen.setdefault(ev.kind, ev)
    pid = net.do_action(A.create_packet())[0].packet_id
    seen.setdefault("PacketDestroyed", net.do_action(A.destroy_packet(pid))[1][0])
    for _ in range(2):
        pid = net.do_action(A.create_packet())[0].packet_id
        net.do_action(A.transport_packet_to_location(pid, Loc.input_port("B", "i")))
    for ev in net.run_step()[1]:
        seen.setdefault(ev.kind, ev)
    assert set(seen) == set(ns.events.EVENT_CLASSES)
    for ev in seen.values():
        again = NetEvent.from_dict(json.loads(json.dumps(ev.to_dict())))
        assert repr(again) == repr(ev) and type(again) is type(ev)


def test_nets_actions_and_events_pickle_and_deepcopy():
    import copy
    import pickle

    net = busy_net()
    data = net.snapshot()
    assert pickle.loads(pickle.dumps(net)).snapshot() == data
    assert copy.deepcopy(net).snapshot() == data
    action = A.create_epoch("B", Salvo("m", []))
    assert repr(pickle.loads(pickle.dumps(action))) == repr(action)
    _, events = net.run_step()
    assert [repr(e) for e in pickle.loads(pickle.dumps(events))] == [repr(e) for e in events]
    g = pickle.loads(pickle.dumps(net.graph))
    assert repr(g) == repr(net.graph) and g.validate() == []
