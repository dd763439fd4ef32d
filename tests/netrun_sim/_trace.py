"""Normalised execution traces of a ``netrun_sim`` engine, for the differential test.

``run_seed(ns, seed)`` builds a random graph from ``seed``, drives a ``NetSim`` of the engine
module ``ns`` with random actions (valid and invalid ones, undo of the most recent action,
bad IDs, queries), and returns a JSON-able trace in which two faithful engines cannot
differ: IDs become references in order of first appearance, timestamps are dropped, and
the spots where the published engine iterates a hash map (reference Appendix B) are put in
a canonical order or compared as multisets (see ``_trace_norm``).

The module is runnable as a script so that the *published* engine can be traced in its own
interpreter, with our ``src/`` kept off ``sys.path`` (run it with ``python -I``)::

    /tmp/native/bin/python -I tests/netrun_sim/_trace.py --seeds 0:100 --actions 120
    /tmp/native/bin/python -I tests/netrun_sim/_trace.py --replay case.json

Each seed prints one JSON line ``{"seed": s, "trace": [...]}`` after a header line naming
the engine file. It imports nothing from the project.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys

if __name__ == "__main__":  # `python -I` does not put the script's folder on sys.path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _trace_actions import Chooser  # noqa: E402
from _trace_graphs import (build_edge, build_graph, capacity, gen_graph_spec, gen_invalid_spec,  # noqa: E402
                           node_of, run_until_blocked_is_safe, unconnected_input_ports)
from _trace_norm import LITERALS, TS_RE, IdMap, Mirror, ref_key  # noqa: E402
from _trace_observe import EventNormaliser, graph_summary, validation_summary  # noqa: E402

DEFAULT_ACTIONS = 120
UNSENT_RE = re.compile(r"output port '(.*)' has unsent packets")
UNCONNECTED_RE = re.compile(r"Request cascade reached unconnected input port '(.*)' on node '(.*)'")


class TraceRunner:
    """Drives one engine through one seed and records the normalised trace."""

    def __init__(self, ns, seed: int, n_actions: int = DEFAULT_ACTIONS, spec=None, script=None,
                 rng=None, observer=None, raw_events=False):
        self.ns = ns
        self.seed = seed
        self.rng = rng if rng is not None else random.Random(seed)
        # observer.before(runner, i, desc) / observer.after(runner, i, desc, rec): property tests
        self.observer = observer
        self.raw_events = raw_events
        self.last_events = None  # the raw events of the last successful action
        self.last_undone = None  # (action, events) of the last undo attempt
        self.spec = spec if spec is not None else gen_graph_spec(self.rng)
        self.invalid_spec = gen_invalid_spec(self.rng, self.spec) if spec is None else None
        self.rub_safe = run_until_blocked_is_safe(self.spec)
        self.n_actions = n_actions
        self.script_in = script
        self.ids = IdMap()
        self.mirror = Mirror()
        self.epochs: dict[str, dict] = {}  # ref -> {"node", "state", "alive", "amb"}
        self.dead_epochs: list[str] = []
        self.dead_packets: set[str] = set()
        self.stack: list[tuple] = []  # undo stack: (action, events, groups-before)
        self.trace: list = []
        self.script: list = []
        self.prev_locs: dict = {}
        self.prev_epochs: dict = {}
        self.stopped = None
        self.unconnected = unconnected_input_ports(self.spec)
        self.edges = {}
        for e in self.spec["edges"]:
            self.edges.setdefault(str(build_edge(ns, e)), e)
        self.net = None
        self.restore_groups = None
        heads = [(e[2], e[3]) for e in {tuple(e) for e in self.spec["edges"]}]
        self.has_fan_in = len(heads) != len(set(heads))

    # -- IDs and locations ---------------------------------------------------------------
    def resolve(self, ref):
        """The object to hand to the engine for an ID reference of a script."""
        if ref == "int":
            return 12345
        if ref.startswith("L:"):
            return LITERALS[ref[2:]]
        if ref.startswith("low:"):
            return self.resolve(ref[4:]).lower()
        if ref.startswith("ulid:"):
            import ulid
            return ulid.ULID.from_str(self.resolve(ref[5:]))
        if ref in self.ids.to_real:
            return self.ids.real(ref)
        return "0000000000000000000000000Z"  # a reference the other engine made: unknown here

    def loc_obj(self, desc):
        PL = self.ns.PacketLocation
        k = desc[0]
        if k == "X":
            return PL.outside_net()
        if k == "I":
            return PL.input_port(desc[1], desc[2])
        if k == "E":
            return PL.edge(build_edge(self.ns, desc[1:5]))
        if k == "N":
            return PL.node(self.resolve(desc[1]))
        return PL.output_port(self.resolve(desc[1]), desc[2])

    def key_obj(self, key):
        """PacketLocation for a normalised location key."""
        if key[0] == "E":
            return self.loc_obj(["E", *self.edges[key[1]][:4]])
        return self.loc_obj(list(key))

    def loc_key(self, loc):
        if loc is None:
            return None
        k = loc.kind
        if k == "OutsideNet":
            return ("X",)
        if k == "InputPort":
            return ("I", loc.node_name, loc.port_name)
        if k == "Edge":
            return ("E", str(loc.get_edge()))
        if k == "Node":
            return ("N", self.ids.ref(loc.epoch_id))
        if k == "OutputPort":
            return ("O", self.ids.ref(loc.epoch_id), loc.port_name)
        return ("?", k)

    def fan_in_collision(self) -> bool:
        """Whether the next step's phase 1 may deliver several packets to one input port.

        Their arrival order is ⟂; it is visible in the events, but not when the step fails
        (§11.4), so such a failing step ends the comparison.
        """
        by_port = {}
        for s, e in self.edges.items():
            if self.mirror.locs.get(("E", s)):
                by_port.setdefault((e[2], e[3]), []).append(s)
        for (n, p), sources in by_port.items():
            if len(sources) > 1:
                cap = capacity(dict(node_of(self.spec, n)["in"]).get(p))
                if cap is None or len(self.mirror.locs.get(("I", n, p), [])) < cap:
                    return True
        return False

    def real_lists(self) -> dict:
        out = {}
        for key in self.all_keys():
            lst = [self.ids.ref(u) for u in self.net.get_packets_at_location(self.key_obj(key))]
            if lst:
                out[key] = lst
        return out

    def epoch_has_packets(self, ref) -> bool:
        return any(self.mirror.locs.get(k) for k in self.epoch_keys(ref))

    def epoch_keys(self, ref):
        info = self.epochs.get(ref)
        keys = [("N", ref)]
        nd = node_of(self.spec, info["node"]) if info else None
        if nd:
            keys += [("O", ref, p) for p, _ in nd["out"]]
        return keys

    def all_keys(self):
        keys = [("X",)]
        keys += [("I", nd["name"], p) for nd in self.spec["nodes"] for p, _ in nd["in"]]
        keys += [("E", s) for s in self.edges]
        for ref, info in self.epochs.items():
            if info["alive"]:
                keys += self.epoch_keys(ref)
        return keys

    # -- the run -------------------------------------------------------------------------
    def run(self) -> list:
        ns = self.ns
        self.trace.append({"graph": graph_summary(ns, self.spec)})
        if self.invalid_spec is not None:
            self.trace.append({"invalid": validation_summary(ns, self.invalid_spec, self.ids)})
        self.net = ns.NetSim(build_graph(ns, self.spec))
        self.trace.append({"net": TS_RE.sub("ts=T", repr(self.net)), "graph_copy": repr(self.net.graph),
                           "dump": self.dump(explained=True)})
        self.norm = EventNormaliser(self)
        chooser = Chooser(self)
        n = len(self.script_in) if self.script_in is not None else self.n_actions
        for i in range(n):
            desc = self.script_in[i] if self.script_in is not None else chooser.choose()
            self.script.append(desc)
            rec = {"i": i, "a": desc}
            if self.observer is not None:
                self.observer.before(self, i, desc)
            self.last_events = self.last_undone = None
            explained = self.execute(desc, rec)
            if self.stopped and self.stopped.startswith("desync"):
                # the engines legitimately chose different packets: compare no further
                self.trace.append({"i": i, "a": desc, "stop": self.stopped})
                if self.observer is not None:
                    self.observer.after(self, i, desc, rec)
                break
            rec["dump"] = self.dump(explained)
            self.trace.append(rec)
            if self.observer is not None:
                self.observer.after(self, i, desc, rec)
            if self.stopped:
                self.trace.append({"stop": self.stopped})
                break
        return self.trace

    def norm_error(self, ex, desc) -> list:
        cls = type(ex).__name__
        msg = str(ex)
        out = [cls, self.ids.text(msg)]
        engine_cls = getattr(self.ns, cls, None)
        if engine_cls is not None and engine_cls is not type(ex):
            out.append("class-not-exported")
        if getattr(ex, "args", None) != (msg,):
            out.append(["args", [self.ids.text(str(a)) for a in ex.args]])
        if cls == "UnsentOutputSalvoError":
            m = UNSENT_RE.search(msg)
            # Which non-empty port is named is ⟂ in the published engine.
            ref = self.ids.text(str(self.resolve(desc["e"])).upper())
            ok = bool(m) and bool(self.mirror.locs.get(("O", ref, m.group(1))))
            out[1] = UNSENT_RE.sub("output port '?' has unsent packets", out[1])
            out.append(["named-port-non-empty", ok])
        if cls == "RequestUnconnectedPortError" and len(self.unconnected) > 1:
            m = UNCONNECTED_RE.search(msg)
            ok = bool(m) and (m.group(2), m.group(1)) in self.unconnected
            out[1] = "Request cascade reached unconnected input port '?' on node '?'"
            out.append(["names-an-unconnected-port", ok])
        return out

    def call(self, fn, rec):
        """Run ``fn``; on failure record the normalised error. Returns (ok, value)."""
        try:
            return True, fn()
        except Exception as ex:  # noqa: BLE001 - every engine error is data here
            rec["err"] = self.norm_error(ex, rec["a"])
        except BaseException as ex:
            if type(ex).__name__ != "PanicException":
                raise
            rec["err"] = ["PANIC", self.ids.text(str(ex))]
            self.stopped = "panic"
        return False, None

    def build_action(self, desc):
        NA = self.ns.NetAction
        op = desc["op"]
        r = self.resolve
        if op == "create_packet":
            return NA.create_packet(r(desc["e"])) if "e" in desc else NA.create_packet()
        if op in ("consume", "destroy"):
            return (NA.consume_packet if op == "consume" else NA.destroy_packet)(r(desc["p"]))
        if op in ("start", "finish", "cancel"):
            return getattr(NA, op + "_epoch")(r(desc["e"]))
        if op == "create_epoch":
            pk = []
            for port, ref in desc["packets"]:
                v = r(ref)
                pk.append((port, v if isinstance(v, str) else str(v)))
            return NA.create_epoch(desc["node"], self.ns.Salvo(desc["cond"], pk))
        if op == "load":
            return NA.load_packet_into_output_port(r(desc["p"]), desc["port"])
        if op == "send":
            return NA.send_output_salvo(r(desc["e"]), desc["cond"])
        if op == "transport":
            return NA.transport_packet_to_location(r(desc["p"]), self.loc_obj(desc["dest"]))
        if op == "request":
            return NA.create_request(desc["node"], desc["label"])
        if op in ("step", "step_direct"):
            return NA.run_step()
        raise ValueError(f"unknown op {op!r}")

    def execute(self, desc, rec) -> bool:
        """Perform one action; returns whether its events fully explain the state change."""
        op = desc["op"]
        net = self.net
        groups_before = dict(self.mirror.group)
        if op == "undo":
            if not self.stack:
                rec["undo"] = "nothing"
                return True
            action, events, groups, index = self.stack.pop()
            rec["undone"] = index
            self.last_undone = (action, events)
            if index % 2:  # an equal, newly built action must do as well as the original object
                action = self.build_action(self.script[index])
            self.call(lambda: net.undo_action(action, list(events)), rec)
            self.restore_groups = groups  # applied once the dump has reloaded the lists
            return False
        if op == "query":
            rec["q"] = self.query(desc, rec)
            return True
        if op == "rub":
            ok, events = self.call(net.run_until_blocked, rec)
            self.stack.clear()
            if ok:
                self.last_events = events
                self.record_raw(events, rec)
                rec["ev"] = self.norm.events(events, "step")
                if self.has_fan_in and self.real_lists() != {k: v for k, v in self.mirror.locs.items() if v}:
                    # a step failed silently inside (its events are lost) and fan-in may have
                    # delivered several packets to one port in an engine-dependent order
                    self.stopped = "desync: run_until_blocked swallowed a step in a fan-in graph"
            return False
        collision = op in ("step", "step_direct") and self.fan_in_collision()
        ok, action = self.call(lambda: self.build_action(desc), rec)
        if not ok:
            return True
        rec["act"] = self.ids.text(repr(action))
        if op == "step_direct":
            ok, res = self.call(net.run_step, rec)
            if ok:
                progress, events = res
                rec["r"] = ["StepResult", progress, "direct"]
        else:
            ok, res = self.call(lambda: net.do_action(action), rec)
            if ok:
                resp, events = res
        if not ok:
            if op in ("step", "step_direct") and rec.get("err", [""])[0] == "RequestUnconnectedPortError":
                self.stack.clear()  # the failed step changed state without events (§11.4)
                if collision:
                    self.stopped = "desync: a failed step (no events) had a fan-in delivery"
                return False
            return True
        kind = "step" if op in ("step", "step_direct") else op
        self.last_events = events
        self.record_raw(events, rec)
        normed = self.norm.events(events, kind)
        if op != "step_direct":
            rec["r"] = self.norm.response(resp)
        rec["ev"] = normed
        if not isinstance(events, list):
            rec["events-type"] = type(events).__name__
        self.stack.append((action, events, groups_before, rec["i"]))
        del self.stack[:-12]
        return True

    def record_raw(self, events, rec) -> None:
        """With ``raw_events``: the events in the engine's own order (for determinism checks)."""
        if self.raw_events:
            rec["raw"] = [self.ids.text(TS_RE.sub("ts=T", repr(ev))) for ev in events]

    def query(self, desc, rec):
        ns = self.ns
        what = desc["what"]
        v = self.resolve(desc["id"])

        def q():
            if what == "epoch":
                ep = self.net.get_epoch(v)
                return None if ep is None else self.ids.text(repr(ep))
            if what == "packet":
                p = self.net.get_packet(v)
                return None if p is None else self.ids.text(repr(p))
            if what == "loc_node":
                return self.ids.text(repr(ns.PacketLocation.node(v)))
            return self.ids.text(repr(ns.PacketLocation.output_port(v, "o0")))
        ok, val = self.call(q, rec)
        return val

    # -- state dump ----------------------------------------------------------------------
    def discover_epochs(self) -> None:
        """Name epochs that appeared without events (failed step, run_until_blocked)."""
        new = []
        for u in self.net.get_startable_epochs():
            s = str(u)
            if not self.ids.known(s):
                ep = self.net.get_epoch(s)
                pk = sorted(self.ids.ref(p) for _, p in ep.in_salvo.packets) if ep else []
                new.append(((ep.node_name if ep else "", ep.in_salvo.salvo_condition if ep else "", pk), s))
        for key, s in sorted(new):
            ref = self.ids.ref(s)
            self.epochs[ref] = {"node": key[0], "state": "EpochState.Startable", "alive": True,
                                "amb": len(key[2]) > 1}

    def dump(self, explained: bool) -> dict:
        net = self.net
        out = {}
        self.discover_epochs()
        snaps = {}
        for ref in sorted(self.epochs, key=ref_key):
            # every known epoch, dead ones too: undo can bring one back
            info = self.epochs[ref]
            ep = net.get_epoch(self.ids.real(ref))
            if ep is None and not info["alive"]:
                continue
            snaps[ref] = ep
            info["alive"] = ep is not None
            if ep is None:
                self.dead_epochs.append(ref)
            else:
                info["state"] = str(ep.state)
                if ref in self.dead_epochs:
                    self.dead_epochs.remove(ref)
        real = self.real_lists()
        # packet_count_at must agree with the lists; check a seeded sample of locations
        keys = self.all_keys()
        for key in self.rng.sample(keys, min(4, len(keys))):
            c = net.packet_count_at(self.key_obj(key))
            if c != len(real.get(key, [])):
                out.setdefault("count_mismatch", []).append([list(key), c])
        mine = {k: v for k, v in self.mirror.locs.items() if v}
        if mine != real:
            if explained:
                out["events_disagree_with_state"] = sorted(
                    [list(k), mine.get(k, []), real.get(k, [])] for k in set(mine) | set(real)
                    if mine.get(k, []) != real.get(k, []))
            old_where = dict(self.mirror.where)
            self.mirror.load_real(real)
            if self.restore_groups is None and not explained:
                # Packets that arrived without events: their relative order is not comparable.
                for key, lst in real.items():
                    arrived = [p for p in lst if old_where.get(p) != key and p not in self.mirror.group]
                    if len(arrived) > 1:
                        self.mirror.new_group(arrived)
        if self.restore_groups is not None:
            # after an undo the packets are back where they were, in the same ⟂ runs
            # (restored whether or not this engine's lists happened to change)
            self.mirror.group = {r: g for r, g in self.restore_groups.items() if r in self.mirror.where}
            self.restore_groups = None
        live_packets = set(self.mirror.where)
        for p in list(self.dead_packets):
            if p in live_packets:
                self.dead_packets.discard(p)
        canon = {k: self.mirror.canon(k) for k in real}
        delta = {"|".join(k): v for k, v in canon.items() if self.prev_locs.get(k) != v}
        for k in self.prev_locs:
            if k not in canon:
                delta["|".join(k)] = []
        self.prev_locs = canon
        if delta:
            out["locs"] = delta
        out["blocked"] = net.is_blocked()
        out["startable"] = sorted((self.ids.ref(u) for u in net.get_startable_epochs()), key=ref_key)
        ep_delta = {}
        for ref, ep in snaps.items():
            n = None if ep is None else self.norm.epoch(ep)
            if self.prev_epochs.get(ref) != n:
                ep_delta[ref] = n
            self.prev_epochs[ref] = n
        if ep_delta:
            out["epochs"] = ep_delta
        known_packets = sorted(live_packets | self.dead_packets, key=ref_key)
        if known_packets:
            sample = [self.rng.choice(known_packets) for _ in range(2)]
            pk = []
            for ref in sample:
                p = net.get_packet(self.ids.real(ref))
                pk.append([ref, None if p is None else [self.ids.ref(p.id), list(self.loc_key(p.location)),
                                                        str(p.get_id()) == p.id]])
            out["packets"] = pk
        return out


def run_seed(ns, seed: int, n_actions: int = DEFAULT_ACTIONS) -> dict:
    """The normalised trace (and the action script) of ``seed`` on engine module ``ns``."""
    runner = TraceRunner(ns, seed, n_actions)
    trace = runner.run()
    return {"seed": seed, "trace": trace, "script": runner.script, "spec": runner.spec}


def replay(ns, spec: dict, script: list) -> dict:
    """The normalised trace of a recorded ``script`` on graph ``spec``."""
    runner = TraceRunner(ns, 0, spec=spec, script=script)
    return {"trace": runner.run()}


def _parse_seeds(text: str) -> list[int]:
    seeds = []
    for part in text.split(","):
        if ":" in part:
            a, b = part.split(":")
            seeds.extend(range(int(a), int(b)))
        elif part:
            seeds.append(int(part))
    return seeds


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="0:10", help="e.g. 0:100 or 3,7,9")
    ap.add_argument("--actions", type=int, default=DEFAULT_ACTIONS)
    ap.add_argument("--replay", help="JSON file with {spec, script}")
    ap.add_argument("--full", action="store_true", help="also print script and spec")
    ap.add_argument("--probes", action="store_true", help="print the API probe outcomes instead")
    args = ap.parse_args(argv)
    import netrun_sim as ns

    out = sys.stdout
    out.write(json.dumps({"engine_file": ns.__file__}) + "\n")
    if args.probes:
        from _trace_probes import run_probes

        out.write(json.dumps(run_probes(ns)) + "\n")
        return 0
    if args.replay:
        with open(args.replay) as f:
            case = json.load(f)
        out.write(json.dumps(replay(ns, case["spec"], case["script"])) + "\n")
        return 0
    for seed in _parse_seeds(args.seeds):
        res = run_seed(ns, seed, args.actions)
        if not args.full:
            res = {"seed": seed, "trace": res["trace"]}
        out.write(json.dumps(res) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
