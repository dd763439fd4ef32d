"""Random graph specs for the engine differential test, and how to build them.

A *graph spec* is plain JSON data (so a failing case can be printed, saved and replayed)
describing a ``netrun_sim.Graph``. The same spec is built with whichever ``netrun_sim`` is
importable, so the published native engine and ours get the very same topology.

This module imports nothing from the project: it must run unchanged under the throwaway
interpreter that has only the published ``netrun-sim`` wheel installed.

Spec layout::

    {"nodes": [{"name": "A",
                "in": [["i0", CAP], ...], "out": [["o0", CAP], ...],
                "inc": [["c0", COND], ...], "outc": [["s0", COND], ...],
                "req": null | {"triggers": ["OnStartup", ...], "label": "L0"}}],
     "edges": [[src_node, src_port, dst_node, dst_port], ...],     # duplicates allowed
     "dep_edges": [[...], ...]}

    CAP   = null (Port()) | "inf" (PortSlotSpec.Infinite) | "bare" (PortSlotSpec.Finite,
            which the engine reads as infinite, reference §11.9) | int (finite(n))
    COND  = {"max": "inf" | int, "ports": PORTS, "term": TERM}
    PORTS = {"kind": "str", "v": name} | {"kind": "list", "v": [names]}
          | {"kind": "dict", "v": [[name, "all" | n], ...]}
    TERM  = ["T"] | ["F"] | ["P", port, STATE] | ["AND", [TERM...]] | ["OR", [TERM...]]
          | ["NOT", TERM]
    STATE = "Empty" | "Full" | "NonEmpty" | "NonFull" | [numeric_kind, n]

An edge entry may carry two more items ``[..., src_type, dst_type]`` ("I"/"O") to build the
deliberately mistyped edges used by the validation comparison.
"""

from __future__ import annotations

import copy
import random

NODE_NAMES = ["A", "B", "C", "D", "E", "F"]
# Rare odd names exercise the Rust-Debug quoting of reprs and the raw names in messages.
ODD_NAMES = ['q"x', "s p", "t\\u", "n\u00e9"]
IN_PORTS = ["i0", "i1", "i2"]
OUT_PORTS = ["o0", "o1", "o2"]
SIMPLE_STATES = ["Empty", "Full", "NonEmpty", "NonFull"]
NUMERIC_STATES = ["equals", "less_than", "greater_than", "equals_or_less_than",
                  "equals_or_greater_than"]
TRIGGERS = ["OnStartup", "OnNoSalvoTriggered"]


# --------------------------------------------------------------------------- generation

def _cap(rng: random.Random):
    r = rng.random()
    if r < 0.45:
        return None
    if r < 0.55:
        return "inf"
    if r < 0.58:
        return "bare"
    return rng.choice([0, 1, 1, 2, 2, 3])


def _state(rng: random.Random):
    if rng.random() < 0.6:
        return rng.choice(SIMPLE_STATES)
    return [rng.choice(NUMERIC_STATES), rng.choice([0, 1, 1, 2, 3])]


def gen_term(rng: random.Random, ports: list[str], depth: int = 0):
    """A random term over ``ports`` (plus, rarely, nothing at all)."""
    r = rng.random()
    if depth >= 2 or r < 0.45:
        if not ports or rng.random() < 0.08:
            return ["T"] if rng.random() < 0.6 else ["F"]
        return ["P", rng.choice(ports), _state(rng)]
    if r < 0.7:
        return ["AND", [gen_term(rng, ports, depth + 1) for _ in range(rng.choice([0, 1, 2, 2, 3]))]]
    if r < 0.9:
        return ["OR", [gen_term(rng, ports, depth + 1) for _ in range(rng.choice([0, 1, 2, 2, 3]))]]
    return ["NOT", gen_term(rng, ports, depth + 1)]


def _gen_ports_sel(rng: random.Random, ports: list[str]):
    if not ports:
        return {"kind": "dict", "v": []}
    r = rng.random()
    chosen = rng.sample(ports, rng.randint(1, len(ports)))
    if r < 0.2:
        return {"kind": "str", "v": chosen[0]}
    if r < 0.4:
        if rng.random() < 0.15:
            chosen = chosen + chosen[:1]  # duplicates collapse
        return {"kind": "list", "v": chosen}
    return {"kind": "dict", "v": [[p, "all" if rng.random() < 0.5 else rng.choice([0, 1, 1, 2, 3])]
                                  for p in chosen]}


def _taking_ports(sel) -> list[str]:
    """Ports from which a ``ports`` selection takes at least one packet when non-empty."""
    if sel["kind"] == "str":
        return [sel["v"]]
    if sel["kind"] == "list":
        return list(sel["v"])
    return [p for p, n in sel["v"] if n == "all" or n >= 1]


def _gen_condition(rng: random.Random, ports: list[str], is_input: bool, safe: bool):
    sel = _gen_ports_sel(rng, ports)
    term = gen_term(rng, ports)
    if is_input:
        mx = 1
        takers = _taking_ports(sel)
        if safe:
            # Guard so that a satisfied condition always takes a packet (reference §11.3):
            # the term demands that one of the taking ports is non-empty.
            if not takers:
                sel = {"kind": "dict", "v": [[ports[0], "all"]]} if ports else sel
                takers = _taking_ports(sel)
            if takers:
                p = rng.choice(takers)
                guard = ["P", p, rng.choice(["NonEmpty", ["greater_than", 0],
                                             ["equals_or_greater_than", 1]])]
                term = ["AND", [guard, term]] if rng.random() < 0.8 else guard
    else:
        mx = rng.choice(["inf", "inf", 1, 1, 2, 0])
        takers = _taking_ports(sel)
        if takers and rng.random() < 0.6:
            term = ["P", rng.choice(takers), "NonEmpty"]  # a send that usually succeeds
    return {"max": mx, "ports": sel, "term": term}


def gen_graph_spec(rng: random.Random) -> dict:
    """A random *valid* graph spec (1-6 nodes, fan-in, conditions, optional requests)."""
    n = rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5, 6])
    names = list(NODE_NAMES[:n])
    if rng.random() < 0.1:
        names[rng.randrange(n)] = rng.choice(ODD_NAMES)
    safe = rng.random() < 0.6
    nodes = []
    for name in names:
        k_in = rng.choice([0, 1, 1, 2, 2, 3])
        k_out = rng.choice([0, 1, 1, 2, 2, 3])
        ins = [[p, _cap(rng)] for p in IN_PORTS[:k_in]]
        outs = [[p, _cap(rng)] for p in OUT_PORTS[:k_out]]
        in_names = [p for p, _ in ins]
        out_names = [p for p, _ in outs]
        inc = []
        if ins:
            for c in range(rng.choice([0, 1, 1, 1, 2, 3])):
                inc.append([f"c{c}", _gen_condition(rng, in_names, True, safe)])
        outc = [[f"s{c}", _gen_condition(rng, out_names, False, safe)]
                for c in range(rng.choice([0, 1, 1, 2, 3]) if outs else rng.choice([0, 0, 1]))]
        nodes.append({"name": name, "in": ins, "out": outs, "inc": inc, "outc": outc, "req": None})
    all_in = [(nd["name"], p) for nd in nodes for p, _ in nd["in"]]
    edges = []
    if all_in:
        for nd in nodes:
            for p, _ in nd["out"]:
                if rng.random() < 0.65:
                    tn, tp = rng.choice(all_in)
                    edges.append([nd["name"], p, tn, tp])
    if edges and rng.random() < 0.08:
        edges.append(list(rng.choice(edges)))  # an edge given twice is stored once
    dep_edges = []
    if edges and rng.random() < 0.35:
        for e in rng.sample(edges, min(len(edges), rng.choice([1, 1, 2]))):
            if e not in dep_edges:
                dep_edges.append(list(e))
        for e in dep_edges:
            target = next(nd for nd in nodes if nd["name"] == e[2])
            if target["req"] is None and rng.random() < 0.85:
                trig = [t for t in TRIGGERS if rng.random() < 0.6]
                if rng.random() < 0.1:
                    trig = trig + trig
                target["req"] = {"triggers": trig, "label": rng.choice(["L0", "L1"])}
    return {"nodes": nodes, "edges": edges, "dep_edges": dep_edges}


def gen_invalid_spec(rng: random.Random, spec: dict) -> dict:
    """``spec`` with 1-3 random defects, for comparing ``Graph.validate()`` results."""
    bad = copy.deepcopy(spec)
    nodes = bad["nodes"]
    for _ in range(rng.randint(1, 3)):
        nd = rng.choice(nodes)
        k = rng.randrange(10)
        ins = [p for p, _ in nd["in"]]
        outs = [p for p, _ in nd["out"]]
        other = rng.choice(nodes)
        if k == 0:
            bad["edges"].append([nd["name"], "o0", "ZZ", "i0"] if rng.random() < 0.5
                                else ["ZZ", "o0", nd["name"], "i0"])
        elif k == 1:
            bad["edges"].append([nd["name"], "nope", other["name"], "nix"])
        elif k == 2:
            bad["edges"].append([nd["name"], "o0", other["name"], "i0", "I", "O"])
        elif k == 3 and outs:
            bad["edges"].append([nd["name"], outs[0], other["name"], "i1"])
            bad["edges"].append([nd["name"], outs[0], other["name"], "i2"])
        elif k == 4 and nd["inc"]:
            rng.choice(nd["inc"])[1]["max"] = rng.choice(["inf", 2, 0])
        elif k == 5:
            nd["inc"].append(["bad_in", {"max": 1, "ports": {"kind": "list", "v": ["ghost", *ins]},
                                         "term": ["P", "phantom", "NonEmpty"]}])
        elif k == 6:
            nd["outc"].append(["bad_out", {"max": "inf", "ports": {"kind": "str", "v": "ghost"},
                                           "term": ["OR", [["P", "phantom", "Full"], ["T"]]]}])
        elif k == 7:
            bad["dep_edges"].append([nd["name"], "o9", other["name"], "i9"])
        elif k == 8:
            nd["req"] = {"triggers": ["OnStartup"], "label": "lonely"}
        else:
            bad["edges"].append([nd["name"], "o0", other["name"], "i0", "O", "O"])
    return bad


# --------------------------------------------------------------------------- analysis

def node_of(spec: dict, name: str) -> dict | None:
    for nd in spec["nodes"]:
        if nd["name"] == name:
            return nd
    return None


def capacity(cap) -> int | None:
    """The finite capacity of a CAP value, or None for infinite."""
    return cap if isinstance(cap, int) and not isinstance(cap, bool) else None


def _term_guarantees_take(term, takers: set[str]) -> bool:
    """True when ``term`` can only be true while one of ``takers`` holds a packet."""
    kind = term[0]
    if kind == "P":
        port, st = term[1], term[2]
        if port not in takers:
            return False
        if st == "NonEmpty":
            return True
        if isinstance(st, list):
            k, n = st
            return ((k == "greater_than") or (k == "equals" and n >= 1)
                    or (k == "equals_or_greater_than" and n >= 1))
        return False
    if kind == "AND":
        return any(_term_guarantees_take(t, takers) for t in term[1])
    if kind == "OR":
        return bool(term[1]) and all(_term_guarantees_take(t, takers) for t in term[1])
    if kind == "F":
        return True
    return False


def run_until_blocked_is_safe(spec: dict) -> bool:
    """Whether ``run_until_blocked`` surely terminates on this graph (reference §11.3).

    The published engine loops forever when a satisfied input condition takes no packet;
    this conservative test accepts a graph only when every input condition's term implies
    that a port it takes from is non-empty.
    """
    for nd in spec["nodes"]:
        for _, cond in nd["inc"]:
            if not _term_guarantees_take(cond["term"], set(_taking_ports(cond["ports"]))):
                return False
    return True


def unconnected_input_ports(spec: dict) -> list[tuple[str, str]]:
    heads = {(e[2], e[3]) for e in spec["edges"]}
    return [(nd["name"], p) for nd in spec["nodes"] for p, _ in nd["in"] if (nd["name"], p) not in heads]


# --------------------------------------------------------------------------- building

def build_term(ns, term):
    T = ns.SalvoConditionTerm
    kind = term[0]
    if kind == "T":
        return T.true_()
    if kind == "F":
        return T.false_()
    if kind == "AND":
        return T.and_([build_term(ns, t) for t in term[1]])
    if kind == "OR":
        return T.or_([build_term(ns, t) for t in term[1]])
    if kind == "NOT":
        return T.not_(build_term(ns, term[1]))
    st = term[2]
    if isinstance(st, str):
        state = getattr(ns.PortState, st)
    else:
        state = getattr(ns.PortState, st[0])(st[1])
    return T.port(term[1], state)


def _build_port(ns, cap):
    if cap is None:
        return ns.Port()
    if cap == "inf":
        return ns.Port(ns.PortSlotSpec.Infinite)
    if cap == "bare":
        return ns.Port(ns.PortSlotSpec.Finite)
    return ns.Port(ns.PortSlotSpec.finite(cap))


def _build_cond(ns, cond):
    mx = ns.MaxSalvos.Infinite if cond["max"] == "inf" else ns.MaxSalvos.finite(cond["max"])
    sel = cond["ports"]
    if sel["kind"] in ("str", "list"):
        ports = sel["v"]
    else:
        ports = {p: (ns.PacketCount.All if n == "all" else ns.PacketCount.count(n)) for p, n in sel["v"]}
    return ns.SalvoCondition(mx, ports, build_term(ns, cond["term"]))


def build_edge(ns, e):
    tp = {"I": ns.PortType.Input, "O": ns.PortType.Output}
    st, dt = (e[4], e[5]) if len(e) > 4 else ("O", "I")
    return ns.Edge(ns.PortRef(e[0], tp[st], e[1]), ns.PortRef(e[2], tp[dt], e[3]))


def build_node(ns, nd):
    req = None
    if nd["req"] is not None:
        req = ns.DependencyRequestConfig(
            [getattr(ns.DependencyRequestTrigger, t) for t in nd["req"]["triggers"]], nd["req"]["label"])
    return ns.Node(
        nd["name"],
        in_ports={p: _build_port(ns, c) for p, c in nd["in"]},
        out_ports={p: _build_port(ns, c) for p, c in nd["out"]},
        in_salvo_conditions={c: _build_cond(ns, cd) for c, cd in nd["inc"]},
        out_salvo_conditions={c: _build_cond(ns, cd) for c, cd in nd["outc"]},
        dependency_request_config=req,
    )


def build_graph(ns, spec):
    return ns.Graph([build_node(ns, nd) for nd in spec["nodes"]],
                    [build_edge(ns, e) for e in spec["edges"]],
                    dependency_edges=[build_edge(ns, e) for e in spec["dep_edges"]])
