"""Every action: its checks in the published order with the exact messages, its events and
response, and (with this engine's snapshots) that a failing action changes nothing."""

from __future__ import annotations

import pytest

import netrun_sim as ns
from netrun_sim import (
    Edge,
    EpochState,
    Graph,
    MaxSalvos,
    NetAction as A,
    NetActionResponseData as R,
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

NATIVE = not hasattr(NetSim, "snapshot")
OUT, IN = PortType.Output, PortType.Input
AB = Edge(PortRef("A", OUT, "o"), PortRef("B", IN, "i"))
BAD_ID = "0" * 25 + "U"


def L(loc):
    edge = loc.get_edge()
    return (loc.kind, loc.node_name, loc.port_name, loc.epoch_id, None if edge is None else str(edge))


def build() -> NetSim:
    a = Node(
        "A",
        in_ports={"x": Port()},
        out_ports={"o": Port(), "u": Port(), "f": Port(PortSlotSpec.finite(1))},
        out_salvo_conditions={
            "send": SalvoCondition(MaxSalvos.Infinite, "o", T.port("o", PortState.NonEmpty)),
            "once": SalvoCondition(MaxSalvos.finite(1), [], T.true_()),
            "zero": SalvoCondition(MaxSalvos.finite(0), [], T.true_()),
            "never": SalvoCondition(MaxSalvos.Infinite, [], T.false_()),
            "both": SalvoCondition(MaxSalvos.Infinite, {"o": PacketCount.count(1), "u": PacketCount.All}, T.true_()),
        },
    )
    b = Node(
        "B",
        in_ports={"i": Port(), "c": Port(PortSlotSpec.finite(1)), "z": Port(PortSlotSpec.finite(0))},
        in_salvo_conditions={"go": SalvoCondition(MaxSalvos.finite(1), "i", T.port("i", PortState.NonEmpty))},
    )
    return NetSim(Graph([a, b], [AB]))


class World:
    """A net plus helpers that put packets and epochs where a test needs them."""

    def __init__(self) -> None:
        self.net = build()

    def do(self, action):
        return self.net.do_action(action)

    def packet(self, loc=None) -> str:
        pid = self.do(A.create_packet())[0].packet_id
        if loc is not None:
            self.do(A.transport_packet_to_location(pid, loc))
        return pid

    def epoch(self, node="A", start=True, packets=()) -> str:
        eid = self.do(A.create_epoch(node, Salvo("manual", list(packets))))[0].epoch.id
        if start:
            self.do(A.start_epoch(eid))
        return eid

    def inside(self, eid) -> str:
        return self.do(A.create_packet(eid))[0].packet_id

    def loaded(self, eid, port) -> str:
        pid = self.inside(eid)
        self.do(A.load_packet_into_output_port(pid, port))
        return pid

    def at(self, loc) -> list:
        return [str(u) for u in self.net.get_packets_at_location(loc)]


@pytest.fixture
def w() -> World:
    return World()


def fails(w: World, action, exc, message: str) -> None:
    """``action`` raises ``exc(message)`` and (checked with snapshots) changes nothing."""
    before = None if NATIVE else w.net.snapshot()
    with pytest.raises(exc) as info:
        w.do(action)
    assert type(info.value) is exc and str(info.value) == message
    if before is not None:
        assert w.net.snapshot() == before, "a failing action changed the state"


# ------------------------------------------------------------------------------ create_packet
def test_create_packet_outside_and_inside(w):
    resp, events = w.do(A.create_packet())
    assert isinstance(resp, R.Packet) and [e.kind for e in events] == ["PacketCreated"]
    assert events[0].packet_id == resp.packet_id and w.at(Loc.outside_net()) == [resp.packet_id]
    eid = w.epoch()
    pid = w.inside(eid)
    assert w.at(Loc.node(eid)) == [pid] and L(w.net.get_packet(pid).location) == L(Loc.node(eid))


def test_create_packet_checks(w):
    startable = w.epoch(start=False)
    fails(w, A.create_packet(BAD_ID[:-1] + "0"), ns.EpochNotFoundError, f"Epoch not found: {BAD_ID[:-1] + '0'}")
    fails(w, A.create_packet(startable), ns.EpochNotRunningError, f"Epoch not running: {startable}")
    with pytest.raises(ValueError, match="^Invalid ULID: invalid character$"):
        w.do(A.create_packet(BAD_ID))


# ------------------------------------------------------------------------ consume / destroy
@pytest.mark.parametrize("op, kind", [(A.consume_packet, "PacketConsumed"), (A.destroy_packet, "PacketDestroyed")])
def test_consume_and_destroy_work_from_anywhere(w, op, kind):
    eid = w.epoch()
    places = [Loc.outside_net(), Loc.edge(AB), Loc.input_port("B", "i")]
    pids = [w.packet(loc) for loc in places] + [w.inside(eid), w.loaded(eid, "o")]
    places += [Loc.node(eid), Loc.output_port(eid, "o")]
    for pid, loc in zip(pids, places):
        resp, events = w.do(op(pid))
        assert isinstance(resp, R.Empty)
        assert [(e.kind, e.packet_id, L(e.location)) for e in events] == [(kind, pid, L(loc))]
        assert w.net.get_packet(pid) is None and w.net.packet_count_at(loc) == 0
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    fails(w, op(missing), ns.PacketNotFoundError, f"Packet not found: {missing}")
    with pytest.raises(ValueError, match="^Invalid ULID: invalid length$"):
        w.do(op(12345))


# ---------------------------------------------------------------------- start / finish / cancel
def test_start_epoch(w):
    eid = w.epoch(start=False)
    assert [str(u) for u in w.net.get_startable_epochs()] == [eid]
    resp, events = w.do(A.start_epoch(eid.lower()))
    assert isinstance(resp, R.StartedEpoch) and resp.epoch.state == EpochState.Running and resp.epoch.id == eid
    assert [(e.kind, e.epoch_id) for e in events] == [("EpochStarted", eid)]
    assert w.net.get_startable_epochs() == []
    fails(w, A.start_epoch(eid), ns.EpochNotStartableError, f"Epoch not startable: {eid}")
    gone = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    fails(w, A.start_epoch(gone), ns.EpochNotFoundError, f"Epoch not found: {gone}")


def test_finish_epoch_checks_in_order(w):
    gone = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    fails(w, A.finish_epoch(gone), ns.EpochNotFoundError, f"Epoch not found: {gone}")
    startable = w.epoch(start=False)
    fails(w, A.finish_epoch(startable), ns.EpochNotRunningError, f"Epoch not running: {startable}")
    eid = w.epoch()
    inside = w.inside(eid)
    w.loaded(eid, "f")
    fails(w, A.finish_epoch(eid), ns.CannotFinishNonEmptyEpochError, f"Cannot finish epoch with packets remaining: {eid}")
    w.do(A.consume_packet(inside))
    w.loaded(eid, "u")
    first = "u" if not NATIVE else None  # ⟂ in the published engine: the first non-empty port
    with pytest.raises(ns.UnsentOutputSalvoError) as info:
        w.do(A.finish_epoch(eid))
    if first:
        assert str(info.value) == f"Cannot finish epoch {eid}: output port 'u' has unsent packets"
    else:
        assert str(info.value) in {f"Cannot finish epoch {eid}: output port '{p}' has unsent packets" for p in "uf"}


def test_finish_epoch_effects(w):
    eid = w.epoch()
    w.loaded(eid, "o")
    w.do(A.send_output_salvo(eid, "send"))
    resp, events = w.do(A.finish_epoch(eid))
    assert isinstance(resp, R.FinishedEpoch) and resp.epoch.state == EpochState.Finished
    (ev,) = events
    assert ev.kind == "EpochFinished" and ev.epoch_id == eid and ev.epoch.state == EpochState.Running
    assert [s.salvo_condition for s in ev.epoch.out_salvos] == ["send"] == [s.salvo_condition for s in resp.epoch.out_salvos]
    assert w.net.get_epoch(eid) is None and w.net.packet_count_at(Loc.node(eid)) == 0
    assert w.net.packet_count_at(Loc.edge(AB)) == 1  # what it sent stays
    fails(w, A.finish_epoch(eid), ns.EpochNotFoundError, f"Epoch not found: {eid}")


def test_cancel_epoch_destroys_node_then_output_packets(w):
    eid = w.epoch()
    o1, o2 = w.loaded(eid, "o"), w.loaded(eid, "o")
    u1 = w.loaded(eid, "u")
    n1, n2 = w.inside(eid), w.inside(eid)
    resp, events = w.do(A.cancel_epoch(eid))
    expected = [(n1, Loc.node(eid)), (n2, Loc.node(eid)), (o1, Loc.output_port(eid, "o")),
                (o2, Loc.output_port(eid, "o")), (u1, Loc.output_port(eid, "u"))]
    got = [(e.packet_id, L(e.location)) for e in events[:-1]]
    assert all(e.kind == "PacketDestroyed" for e in events[:-1])
    if NATIVE:
        assert sorted(got) == sorted((p, L(loc)) for p, loc in expected) and got[:2] == [(n1, L(Loc.node(eid))), (n2, L(Loc.node(eid)))]
    else:
        assert got == [(p, L(loc)) for p, loc in expected]
    assert events[-1].kind == "EpochCancelled" and events[-1].epoch.state == EpochState.Running
    assert isinstance(resp, R.CancelledEpoch) and resp.destroyed_packets == [e.packet_id for e in events[:-1]]
    assert resp.epoch.id == eid and w.net.get_epoch(eid) is None
    for pid in (o1, u1, n1):
        assert w.net.get_packet(pid) is None


def test_cancel_startable_epoch_keeps_its_state_and_destroys_inputs(w):
    pid = w.packet(Loc.input_port("B", "i"))
    eid = w.epoch("B", start=False, packets=[("i", pid)])
    resp, events = w.do(A.cancel_epoch(eid))
    assert resp.epoch.state == EpochState.Startable and [e.kind for e in events] == ["PacketDestroyed", "EpochCancelled"]
    assert w.net.get_startable_epochs() == [] and w.net.packet_count_at(Loc.input_port("B", "i")) == 0
    fails(w, A.cancel_epoch(eid), ns.EpochNotFoundError, f"Epoch not found: {eid}")


# ------------------------------------------------------------------------------ create_epoch
def test_create_epoch_moves_the_salvo_packets(w):
    i0, i1, i2 = (w.packet(Loc.input_port("B", "i")) for _ in range(3))
    c0 = w.packet(Loc.input_port("B", "c"))
    resp, events = w.do(A.create_epoch("B", Salvo("manual", [("i", i1.lower()), ("c", c0), ("i", i2)])))
    assert isinstance(resp, R.CreatedEpoch)
    epoch = resp.epoch
    assert epoch.state == EpochState.Startable and epoch.node_name == "B"
    assert epoch.in_salvo.salvo_condition == "manual" and epoch.in_salvo.packets == [("i", i1), ("c", c0), ("i", i2)]
    assert [e.kind for e in events] == ["EpochCreated", "PacketMoved", "PacketMoved", "PacketMoved"]
    assert events[0].epoch_id == epoch.id
    assert [(e.packet_id, e.from_index) for e in events[1:]] == [(i1, 1), (c0, 0), (i2, 1)]
    assert w.at(Loc.node(epoch.id)) == [i1, c0, i2] and w.at(Loc.input_port("B", "i")) == [i0]


def test_create_epoch_with_empty_salvo_on_any_node(w):
    for node in ("A", "B"):
        resp, events = w.do(A.create_epoch(node, Salvo("whatever", [])))
        assert [e.kind for e in events] == ["EpochCreated"] and resp.epoch.in_salvo.packets == []


def test_create_epoch_checks_each_item_in_order(w):
    at_i = w.packet(Loc.input_port("B", "i"))
    outside = w.packet()
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    fails(w, A.create_epoch("Q", Salvo("m", [("nope", missing)])), ns.NodeNotFoundError, "Node not found: Q")
    fails(w, A.create_epoch("B", Salvo("m", [("i", at_i), ("nope", missing)])), ns.InputPortNotFoundError,
          "Input port 'nope' not found on node B")
    fails(w, A.create_epoch("B", Salvo("m", [("i", missing), ("nope", at_i)])), ns.PacketNotFoundError,
          f"Packet not found: {missing}")
    fails(w, A.create_epoch("B", Salvo("m", [("c", at_i)])), ns.PacketNotAtInputPortError,
          f"Packet {at_i} not at input port 'c' on node 'B'")
    fails(w, A.create_epoch("B", Salvo("m", [("i", outside)])), ns.PacketNotAtInputPortError,
          f"Packet {outside} not at input port 'i' on node 'B'")
    with pytest.raises(ValueError, match="^Invalid ULID: invalid length$"):  # IDs are parsed before any check
        w.do(A.create_epoch("Q", Salvo("m", [("i", "short")])))


@pytest.mark.skipif(NATIVE, reason="the published engine panics after a partial change (§11.5)")
def test_create_epoch_with_a_packet_twice_is_refused_without_change(w):
    pid = w.packet(Loc.input_port("B", "i"))
    fails(w, A.create_epoch("B", Salvo("m", [("i", pid), ("i", pid)])), ns.PacketNotAtInputPortError,
          f"Packet {pid} not at input port 'i' on node 'B'")


# ------------------------------------------------------------------------------------- load
def test_load_checks_in_order(w):
    eid = w.epoch()
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    fails(w, A.load_packet_into_output_port(missing, "o"), ns.PacketNotFoundError, f"Packet not found: {missing}")
    outside = w.packet()
    fails(w, A.load_packet_into_output_port(outside, "o"), ns.PacketNotInAnyNodeError,
          f"Packet {outside} is not inside any epoch")
    in_port = w.loaded(eid, "o")
    fails(w, A.load_packet_into_output_port(in_port, "u"), ns.PacketNotInAnyNodeError,
          f"Packet {in_port} is not inside any epoch")
    pid = w.inside(eid)
    fails(w, A.load_packet_into_output_port(pid, "nope"), ns.OutputPortNotFoundError,
          f"Output port 'nope' not found in epoch {eid}")
    w.loaded(eid, "f")
    fails(w, A.load_packet_into_output_port(pid, "f"), ns.OutputPortFullError, f"Output port 'f' is full in epoch {eid}")


def test_load_reports_the_position_and_works_in_startable_epochs(w):
    eid = w.epoch()
    p0, p1, p2 = w.inside(eid), w.inside(eid), w.inside(eid)
    resp, events = w.do(A.load_packet_into_output_port(p1, "u"))
    assert isinstance(resp, R.Empty)
    (ev,) = events
    assert (ev.kind, ev.packet_id, L(ev.from_location), L(ev.to_location), ev.from_index) == (
        "PacketMoved", p1, L(Loc.node(eid)), L(Loc.output_port(eid, "u")), 1)
    assert w.at(Loc.node(eid)) == [p0, p2]
    startable = w.epoch(start=False)
    pid = w.packet(Loc.node(startable))
    w.do(A.load_packet_into_output_port(pid, "o"))
    assert w.at(Loc.output_port(startable, "o")) == [pid]


# ------------------------------------------------------------------------------------- send
def test_send_checks_in_order(w):
    gone = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    fails(w, A.send_output_salvo(gone, "send"), ns.EpochNotFoundError, f"Epoch not found: {gone}")
    eid = w.epoch()
    fails(w, A.send_output_salvo(eid, "nope"), ns.SalvoConditionNotFoundError,
          f"Salvo condition 'nope' not found for epoch {eid}")
    fails(w, A.send_output_salvo(eid, "zero"), ns.MaxSalvosExceededError,
          f"Max salvos exceeded for condition 'zero' in epoch {eid}")
    fails(w, A.send_output_salvo(eid, "send"), ns.SalvoConditionNotMetError, f"Salvo condition 'send' not met for epoch {eid}")
    fails(w, A.send_output_salvo(eid, "never"), ns.SalvoConditionNotMetError, f"Salvo condition 'never' not met for epoch {eid}")
    _, events = w.do(A.send_output_salvo(eid, "once"))
    assert [e.kind for e in events] == ["OutputSalvoTriggered"]
    assert w.net.get_epoch(eid).out_salvos[0].packets == []  # an empty salvo is still recorded
    fails(w, A.send_output_salvo(eid, "once"), ns.MaxSalvosExceededError,
          f"Max salvos exceeded for condition 'once' in epoch {eid}")


def test_send_moves_connected_and_orphans_unconnected(w):
    eid = w.epoch(start=False)  # the state is not checked
    o0, o1 = w.packet(Loc.output_port(eid, "o")), w.packet(Loc.output_port(eid, "o"))
    u0, u1 = w.packet(Loc.output_port(eid, "u")), w.packet(Loc.output_port(eid, "u"))
    _, events = w.do(A.send_output_salvo(eid, "both"))
    assert events[-1].kind == "OutputSalvoTriggered" and events[-1].salvo_condition == "both" and events[-1].epoch_id == eid
    moved = [e for e in events if e.kind == "PacketMoved"]
    orphaned = [e for e in events if e.kind == "PacketOrphaned"]
    assert [(e.packet_id, L(e.from_location), L(e.to_location), e.from_index) for e in moved] == [
        (o0, L(Loc.output_port(eid, "o")), L(Loc.edge(AB)), 0)]
    assert [(e.packet_id, e.epoch_id, e.node_name, e.orphaned_port_name, e.salvo_condition) for e in orphaned] == [
        (u0, eid, "A", "u", "both"), (u1, eid, "A", "u", "both")]
    assert w.at(Loc.output_port(eid, "o")) == [o1] and w.at(Loc.edge(AB)) == [o0]
    assert w.at(Loc.outside_net()) == [u0, u1]
    epoch = w.net.get_epoch(eid)
    assert sorted(epoch.out_salvos[0].packets) == sorted([("o", o0), ("u", u0), ("u", u1)])
    assert [(o.packet_id, o.from_port, o.salvo_condition) for o in epoch.orphaned_packets] == [
        (u0, "u", "both"), (u1, "u", "both")]
    assert repr(epoch.orphaned_packets[0]) == f'OrphanedPacketInfo(packet_id=\'{u0}\', from_port="u", salvo_condition="both")'


# -------------------------------------------------------------------------------- transport
def test_transport_source_and_destination_checks(w):
    missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    fails(w, A.transport_packet_to_location(missing, Loc.outside_net()), ns.PacketNotFoundError, f"Packet not found: {missing}")
    running = w.epoch()
    startable = w.epoch(start=False)
    inside = w.inside(running)
    loaded = w.loaded(running, "o")
    for pid in (inside, loaded):
        fails(w, A.transport_packet_to_location(pid, Loc.outside_net()), ns.CannotMovePacketFromRunningEpochError,
              f"Cannot move packet {pid} from running epoch {running}")
    p = w.packet()
    fails(w, A.transport_packet_to_location(p, Loc.node(missing)), ns.EpochNotFoundError, f"Epoch not found: {missing}")
    fails(w, A.transport_packet_to_location(p, Loc.node(running)), ns.CannotMovePacketIntoRunningEpochError,
          f"Cannot move packet {p} into running epoch {running}")
    fails(w, A.transport_packet_to_location(p, Loc.output_port(missing, "o")), ns.EpochNotFoundError,
          f"Epoch not found: {missing}")
    fails(w, A.transport_packet_to_location(p, Loc.output_port(running, "o")), ns.CannotMovePacketIntoRunningEpochError,
          f"Cannot move packet {p} into running epoch {running}")
    fails(w, A.transport_packet_to_location(p, Loc.output_port(startable, "nope")), ns.OutputPortNotFoundError,
          f"Output port 'nope' not found in epoch {startable}")
    fails(w, A.transport_packet_to_location(p, Loc.input_port("Q", "i")), ns.NodeNotFoundError, "Node not found: Q")
    fails(w, A.transport_packet_to_location(p, Loc.input_port("B", "nope")), ns.InputPortNotFoundError,
          "Input port 'nope' not found on node B")
    fails(w, A.transport_packet_to_location(p, Loc.input_port("B", "z")), ns.InputPortFullError,
          "Input port 'z' is full on node B")
    w.packet(Loc.input_port("B", "c"))
    fails(w, A.transport_packet_to_location(p, Loc.input_port("B", "c")), ns.InputPortFullError,
          "Input port 'c' is full on node B")
    ghost = Edge(PortRef("B", OUT, "o"), PortRef("A", IN, "x"))
    fails(w, A.transport_packet_to_location(p, Loc.edge(ghost)), ns.EdgeNotFoundError, "Edge not found: B.out.o -> A.in.x")


def test_transport_into_and_out_of_startable_epochs_without_capacity_checks(w):
    eid = w.epoch(start=False)
    a, b = w.packet(Loc.output_port(eid, "f")), w.packet(Loc.output_port(eid, "f"))  # capacity 1, not checked
    assert w.at(Loc.output_port(eid, "f")) == [a, b]
    _, events = w.do(A.transport_packet_to_location(a, Loc.node(eid)))
    assert L(events[0].from_location) == L(Loc.output_port(eid, "f")) and events[0].from_index == 0
    w.do(A.transport_packet_to_location(a, Loc.outside_net()))
    assert w.at(Loc.outside_net())[-1] == a


def test_transport_to_the_same_location_moves_to_the_back(w):
    p0, p1, p2 = (w.packet(Loc.edge(AB)) for _ in range(3))
    _, events = w.do(A.transport_packet_to_location(p1, Loc.edge(AB)))
    (ev,) = events
    assert L(ev.from_location) == L(ev.to_location) == L(Loc.edge(AB)) and ev.from_index == 1
    assert w.at(Loc.edge(AB)) == [p0, p2, p1]


def test_transport_reports_from_index_at_the_back_of_a_long_location(w):
    pids = [w.packet() for _ in range(50)]
    _, events = w.do(A.transport_packet_to_location(pids[-1], Loc.edge(AB)))
    assert events[0].from_index == 49
    _, events = w.do(A.transport_packet_to_location(pids[20], Loc.edge(AB)))
    assert events[0].from_index == 20


# ---------------------------------------------------------------------------------- requests
def test_create_request(w):
    fails(w, A.create_request("Q", "l"), ns.RequestNodeNotFoundError, "Request targets non-existent node 'Q'")
    assert w.net.is_blocked()
    resp, events = w.do(A.create_request("B", "l"))
    assert isinstance(resp, R.Empty)
    assert [(e.kind, e.node_name, e.label, e.request_source) for e in events] == [("RequestCreated", "B", "l", "External")]
    assert not w.net.is_blocked()
    # B has no dependency edge: the request is dropped silently by the next step
    assert w.net.run_step() == (False, [])
    assert w.net.is_blocked()


# ------------------------------------------------------------------------------- event fields
def test_event_properties_that_do_not_apply_are_none(w):
    _, events = w.do(A.create_packet())
    ev = events[0]
    for name in ("epoch_id", "epoch", "from_location", "to_location", "from_index", "location", "salvo_condition",
                 "node_name", "label", "source_nodes", "request_source", "orphaned_port_name"):
        assert getattr(ev, name) is None, name
    assert isinstance(ev.timestamp, int) and ev.timestamp > 1_600_000_000_000  # milliseconds
    assert repr(ev) == f"NetEvent.PacketCreated(ts={ev.timestamp}, packet_id='{ev.packet_id}')"
    with pytest.raises(AttributeError):
        ev.packet_id = "x"
