"""The fast lane (``NetSim._fastlane()``) against the action API, over random graphs and
action sequences: before each action the differential trace generator picks, a copy of the
net does the same thing through the fast lane; afterwards both nets must hold the same
state (IDs compared by order of appearance) and, when the action failed, the fast lane
must have raised the same error type and message and changed nothing.

Two modes: ``quiet`` (``FastLane``, no events) and ``tape`` (the recording lane,
``TapeLane``: the action name, entry count and events rebuilt from its tape record are
compared with the action's; the runtime reads its events this way too)."""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _trace  # noqa: E402

ns = pytest.importorskip("netrun_sim")
if not hasattr(ns.NetSim, "_fastlane"):
    pytest.skip("this netrun_sim has no fast lane", allow_module_level=True)

from netrun_sim._fastlane import TapeLane, tape_action  # noqa: E402

ULID_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
FAST_OPS = {"create_packet", "consume", "start", "finish", "load", "send", "step", "step_direct"}


def snap_text(net) -> str:
    return json.dumps(net.snapshot(), sort_keys=True)


def normal(text: str) -> str:
    """A snapshot text with every ID replaced by its order of first appearance."""
    names: dict = {}
    return ULID_RE.sub(lambda m: names.setdefault(m.group(0), f"id{len(names)}"), text)


def events_text(events) -> str:
    """Events as JSON without timestamps, IDs replaced by order of appearance."""
    data = []
    for ev in events:
        d = ev.to_dict()
        d.pop("timestamp", None)
        data.append(d)
    return normal(json.dumps(data, sort_keys=True, default=str))


class FastTwin:
    """A twin net that follows the trace: the actions the fast lane covers go through the
    fast lane, the others through ``do_action``. After every action both nets must hold
    the same state (IDs compared by order of appearance) and have failed alike. Because the
    twin lives on, a fast-lane bug in state that snapshots do not show (indexes, counts)
    shows up in a later action."""

    def __init__(self, mode: str = "quiet") -> None:
        self.tape = [] if mode == "tape" else None  # the recording lane's tape
        self.events = None
        self.twin = None
        self.lane = None
        self.ids: dict = {}  # main net id -> twin id
        self.checked = 0
        self.outcome = None

    def tmap(self, value):
        """A main-net ID (any accepted form) as the twin's ID in the same form."""
        if isinstance(value, str):
            mapped = self.ids.get(value.upper())
            if mapped is None:
                return value
            return mapped if value == value.upper() else mapped.lower()
        if type(value).__name__ == "ULID":
            mapped = self.ids.get(str(value))
            return value if mapped is None else type(value).from_str(mapped)
        return value

    def before(self, runner, i, desc) -> None:
        if self.twin is None:
            self.twin = copy.deepcopy(runner.net)
            self.lane = self.twin._fastlane() if self.tape is None else TapeLane(self.twin, self.tape)
            self.sync_ids(runner)
        self.outcome = None
        self.events = [] if self.tape is not None else None
        if self.tape is not None:
            del self.tape[:]
        original = runner.resolve
        runner.resolve = lambda ref: self.tmap(original(ref))  # the twin's IDs for this action
        try:
            self.apply(runner, desc)
        except Exception as exc:  # noqa: BLE001 - compared with the action's error below
            self.outcome = exc
        finally:
            del runner.resolve
        if self.tape is not None and self.outcome is None:
            self.check_tape(desc)

    def check_tape(self, desc) -> None:
        """The lane's tape record of the action: one record, the action's name, an entry
        count of 1 + its events; its events join ``self.events`` (compared later)."""
        if desc["op"] not in FAST_OPS or not self.tape:
            return
        [record] = self.tape
        name, _args, events = tape_action(record)
        assert record[1] == 1 + len(events), (record, events)
        assert name == _ACTION_NAMES[desc["op"]], (name, desc)
        self.events.extend(events)

    def apply(self, runner, desc) -> None:
        op = desc["op"]
        net, lane, NA = self.twin, self.lane, ns.NetAction
        tape = self.tape is not None
        r = runner.resolve
        if op not in FAST_OPS:
            if op == "query":
                return
            if op in ("undo", "rub"):
                raise _Skip()
            result = net.do_action(runner.build_action(desc))
            if self.events is not None:
                self.events.extend(result[1])
            return
        self.checked += 1
        def act(action):
            result = net.do_action(action)
            if self.events is not None:
                self.events.extend(result[1])
            if tape:
                del self.tape[:]  # (nothing is on it: the action API records nothing)

        if op == "create_packet":
            if "e" not in desc:
                act(NA.create_packet())
                return
            eid = r(desc["e"])
            if not isinstance(eid, str):  # the fast lane takes canonical str IDs only
                act(NA.create_packet(eid))
            else:
                lane.create(eid)
        elif op == "consume":
            pid = r(desc["p"])
            if not isinstance(pid, str):
                act(NA.consume_packet(pid))
            else:
                lane.consume(pid)
        elif op == "start":
            eid = r(desc["e"])
            if not isinstance(eid, str):
                act(NA.start_epoch(eid))
            else:
                lane.start(eid)
        elif op in ("finish", "send"):
            eid = r(desc["e"])
            if not isinstance(eid, str):
                act(NA.finish_epoch(eid) if op == "finish" else NA.send_output_salvo(eid, desc["cond"]))
            elif op == "finish":
                lane.finish(eid)
            else:
                lane.send(eid, desc["cond"])
        elif op == "load":
            pid = r(desc["p"])
            if isinstance(pid, str):
                lane.load(pid, desc["port"])
            else:
                act(NA.load_packet_into_output_port(pid, desc["port"]))
        else:
            lane.step([])

    def sync_ids(self, runner) -> None:
        for a, b in zip(ULID_RE.findall(snap_text(runner.net)), ULID_RE.findall(snap_text(self.twin))):
            self.ids[a] = b

    def after(self, runner, i, desc, rec) -> None:
        if self.twin is None:
            return
        if isinstance(self.outcome, _Skip):  # undo / run_until_blocked: restart the twin here
            self.twin = None
            return
        if desc["op"] == "query":
            return
        err = rec.get("err")
        if err is not None:
            assert self.outcome is not None, f"action {desc} failed with {err} but the twin did not"
            assert type(self.outcome).__name__ == err[0], (self.outcome, err)
        else:
            assert self.outcome is None, f"twin raised {self.outcome!r} on {desc}, the action did not"
            if self.events is not None and runner.last_events is not None:
                assert events_text(self.events) == events_text(runner.last_events), f"events differ after {desc}"
        assert normal(snap_text(self.twin)) == normal(snap_text(runner.net)), f"twin differs after {desc}"
        self.sync_ids(runner)


class _Skip(Exception):
    pass


_ACTION_NAMES = {"create_packet": "CreatePacket", "consume": "ConsumePacket", "start": "StartEpoch",
                 "finish": "FinishEpoch", "load": "LoadPacketIntoOutputPort", "send": "SendOutputSalvo",
                 "step": "RunStep", "step_direct": "RunStep"}


# 400 fixed seeds (about 4 s): enough that planted fast-lane bugs in rarely exercised
# corners (multi-packet salvos, request tokens, edge indexes) are caught
@pytest.mark.parametrize("mode", ["quiet", "tape"])
@pytest.mark.parametrize("block", range(8))
def test_fast_lane_has_the_effect_of_the_actions(block, mode):
    checked = 0
    for seed in range(block * 50, block * 50 + 50):
        twin = FastTwin(mode)
        _trace.TraceRunner(ns, seed, 60, observer=twin).run()
        checked += twin.checked
    assert checked > 300  # the fast lane really was exercised


def test_fast_send_reports_orphans_and_step_lists_new_epochs():
    from netrun_sim import Edge, Graph, MaxSalvos, NetAction, Node, PacketCount, PacketLocation, Port, PortRef
    from netrun_sim import PortState, PortType, SalvoCondition, SalvoConditionTerm

    def node(name):
        return Node(name, {"x": Port()}, {"out": Port()},
                    {"go": SalvoCondition(MaxSalvos.finite(1), {"x": PacketCount.count(1)},
                                          SalvoConditionTerm.port("x", PortState.non_empty()))},
                    {"send": SalvoCondition(MaxSalvos.infinite(), "out",
                                            SalvoConditionTerm.port("out", PortState.non_empty()))})

    net = ns.NetSim(Graph([node("a"), node("b")], [Edge(PortRef("a", PortType.Output, "out"),
                                                         PortRef("b", PortType.Input, "x"))]))
    lane = net._fastlane()
    pid = net.do_action(NetAction.create_packet())[0].packet_id
    net.do_action(NetAction.transport_packet_to_location(pid, PacketLocation.input_port("a", "x")))
    created: list = []
    assert lane.step(created) is True
    assert [(ep.rt.info.name, ep.in_salvo) for ep in created] == [("a", ("go", (("x", str(pid)),)))]
    eid = created[0].id
    lane.start(eid)
    lane.consume(str(pid))
    out = lane.create(eid)
    lane.load(out, "out")
    assert lane.send(eid, "send") == []
    lane.finish(eid)
    created = []
    while lane.step(created):
        pass
    (ep_b,) = created
    lane.start(ep_b.id)
    lane.consume(out)
    new = lane.create(ep_b.id)
    lane.load(new, "out")
    assert lane.send(ep_b.id, "send") == [(new, "out")]  # b.out has no edge: orphaned
    lane.finish(ep_b.id)
    assert net.get_packet(new).location == PacketLocation.outside_net()
    # off the happy path the action API answers, with its own error
    with pytest.raises(ns.EpochNotFoundError, match=f"Epoch not found: {ep_b.id}"):
        lane.send(ep_b.id, "send")


# -------------------------------------------------------------------- multi-step (steps)
class StepsTwin:
    """Before every ``step`` action of a trace, two copies of the net advance from that
    state: one with ``lane.steps(created, limit)``, one with ``lane.step(created)`` in the
    loop ``steps`` replaces (stop on no progress, ``len(created) >= limit`` or an epoch
    whose salvo took no packets). Both must end in the same state with the same records
    (IDs compared by order of appearance), return alike and raise alike."""

    def __init__(self, mode: str, limits=(0, 1, 3, 10_000)) -> None:
        self.mode = mode
        self.limits = limits
        self.compared = 0

    def lane(self, net):
        return net._fastlane() if self.mode == "quiet" else TapeLane(net, [])

    @staticmethod
    def loop(lane, created: list, limit: int) -> bool:
        while True:
            seen = len(created)
            if not lane.step(created):
                return False
            if len(created) >= limit:
                return True
            if any(not ep.in_salvo[1] and ep.in_salvo[0] != "__request__" for ep in created[seen:]):
                return True

    @staticmethod
    def outcome(fn, net, lane, limit: int) -> str:
        created: list = []
        try:
            result = repr(fn(lane, created, limit))
        except Exception as exc:  # noqa: BLE001 - compared between the two forms
            result = f"{type(exc).__name__}: {exc}"
        records = [(ep.id, ep.rt.info.name, ep.in_salvo) for ep in created]
        tape = [tape_action(op) for op in lane.tape] if isinstance(lane, TapeLane) else []
        return normal(json.dumps([result, records, [(t[0], events_text(t[2])) for t in tape]], default=str)
                      + snap_text(net))

    def before(self, runner, i, desc) -> None:
        if desc["op"] not in ("step", "step_direct"):
            return
        for limit in self.limits:
            a, b = copy.deepcopy(runner.net), copy.deepcopy(runner.net)
            many = self.outcome(lambda lane, created, n: lane.steps(created, n), a, self.lane(a), limit)
            one = self.outcome(self.loop, b, self.lane(b), limit)
            assert many == one, (runner.seed, i, limit)
            self.compared += 1

    def after(self, runner, i, desc, rec) -> None:
        pass


@pytest.mark.parametrize("mode", ["quiet", "tape"])
def test_steps_is_step_repeated(mode):
    twin = StepsTwin(mode)
    for seed in range(60):
        _trace.TraceRunner(ns, seed, 40, observer=twin).run()
    assert twin.compared > 200


def test_steps_stops_after_an_empty_salvo_and_at_the_limit():
    from netrun_sim import Graph, MaxSalvos, NetAction, Node, PacketLocation, Port, PortState
    from netrun_sim import SalvoCondition, SalvoConditionTerm

    # "e" fires while its port "x" is non-empty but takes from the empty port "y": no packets
    empty = SalvoCondition(MaxSalvos.finite(1), "y", SalvoConditionTerm.port("x", PortState.non_empty()))
    take = SalvoCondition(MaxSalvos.finite(1), "x", SalvoConditionTerm.port("x", PortState.non_empty()))
    net = ns.NetSim(Graph([Node("e", {"x": Port(), "y": Port()}, {}, {"go": empty}),
                           Node("t", {"x": Port()}, {}, {"go": take})], []))
    for node in ("e", "t", "t"):
        pid = net.do_action(NetAction.create_packet())[0].packet_id
        net.do_action(NetAction.transport_packet_to_location(pid, PacketLocation.input_port(node, "x")))
    lane = net._fastlane()
    created: list = []
    assert lane.steps(created, 100) is True  # stopped after the first step: e's salvo is empty
    assert [(ep.rt.info.name, ep.in_salvo[0], len(ep.in_salvo[1])) for ep in created] == [("e", "go", 0),
                                                                                          ("t", "go", 2)]
    created = []
    assert lane.steps(created, 1) is True  # e fires again (its port still holds the packet)
    assert len(created) == 1


def test_steps_does_not_stop_for_an_empty_salvo_named_like_a_request():
    """The runtime refuses empty input salvos except under the name ``"__request__"`` (its
    marker for request epochs), so ``steps`` stops only for the ones it refuses."""
    from netrun_sim import Graph, MaxSalvos, NetAction, Node, PacketLocation, Port, PortState
    from netrun_sim import SalvoCondition, SalvoConditionTerm

    empty = SalvoCondition(MaxSalvos.finite(1), "y", SalvoConditionTerm.port("x", PortState.non_empty()))
    net = ns.NetSim(Graph([Node("e", {"x": Port(), "y": Port()}, {}, {"__request__": empty})], []))
    pid = net.do_action(NetAction.create_packet())[0].packet_id
    net.do_action(NetAction.transport_packet_to_location(pid, PacketLocation.input_port("e", "x")))
    for lane in (net._fastlane(), TapeLane(net, [])):
        created: list = []
        assert lane.steps(created, 5) is True  # it fires every step: stopped by the limit
        assert [ep.in_salvo for ep in created] == [("__request__", ())] * 5


def test_many_sends_in_one_epoch_match_the_action_api():
    """An epoch's sent salvos and orphans outgrow their short tuple form (they become lists,
    so each send costs the same however many came before): the fast lanes and the action
    API keep the same record of them, snapshots and events hold tuples, undo pops one."""
    from netrun_sim import Graph, MaxSalvos, NetAction, Node, Port, PortState, SalvoCondition
    from netrun_sim import SalvoConditionTerm

    send = SalvoCondition(MaxSalvos.infinite(), "out", SalvoConditionTerm.port("out", PortState.non_empty()))
    graph = Graph([Node("n", {}, {"out": Port()}, {}, {"send": send})], [])  # "out" has no edge: orphans
    results = []
    for mode in ("action", "quiet", "tape"):
        net = ns.NetSim(graph)
        NA = NetAction
        eid = str(net.do_action(NA.create_and_start_epoch("n", ns.Salvo("go", [])))[0].epoch.id)
        lane = None if mode == "action" else (net._fastlane() if mode == "quiet" else TapeLane(net, []))
        last = None
        for _ in range(20):
            if lane is None:
                pid = str(net.do_action(NA.create_packet(eid))[0].packet_id)
                net.do_action(NA.load_packet_into_output_port(pid, "out"))
                last = net.do_action(NA.send_output_salvo(eid, "send"))
            else:
                pid = lane.create(eid)
                lane.load(pid, "out")
                assert lane.send(eid, "send") == [(pid, "out")]
        epoch = net.get_epoch(eid)
        assert len(epoch.out_salvos) == 20 and len(epoch.orphaned_packets) == 20
        data = net.snapshot()
        results.append(normal(json.dumps(data, sort_keys=True)))
        if lane is None:  # undo the last send: one salvo and one orphan fewer
            net.undo_action(NA.send_output_salvo(eid, "send"), last[1])
            epoch = net.get_epoch(eid)
            assert len(epoch.out_salvos) == 19 and len(epoch.orphaned_packets) == 19
        restored = ns.NetSim.from_snapshot(graph, data)
        assert normal(json.dumps(restored.snapshot(), sort_keys=True)) == results[-1]
    assert results[0] == results[1] == results[2]


@pytest.mark.parametrize("mode", ["quiet", "tape"])
def test_send_taking_orphans_is_send_then_consume(mode):
    """``send(eid, cond, take=True)`` leaves the state (and, recording, the events) of the
    send followed by ``consume`` of each orphan, on every path of ``send``: the one-packet
    fast path, the general path (several ports, several packets, an edge among them), the
    action API fallback (a condition the fast path does not compile) and an error."""
    from netrun_sim import Edge, Graph, MaxSalvos, NetAction, Node, PacketCount, Port, PortRef
    from netrun_sim import PortState, PortType, SalvoCondition, SalvoConditionTerm

    non_empty = lambda p: SalvoConditionTerm.port(p, PortState.non_empty())  # noqa: E731
    outs = {
        "one": SalvoCondition(MaxSalvos.infinite(), "a", non_empty("a")),
        "all": SalvoCondition(MaxSalvos.infinite(), ["a", "b", "c"],
                              SalvoConditionTerm.or_([non_empty("a"), non_empty("b")])),
        "pair": SalvoCondition(MaxSalvos.finite(1), {"a": PacketCount.count(2)},
                               SalvoConditionTerm.not_(SalvoConditionTerm.port("a", PortState.empty()))),
    }
    n = Node("n", {}, {"a": Port(), "b": Port(), "c": Port()}, {}, outs)
    m = Node("m", {"x": Port()}, {}, {}, {})
    graph = Graph([n, m], [Edge(PortRef("n", PortType.Output, "c"), PortRef("m", PortType.Input, "x"))])
    NA = NetAction
    script = [("one", {"a": 1}), ("all", {"a": 2, "b": 1, "c": 1}), ("pair", {"a": 3}),
              ("pair", {}), ("one", {}), ("one", {})]  # "pair" at its max fails; so does the last "one"
    outcome = {}
    for how in ("action", "lane"):
        net = ns.NetSim(graph)
        eid = str(net.do_action(NA.create_and_start_epoch("n", ns.Salvo("go", [])))[0].epoch.id)
        tape: list = []
        lane = net._fastlane() if mode == "quiet" else TapeLane(net, tape)
        events, results = [], []
        for cond, loads in script:
            for port, count in loads.items():
                for _ in range(count):
                    pid = lane.create(eid)
                    lane.load(pid, port)
            tape.clear()
            try:
                if how == "action":
                    resp, evs = net.do_action(NA.send_output_salvo(eid, cond))
                    orphans = [(ev.packet_id, ev.orphaned_port_name) for ev in evs if ev.kind == "PacketOrphaned"]
                    evs = list(evs)
                    for pid, _ in orphans:
                        evs += net.do_action(NA.consume_packet(pid))[1]
                    events.append(events_text(evs))
                else:
                    orphans = lane.send(eid, cond, take=True)
                    if mode == "tape":
                        events.append(events_text([ev for op in tape for ev in tape_action(op)[2]]))
                results.append(("ok", len(orphans)))
            except ns.NetrunError as error:
                results.append((type(error).__name__, str(error).replace(eid, "E")))
            assert not [p for p, _ in orphans if net.get_packet(p) is not None] or results[-1][0] != "ok"
        outcome[how] = (normal(snap_text(net)), results, events if mode == "tape" else None)
    assert outcome["action"][0] == outcome["lane"][0]
    results = outcome["action"][1]
    assert outcome["lane"][1] == results
    assert results[:3] == [("ok", 1), ("ok", 3), ("ok", 2)] and results[4] == ("ok", 1)
    assert results[3][0] == "MaxSalvosExceededError" and results[5][0] != "ok"
    if mode == "tape":
        assert outcome["action"][2] == outcome["lane"][2]
