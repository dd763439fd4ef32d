"""The net's mutable state and its low-level operations.

Data layout (every action costs O(what it touches)):

* ``where``: packet id → its :class:`Loc`; each ``Loc`` holds an ``OrderedDict`` queue of
  packet ids (O(1) append, pop-front, delete-by-key; the front is found in O(1)).
* ``locs``: location key → ``Loc`` for the static locations (outside, edges, input ports);
  an epoch's ``Node``/``OutputPort`` locations hang off its :class:`Ep` (see ``resolve``).
* ``epochs``: epoch id → :class:`Ep` (state, salvos, its ``Node``/``OutputPort`` locations);
  ``startable``: insertion-ordered ids of Startable epochs. An epoch's ``OutputPort``
  locations are made when first written (:func:`own_olocs`); until then it shares its
  node's read-only empty ones (``NodeRT.blank_olocs``), so an epoch costs two objects.
* per node (:class:`NodeRT`): the input-port queues, their packet total and a cached
  "first satisfied input condition". ``dirty`` holds nodes whose input counts changed
  since their conditions were last evaluated, ``ready`` the nodes with input packets and a
  satisfied condition, ``busy`` the edges holding packets.
* requests: ``pending`` (FIFO list), ``tokens`` (nodes with ``OnNoSalvoTriggered``) and
  the ``startup_sent`` flag.
"""

from __future__ import annotations

from collections import OrderedDict
from types import MappingProxyType

from .locations import OUTSIDE

_new = object.__new__

__all__ = [
    "Loc",
    "StaticLoc",
    "EdgeLoc",
    "InputLoc",
    "OutputLoc",
    "Ep",
    "NodeRT",
    "State",
    "K_OUTSIDE",
    "K_EDGE",
    "K_INPUT",
    "K_NODE",
    "K_OUTPUT",
    "index_in",
    "new_epoch",
    "own_olocs",
    "add_out",
    "add_orphans",
]

K_OUTSIDE, K_EDGE, K_INPUT, K_NODE, K_OUTPUT = 0, 1, 2, 3, 4
STARTABLE, RUNNING, FINISHED = 0, 1, 2


class Loc:
    """One packet location: its ordered queue ``q`` (packet id → None) and its ``key``.

    ``kind`` (a class constant) tells the subclasses apart; ``cap`` is the capacity (None:
    unbounded). Subclasses add what each kind needs, and only the attributes of a location's
    own kind are ever read. The static locations (:class:`StaticLoc`: outside, edges, input
    ports) store their key; an epoch's locations (:class:`Ep`, :class:`OutputLoc`) build it
    when it is read, which is rare on the fast lane.
    """

    __slots__ = ("q",)
    kind = K_OUTSIDE
    cap = None
    key: tuple


class StaticLoc(Loc):
    """A location that lives as long as the net (outside, an edge, an input port)."""

    __slots__ = ("key",)

    def __init__(self, key: tuple) -> None:
        self.key = key
        self.q: OrderedDict = OrderedDict()


class EdgeLoc(StaticLoc):
    """An edge: ``tgt`` is the target input port, ``order`` the edge's declaration position."""

    __slots__ = ("tgt", "order")
    kind = K_EDGE


class InputLoc(StaticLoc):
    """An input port: ``rt`` is its node's runtime data, ``name`` the port name."""

    __slots__ = ("rt", "name", "cap")
    kind = K_INPUT


class OutputLoc(Loc):
    """An epoch's output port. ``spec`` is the port's shared ``(name, capacity, edge Loc or
    None)``; packets sent from a port without an edge are orphaned."""

    __slots__ = ("ep", "spec")
    kind = K_OUTPUT

    @property
    def key(self) -> tuple:
        """``("O", epoch id, port name)``."""
        return ("O", self.ep.id, self.spec[0])

    @property
    def name(self) -> str:
        """The port name."""
        return self.spec[0]

    @property
    def cap(self):
        """The port capacity (None: unbounded)."""
        return self.spec[1]

    @property
    def dest(self):
        """The Loc of the edge leaving the port, or None (sends orphan packets)."""
        return self.spec[2]


class Ep(Loc):
    """A live epoch (Startable or Running). It is also its own ``Node`` location: ``key`` is
    ``("N", id)`` and ``q`` holds the packets inside the epoch; ``olocs`` lists its
    ``OutputPort`` locations in port order: its node's shared, empty, read-only
    ``blank_olocs`` until one is written (get writable ones with :func:`own_olocs`).
    ``outs`` (sent salvos) and ``orphans`` are tuples while short (few objects for the
    collector), lists appended in place once longer (:func:`add_out`, :func:`add_orphans`:
    a send costs O(its packets), however many came before); snapshots make them tuples. ``out_counts`` (salvos sent
    per output condition) is created on the first send."""

    __slots__ = ("id", "rt", "state", "in_salvo", "outs", "orphans", "out_counts", "olocs")
    kind = K_NODE

    @property
    def key(self) -> tuple:
        """``("N", epoch id)``."""
        return ("N", self.id)

    @property
    def ep(self) -> "Ep":
        """The epoch a Node/OutputPort location belongs to (here: itself)."""
        return self

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


def new_epoch(rt: "NodeRT", eid: str) -> Ep:
    """A new Startable epoch record of node ``rt`` with empty locations, not registered
    (``in_salvo`` is left to the caller; ``run_step`` and ``quiet_steps`` inline this)."""
    ep = _new(Ep)
    ep.q = OrderedDict()
    ep.id = eid
    ep.rt = rt
    ep.state = STARTABLE
    ep.outs = ()
    ep.out_counts = None
    ep.orphans = ()
    ep.olocs = rt.blank_olocs
    return ep


def own_olocs(ep: Ep) -> list:
    """The epoch's own ``OutputPort`` locations, made on first use (see :class:`Ep`); every
    code path that puts a packet into an output port gets the location here."""
    olocs = ep.olocs
    if olocs is ep.rt.blank_olocs:
        olocs = []
        for spec in ep.rt.out_specs:
            oloc = _new(OutputLoc)
            oloc.q = OrderedDict()
            oloc.ep = ep
            oloc.spec = spec
            olocs.append(oloc)
        ep.olocs = olocs
    return olocs


_SHORT = 8  # ``outs``/``orphans`` stay tuples up to this length, then become lists


def add_out(ep: Ep, salvo: tuple) -> None:
    """Record the output salvo ``(condition, ((port, packet_id), ...))`` ``ep`` sent."""
    outs = ep.outs
    if type(outs) is list:
        outs.append(salvo)
    elif len(outs) < _SHORT:
        ep.outs = outs + (salvo,)
    else:
        ep.outs = [*outs, salvo]


def add_orphans(ep: Ep, orphans: list) -> None:
    """Record ``(packet_id, port, condition)`` orphans of ``ep``."""
    before = ep.orphans
    if type(before) is list:
        before.extend(orphans)
    elif len(before) + len(orphans) <= _SHORT:
        ep.orphans = before + tuple(orphans)
    else:
        ep.orphans = [*before, *orphans]


# the queue of a blank output location: empty, and any write fails loudly
_NO_PACKETS = MappingProxyType({})


class NodeRT:
    """Per-net runtime data of one node (``index``, ``always``, ``pick``, ``out_pos`` and
    ``out_conds`` are its ``NodeInfo``'s, copied for the hot paths)."""

    __slots__ = (
        "info", "index", "always", "pick", "out_pos", "out_conds", "in_locs", "in_qs", "total", "fire", "out_specs",
        "blank_olocs",
    )

    def __init__(self, info) -> None:
        self.info = info
        self.index = info.index
        self.always = info.always
        self.pick = info.pick
        self.out_pos = info.out_pos
        self.out_conds = info.out_conds
        self.out_specs: tuple = ()  # (port, capacity, edge Loc or None) per output port
        self.blank_olocs: tuple = ()  # the empty output locations epochs share (see Ep)
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
        self.outside = StaticLoc(OUTSIDE)
        self.locs[OUTSIDE] = self.outside
        self.rts = []
        self.rt_by_name = {}
        for info in comp.nodes:
            rt = NodeRT(info)
            for port, cap in zip(info.in_names, info.in_caps):
                key = ("I", info.name, port)
                loc = InputLoc(key)
                loc.cap = cap
                loc.rt = rt
                loc.name = port
                self.locs[key] = loc
                rt.in_locs.append(loc)
                rt.in_qs.append(loc.q)
            self.rts.append(rt)
            self.rt_by_name[info.name] = rt
        for order, edge in enumerate(comp.edges):
            key = ("E", edge)
            loc = EdgeLoc(key)
            loc.order = order
            loc.tgt = self.locs[("I", edge._target._node, edge._target._port)]
            self.locs[key] = loc
        for rt in self.rts:
            info = rt.info
            rt.out_specs = tuple(
                (port, cap, None if edge is None else self.locs[("E", edge)])
                for port, cap, edge in zip(info.out_names, info.out_caps, info.out_edge)
            )
            blanks = []
            for spec in rt.out_specs:
                blank = _new(OutputLoc)
                blank.q = _NO_PACKETS
                blank.ep = None  # shared: belongs to no epoch (its key is never read: it is empty)
                blank.spec = spec
                blanks.append(blank)
            rt.blank_olocs = tuple(blanks)

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
        ep = new_epoch(rt, eid)
        ep.state = state
        ep.in_salvo = in_salvo
        if outs:
            ep.outs = tuple(outs) if len(outs) <= _SHORT else list(outs)
            counts: dict = {}
            for cond, _ in outs:
                counts[cond] = counts.get(cond, 0) + 1
            ep.out_counts = counts
        else:
            ep.outs = ()
            ep.out_counts = None
        if orphans:
            ep.orphans = tuple(orphans) if len(orphans) <= _SHORT else list(orphans)
        self.epochs[eid] = ep
        if state == STARTABLE:
            self.startable[eid] = None
        return ep

    def drop_epoch(self, ep: Ep) -> None:
        """Unregister an epoch (its locations go with it; packets are the caller's business)."""
        eid = ep.id
        del self.epochs[eid]
        if ep.state == STARTABLE:
            self.startable.pop(eid, None)

    def resolve(self, key: tuple):
        """The live ``Loc`` for a location key, or None if that location does not exist."""
        tag = key[0]
        if tag == "N":
            ep = self.epochs.get(key[1])
            return ep
        if tag == "O":
            ep = self.epochs.get(key[1])
            if ep is None:
                return None
            pos = ep.rt.info.out_pos.get(key[2])
            return None if pos is None else own_olocs(ep)[pos]
        return self.locs.get(key)

    # -- input conditions -------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-evaluate the input conditions of nodes whose input counts changed."""
        dirty = self.dirty
        if not dirty:
            return
        ready = self.ready
        for rt in dirty:
            fire = (rt.always or rt.pick(rt.in_qs)) if rt.total else None
            rt.fire = fire
            if fire is None:
                ready.discard(rt)
            else:
                ready.add(rt)
        dirty.clear()
