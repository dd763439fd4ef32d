"""The fast lane: event-free forms of the actions a runtime does for every epoch.

An extension of the published engine's API, for a runtime that does not need the events
(no history, no undo log) of its routine actions: start an epoch, consume / create packets
in it, load an output port, send an output salvo, finish the epoch, and step the net.

Each method has the *same state effect* as the corresponding ``do_action(NetAction...)``
on its happy path and builds no action, response or event objects. Anything off the
happy path (an unknown or non-canonical id, a wrong state, a full port, a condition not
met...) is handed to ``do_action`` itself, so the errors, their messages and the "a failed
action changes nothing" guarantee are exactly those of the action API (and the action is
simply done there when it turns out to be valid). The property test
``tests/netrun_sim/test_fastlane.py`` checks that both paths leave identical snapshots.
"""

from __future__ import annotations

from time import time_ns as _time_ns

from ._ids import _BUFFER as _ID_BUFFER
from ._state import K_EDGE, K_INPUT, K_NODE, RUNNING, STARTABLE
from .actions import NetAction

__all__ = ["FastLane"]


class FastLane:
    """Event-free happy paths on one ``NetSim`` (get it with ``NetSim._fastlane()``)."""

    __slots__ = ("_net", "_s", "_ids", "_do")

    def __init__(self, net) -> None:
        self._net = net
        self._s = net._s
        self._ids = net._ids
        self._do = net.do_action

    # -- stepping -------------------------------------------------------------------------
    def step(self, created: list) -> bool:
        """``run_step`` without events: appends each new epoch's record to ``created``
        (``ep.id``, ``ep.rt.info.name``, ``ep.in_salvo == (condition, pairs)``); returns
        whether the step made progress."""
        from ._step import run_step

        return run_step(self._net, _time_ns() // 1000000, created)[0]

    # -- epochs -----------------------------------------------------------------------------
    def start(self, eid: str) -> None:
        """``start_epoch``."""
        s = self._s
        ep = s.epochs.get(eid)
        if ep is None or ep.state != STARTABLE:
            self._do(NetAction.start_epoch(eid))
            return
        ep.state = RUNNING
        del s.startable[eid]

    def finish(self, eid: str) -> None:
        """``finish_epoch``."""
        s = self._s
        ep = s.epochs.get(eid)
        if ep is None or ep.q or ep.state != RUNNING or any(o.q for o in ep.olocs):
            self._do(NetAction.finish_epoch(eid))
            return
        info = ep.rt.info
        if info.no_salvo:
            s.tokens[info.name] = True
        del s.epochs[eid]
        ep.olocs = ()  # break the epoch <-> output-port cycle (see NetSim._finish_epoch)

    # -- packets ----------------------------------------------------------------------------
    def create(self, eid: str) -> str:
        """``create_packet`` inside a running epoch; returns the new packet's id."""
        ep = self._s.epochs.get(eid)
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
        self._s.where[pid] = ep
        return pid

    def consume(self, pid: str) -> None:
        """``consume_packet`` (from any location)."""
        s = self._s
        loc = s.where.get(pid)
        if loc is None:
            self._do(NetAction.consume_packet(pid))
            return
        del loc.q[pid]
        kind = loc.kind
        if kind == K_EDGE:
            if not loc.q:
                del s.busy[loc]
        elif kind == K_INPUT:
            loc.rt.total -= 1
            s.dirty.add(loc.rt)
        del s.where[pid]

    def load(self, pid: str, port: str) -> None:
        """``load_packet_into_output_port``."""
        where = self._s.where
        loc = where.get(pid)
        if loc is None or loc.kind != K_NODE:
            self._do(NetAction.load_packet_into_output_port(pid, port))
            return
        pos = loc.rt.info.out_pos.get(port)
        if pos is None:
            self._do(NetAction.load_packet_into_output_port(pid, port))
            return
        oloc = loc.olocs[pos]
        oq = oloc.q
        cap = oloc.spec[1]
        if cap is not None and len(oq) >= cap:
            self._do(NetAction.load_packet_into_output_port(pid, port))
            return
        del loc.q[pid]
        oq[pid] = None
        where[pid] = oloc

    def send(self, eid: str, cond_name: str) -> list:
        """``send_output_salvo`` of a running epoch; returns the orphaned packets as
        ``(packet_id, port)`` pairs."""
        s = self._s
        ep = s.epochs.get(eid)
        cond = None if ep is None else ep.rt.info.out_conds.get(cond_name)
        if cond is None or ep.state != RUNNING:
            events = self._do(NetAction.send_output_salvo(eid, cond_name))[1]
            return [(ev.packet_id, ev.orphaned_port_name) for ev in events if ev.kind == "PacketOrphaned"]
        counts = ep.out_counts
        sent = 0 if counts is None else counts.get(cond_name, 0)
        if (cond[0] is not None and sent >= cond[0]) or not cond[2](ep.olocs):
            events = self._do(NetAction.send_output_salvo(eid, cond_name))[1]
            return [(ev.packet_id, ev.orphaned_port_name) for ev in events if ev.kind == "PacketOrphaned"]
        if counts is None:
            ep.out_counts = {cond_name: 1}
        else:
            counts[cond_name] = sent + 1
        pairs = []
        orphaned = None
        olocs = ep.olocs
        where = s.where
        for pos, port, n in cond[1]:
            q = olocs[pos].q
            if not q:
                continue
            k = len(q) if n is None or n >= len(q) else n
            if not k:
                continue
            dest = olocs[pos].spec[2]
            if dest is None:
                outside = s.outside
                oq = outside.q
                if orphaned is None:
                    orphaned = []
                orphans = []
                for _ in range(k):
                    pid = q.popitem(last=False)[0]
                    pairs.append((port, pid))
                    orphans.append((pid, port, cond_name))
                    orphaned.append((pid, port))
                    oq[pid] = None
                    where[pid] = outside
                ep.orphans += tuple(orphans)
            else:
                dq = dest.q
                for _ in range(k):
                    pid = q.popitem(last=False)[0]
                    pairs.append((port, pid))
                    dq[pid] = None
                    where[pid] = dest
                s.busy[dest] = None
        ep.outs += ((cond_name, tuple(pairs)),)
        return orphaned or _NONE


_NONE: list = []  # shared empty result (callers only iterate it)
