"""The net's mutable state and its low-level operations.

Data layout (every action costs O(what it touches)):

* ``where``: packet id → its :class:`Loc`; each ``Loc`` holds an ``OrderedDict`` queue of
  packet ids (O(1) append, pop-front, delete-by-key; the front is found in O(1)).
* ``locs``: location key → ``Loc`` for lookups from the API (``PacketLocation`` keys).
* ``epochs``: epoch id → :class:`Ep` (state, salvos, its ``Node``/``OutputPort`` locations);
  ``startable``: insertion-ordered ids of Startable epochs.
* per node (:class:`NodeRT`): the input-port queues, their packet total and a cached
  "first satisfied input condition". ``dirty`` holds nodes whose input counts changed
  since their conditions were last evaluated, ``ready`` the nodes with input packets and a
  satisfied condition, ``busy`` the edges holding packets.
* requests: ``pending`` (FIFO list), ``tokens`` (nodes with ``OnNoSalvoTriggered``) and
  the ``startup_sent`` flag.
"""

from __future__ import annotations

from collections import OrderedDict

from .locations import OUTSIDE

__all__ = ["Loc", "Ep", "NodeRT", "State", "K_OUTSIDE", "K_EDGE", "K_INPUT", "K_NODE", "K_OUTPUT", "index_in"]

K_OUTSIDE, K_EDGE, K_INPUT, K_NODE, K_OUTPUT = 0, 1, 2, 3, 4
STARTABLE, RUNNING, FINISHED = 0, 1, 2


class Loc:
    """One packet location: its key, its ordered queue and what bookkeeping it needs."""

    __slots__ = ("key", "q", "kind", "rt", "cap", "tgt", "ep", "dest", "order", "name")

    def __init__(self, key: tuple, kind: int, cap=None) -> None:
        self.key = key
        self.q: OrderedDict = OrderedDict()
        self.kind = kind
        self.cap = cap
        self.rt = None  # input port: the node's NodeRT
        self.tgt = None  # edge: the target input-port Loc
        self.ep = None  # node / output port: the epoch
        self.dest = None  # output port: the Loc of the edge leaving it (None: orphaning)
        self.order = 0  # edge: declaration position (phase-1 visiting order)
        self.name = None  # input/output port: the port name


class Ep:
    """A live epoch (Startable or Running)."""

    __slots__ = ("id", "rt", "state", "in_salvo", "outs", "orphans", "out_counts", "nloc", "olocs", "oq")

    def snapshot(self, state: int | None = None) -> tuple:
        """An immutable snapshot tuple (see ``records``)."""
        return (
            self.id,
            self.rt.info.name,
            self.state if state is None else state,
            self.in_salvo,
            tuple(self.outs),
            tuple(self.orphans),
        )


class NodeRT:
    """Per-net runtime data of one node."""

    __slots__ = ("info", "in_locs", "in_qs", "total", "fire")

    def __init__(self, info) -> None:
        self.info = info
        self.in_locs: list = []
        self.in_qs: list = []
        self.total = 0
        self.fire = None  # cached first satisfied input condition (valid unless dirty)


def index_in(q: OrderedDict, pid: str) -> int:
    """Position of ``pid`` in ``q`` (front and back in O(1), else a scan)."""
    if next(iter(q)) == pid:
        return 0
    n = len(q)
    if next(reversed(q)) == pid:
        return n - 1
    for i, key in enumerate(q):
        if key == pid:
            return i
    raise KeyError(pid)


class State:
    """Mutable state of a net plus the primitives that keep its indexes consistent."""

    __slots__ = (
        "comp",
        "rts",
        "rt_by_name",
        "locs",
        "where",
        "epochs",
        "startable",
        "busy",
        "dirty",
        "ready",
        "pending",
        "tokens",
        "startup_sent",
        "outside",
    )

    def __init__(self, comp) -> None:
        self.comp = comp
        self.locs: dict = {}
        self.where: dict = {}
        self.epochs: dict = {}
        self.startable: dict = {}
        self.busy: dict = {}
        self.dirty: set = set()
        self.ready: set = set()
        self.pending: list = []
        self.tokens = {info.name: True for info in comp.no_salvo_nodes}
        self.startup_sent = False
        self.outside = Loc(OUTSIDE, K_OUTSIDE)
        self.locs[OUTSIDE] = self.outside
        self.rts = []
        self.rt_by_name = {}
        for info in comp.nodes:
            rt = NodeRT(info)
            for port, cap in zip(info.in_names, info.in_caps):
                key = ("I", info.name, port)
                loc = Loc(key, K_INPUT, cap)
                loc.rt = rt
                loc.name = port
                self.locs[key] = loc
                rt.in_locs.append(loc)
                rt.in_qs.append(loc.q)
            self.rts.append(rt)
            self.rt_by_name[info.name] = rt
        for order, edge in enumerate(comp.edges):
            key = ("E", edge)
            loc = Loc(key, K_EDGE)
            loc.order = order
            loc.tgt = self.locs[("I", edge._target._node, edge._target._port)]
            self.locs[key] = loc

    # -- packet primitives ------------------------------------------------------------------
    def add(self, loc: Loc, pid: str) -> None:
        """Append ``pid`` at the back of ``loc``."""
        loc.q[pid] = None
        self.where[pid] = loc
        kind = loc.kind
        if kind == K_EDGE:
            self.busy[loc] = None
        elif kind == K_INPUT:
            loc.rt.total += 1
            self.dirty.add(loc.rt)

    def discard(self, loc: Loc, pid: str) -> None:
        """Remove ``pid`` from ``loc`` (the packet map is left to the caller)."""
        del loc.q[pid]
        kind = loc.kind
        if kind == K_EDGE:
            if not loc.q:
                del self.busy[loc]
        elif kind == K_INPUT:
            loc.rt.total -= 1
            self.dirty.add(loc.rt)

    def insert_at(self, loc: Loc, pid: str, index: int) -> None:
        """Insert ``pid`` at position ``index`` of ``loc`` (undo of a move)."""
        q = loc.q
        if index >= len(q):
            self.add(loc, pid)
            return
        rest = list(q)
        self.add(loc, pid)
        for key in rest[index:]:
            q.move_to_end(key)

    # -- epochs ---------------------------------------------------------------------------------
    def new_epoch(self, eid: str, rt: NodeRT, state: int, in_salvo: tuple, outs=None, orphans=None) -> Ep:
        """Create and register an epoch with empty ``Node``/``OutputPort`` locations."""
        ep = Ep()
        ep.id = eid
        ep.rt = rt
        ep.state = state
        ep.in_salvo = in_salvo
        ep.outs = list(outs) if outs else []
        ep.orphans = list(orphans) if orphans else []
        counts: dict = {}
        for cond, _ in ep.outs:
            counts[cond] = counts.get(cond, 0) + 1
        ep.out_counts = counts
        locs = self.locs
        nkey = ("N", eid)
        nloc = Loc(nkey, K_NODE)
        nloc.ep = ep
        locs[nkey] = nloc
        ep.nloc = nloc
        info = rt.info
        olocs = []
        oq = []
        for port, cap, edge in zip(info.out_names, info.out_caps, info.out_edge):
            okey = ("O", eid, port)
            oloc = Loc(okey, K_OUTPUT, cap)
            oloc.ep = ep
            oloc.name = port
            if edge is not None:
                oloc.dest = locs[("E", edge)]
            locs[okey] = oloc
            olocs.append(oloc)
            oq.append(oloc.q)
        ep.olocs = olocs
        ep.oq = oq
        self.epochs[eid] = ep
        if state == STARTABLE:
            self.startable[eid] = None
        return ep

    def drop_epoch(self, ep: Ep) -> None:
        """Unregister an epoch and its locations (packets inside are the caller's business)."""
        eid = ep.id
        del self.epochs[eid]
        self.startable.pop(eid, None)
        locs = self.locs
        del locs[ep.nloc.key]
        for oloc in ep.olocs:
            del locs[oloc.key]

    # -- input conditions -------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-evaluate the input conditions of nodes whose input counts changed."""
        dirty = self.dirty
        if not dirty:
            return
        ready = self.ready
        for rt in dirty:
            fire = None
            if rt.total:
                qs = rt.in_qs
                for cond in rt.info.in_conds:
                    if cond[2](qs):
                        fire = cond
                        break
            rt.fire = fire
            if fire is None:
                ready.discard(rt)
            else:
                ready.add(rt)
        dirty.clear()
