"""``quiet_steps``: ``run_step`` without events, several steps in one call (the fast lane's).

The runtime's fast lane (``_fastlane``) does not read the step's packet-move and
epoch-creation events: it wants the new epochs' records. :func:`quiet_steps` has exactly
the state effect of calling ``run_step`` once per step (same orders, same IDs drawn in the
same order, one clock reading per step for the IDs' timestamps) and builds no events for
phases 1 and 2; phases 2b and 3 (requests, rare) are ``_step.requests`` itself. Its
phases 1 and 2 mirror ``_step.run_step`` line for line, with the epoch record built
inline (``_state.new_epoch``) and a fast path for the one-packet take.
"""

from __future__ import annotations

from collections import OrderedDict
from operator import attrgetter
from time import time_ns as _time_ns

from ._ids import _BUFFER as _ID_BUFFER
from ._state import STARTABLE, Ep
from ._step import _EMPTY_REQUEST_SALVO, requests

__all__ = ["quiet_steps"]

_by_order = attrgetter("order")
_by_index = attrgetter("index")
_new = object.__new__


def quiet_steps(net, created: list, limit: int = 0, moves: list | None = None, extra: list | None = None,
                ts: int | None = None, tape: list | None = None) -> bool:
    """Steps without events until one makes no progress, ``len(created) >= limit`` or one
    fired an input salvo that took no packets (its condition not named ``"__request__"``);
    returns the last step's progress.

    Each new epoch's record (``_state.Ep``: ``id``, ``rt.info.name``, ``in_salvo ==
    (condition, ((port, packet_id), ...))``) is appended to ``created`` in creation order.
    ``limit=0`` takes exactly one step. With a ``moves`` list, each phase-1 move is
    appended to it as the three items ``packet_id, from_key, to_key``; with an ``extra`` list, the request
    events (phases 2b and 3) are appended to it (else they are dropped). A
    ``RequestUnconnectedPortError`` leaves the state as ``run_step`` would (the epochs of
    its phase 2 are already in ``created``). ``ts``: the first step's millisecond
    timestamp (default and later steps: the clock, read once per step).

    With a ``tape`` list (the recording lane's, see ``_tapelane``), every step, including
    a last one without progress, appends its tape record ``("step", entries, ns, moves,
    fired, extra)`` there (``moves`` and ``extra`` must then be None): ``moves`` holds
    ``packet_id, from_key, to_key`` per phase-1 move and ``fired`` ``epoch_id, node,
    in_salvo`` per epoch an input salvo created, in a row (flat: fewer objects to keep).
    """
    s = net._s
    where = s.where
    dirty = s.dirty
    busy = s.busy
    ready = s.ready
    epochs = s.epochs
    startable = s.startable
    ids = net._ids
    comp = s.comp
    add = created.append
    nrts = len(s.rts)
    if ts is None:
        ns = _time_ns()
        ts = ns // 1000000
    else:
        ns = ts * 1000000
    if tape is not None:
        moves = []
        extra = []
    while True:
        progress = False
        if tape is not None:
            seen = len(created)
            if moves:
                moves.clear()
            if extra:
                extra = []  # (handed over to the record below)

        # phase 1 (see run_step)
        if busy:
            before = None
            nbusy = len(busy)
            if nbusy == 1:
                edges = list(busy)
            elif nbusy == 2:
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
                pid = q.popitem(False)[0]
                if not q:
                    del busy[eloc]
                tgt.q[pid] = None
                where[pid] = tgt
                rt = tgt.rt
                rt.total += 1
                dirty.add(rt)
                if moves is not None:
                    moves.extend((pid, eloc.key, tgt.key))
                progress = True

        # phase 2 (see run_step)
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
        empty = False
        if ready:
            # graph node order: a single ready node straight from the set (the loop does not
            # change it), every node in the graph's own list, else sorted
            nready = len(ready)
            if nready == 1:
                fired = ready
            elif nready == nrts:
                fired = s.rts
            elif nready == 2:
                a, b = ready
                fired = (a, b) if a.index < b.index else (b, a)
            else:
                fired = sorted(ready, key=_by_index)
            if ts != ids._ms:
                ids.set_time(ts)
            prefix = ids._prefix
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
                add(ep)
                in_qs = rt.in_qs
                if len(plan) == 1:
                    pos, port, n = plan[0]
                    q = in_qs[pos]
                    if n == 1:  # (PacketCount.count(1), the most common plan)
                        k = 1 if q else 0
                    else:
                        k = len(q) if n is None or n >= len(q) else n
                    if k == 1:  # the one-packet take
                        pid = q.popitem(False)[0]
                        pairs = ((port, pid),)
                        nq[pid] = None
                        where[pid] = ep
                    elif not k:
                        pairs = ()
                    else:
                        taken = []
                        for _ in range(k):
                            pid = q.popitem(False)[0]
                            taken.append((port, pid))
                            nq[pid] = None
                            where[pid] = ep
                        pairs = tuple(taken)
                else:
                    taken = []
                    for pos, port, n in plan:
                        q = in_qs[pos]
                        if q:
                            for _ in range(len(q) if n is None or n >= len(q) else n):
                                pid = q.popitem(False)[0]
                                taken.append((port, pid))
                                nq[pid] = None
                                where[pid] = ep
                    pairs = tuple(taken)
                ep.in_salvo = (name, pairs)
                if pairs:
                    rt.total -= len(pairs)
                    dirty.add(rt)
                elif name != "__request__":  # (the runtime's guard spares that name)
                    empty = True
            progress = True

        if comp.has_requests or s.pending:
            if requests(net, ts, fired, [] if extra is None else extra, created):
                progress = True
        if tape is not None:  # the step's record (see _tapelane's tape format)
            n = 1 + len(moves) // 3
            recs = ()
            if len(created) > seen:
                recs = []
                for ep in created[seen:]:
                    salvo = ep.in_salvo
                    if salvo is not _EMPTY_REQUEST_SALVO:  # request epochs' events are in ``extra``
                        recs.extend((ep.id, ep.rt.info.name, salvo))
                        n += 2 + len(salvo[1])
                recs = tuple(recs)
            if extra:
                n += len(extra)
            tape.append(("step", n, ns, tuple(moves), recs, extra or None))
        if not progress or empty or len(created) >= limit:
            return progress
        ns = _time_ns()
        ts = ns // 1000000
