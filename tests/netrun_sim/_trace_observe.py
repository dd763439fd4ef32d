"""Turning engine objects (events, epochs, responses, graphs) into comparable JSON data.

``EventNormaliser.events`` is the heart of the differential test's normalisation. It
parses an action's event list, puts the hash-ordered (⟂) spots in a canonical order,
assigns references to new IDs in that canonical order, replays the moves on the runner's
``Mirror`` (so that a ``from_index`` into an engine-ordered run can be masked), and notices
when the engines' orders would make them take *different* packets (``desync``), which ends
the comparison of that seed.

Imports nothing from the project.
"""

from __future__ import annotations

import re

from _trace_graphs import build_edge, build_graph
from _trace_norm import TS_RE, canon_runs, ref_key, run_bounds

FIELDS = ["packet_id", "epoch_id", "epoch", "from_location", "to_location", "from_index", "location",
          "salvo_condition", "node_name", "label", "source_nodes", "request_source", "orphaned_port_name"]
SHORT = {"packet_id": "p", "epoch_id": "e", "epoch": "ep", "from_location": "fr", "to_location": "to",
         "from_index": "ix", "location": "loc", "salvo_condition": "c", "node_name": "n", "label": "l",
         "source_nodes": "src", "request_source": "rs", "orphaned_port_name": "op"}
VARIANTS = ["Packet", "CreatedEpoch", "StartedEpoch", "FinishedEpoch", "CancelledEpoch", "StepResult", "Empty"]
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SRC_LIST_RE = re.compile(r"source_nodes=\[(.*?)\]")


def ulid_ms(s: str) -> int:
    v = 0
    for ch in s[:10]:
        v = v * 32 + _CROCKFORD.index(ch)
    return v


class EventNormaliser:
    """Normalises one engine's events, epochs and responses for a ``TraceRunner``."""

    def __init__(self, runner) -> None:
        self.t = runner
        self.ids = runner.ids
        self.m = runner.mirror
        self.cancel_info = None

    # -- raw access ----------------------------------------------------------------------
    def raw(self, ev) -> dict:
        r = {"kind": ev.kind, "obj": ev}
        for f in FIELDS:
            try:
                r[f] = getattr(ev, f)
            except Exception as ex:  # noqa: BLE001
                r[f] = ("<error>", type(ex).__name__)
        ts = ev.timestamp
        r["ts_ok"] = isinstance(ts, int) and ts > 10**12
        return r

    def key(self, loc):
        return self.t.loc_key(loc)

    def register(self, r, node_hint=None) -> None:
        for f in ("packet_id", "epoch_id"):
            v = r.get(f)
            if isinstance(v, str):
                self.ids.ref(v)
        if r["kind"] == "EpochCreated" and isinstance(r["epoch_id"], str):
            ref = self.ids.ref(r["epoch_id"])
            if ref not in self.t.epochs:
                ep = self.t.net.get_epoch(r["epoch_id"])
                node = ep.node_name if ep is not None else (node_hint or "")
                self.t.epochs[ref] = {"node": node, "state": "EpochState.Startable", "alive": True, "amb": False}

    # -- records -------------------------------------------------------------------------
    def record(self, r, ix=None) -> dict:
        rec = {"k": r["kind"]}
        for f in FIELDS:
            v = r[f]
            if v is None:
                continue
            s = SHORT[f]
            if f in ("packet_id", "epoch_id"):
                rec[s] = self.ids.ref(v) if isinstance(v, str) else ["not-str", repr(v)]
            elif f == "epoch":
                rec[s] = self.epoch(v)
            elif f in ("from_location", "to_location", "location"):
                rec[s] = list(self.key(v))
            elif f == "from_index":
                rec[s] = v if ix is None else ix
            elif f == "source_nodes":
                rec[s] = sorted(v)
            else:
                rec[s] = v
        if not r["ts_ok"]:
            rec["ts"] = "bad"
        text = self.ids.text(TS_RE.sub("ts=T", repr(r["obj"])))
        if isinstance(rec.get("ix"), list):
            text = re.sub(r"from_index=\d+", "from_index=~", text)
        if r["kind"] == "RequestCascadeResolved":
            text = SRC_LIST_RE.sub(lambda m: "source_nodes=[" + ", ".join(sorted(m.group(1).split(", "))) + "]",
                                   text)
        rec["repr"] = text
        return rec

    def move(self, r, recs, i, ix=None) -> None:
        """Record a PacketMoved and apply it to the mirror."""
        p = self.ids.ref(r["packet_id"])
        fr, to = self.key(r["from_location"]), self.key(r["to_location"])
        if ix is None:
            ix = self.m.norm_index(fr, p, r["from_index"])
        recs[i] = self.record(r, ix)
        self.m.move(p, to)

    def apply_other(self, r, recs, i) -> None:
        k = r["kind"]
        if k == "PacketMoved":
            self.move(r, recs, i)
            return
        recs[i] = self.record(r)
        if k in ("PacketConsumed", "PacketDestroyed"):
            p = self.ids.ref(r["packet_id"])
            self.m.remove(p)
            self.t.dead_packets.add(p)
        elif k == "PacketCreated":
            p = self.ids.ref(r["packet_id"])
            pk = self.t.net.get_packet(r["packet_id"])
            self.m.append(p, self.key(pk.location) if pk is not None else ("X",))
        elif k == "PacketOrphaned":
            self.m.move(self.ids.ref(r["packet_id"]), ("X",))

    # -- event lists ---------------------------------------------------------------------
    def events(self, events, kind: str) -> list:
        raw = [self.raw(ev) for ev in events]
        if kind == "step":
            return self._step(raw)
        return self._act(raw, kind)

    def _segments(self, raw):
        segs, i, n = [], 0, len(raw)

        def is_p1(j):
            r = raw[j]
            return (r["kind"] == "PacketMoved" and r["from_location"].kind == "Edge"
                    and r["to_location"].kind == "InputPort")
        while i < n:
            k = raw[i]["kind"]
            if is_p1(i):
                j = i
                while j < n and is_p1(j):
                    j += 1
                segs.append(("P1", list(range(i, j))))
                i = j
            elif k == "InputSalvoTriggered":
                groups = []
                while i < n and raw[i]["kind"] == "InputSalvoTriggered":
                    g, j = [i], i + 1
                    if j < n and raw[j]["kind"] == "EpochCreated":
                        g.append(j)
                        j += 1
                    while (j < n and raw[j]["kind"] == "PacketMoved" and raw[j]["from_location"].kind == "InputPort"
                           and raw[j]["to_location"].kind == "Node"):
                        g.append(j)
                        j += 1
                    groups.append(g)
                    i = j
                segs.append(("G", groups))
            elif k in ("RequestCreated", "RequestCascadeResolved"):
                j = i
                while j < n and raw[j]["kind"] == k:
                    j += 1
                segs.append((k, list(range(i, j))))
                i = j
            elif k == "EpochCreated" and i + 1 < n and raw[i + 1]["kind"] == "RequestEpochCreated":
                pairs = []
                while i + 1 < n and raw[i]["kind"] == "EpochCreated" and raw[i + 1]["kind"] == "RequestEpochCreated":
                    pairs.append([i, i + 1])
                    i += 2
                segs.append(("RE", pairs))
            else:
                segs.append(("OTHER", [i]))
                i += 1
        return segs

    def _group_node(self, raw, g) -> str:
        ep = self.t.net.get_epoch(raw[g[0]]["epoch_id"]) if isinstance(raw[g[0]]["epoch_id"], str) else None
        if ep is not None:
            return ep.node_name
        for i in g[2:]:
            return raw[i]["from_location"].node_name or ""
        return ""

    def _step(self, raw) -> list:
        segs = self._segments(raw)
        # 1. canonical order of the ⟂ units, and references for new IDs in that order
        plan = []
        for kind, items in segs:
            if kind == "P1":
                plan.append((kind, sorted(items, key=lambda i: str(raw[i]["from_location"].get_edge()))))
            elif kind == "G":
                plan.append((kind, sorted(items, key=lambda g: self._group_node(raw, g))))
            elif kind == "RequestCreated":
                plan.append((kind, sorted(items, key=lambda i: (raw[i]["request_source"], raw[i]["node_name"],
                                                                raw[i]["label"]))))
            elif kind == "RequestCascadeResolved":
                if any(k == "RequestCreated" for k, _ in segs):
                    # automatic requests join the pending list in ⟂ order
                    items = sorted(items, key=lambda i: (raw[i]["label"], sorted(raw[i]["source_nodes"])))
                plan.append((kind, items))  # else: external requests only, resolved FIFO
            elif kind == "RE":
                plan.append((kind, sorted(items, key=lambda pr: (raw[pr[1]]["node_name"], raw[pr[1]]["label"]))))
            else:
                plan.append((kind, items))
        for kind, items in plan:
            if kind == "G":
                for g in items:
                    for i in g[:2]:
                        self.register(raw[i], self._group_node(raw, g))
            elif kind == "RE":
                for a, b in items:
                    self.register(raw[a], raw[b]["node_name"])
                    self.register(raw[b])
            else:
                for i in items:
                    self.register(raw[i])
        # 2. replay in real order (the mirror follows the engine), build records
        recs = [None] * len(raw)
        order_of = {}
        for (kind, items), (_, canon_items) in zip(segs, plan):
            if kind == "P1":
                landed = {}
                for i in items:
                    fr = self.key(raw[i]["from_location"])
                    if self.m.cut_is_ambiguous(fr, 1):
                        self.t.stopped = "desync: a step took the front of an engine-ordered run"
                    self.move(raw[i], recs, i)
                    landed.setdefault(self.key(raw[i]["to_location"]), []).append(self.ids.ref(raw[i]["packet_id"]))
                for refs in landed.values():
                    if len(refs) > 1:
                        self.m.new_group(refs)  # fan-in: arrival order at the port is ⟂
            elif kind == "G":
                for g in items:
                    order_of[g[0]] = self._input_salvo(raw, g, recs)
            else:
                flat = [i for it in items for i in (it if isinstance(it, list) else [it])]
                for i in flat:
                    self.apply_other(raw[i], recs, i)
        out = []
        for kind, items in plan:
            if kind == "G":
                for g in items:
                    out.extend(recs[i] for i in order_of[g[0]])
            else:
                for it in items:
                    out.extend(recs[i] for i in (it if isinstance(it, list) else [it]))
        return out

    def _input_salvo(self, raw, g, recs) -> list:
        """Replay one input-salvo group; return its event indexes in canonical order."""
        head, moves = g[:2], g[2:]
        for i in head:
            recs[i] = self.record(raw[i])
        by_port = {}
        for i in moves:
            by_port.setdefault(self.key(raw[i]["from_location"]), []).append(i)
        amb = len([k for k in by_port if by_port[k]]) > 1
        canon_moves = []
        masks = {}
        for key in sorted(by_port, key=lambda k: k[2]):
            idxs = by_port[key]
            if self.m.cut_is_ambiguous(key, len(idxs)):
                self.t.stopped = "desync: an input salvo split an engine-ordered run"
            refs = [self.ids.ref(raw[i]["packet_id"]) for i in idxs]
            lst = self.m.locs.get(key, [])
            for p in refs:
                if p in lst:
                    s, e = run_bounds(lst, lst.index(p), self.m.group)
                    if e - s > 1:
                        amb = True
                        # every packet of an engine-ordered run leaves from the same place
                        masks[p] = ["~", s - sum(1 for q in lst[:s] if q in refs)]
            canon = canon_runs(refs, self.m.group)
            pos = {p: i for p, i in zip(refs, idxs)}
            canon_moves.extend(pos[p] for p in canon)
        moved = []
        for i in moves:
            self.move(raw[i], recs, i, masks.get(self.ids.ref(raw[i]["packet_id"])))
            moved.append(self.ids.ref(raw[i]["packet_id"]))
        eid = raw[g[0]]["epoch_id"]
        if isinstance(eid, str):
            info = self.t.epochs.get(self.ids.ref(eid))
            if info is not None:
                info["amb"] = amb
        if amb and len(moved) > 1:
            self.m.new_group(moved)
        return head + canon_moves

    def _act(self, raw, kind) -> list:
        for r in raw:
            self.register(r)
        recs = [None] * len(raw)
        order = list(range(len(raw)))
        self.cancel_info = None
        if kind == "cancel":
            self.cancel_info = {}
            groups = dict(self.m.group)
            by_loc = {}
            for i, r in enumerate(raw):
                if r["kind"] == "PacketDestroyed":
                    by_loc.setdefault(self.key(r["location"]), []).append(i)
            canon = []
            for key in sorted(by_loc, key=lambda k: (k[0] != "N", k[2] if len(k) > 2 else "")):
                refs = [self.ids.ref(raw[i]["packet_id"]) for i in by_loc[key]]
                pos = dict(zip(refs, by_loc[key]))
                for p in canon_runs(refs, groups):
                    canon.append(pos[p])
                    self.cancel_info[p] = len(self.cancel_info)
            order = canon + [i for i in order if i not in set(canon)]
        elif kind == "send":
            body = [i for i, r in enumerate(raw) if r["kind"] in ("PacketMoved", "PacketOrphaned")]

            def port_of(i):
                r = raw[i]
                return r["orphaned_port_name"] if r["kind"] == "PacketOrphaned" else r["from_location"].port_name
            order = sorted(body, key=port_of) + [i for i in order if i not in set(body)]
            orphan_ports = {raw[i]["orphaned_port_name"] for i in body if raw[i]["kind"] == "PacketOrphaned"}
        for i, r in enumerate(raw):
            self.apply_other(r, recs, i)
        if kind == "send" and len(orphan_ports) > 1:
            self.m.new_group([self.ids.ref(raw[i]["packet_id"]) for i in body if raw[i]["kind"] == "PacketOrphaned"])
        return [recs[i] for i in order]

    # -- snapshots -----------------------------------------------------------------------
    def salvo(self, s, amb: bool) -> list:
        pk = [(port, self.ids.ref(pid)) for port, pid in s.packets]
        by_port = {}
        for port, ref in pk:
            by_port.setdefault(port, []).append(ref)
        out = []
        for port in sorted(by_port):
            refs = sorted(by_port[port], key=ref_key) if amb else by_port[port]
            out.extend([port, r] for r in refs)
        return [s.salvo_condition, out]

    def epoch(self, ep) -> dict:
        ref = self.ids.ref(ep.id)
        amb = self.t.epochs.get(ref, {}).get("amb", False)
        orph = [[self.ids.ref(o.packet_id), o.from_port, o.salvo_condition] for o in ep.orphaned_packets]
        runs, cur = [], []
        for o in orph:
            if cur and cur[-1][2] != o[2]:
                runs.append(cur)
                cur = []
            cur.append(o)
        if cur:
            runs.append(cur)
        orph = [o for run in runs for o in sorted(run, key=lambda o: o[1])]
        d = {"id": ref, "node": ep.node_name, "state": str(ep.state), "in": self.salvo(ep.in_salvo, amb),
             "outs": [self.salvo(s, False) for s in ep.out_salvos], "orph": orph,
             "repr": self.ids.text(repr(ep))}
        if str(ep.get_id()) != ep.id or ep.start_time() != ulid_ms(ep.id):
            d["id_api"] = [str(ep.get_id()) == ep.id, ep.start_time() == ulid_ms(ep.id)]
        return d

    def response(self, resp) -> list:
        ns = self.t.ns
        for v in VARIANTS:
            if isinstance(resp, getattr(ns.NetActionResponseData, v)):
                break
        else:
            return ["unknown-response", type(resp).__name__]
        if v == "Packet":
            return [v, self.ids.ref(resp.packet_id)]
        if v == "StepResult":
            return [v, resp.made_progress]
        if v == "Empty":
            return [v]
        out = [v, self.epoch(resp.epoch)]
        if v == "CancelledEpoch":
            refs = [self.ids.ref(p) for p in resp.destroyed_packets]
            info = self.cancel_info or {}
            if sorted(refs, key=ref_key) == sorted(info, key=ref_key):
                refs = sorted(refs, key=lambda p: info[p])
            out.append(refs)
        return out


# --------------------------------------------------------------------------- graphs

def _cond_summary(c) -> dict:
    return {"max": repr(c.max_salvos), "ports": sorted((k, repr(v)) for k, v in c.ports.items()),
            "term": repr(c.term), "kind": c.term.kind}


def graph_summary(ns, spec) -> dict:
    """Everything a Graph built from ``spec`` tells about itself (⟂ collections sorted)."""
    g = build_graph(ns, spec)
    nodes = g.nodes()
    out = {"repr": repr(g), "nodes": sorted(nodes), "edges": sorted(str(e) for e in g.edges()),
           "validate": [str(x) for x in g.validate()], "dep": sorted(str(e) for e in g.dependency_edges())}
    out["is_dep"] = [g.is_dependency_edge(build_edge(ns, e)) for e in spec["edges"]]
    heads = {}
    for nd in spec["nodes"]:
        for p, _ in nd["in"] + [["nope", None]]:
            ref = ns.PortRef(nd["name"], ns.PortType.Input, p)
            heads[f"{nd['name']}.{p}"] = [str(e) for e in g.get_edges_by_head(ref)]
    out["heads"] = heads
    per = {}
    for name in sorted(nodes):
        n = nodes[name]
        cfg = n.dependency_request_config
        per[name] = {
            "repr": repr(n), "name": n.name,
            "in": sorted((k, repr(v)) for k, v in n.in_ports.items()),
            "out": sorted((k, repr(v)) for k, v in n.out_ports.items()),
            "inc": [[k, _cond_summary(c)] for k, c in n.in_salvo_conditions.items()],
            "outc": [[k, _cond_summary(c)] for k, c in n.out_salvo_conditions.items()],
            "req": None if cfg is None else [repr(cfg), cfg.label, [str(t) for t in cfg.triggers]],
        }
    out["per_node"] = per
    return out


def _detail(v):
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    return [type(v).__name__, str(v) if type(v).__name__ in ("PortRef", "Edge") else repr(v)]


def validation_summary(ns, spec, ids) -> list:
    """``Graph.validate()`` of an invalid spec, as a sorted list (its order is ⟂)."""
    g = build_graph(ns, spec)
    out = []
    for info in g.validate():
        out.append([info.kind, info.message, sorted([k, _detail(v)] for k, v in info.details.items()),
                    str(info) == info.message, repr(info)])
    return sorted(out, key=lambda x: str(x))
