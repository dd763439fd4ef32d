"""The fast lane: event-free forms of the actions a runtime does for every epoch.

An extension of the published engine's API, for a runtime that does not need the events
(no history, no undo log) of its routine actions: start an epoch, consume / create packets
in it, load an output port, send an output salvo, finish the epoch, and step the net (one
step, or ``steps``: several in one call, exactly as many ``step`` calls would).

Each method has the *same state effect* as the corresponding ``do_action(NetAction...)``
on its happy path and builds no action, response or event objects. Anything off the
happy path (an unknown or non-canonical id, a wrong state, a full port, a condition not
met...) is handed to ``do_action`` itself, so the errors, their messages and the "a failed
action changes nothing" guarantee are exactly those of the action API (and the action is
simply done there when it turns out to be valid). The property test
``tests/netrun_sim/test_fastlane.py`` checks that both paths leave identical snapshots
(and that ``steps`` equals ``step`` repeated). The lane keeps the net's state containers
and reads nodes' precompiled shortcuts (``NodeRT.out_pos``/``out_conds``, an output
condition's ``one`` step) so the common case -- one packet, one port -- is short.

:class:`TapeLane` (module ``_tapelane``, re-exported here with :func:`tape_action`) is
the same lane for a runtime that *records* every action on a tape of plain tuples.
"""

from __future__ import annotations

from collections import OrderedDict
from time import time_ns as _time_ns

from ._faststep import quiet_steps
from ._ids import _BUFFER as _ID_BUFFER
from ._state import K_EDGE, K_INPUT, K_NODE, RUNNING, STARTABLE, OutputLoc, add_orphans, add_out, own_olocs
from ._tapelane import _NONE, TapeLane, tape_action
from .actions import NetAction

_new = object.__new__

__all__ = ["FastLane", "TapeLane", "tape_action"]


class FastLane:
    """Event-free happy paths on one ``NetSim`` (get it with ``NetSim._fastlane()``).

    The lane keeps the net's state containers (``where``, ``epochs``, ``startable``), which
    a net never replaces."""

    __slots__ = ("_net", "_s", "_ids", "_do", "_where", "_epochs", "_startable")

    def __init__(self, net) -> None:
        self._net = net
        s = self._s = net._s
        self._ids = net._ids
        self._do = net.do_action
        self._where = s.where
        self._epochs = s.epochs
        self._startable = s.startable

    # -- stepping -------------------------------------------------------------------------
    def step(self, created: list) -> bool:
        """``run_step`` appending each new epoch's record to ``created`` (``ep.id``,
        ``ep.rt.info.name``, ``ep.in_salvo == (condition, pairs)``); returns whether the
        step made progress."""
        return quiet_steps(self._net, created)

    def steps(self, created: list, limit: int) -> bool:
        """:meth:`step` repeated, in one call: exactly the state, records and order of
        calling ``step(created)`` while it returns True, stopping after the first step that
        makes no progress (returns False), or after which ``len(created) >= limit``, or
        that created an epoch whose input salvo took no packets (condition not
        ``"__request__"``; returns True in both cases: there may be more to do). Each step
        reads the clock for its IDs, as ``step`` does. An exception leaves the steps
        before it done (their epochs in ``created``)."""
        return quiet_steps(self._net, created, limit)

    # -- epochs -----------------------------------------------------------------------------
    def start(self, eid: str) -> None:
        """``start_epoch``."""
        ep = self._epochs.get(eid)
        if ep is None or ep.state != STARTABLE:
            self._do(NetAction.start_epoch(eid))
            return
        ep.state = RUNNING
        del self._startable[eid]

    def finish(self, eid: str) -> None:
        """``finish_epoch``."""
        ep = self._epochs.get(eid)
        if ep is None or ep.q or ep.state != RUNNING:
            self._do(NetAction.finish_epoch(eid))
            return
        for oloc in ep.olocs:
            if oloc.q:
                self._do(NetAction.finish_epoch(eid))
                return
        info = ep.rt.info
        if info.no_salvo:
            self._s.tokens[info.name] = True
        del self._epochs[eid]
        ep.olocs = ()  # break the epoch <-> output-port cycle (see NetSim._finish_epoch)

    # -- packets ----------------------------------------------------------------------------
    def create(self, eid: str) -> str:
        """``create_packet`` inside a running epoch; returns the new packet's id."""
        ep = self._epochs.get(eid)
        if ep is None or ep.state != RUNNING:
            return self._do(NetAction.create_packet(eid))[0].packet_id
        ts = _time_ns() // 1000000
        ids = self._ids  # IdSource.new, inlined as in NetSim._create_packet
        if ts != ids._ms:
            ids.set_time(ts)
        pos = ids._pos
        if pos >= _ID_BUFFER:
            pos = ids.refill()
        ids._pos = pos + 16
        pid = ids._prefix + ids._buf[pos : pos + 16]
        ep.q[pid] = None
        self._where[pid] = ep
        return pid

    def consume(self, pid: str) -> None:
        """``consume_packet`` (from any location)."""
        where = self._where
        loc = where.get(pid)
        if loc is None:
            self._do(NetAction.consume_packet(pid))
            return
        del loc.q[pid]
        kind = loc.kind
        if kind == K_NODE:
            pass
        elif kind == K_EDGE:
            if not loc.q:
                del self._s.busy[loc]
        elif kind == K_INPUT:
            rt = loc.rt
            rt.total -= 1
            self._s.dirty.add(rt)
        del where[pid]

    def load(self, pid: str, port: str) -> None:
        """``load_packet_into_output_port``."""
        where = self._where
        loc = where.get(pid)
        pos = None if loc is None or loc.kind != K_NODE else loc.rt.out_pos.get(port)
        if pos is None:
            self._do(NetAction.load_packet_into_output_port(pid, port))
            return
        olocs = loc.olocs
        if olocs is loc.rt.blank_olocs:  # the epoch's first load: its own locations (own_olocs)
            cap = olocs[pos].spec[1]
            if cap is not None and cap <= 0:  # (len(oq) >= cap on an empty port)
                self._do(NetAction.load_packet_into_output_port(pid, port))
                return
            if len(olocs) == 1:
                oloc = _new(OutputLoc)
                oq = oloc.q = OrderedDict()
                oloc.ep = loc
                oloc.spec = olocs[0].spec
                loc.olocs = [oloc]
            else:
                oloc = own_olocs(loc)[pos]
                oq = oloc.q
        else:
            oloc = olocs[pos]
            oq = oloc.q
            cap = oloc.spec[1]
            if cap is not None and len(oq) >= cap:
                self._do(NetAction.load_packet_into_output_port(pid, port))
                return
        del loc.q[pid]
        oq[pid] = None
        where[pid] = oloc

    def send(self, eid: str, cond_name: str, take: bool = False) -> list:
        """``send_output_salvo`` of a running epoch; returns the orphaned packets as
        ``(packet_id, port)`` pairs. With ``take``, the orphaned packets are consumed at
        once: the state is that of the send followed by ``consume`` of each orphan, in
        order (a runtime that hands every orphan over to an output queue)."""
        ep = self._epochs.get(eid)
        cond = None if ep is None else ep.rt.out_conds.get(cond_name)
        if cond is None or ep.state != RUNNING:
            return self._send_slowly(eid, cond_name, take)
        counts = ep.out_counts
        sent = 0 if counts is None else counts.get(cond_name, 0)
        if cond[0] is not None and sent >= cond[0]:
            return self._send_slowly(eid, cond_name, take)
        olocs = ep.olocs
        one = cond[3]
        if one is None:
            if not cond[2](olocs):
                return self._send_slowly(eid, cond_name, take)
        else:  # the condition is "this port is non-empty" and takes from it alone
            pos, port, n = one
            oloc = olocs[pos]
            q = oloc.q
            if not q:
                return self._send_slowly(eid, cond_name, take)
            if len(q) == 1 if n is None else n == 1:  # fast path: one packet
                if counts is None:
                    ep.out_counts = {cond_name: 1}
                else:
                    counts[cond_name] = sent + 1
                pid = q.popitem(False)[0]
                if ep.outs:
                    add_out(ep, (cond_name, ((port, pid),)))
                else:
                    ep.outs = ((cond_name, ((port, pid),)),)
                dest = oloc.spec[2]
                if dest is None:  # orphaned
                    if take:  # and consumed
                        del self._where[pid]
                    else:
                        outside = self._s.outside
                        outside.q[pid] = None
                        self._where[pid] = outside
                    if ep.orphans:
                        add_orphans(ep, [(pid, port, cond_name)])
                    else:
                        ep.orphans = ((pid, port, cond_name),)
                    return [(pid, port)]
                dest.q[pid] = None
                self._where[pid] = dest
                self._s.busy[dest] = None
                return _NONE
        if counts is None:
            ep.out_counts = {cond_name: 1}
        else:
            counts[cond_name] = sent + 1
        where = self._where
        plan = cond[1]
        pairs = []
        orphaned = None
        for pos, port, n in plan:
            q = olocs[pos].q
            if not q:
                continue
            k = len(q) if n is None or n >= len(q) else n
            if not k:
                continue
            dest = olocs[pos].spec[2]
            if dest is None:
                outside = self._s.outside
                oq = outside.q
                if orphaned is None:
                    orphaned = []
                orphans = []
                for _ in range(k):
                    pid = q.popitem(False)[0]
                    pairs.append((port, pid))
                    orphans.append((pid, port, cond_name))
                    orphaned.append((pid, port))
                    if take:  # and consumed
                        del where[pid]
                    else:
                        oq[pid] = None
                        where[pid] = outside
                add_orphans(ep, orphans)
            else:
                dq = dest.q
                if k == 1:
                    pid = q.popitem(False)[0]
                    pairs.append((port, pid))
                    dq[pid] = None
                    where[pid] = dest
                else:
                    for _ in range(k):
                        pid = q.popitem(False)[0]
                        pairs.append((port, pid))
                        dq[pid] = None
                        where[pid] = dest
                self._s.busy[dest] = None
        add_out(ep, (cond_name, tuple(pairs)))
        return orphaned or _NONE

    def _send_slowly(self, eid: str, cond_name: str, take: bool = False) -> list:
        """``send`` off the happy path: the action API (its error, or the send itself)."""
        evs = self._do(NetAction.send_output_salvo(eid, cond_name))[1]
        orphans = [(ev.packet_id, ev.orphaned_port_name) for ev in evs if ev.kind == "PacketOrphaned"]
        for pid, _ in orphans if take else ():
            self.consume(pid)
        return orphans
