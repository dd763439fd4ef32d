"""The random action chooser of the differential test.

The chooser looks only at *normalised* state (references ``#n``, canonical packet lists,
epoch states), never at raw IDs or engine-specific orders, so two faithful engines driven
by the same seed choose the same actions. Every choice is recorded as a JSON *action
description*; a recorded list of them (a script) can be replayed on its own.

Action descriptions (REF: ``#n`` | ``K0``.. | ``L:<literal name>`` | ``low:#n`` |
``ulid:#n`` | ``int``; LOC: ``["X"]`` | ``["I", node, port]`` | ``["E", s, sp, t, tp]`` |
``["N", REF]`` | ``["O", REF, port]``)::

    {"op": "create_packet"} / {"op": "create_packet", "e": REF}
    {"op": "consume" | "destroy", "p": REF}
    {"op": "start" | "finish" | "cancel", "e": REF}
    {"op": "create_epoch", "node": name, "cond": name, "packets": [[port, REF], ...]}
    {"op": "load", "p": REF, "port": name}
    {"op": "send", "e": REF, "cond": name}
    {"op": "transport", "p": REF, "dest": LOC}
    {"op": "request", "node": name, "label": label}
    {"op": "step"} | {"op": "step_direct"} | {"op": "rub"} | {"op": "undo"}
    {"op": "query", "what": "epoch" | "packet" | "loc_node" | "loc_out", "id": REF}

Imports nothing from the project.
"""

from __future__ import annotations

from _trace_norm import LITERALS, ref_key

BAD_REFS = ["K0", "K1", "K2", "L:WRAP"] + [f"L:{k}" for k in LITERALS if k.startswith("BAD")] + ["int"]


class Chooser:
    """Picks the next action from the normalised state held by a ``TraceRunner``."""

    def __init__(self, runner) -> None:
        self.t = runner
        self.rng = runner.rng
        self.spec = runner.spec

    # -- helpers -------------------------------------------------------------------------
    def bad_ref(self) -> str:
        r = self.rng.random()
        dead = sorted(self.t.dead_packets | set(self.t.dead_epochs), key=ref_key)
        if dead and r < 0.35:
            return self.rng.choice(dead)
        return self.rng.choice(BAD_REFS)

    def dress(self, ref: str) -> str:
        """Sometimes pass a valid ID in another accepted form (lower case, ulid.ULID)."""
        if ref.startswith("#"):
            r = self.rng.random()
            if r < 0.06:
                return "low:" + ref
            if r < 0.1:
                return "ulid:" + ref
        return ref

    def packets_where(self, pred) -> list[str]:
        out = []
        for key, lst in self.t.mirror.locs.items():
            if lst and pred(key):
                out.extend(lst)
        return sorted(out, key=ref_key)

    def epochs_in(self, *states) -> list[str]:
        return sorted((r for r, e in self.t.epochs.items() if e["alive"] and e["state"] in states), key=ref_key)

    def live_epochs(self) -> list[str]:
        return self.epochs_in("EpochState.Startable", "EpochState.Running")

    def node_spec(self, name):
        for nd in self.spec["nodes"]:
            if nd["name"] == name:
                return nd
        return None

    def packet_ref(self, pool) -> str:
        if pool and self.rng.random() < 0.9:
            return self.dress(self.rng.choice(pool))
        live = self.packets_where(lambda k: True)
        if live and self.rng.random() < 0.7:
            return self.dress(self.rng.choice(live))
        return self.bad_ref()

    def epoch_ref(self, pool) -> str:
        if pool and self.rng.random() < 0.9:
            return self.dress(self.rng.choice(pool))
        live = self.live_epochs()
        if live and self.rng.random() < 0.7:
            return self.dress(self.rng.choice(live))
        return self.bad_ref()

    # -- the choice ----------------------------------------------------------------------
    def choose(self) -> dict:
        rng = self.rng
        startable = self.epochs_in("EpochState.Startable")
        running = self.epochs_in("EpochState.Running")
        in_nodes = self.packets_where(lambda k: k[0] == "N")
        in_outports = self.packets_where(lambda k: k[0] == "O")
        outside = self.packets_where(lambda k: k[0] == "X")
        weights = {
            "create_packet": 7 if len(outside) < 6 else 2,
            "transport": 12 if outside else 4,
            "step": 14, "step_direct": 3,
            "rub": 3 if self.t.rub_safe else 0,
            "start": 10 if startable else 1,
            "create_in_epoch": 5 if running else 1,
            "load": 10 if in_nodes else 1,
            "send": 14 if in_outports else 2,
            "finish": 7 if running else 1,
            "cancel": 3, "consume": 5 if in_nodes else 2, "destroy": 2,
            "create_epoch": 4, "request": 2 if self.spec["dep_edges"] else 1,
            "undo": 7 if self.t.stack else 1, "query": 1,
        }
        ops = list(weights)
        op = rng.choices(ops, [weights[o] for o in ops])[0]
        return getattr(self, "_" + op)()

    def _create_packet(self):
        return {"op": "create_packet"}

    def _create_in_epoch(self):
        return {"op": "create_packet", "e": self.epoch_ref(self.epochs_in("EpochState.Running"))}

    def _step(self):
        return {"op": "step"}

    def _step_direct(self):
        return {"op": "step_direct"}

    def _rub(self):
        return {"op": "rub"}

    def _undo(self):
        return {"op": "undo"}

    def _start(self):
        return {"op": "start", "e": self.epoch_ref(self.epochs_in("EpochState.Startable"))}

    def _finish(self):
        running = self.epochs_in("EpochState.Running")
        empty = [e for e in running if not self.t.epoch_has_packets(e)]
        pool = empty if empty and self.rng.random() < 0.7 else running
        return {"op": "finish", "e": self.epoch_ref(pool)}

    def _cancel(self):
        return {"op": "cancel", "e": self.epoch_ref(self.live_epochs())}

    def _consume(self):
        pool = self.packets_where(lambda k: k[0] == "N")
        return {"op": "consume", "p": self.packet_ref(pool)}

    def _destroy(self):
        return {"op": "destroy", "p": self.packet_ref(self.packets_where(lambda k: True))}

    def _load(self):
        pool = self.packets_where(lambda k: k[0] == "N")
        p = self.packet_ref(pool)
        port = "zz"
        if p.split(":")[-1] in self.t.mirror.where:
            key = self.t.mirror.where[p.split(":")[-1]]
            if key[0] == "N":
                nd = self.node_spec(self.t.epochs.get(key[1], {}).get("node"))
                outs = [q for q, _ in nd["out"]] if nd else []
                if outs and self.rng.random() < 0.9:
                    port = self.rng.choice(outs)
        return {"op": "load", "p": p, "port": port}

    def _send(self):
        with_out = sorted({self.t.mirror.where[p][1] for p in self.packets_where(lambda k: k[0] == "O")},
                          key=ref_key)
        pool = with_out if with_out and self.rng.random() < 0.8 else self.live_epochs()
        e = self.epoch_ref(pool)
        cond = "zz"
        ref = e.split(":")[-1]
        info = self.t.epochs.get(ref)
        if info:
            nd = self.node_spec(info["node"])
            names = [c for c, _ in nd["outc"]] if nd else []
            # conditions that ask only for a packet on a port that has one right now
            likely = [c for c, cd in (nd["outc"] if nd else []) if cd["term"][0] == "P"
                      and cd["term"][2] == "NonEmpty" and self.t.mirror.locs.get(("O", ref, cd["term"][1]))]
            r = self.rng.random()
            if likely and r < 0.6:
                cond = self.rng.choice(likely)
            elif names and r < 0.95:
                cond = self.rng.choice(names)
        return {"op": "send", "e": e, "cond": cond}

    def _request(self):
        names = [nd["name"] for nd in self.spec["nodes"]]
        targets = sorted({e[2] for e in self.spec["dep_edges"]})
        r = self.rng.random()
        node = (self.rng.choice(targets) if targets and r < 0.6 else
                self.rng.choice(names) if r < 0.92 else "ZZ")
        return {"op": "request", "node": node, "label": self.rng.choice(["L0", "L1", "X"])}

    def _query(self):
        what = self.rng.choice(["epoch", "packet", "loc_node", "loc_out"])
        pool = self.live_epochs() if what != "packet" else self.packets_where(lambda k: True)
        ref = self.rng.choice(pool) if pool and self.rng.random() < 0.3 else self.bad_ref()
        return {"op": "query", "what": what, "id": self.dress(ref)}

    def _create_epoch(self):
        rng = self.rng
        nodes = self.spec["nodes"]
        nd = rng.choice(nodes)
        name = nd["name"] if rng.random() < 0.95 else "ZZ"
        items = []
        for port, _ in nd["in"]:
            for p in self.t.mirror.canon(("I", nd["name"], port)):
                items.append([port, p])
        rng.shuffle(items)
        items = items[: rng.choice([0, 1, 1, 2, 3])]
        r = rng.random()
        if r < 0.2:
            # One wrong item: a port that is not there, a packet that is elsewhere or gone.
            k = rng.randrange(4)
            ins = [q for q, _ in nd["in"]]
            elsewhere = [p for p in self.packets_where(lambda key: key[0] != "I")]
            used = {p for _, p in items}
            if k == 0:
                bad = ["zz", rng.choice(elsewhere) if elsewhere else "K0"]
            elif k == 1 and ins and elsewhere:
                bad = [rng.choice(ins), rng.choice(elsewhere)]
            elif k == 2 and ins:
                bad = [rng.choice(ins), self.bad_ref()]
            else:
                other = [[q, p] for q in ins for p in self.packets_where(lambda key: key[0] == "I")
                         if key_port(self.t.mirror.where.get(p)) != (nd["name"], q)]
                bad = rng.choice(other) if other else ["zz", "K0"]
            if bad[1] not in used:
                items.insert(rng.randrange(len(items) + 1), bad)
        items = [[port, self.dress(p)] for port, p in items]
        cond = rng.choice(["manual", "c0", "__request__", "m"])
        return {"op": "create_epoch", "node": name, "cond": cond, "packets": items}

    def _transport(self):
        rng = self.rng
        outside = self.packets_where(lambda k: k[0] == "X")
        anyp = self.packets_where(lambda k: True)
        pool = outside if outside and rng.random() < 0.6 else anyp
        p = self.packet_ref(pool)
        r = rng.random()
        spec = self.spec
        if r < 0.45 and spec["edges"]:
            e = rng.choice(spec["edges"])
            dest = ["E", *e[:4]]
        elif r < 0.65:
            nd = rng.choice(spec["nodes"])
            ins = [q for q, _ in nd["in"]]
            rr = rng.random()
            if ins and rr < 0.85:
                dest = ["I", nd["name"], rng.choice(ins)]
            elif rr < 0.95:
                dest = ["I", nd["name"], "zz"]
            else:
                dest = ["I", "ZZ", "i0"]
        elif r < 0.73:
            dest = ["X"]
        elif r < 0.83:
            dest = ["N", self.epoch_ref(self.live_epochs())]
        elif r < 0.93:
            e = self.epoch_ref(self.live_epochs())
            info = self.t.epochs.get(e.split(":")[-1])
            nd = self.node_spec(info["node"]) if info else None
            outs = [q for q, _ in nd["out"]] if nd else []
            dest = ["O", e, rng.choice(outs) if outs and rng.random() < 0.85 else "zz"]
        else:
            # An edge that is not in the graph: reversed, or between unconnected ports.
            a, b = rng.choice(spec["nodes"]), rng.choice(spec["nodes"])
            dest = ["E", a["name"], (a["out"] or [["o9"]])[0][0], b["name"], "i9"]
        return {"op": "transport", "p": p, "dest": dest}


def key_port(key):
    if key and key[0] == "I":
        return (key[1], key[2])
    return None
