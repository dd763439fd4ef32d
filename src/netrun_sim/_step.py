"""``run_step``, ``is_blocked`` and ``run_until_blocked`` (reference section 5).

Fixed orders chosen where the published engine's order is unspecified (⟂):

* phase 1 visits the edges holding packets in edge declaration order (``Graph.edges()``);
* phase 2 visits the nodes with input packets in graph node order;
* a salvo takes packets port by port in the condition's ``ports`` insertion order;
* startup requests are created in graph node order;
* the cascade queues a node's input ports in declaration order (see ``_compiled``).
"""

from __future__ import annotations

from collections import OrderedDict
from operator import attrgetter
from time import time_ns as _time_ns

from ._ids import _BUFFER as _ID_BUFFER
from ._state import STARTABLE, Ep
from .errors import NetrunError, RequestUnconnectedPortError
from .events import (
    EpochCreated,
    InputSalvoTriggered,
    PacketMoved,
    cascade_resolved,
    epoch_id_event,
    request_created,
    request_epoch_created,
)

__all__ = ["run_step", "requests", "is_blocked", "run_until_blocked"]

_EMPTY_REQUEST_SALVO = ("__request__", ())


_by_order = attrgetter("order")
_by_index = attrgetter("index")
_new = object.__new__


def run_step(net, ts: int | None = None) -> tuple:
    """One step: returns ``(made_progress, events)``.

    Moves at most one packet per edge onto input ports, fires at most one input salvo
    condition per node, then handles dependency requests (see the module docstring for the
    orders). ``ts`` is the millisecond timestamp of the step's events (default: now).

    The runtime's fast lane steps without events through ``_faststep.quiet_steps``, which
    has the same state effect (its phases 1 and 2 mirror these; phases 2b and 3 are shared:
    :func:`requests`).
    """
    if ts is None:
        ts = _time_ns() // 1000000
    s = net._s
    events: list = []
    append = events.append
    progress = False
    where = s.where
    dirty = s.dirty

    # phase 1: one packet per non-empty edge, capacities read before any move (fan-in overfill)
    busy = s.busy
    if busy:
        # A finite target's count is read once, before any packet moves into it in this
        # phase, so several fan-in edges may all deliver (the published engine's overfill).
        before = None
        if len(busy) == 1:
            edges = list(busy)
        elif len(busy) == 2:
            a, b = busy
            edges = (a, b) if a.order < b.order else (b, a)
        else:
            edges = sorted(busy, key=_by_order)
        for eloc in edges:
            tgt = eloc.tgt
            cap = tgt.cap
            if cap is not None:
                if before is None:
                    before = {}
                count = before.get(tgt)
                if count is None:
                    count = before[tgt] = len(tgt.q)
                if count >= cap:
                    continue
            q = eloc.q
            pid = q.popitem(last=False)[0]
            if not q:
                del busy[eloc]
            tgt.q[pid] = None
            where[pid] = tgt
            rt = tgt.rt
            rt.total += 1
            dirty.add(rt)
            ev = _new(PacketMoved)
            ev._ts = ts
            ev._pid = pid
            ev._from = eloc.key
            ev._to = tgt.key
            ev._idx = 0
            append(ev)
            progress = True

    # phase 2: the first satisfied input condition of each node with input packets fires
    ready = s.ready
    if dirty:
        for rt in dirty:
            fire = (rt.always or rt.pick(rt.in_qs)) if rt.total else None
            rt.fire = fire
            if fire is None:
                ready.discard(rt)
            else:
                ready.add(rt)
        dirty.clear()
    fired = None
    if ready:
        # graph node order: a single ready node straight from the set (the loop does not
        # change it), every node in the graph's own list, else sorted
        nready = len(ready)
        if nready == 1:
            fired = ready
        elif nready == len(s.rts):
            fired = s.rts
        elif nready == 2:
            a, b = ready
            fired = (a, b) if a.index < b.index else (b, a)
        else:
            fired = sorted(ready, key=_by_index)
        ids = net._ids
        if ts != ids._ms:
            ids.set_time(ts)
        prefix = ids._prefix
        epochs = s.epochs
        startable = s.startable
        for rt in fired:
            name, plan, _test = rt.fire
            pos = ids._pos  # IdSource.new, inlined
            if pos >= _ID_BUFFER:
                pos = ids.refill()
            ids._pos = pos + 16
            eid = prefix + ids._buf[pos : pos + 16]
            # _state.new_epoch(rt, eid), inlined
            ep = _new(Ep)
            nq = ep.q = OrderedDict()
            ep.id = eid
            ep.rt = rt
            ep.state = STARTABLE
            ep.outs = ()
            ep.out_counts = None
            ep.orphans = ()
            ep.olocs = rt.blank_olocs
            epochs[eid] = ep
            startable[eid] = None
            ev = _new(InputSalvoTriggered)
            ev._ts = ts
            ev._eid = eid
            ev._cond = name
            append(ev)
            ev = _new(EpochCreated)
            ev._ts = ts
            ev._eid = eid
            append(ev)
            nkey = ("N", eid)
            pairs = []
            in_locs = rt.in_locs
            for pos, port, n in plan:
                loc = in_locs[pos]
                q = loc.q
                if q:
                    k = len(q) if n is None or n >= len(q) else n
                    lkey = loc.key
                    # taken from the front in queue order, so every packet leaves index 0
                    for _ in range(k):
                        pid = q.popitem(last=False)[0]
                        pairs.append((port, pid))
                        nq[pid] = None
                        where[pid] = ep
                        ev = _new(PacketMoved)
                        ev._ts = ts
                        ev._pid = pid
                        ev._from = lkey
                        ev._to = nkey
                        ev._idx = 0
                        append(ev)
            ep.in_salvo = (name, tuple(pairs))
            if pairs:
                rt.total -= len(pairs)
                dirty.add(rt)
        progress = True

    if s.comp.has_requests or s.pending:
        if requests(net, ts, fired, events, None):
            progress = True
    return progress, events


def requests(net, ts: int, fired, events: list, created: list | None) -> bool:
    """Phases 2b (automatic requests) and 3 (resolve pending requests) of a step whose
    phase 2 fired the nodes ``fired`` (None: none); their events are appended to
    ``events``, new request epochs' records to ``created`` (if given). Returns whether a
    request epoch was created."""
    s = net._s
    append = events.append
    progress = False
    # phase 2b: automatic requests
    comp = s.comp
    if comp.has_requests:
        if not s.startup_sent and comp.startup_nodes:
            for info in comp.startup_nodes:
                append(request_created(ts, info.name, info.label, "OnStartup"))
                s.pending.append((info.name, info.label))
            s.startup_sent = True
        if comp.no_salvo_nodes:
            tokens = s.tokens
            rts = s.rts
            fired_set = set(fired) if fired else ()
            for info in comp.no_salvo_nodes:
                rt = rts[info.index]
                # a node that did not fire still holds the input packets it had after phase 1
                if rt.total and rt not in fired_set and tokens[info.name]:
                    tokens[info.name] = False
                    append(request_created(ts, info.name, info.label, "OnNoSalvoTriggered"))
                    s.pending.append((info.name, info.label))

    # phase 3: resolve pending requests
    if s.pending:
        pending = s.pending
        s.pending = []
        pairs: dict = {}
        for node, label in pending:
            result = comp.cascade(node)
            tag = result[0]
            if tag == "skip":
                continue
            if tag == "error":
                raise RequestUnconnectedPortError(
                    f"Request cascade reached unconnected input port '{result[2]}' on node '{result[1]}'",
                    events,
                )
            sources = result[1]
            append(cascade_resolved(ts, sources, label))
            for src in sources:
                pairs.setdefault((src, label), None)
        for src, label in pairs:
            eid = net._ids.new(ts)
            ep = s.new_epoch(eid, s.rt_by_name[src], STARTABLE, _EMPTY_REQUEST_SALVO)
            if created is not None:
                created.append(ep)
            append(epoch_id_event(EpochCreated, ts, eid))
            append(request_epoch_created(ts, eid, src, label))
            progress = True
    return progress


def is_blocked(s) -> bool:
    """The published engine's test, in its order, using the cached indexes."""
    for eloc in s.busy:
        tgt = eloc.tgt
        if tgt.cap is None or len(tgt.q) < tgt.cap:
            return False
    s.refresh()
    if s.ready:
        return False
    if s.pending:
        return False
    if not s.startup_sent and s.comp.startup_nodes:
        return False
    return True


_QUIET_BREAKERS = frozenset(("PacketMoved", "RequestEpochCreated", "RequestCreated"))


def _repeating_salvo(s, progress: bool, events: list):
    """The §11.3 situation: the step made progress only by firing input conditions that
    took no packets (no move, no request activity), so every further step would repeat it.
    Returns ``(condition, node)`` of the first such firing, else None."""
    if not progress:
        return None
    first = None
    for ev in events:
        kind = ev._kind
        if kind in _QUIET_BREAKERS:
            return None
        if first is None and kind == "InputSalvoTriggered":
            first = ev
    if first is None:
        return None
    return first._cond, s.epochs[first._eid].rt.info.name


def run_until_blocked(net) -> list:
    """Run steps while ``is_blocked()`` is False and return all their events.

    Step errors are swallowed (their state changes stay), as in the published engine.
    Instead of looping forever when a satisfied input condition takes no packets
    (reference §11.3), it raises ``NetrunError`` after the first step whose only effect was
    such empty epochs (the state stays as it is after that step); the exception's ``events``
    holds the events of the steps this call took.
    """
    from ._ids import now_ms

    s = net._s
    out: list = []
    while not is_blocked(s):
        try:
            progress, events = run_step(net, now_ms())
        except NetrunError:
            continue
        out.extend(events)
        stuck = _repeating_salvo(s, progress, events)
        if stuck is not None:
            err = NetrunError(
                f"run_until_blocked cannot make progress: input salvo condition '{stuck[0]}' on node "
                f"'{stuck[1]}' is satisfied but takes no packets"
            )
            err.events = out  # the events of the steps taken by this call, which are not returned
            raise err
    return out
