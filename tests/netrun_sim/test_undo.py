"""undo_action: every action kind, the published order quirks (reversed recreation orders),
the error messages, and this engine's atomic, panic-free failures (reference §9, §11.6)."""

from __future__ import annotations

import pytest

import netrun_sim as ns
from netrun_sim import (
    DependencyRequestConfig,
    DependencyRequestTrigger as Trig,
    Edge,
    EpochState,
    Graph,
    MaxSalvos,
    NetAction as A,
    NetSim,
    Node,
    PacketCount,
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
extension = pytest.mark.skipif(NATIVE, reason="the published engine panics or leaves partial state (§11.6)")
OUT, IN = PortType.Output, PortType.Input
AB = Edge(PortRef("A", OUT, "o"), PortRef("B", IN, "i"))
MT = Edge(PortRef("M", OUT, "o"), PortRef("B", IN, "d"))


def build() -> NetSim:
    a = Node(
        "A",
        out_ports={"o": Port(), "u": Port()},
        out_salvo_conditions={
            "send": SalvoCondition(MaxSalvos.Infinite, {"o": PacketCount.All, "u": PacketCount.All}, T.true_()),
        },
    )
    b = Node(
        "B",
        in_ports={"i": Port(), "d": Port()},
        in_salvo_conditions={"go": SalvoCondition(MaxSalvos.finite(1), "i", T.port("i", PortState.NonEmpty))},
        dependency_request_config=DependencyRequestConfig([Trig.OnNoSalvoTriggered], "L"),
    )
    m = Node("M", out_ports={"o": Port()})
    return NetSim(Graph([a, b, m], [AB, MT], [MT]))


class W:
    def __init__(self) -> None:
        self.net = build()
        self.epochs: list[str] = []

    def do(self, action):
        return self.net.do_action(action)

    def packet(self, loc=None) -> str:
        pid = self.do(A.create_packet())[0].packet_id
        if loc is not None:
            self.do(A.transport_packet_to_location(pid, loc))
        return pid

    def epoch(self, node="A", start=True) -> str:
        eid = self.do(A.create_epoch(node, Salvo("m", [])))[0].epoch.id
        self.epochs.append(eid)
        if start:
            self.do(A.start_epoch(eid))
        return eid

    def at(self, loc) -> list:
        return [str(u) for u in self.net.get_packets_at_location(loc)]

    def dump(self) -> dict:
        """The observable state through queries (works on both engines)."""
        net = self.net
        locs = [Loc.outside_net(), Loc.edge(AB), Loc.edge(MT), Loc.input_port("B", "i"), Loc.input_port("B", "d")]
        for eid in self.epochs:
            locs += [Loc.node(eid), Loc.output_port(eid, "o"), Loc.output_port(eid, "u")]
        epochs = {}
        for eid in self.epochs:
            e = net.get_epoch(eid)
            epochs[eid] = None if e is None else (
                e.node_name, int(e.state), e.in_salvo.packets, [(s.salvo_condition, s.packets) for s in e.out_salvos],
                [(o.packet_id, o.from_port, o.salvo_condition) for o in e.orphaned_packets])
        return {"locs": [(repr(loc), self.at(loc)) for loc in locs], "epochs": epochs,
                "startable": sorted(str(u) for u in net.get_startable_epochs()), "blocked": net.is_blocked()}

    def roundtrip(self, action):
        """Apply ``action``, undo it, and check the observable state came back."""
        before = self.dump()
        _, events = self.do(action)
        self.net.undo_action(action, events)
        assert self.dump() == before
        return events


@pytest.fixture
def w() -> W:
    return W()


def test_undo_restores_moves_exactly(w):
    eid = w.epoch(start=False)
    pids = [w.packet(Loc.edge(AB)) for _ in range(3)]
    w.roundtrip(A.transport_packet_to_location(pids[1], Loc.outside_net()))
    w.roundtrip(A.transport_packet_to_location(pids[0], Loc.edge(AB)))  # to the back of the same location
    w.roundtrip(A.transport_packet_to_location(pids[2], Loc.node(eid)))
    w.roundtrip(A.create_packet())
    w.roundtrip(A.run_step())
    assert w.at(Loc.edge(AB)) == pids


def test_undo_of_epoch_actions(w):
    eid = w.epoch(start=False)
    w.roundtrip(A.start_epoch(eid))
    w.do(A.start_epoch(eid))
    inside = [w.do(A.create_packet(eid))[0].packet_id for _ in range(3)]
    w.roundtrip(A.create_packet(eid))
    w.roundtrip(A.load_packet_into_output_port(inside[1], "o"))
    w.roundtrip(A.create_epoch("A", Salvo("again", [])))
    for pid in inside:
        w.do(A.load_packet_into_output_port(pid, "o"))
    events = w.roundtrip(A.send_output_salvo(eid, "send"))  # connected: order restored through from_index
    assert [e.kind for e in events] == ["PacketMoved"] * 3 + ["OutputSalvoTriggered"]
    w.do(A.send_output_salvo(eid, "send"))
    w.roundtrip(A.finish_epoch(eid))
    assert w.net.get_epoch(eid).state == EpochState.Running and [s.salvo_condition for s in w.net.get_epoch(eid).out_salvos] == ["send"]


def test_undo_of_an_input_salvo_step_puts_packets_back_and_deletes_the_epoch(w):
    pids = [w.packet(Loc.input_port("B", "i")) for _ in range(2)]
    w.packet(Loc.edge(AB))
    before = w.dump()
    action = A.run_step()
    _, events = w.do(action)
    assert [e.kind for e in events][:3] == ["PacketMoved", "InputSalvoTriggered", "EpochCreated"]
    w.net.undo_action(action, events)
    assert w.dump() == before and w.net.get_startable_epochs() == []
    assert w.at(Loc.input_port("B", "i")) == pids


def test_undoing_create_epoch_restores_the_original_indexes(w):
    p = [w.packet(Loc.input_port("B", "i")) for _ in range(4)]
    action = A.create_epoch("B", Salvo("m", [("i", p[2]), ("i", p[0])]))
    _, events = w.do(action)
    assert [e.from_index for e in events[1:]] == [2, 0]
    w.net.undo_action(action, events)
    assert w.at(Loc.input_port("B", "i")) == p and w.net.get_epoch(events[0].epoch_id) is None


def test_recreated_packets_are_appended(w):
    p = [w.packet(Loc.edge(AB)) for _ in range(3)]
    action = A.consume_packet(p[0])
    _, events = w.do(action)
    w.net.undo_action(action, events)
    assert w.at(Loc.edge(AB)) == [p[1], p[2], p[0]]  # back, but at the end


def test_undoing_cancel_reverses_each_locations_order(w):
    eid = w.epoch()
    inside = [w.do(A.create_packet(eid))[0].packet_id for _ in range(3)]
    loaded = []
    for pid in inside[:2]:
        w.do(A.load_packet_into_output_port(pid, "o"))
        loaded.append(pid)
    more = [w.do(A.create_packet(eid))[0].packet_id for _ in range(3)]
    action = A.cancel_epoch(eid)
    _, events = w.do(action)
    assert w.net.get_epoch(eid) is None
    w.net.undo_action(action, events)
    assert w.net.get_epoch(eid).state == EpochState.Running
    assert w.at(Loc.node(eid)) == [inside[2], *more][::-1]
    assert w.at(Loc.output_port(eid, "o")) == loaded[::-1]


def test_undoing_an_orphaning_send_reverses_the_port_and_cleans_the_epoch(w):
    eid = w.epoch()
    a0, a1 = (w.do(A.create_packet(eid))[0].packet_id for _ in range(2))
    for pid in (a0, a1):
        w.do(A.load_packet_into_output_port(pid, "u"))
    action = A.send_output_salvo(eid, "send")
    _, events = w.do(action)
    assert [e.kind for e in events] == ["PacketOrphaned", "PacketOrphaned", "OutputSalvoTriggered"]
    w.net.undo_action(action, events)
    assert w.at(Loc.output_port(eid, "u")) == [a1, a0]
    epoch = w.net.get_epoch(eid)
    assert epoch.out_salvos == [] and epoch.orphaned_packets == []


def test_output_salvo_events_only_pop_for_a_send_action(w):
    eid = w.epoch()
    _, events = w.do(A.send_output_salvo(eid, "send"))
    w.net.undo_action(A.run_step(), events)  # another action type: OutputSalvoTriggered does nothing
    assert len(w.net.get_epoch(eid).out_salvos) == 1
    w.net.undo_action(A.send_output_salvo(eid, "send"), events)
    assert w.net.get_epoch(eid).out_salvos == []


def test_undo_of_requests_tokens_and_pending(w):
    w.roundtrip(A.create_request("B", "X"))
    assert w.net.is_blocked()
    w.do(A.create_request("B", "X"))
    _, events = w.do(A.run_step())
    assert [e.kind for e in events] == ["RequestCascadeResolved", "EpochCreated", "RequestEpochCreated"]
    w.net.undo_action(A.run_step(), events)
    assert w.net.is_blocked() and w.net.run_step() == (False, [])  # drained requests are not restored
    # OnNoSalvoTriggered: the token comes back
    w.packet(Loc.input_port("B", "d"))
    _, events = w.do(A.run_step())
    assert events[0].request_source == "OnNoSalvoTriggered"
    assert w.net.run_step() == (False, [])
    w.net.undo_action(A.run_step(), events)
    _, again = w.net.run_step()
    assert again[0].kind == "RequestCreated"


def test_undoing_the_startup_request_fires_it_again():
    s = Node("S", out_ports={"o": Port()})
    t = Node("T", in_ports={"t": Port()}, dependency_request_config=DependencyRequestConfig([Trig.OnStartup], "L"))
    st = Edge(PortRef("S", OUT, "o"), PortRef("T", IN, "t"))
    net = NetSim(Graph([s, t], [st], [st]))
    _, events = net.run_step()
    net.undo_action(A.run_step(), events)
    assert net.get_startable_epochs() == [] and not net.is_blocked()
    _, again = net.run_step()
    assert [e.kind for e in again] == [e.kind for e in events]


def test_undoing_finish_sets_the_token_to_false(w):
    eid = w.epoch("B")
    action = A.finish_epoch(eid)
    _, events = w.do(action)
    w.net.undo_action(action, events)
    w.packet(Loc.input_port("B", "d"))
    assert w.net.run_step() == (False, [])  # token is False now, although it was True before


def test_undo_error_messages(w):
    p = w.packet(Loc.edge(AB))
    create = A.create_packet()
    _, created = w.do(create)
    w.do(A.consume_packet(created[0].packet_id))
    with pytest.raises(ns.UndoNotFoundError) as info:
        w.net.undo_action(create, created)
    assert str(info.value) == f"Entity not found: packet {created[0].packet_id} not found"
    consume = A.consume_packet(p)
    _, consumed = w.do(consume)
    w.net.undo_action(consume, consumed)
    with pytest.raises(ns.UndoStateMismatchError) as info:
        w.net.undo_action(consume, consumed)
    assert str(info.value) == f"State mismatch: packet {p} already exists"
    eid = w.epoch(start=False)
    _, started = w.do(A.start_epoch(eid))
    w.net.undo_action(A.start_epoch(eid), started)
    with pytest.raises(ns.UndoStateMismatchError, match=f"^State mismatch: epoch {eid} is not in Running state, cannot undo start$"):
        w.net.undo_action(A.start_epoch(eid), started)
    move = A.transport_packet_to_location(p, Loc.input_port("B", "d"))
    _, moved = w.do(move)
    w.do(A.transport_packet_to_location(p, Loc.outside_net()))
    with pytest.raises(ns.UndoStateMismatchError) as info:
        w.net.undo_action(move, moved)
    assert str(info.value) == (
        f'State mismatch: packet {p} is not at expected location InputPort("B", "d"), found at OutsideNet'
    )
    with pytest.raises(ns.UndoNotFoundError, match=f"^Entity not found: epoch {eid} not found$"):
        _, cancelled = w.do(A.cancel_epoch(eid))
        w.net.undo_action(A.start_epoch(eid), started)
    w.net.undo_action(A.run_step(), [])  # empty list: nothing to do
    with pytest.raises(ValueError, match="^Invalid ULID: invalid length$"):
        w.net.undo_action(A.consume_packet("bad"), consumed)


def test_undo_debug_renderings_of_locations(w):
    eid = w.epoch(start=False)
    p = w.packet(Loc.node(eid))
    move = A.transport_packet_to_location(p, Loc.output_port(eid, "o"))
    _, moved = w.do(move)
    w.do(A.transport_packet_to_location(p, Loc.edge(AB)))
    with pytest.raises(ns.UndoStateMismatchError) as info:
        w.net.undo_action(move, moved)
    number = int(ns.Epoch.get_id(w.net.get_epoch(eid)))
    assert str(info.value) == (
        f"State mismatch: packet {p} is not at expected location OutputPort(Ulid({number}), \"o\"), found at "
        'Edge(Edge { source: PortRef { node_name: "A", port_type: Output, port_name: "o" }, '
        'target: PortRef { node_name: "B", port_type: Input, port_name: "i" } })'
    )


@extension
def test_failed_undo_changes_nothing(w):
    p = [w.packet(Loc.edge(AB)) for _ in range(3)]
    eid = w.epoch()
    action = A.run_step()
    _, events = w.do(action)
    w.do(A.consume_packet(p[0]))  # now the step's first move can no longer be undone
    before = w.net.snapshot()
    with pytest.raises(ns.UndoNotFoundError):
        w.net.undo_action(action, events)
    assert w.net.snapshot() == before
    send = A.send_output_salvo(eid, "send")
    q = w.do(A.create_packet(eid))[0].packet_id
    w.do(A.load_packet_into_output_port(q, "u"))
    _, sent = w.do(send)
    w.do(A.finish_epoch(eid))
    before = w.net.snapshot()
    with pytest.raises(ns.UndoNotFoundError, match=f"^Entity not found: epoch {eid} not found$"):
        w.net.undo_action(send, sent)  # the epoch is gone
    assert w.net.snapshot() == before
    # the orphan alone: its output port no longer exists
    with pytest.raises(ns.UndoStateMismatchError) as info:
        w.net.undo_action(A.run_step(), sent[:1])
    assert str(info.value).startswith("State mismatch: location OutputPort(Ulid(") and "no longer exists" in str(info.value)
    assert w.net.snapshot() == before


@extension
def test_reinsertion_beyond_the_end_is_refused(w):
    p = [w.packet(Loc.edge(AB)) for _ in range(3)]
    move = A.transport_packet_to_location(p[2], Loc.outside_net())
    _, moved = w.do(move)
    for pid in p[:2]:
        w.do(A.consume_packet(pid))
    before = w.net.snapshot()
    with pytest.raises(ns.UndoStateMismatchError) as info:
        w.net.undo_action(move, moved)
    assert "cannot be reinserted at index 2 of Edge(Edge {" in str(info.value) and str(info.value).endswith("(length 0)")
    assert w.net.snapshot() == before


@extension
def test_undoing_epoch_creation_while_it_holds_packets_is_refused(w):
    action = A.create_epoch("A", Salvo("m", []))
    _, events = w.do(action)
    eid = events[0].epoch_id
    w.packet(Loc.node(eid))
    before = w.net.snapshot()
    with pytest.raises(ns.UndoStateMismatchError, match=f"^State mismatch: epoch {eid} still contains packets$"):
        w.net.undo_action(action, events)
    assert w.net.snapshot() == before


@extension
def test_recreating_a_packet_in_a_removed_epoch_is_refused(w):
    eid = w.epoch()
    pid = w.do(A.create_packet(eid))[0].packet_id
    consume = A.consume_packet(pid)
    _, consumed = w.do(consume)
    w.do(A.finish_epoch(eid))
    with pytest.raises(ns.UndoStateMismatchError, match=r"^State mismatch: location Node\(Ulid\(\d+\)\) no longer exists$"):
        w.net.undo_action(consume, consumed)
    assert w.net.get_packet(pid) is None
