"""Property tests of our ``netrun_sim`` engine over random graphs and action sequences.

The graphs and actions come from the differential test's generators (``_trace_graphs``,
``_trace_actions``), driven by a seed that hypothesis chooses (a failure reports its seed;
``_trace.TraceRunner(netrun_sim, seed, N_ACTIONS, observer=...)`` reruns it). Every
property is checked after every action of a run:

* packets are created and lost only by create / consume / destroy / cancel (and their undo);
* a finite input port holds more than its capacity only through the fan-in overfill of
  reference §11.2; an output port only through a transport into a Startable epoch;
* undoing the most recent actions, newest first, restores the state before each of them
  (up to the documented §9.2 exceptions);
* ``snapshot()`` -> ``from_snapshot()`` (and pickle, deepcopy) give a net with the same
  future behaviour;
* the same actions give the same events (modulo IDs and timestamps);
* a failing action changes nothing (except the documented non-atomic §11.4 step error);
* an out-of-turn undo either works or raises ``UndoError`` without changing anything.
"""

from __future__ import annotations

import copy
import json
import pickle
import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _trace  # noqa: E402
from _trace_graphs import build_graph, capacity  # noqa: E402

ns = pytest.importorskip("netrun_sim")
if not hasattr(ns, "NetSim") or not hasattr(ns.NetSim, "snapshot"):
    pytest.skip("our netrun_sim has no NetSim.snapshot yet", allow_module_level=True)

N_ACTIONS = 60
# Examples are seeds of the trace generator: shrinking a seed means nothing, so it is off
# (a failure prints its seed; rerun it with `_trace.TraceRunner(ns, seed, ...)`).
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                 phases=[Phase.explicit, Phase.reuse, Phase.generate])
SEEDS = st.integers(0, 2**32 - 1)
ENGINE_ERRORS = {name for name in dir(ns) if name.endswith("Error")} | {"ValueError", "NetrunError"}
NON_ATOMIC = "RequestUnconnectedPortError"  # reference §11.4: a failing step keeps its changes


# --------------------------------------------------------------------------- helpers

def locations(runner) -> dict:
    """Every location of the net (ports, edges, outside, every live epoch's) -> packet IDs."""
    net = runner.net
    epochs = {str(u) for u in net.get_startable_epochs()}
    epochs |= {runner.ids.real(r) for r in runner.epochs}  # dead ones too: undo revives epochs
    keys = [k for k in runner.all_keys() if k[0] not in ("N", "O")]
    for eid in sorted(epochs):
        ep = net.get_epoch(eid)
        if ep is None:
            continue
        ref = runner.ids.ref(eid)
        keys.append(("N", ref))
        node = next(n for n in runner.spec["nodes"] if n["name"] == ep.node_name)
        keys += [("O", ref, p) for p, _ in node["out"]]
    return {k: [str(u) for u in net.get_packets_at_location(runner.key_obj(k))] for k in keys}


def check_no_unexpected_exception(rec) -> None:
    err = rec.get("err")
    if err is not None:
        assert err[0] in ENGINE_ERRORS, f"action {rec['a']} raised a non-engine exception: {err}"


def norm_snapshot(data: dict, relaxed: set) -> dict:
    """``NetSim.snapshot()`` data with the parts §9.2 says undo need not restore relaxed."""
    d = dict(data)
    d["startable"] = sorted(d["startable"])  # undoing a start re-adds at the end
    d["epochs"] = sorted(d["epochs"], key=lambda e: e["id"])  # undoing finish/cancel re-inserts
    d["locations"] = sorted(([k, sorted(v) if "order" in relaxed else v] for k, v in d["locations"]),
                            key=lambda kv: json.dumps(kv[0]))
    if "pending" in relaxed:
        d.pop("pending_requests", None)
    if "tokens" in relaxed:
        d.pop("request_tokens", None)
    return d


class Observer:
    """Base observer: fails on non-engine exceptions, checks atomicity of failed actions."""

    def __init__(self) -> None:
        self.before_snap = None

    def before(self, runner, i, desc) -> None:
        self.before_snap = runner.net.snapshot()

    def after(self, runner, i, desc, rec) -> None:
        check_no_unexpected_exception(rec)
        if "err" in rec and rec["err"][0] != NON_ATOMIC and desc["op"] != "rub":  # rub: §11.3 guard
            assert runner.net.snapshot() == self.before_snap, f"failed action {desc} changed the state: {rec['err']}"


def run(seed, observer, n=N_ACTIONS, **kw):
    runner = _trace.TraceRunner(ns, seed, n, observer=observer, **kw)
    runner.run()
    return runner


# --------------------------------------------------------------------------- properties

class Conservation(Observer):
    def __init__(self) -> None:
        super().__init__()
        self.live: set[str] = set()

    def after(self, runner, i, desc, rec) -> None:
        super().after(runner, i, desc, rec)
        if runner.last_events is not None:
            for ev in runner.last_events:
                if ev.kind == "PacketCreated":
                    self.live.add(ev.packet_id)
                elif ev.kind in ("PacketConsumed", "PacketDestroyed"):
                    self.live.discard(ev.packet_id)
        if runner.last_undone is not None and "err" not in rec:
            for ev in reversed(runner.last_undone[1]):
                if ev.kind == "PacketCreated":
                    self.live.discard(ev.packet_id)
                elif ev.kind in ("PacketConsumed", "PacketDestroyed"):
                    self.live.add(ev.packet_id)
        locs = locations(runner)
        seen = [p for lst in locs.values() for p in lst]
        assert len(seen) == len(set(seen)), f"after {desc}: a packet is in two places: {locs}"
        assert set(seen) == self.live, (
            f"after {desc}: packets appeared {set(seen) - self.live} / vanished {self.live - set(seen)}")
        for key, lst in locs.items():
            assert runner.net.packet_count_at(runner.key_obj(key)) == len(lst)
            for p in lst:
                got = runner.loc_key(runner.net.get_packet(p).location)
                assert got == key, f"after {desc}: get_packet({p}) says {got}, the location lists say {key}"


class Capacity(Observer):
    def __init__(self) -> None:
        super().__init__()
        self.caps = None
        self.transported_into: set = set()
        self.counts_before = {}

    def setup(self, spec) -> None:
        self.caps = {("I", nd["name"], p): capacity(c) for nd in spec["nodes"] for p, c in nd["in"]}
        self.out_caps = {(nd["name"], p): capacity(c) for nd in spec["nodes"] for p, c in nd["out"]}
        indeg = {}
        for e in {tuple(e) for e in spec["edges"]}:
            indeg[("I", e[2], e[3])] = indeg.get(("I", e[2], e[3]), 0) + 1
        self.indeg = indeg

    def before(self, runner, i, desc) -> None:
        super().before(runner, i, desc)
        if self.caps is None:
            self.setup(runner.spec)
        self.counts_before = {k: len(v) for k, v in locations(runner).items()}

    def after(self, runner, i, desc, rec) -> None:
        super().after(runner, i, desc, rec)
        locs = locations(runner)
        stepping = desc["op"] in ("step", "step_direct", "rub", "undo")
        if desc["op"] == "transport" and desc["dest"][0] == "O" and "err" not in rec:
            ref = runner.ids.ref(str(runner.resolve(desc["dest"][1])).upper())
            self.transported_into.add((ref, desc["dest"][2]))
        for key, cap in self.caps.items():
            n = len(locs.get(key, []))
            if cap is None:
                continue
            limit = cap + max(0, self.indeg.get(key, 0) - 1)
            assert n <= max(limit, self.counts_before.get(key, 0)), (
                f"after {desc}: input port {key[1]}.{key[2]} holds {n} > capacity {cap} "
                f"(fan-in degree {self.indeg.get(key, 0)})")
            if not stepping and n > self.counts_before.get(key, 0):
                assert n <= cap, f"after {desc}: input port {key[1]}.{key[2]} filled beyond {cap}"
        for key, lst in locs.items():
            if key[0] != "O":
                continue
            node = runner.net.get_epoch(runner.ids.real(key[1])).node_name
            cap = self.out_caps[(node, key[2])]
            if cap is not None and len(lst) > cap:
                assert (key[1], key[2]) in self.transported_into, (
                    f"after {desc}: output port {key[2]} of epoch {key[1]} holds {len(lst)} > {cap} "
                    "without a transport into it")


@PROPS
@given(SEEDS)
def test_packets_are_never_created_or_lost_except_by_actions(seed):
    run(seed, Conservation())


@PROPS
@given(SEEDS)
def test_ports_exceed_capacity_only_by_fan_in_overfill_or_transport(seed):
    run(seed, Capacity())


def relaxations(desc, events) -> set:
    """What undoing this action does not restore exactly (reference §9.2)."""
    kinds = {ev.kind for ev in events}
    out = set()
    if kinds & {"PacketConsumed", "PacketDestroyed", "PacketOrphaned"}:
        out.add("order")  # recreated / un-orphaned packets are appended
    if desc["op"] in ("step", "step_direct"):
        out.add("pending")  # requests drained by a step are not restored
    if kinds & {"EpochFinished", "EpochCancelled"}:
        out.add("tokens")  # undoing a finish/cancel sets the node's token to False
    return out


class Recorder(Observer):
    def __init__(self) -> None:
        super().__init__()
        self.snaps = {}
        self.undos = []  # (action index, relaxations) of the undos the run itself did

    def before(self, runner, i, desc) -> None:
        super().before(runner, i, desc)
        self.snaps[i] = self.before_snap

    def after(self, runner, i, desc, rec) -> None:
        super().after(runner, i, desc, rec)
        if runner.last_undone is not None and "err" not in rec:
            self.undos.append((i, relaxations(runner.script[rec["undone"]], runner.last_undone[1])))


@PROPS
@given(SEEDS)
def test_undo_newest_first_restores_each_prior_state(seed):
    rec = Recorder()
    runner = run(seed, rec)
    relaxed: set = set()
    while runner.stack:
        action, events, _, index = runner.stack.pop()
        runner.net.undo_action(action, events)
        relaxed |= relaxations(runner.script[index], events)
        # undos the run did after this action also count
        relaxed_here = relaxed.union(*[r for u, r in rec.undos if u > index])
        relaxed = relaxed_here
        assert norm_snapshot(runner.net.snapshot(), relaxed) == norm_snapshot(rec.snaps[index], relaxed), (
            f"undoing action {index} {runner.script[index]} did not restore the prior state")


class Swap(Observer):
    """Replaces the net by a copy just before action ``at``: ``from_snapshot(snapshot())``
    (through JSON), or a pickle round trip, or ``copy.deepcopy``."""

    def __init__(self, at: int, how: str) -> None:
        super().__init__()
        self.at = at
        self.how = how

    def before(self, runner, i, desc) -> None:
        if i == self.at:
            data = json.loads(json.dumps(runner.net.snapshot()))
            if self.how == "snapshot":
                copy_ = ns.NetSim.from_snapshot(build_graph(ns, runner.spec), data)
            elif self.how == "pickle":
                copy_ = pickle.loads(pickle.dumps(runner.net))
            else:
                copy_ = copy.deepcopy(runner.net)
            assert copy_.snapshot() == data
            runner.net = copy_
        super().before(runner, i, desc)


@PROPS
@given(SEEDS, st.integers(0, N_ACTIONS - 1), st.sampled_from(["snapshot", "pickle", "deepcopy"]))
def test_snapshot_restore_gives_the_same_future(seed, at, how):
    plain = run(seed, Observer())
    swapped = run(seed, Swap(at, how))
    a, b = plain.trace, swapped.trace
    idx = next((i for i in range(max(len(a), len(b))) if (a[i:i + 1] != b[i:i + 1])), None)
    assert idx is None, f"seed {seed}, {how} copy before action {at}: traces differ at record {idx}:\n" \
                        f"{json.dumps(a[idx:idx + 1])[:2000]}\n{json.dumps(b[idx:idx + 1])[:2000]}"


@PROPS
@given(SEEDS)
def test_same_actions_give_the_same_events(seed):
    a = run(seed, Observer(), raw_events=True).trace
    b = run(seed, Observer(), raw_events=True).trace
    assert json.dumps(a) == json.dumps(b)


class OutOfTurnUndo(Observer):
    """Now and then undoes a random *older* action: it works or raises UndoError, atomically."""

    def __init__(self, rng) -> None:
        super().__init__()
        self.rng = rng
        self.history = []

    def after(self, runner, i, desc, rec) -> None:
        super().after(runner, i, desc, rec)
        if runner.last_events is not None and desc["op"] != "rub":
            self.history.append((runner.build_action(desc), runner.last_events))
        if self.history and self.rng.random() < 0.2:
            action, events = self.rng.choice(self.history)
            before = runner.net.snapshot()
            try:
                runner.net.undo_action(action, events)
            except ns.UndoError as ex:
                after = runner.net.snapshot()
                changed = sorted(k for k in before if before[k] != after.get(k))
                assert after == before, (
                    f"after action {i} {desc}: a failed out-of-turn undo ({type(ex).__name__}: {ex}) "
                    f"changed the state: {changed}")
            except Exception as ex:  # noqa: BLE001
                raise AssertionError(f"out-of-turn undo raised {type(ex).__name__}: {ex}") from ex
            runner.stack.clear()
            conservation_invariants(runner)


def conservation_invariants(runner) -> None:
    locs = locations(runner)
    seen = [p for lst in locs.values() for p in lst]
    assert len(seen) == len(set(seen)), f"a packet is in two places: {locs}"
    for key, lst in locs.items():
        for p in lst:
            pk = runner.net.get_packet(p)
            assert pk is not None and runner.loc_key(pk.location) == key


@PROPS
@given(SEEDS)
def test_out_of_turn_undo_is_atomic_and_never_corrupts(seed):
    run(seed, OutOfTurnUndo(random.Random(seed)))
