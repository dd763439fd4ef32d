"""The recording fast lane: :class:`TapeLane` and its tape of plain tuples.

The fast lane (``_fastlane.FastLane``) for a runtime that *records* every action (an event
history): each action appends one compact tuple of plain values (IDs, location keys, a
nanosecond timestamp) to a list, the *tape*, instead of building event objects; the
action's name, arguments and its very events are rebuilt from the tuple only when read
(:func:`tape_action`; a runtime that wants the events at once reads each tuple back right
away). Plain tuples of strings and ints cost little to build and nothing to keep (the
garbage collector stops tracking them), which event objects do not. Same state effects,
same off-the-happy-path rule (``do_action`` itself, recorded with its events) as the
fast lane; ``tests/netrun_sim/test_fastlane.py`` checks both against the action API.
"""

from __future__ import annotations

from collections import OrderedDict
from time import time_ns as _time_ns

from ._faststep import quiet_steps
from ._ids import _BUFFER as _ID_BUFFER
from ._state import K_EDGE, K_INPUT, K_NODE, RUNNING, STARTABLE, OutputLoc, add_orphans, add_out, index_in, own_olocs
from .actions import NetAction
from .events import (
    EpochCreated,
    EpochFinished,
    EpochStarted,
    InputSalvoTriggered,
    OutputSalvoTriggered,
    PacketConsumed,
    PacketMoved,
    _PacketCreated,
    packet_orphaned,
)

_new = object.__new__

__all__ = ["TapeLane", "tape_action"]

_NONE: list = []  # shared empty result (callers only iterate it)


# ------------------------------------------------------------------------------ the tape
# One tuple per action: ``(code, entries, ns, ...)`` where ``entries`` is 1 + the number of
# events of the action and ``ns`` the action's ``time_ns()`` (its events' millisecond
# timestamp is ``ns // 1_000_000``, as the action API would have stamped them).
#   ("step", n, ns, moves, fired, extra)   moves: (pid, from_key, to_key, pid, ...) of phase 1;
#                                          fired: (eid, node, in_salvo, eid, ...); extra: the
#                                          request events (or None)
#   ("start", 2, ns, eid)                  ("finish", 2, ns, *snapshot of the epoch (6 fields))
#   ("create", 2, ns, eid, pid)            ("consume", 2, ns, pid, location_key)
#   ("consumeN", 2, ns, pid, eid)          a consume inside an epoch (location ("N", eid))
#   ("load", 2, ns, pid, port, eid, from_index)   from ("N", eid) to ("O", eid, port)
#   ("send", n, ns, eid, condition, node, ((pid, from_key, to_key or None if orphaned), ...))
#   ("send1", 3, ns, eid, condition, node, pid, port, to_key or None)   a one-packet send
#   ("act", n, ns, name, args, events)     an action done through ``do_action`` (off the
#                                          happy path) or recorded by hand with its events

class TapeLane:
    """The fast lane recording each action on ``tape`` (see the module docstring).

    Same methods and results as ``FastLane``. ``on_full`` (no arguments) is called by
    :meth:`step` once the tape holds ``full_at`` tuples or more, so the owner can move them
    elsewhere (it must empty the list in place: the lane keeps it). Location keys are
    written out inline (``("N", eid)``, ``("O", eid, port)``) where the kind is known.
    """

    __slots__ = ("_net", "_s", "_ids", "_do", "_where", "_epochs", "_startable", "tape", "on_full", "full_at")

    def __init__(self, net, tape: list, on_full=None, full_at: int = 1024) -> None:
        self._net = net
        s = self._s = net._s
        self._ids = net._ids
        self._do = net.do_action
        self._where = s.where
        self._epochs = s.epochs
        self._startable = s.startable
        self.tape = tape
        self.on_full = on_full
        self.full_at = full_at

    def _act(self, name: str, action, args: tuple):
        """Off the happy path: the action API, recorded with its events."""
        result = self._do(action)
        evs = result[1]
        self.tape.append(("act", 1 + len(evs), _time_ns(), name, args, evs))
        return result

    def step(self, created: list) -> bool:
        """``run_step``, new epochs' records appended to ``created`` (see ``FastLane.step``)."""
        if self.on_full is not None and len(self.tape) >= self.full_at:
            self.on_full()
        return quiet_steps(self._net, created, 0, tape=self.tape)

    def steps(self, created: list, limit: int) -> bool:
        """:meth:`step` repeated (one tape record per step), with the contract of
        ``FastLane.steps``, in one call (``on_full`` is called before it, not per step)."""
        if self.on_full is not None and len(self.tape) >= self.full_at:
            self.on_full()
        return quiet_steps(self._net, created, limit, tape=self.tape)

    def start(self, eid: str) -> None:
        """``start_epoch``."""
        ep = self._epochs.get(eid)
        if ep is None or ep.state != STARTABLE:
            self._act("StartEpoch", NetAction.start_epoch(eid), (eid,))
            return
        ep.state = RUNNING
        del self._startable[eid]
        self.tape.append(("start", 2, _time_ns(), eid))

    def finish(self, eid: str) -> None:
        """``finish_epoch``."""
        ep = self._epochs.get(eid)
        if ep is None or ep.q or ep.state != RUNNING:
            self._act("FinishEpoch", NetAction.finish_epoch(eid), (eid,))
            return
        for oloc in ep.olocs:
            if oloc.q:
                self._act("FinishEpoch", NetAction.finish_epoch(eid), (eid,))
                return
        info = ep.rt.info
        if info.no_salvo:
            self._s.tokens[info.name] = True
        del self._epochs[eid]
        ep.olocs = ()  # break the epoch <-> output-port cycle (see NetSim._finish_epoch)
        self.tape.append(("finish", 2, _time_ns(), eid, info.name, RUNNING, ep.in_salvo, tuple(ep.outs),
                          tuple(ep.orphans)))

    def create(self, eid: str) -> str:
        """``create_packet`` inside a running epoch; returns the new packet's id."""
        ep = self._epochs.get(eid)
        if ep is None or ep.state != RUNNING:
            return self._act("CreatePacket", NetAction.create_packet(eid), (eid,))[0].packet_id
        ns = _time_ns()
        ts = ns // 1000000
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
        self.tape.append(("create", 2, ns, eid, pid))
        return pid

    def consume(self, pid: str) -> None:
        """``consume_packet`` (from any location)."""
        where = self._where
        loc = where.get(pid)
        if loc is None:
            self._act("ConsumePacket", NetAction.consume_packet(pid), (pid,))
            return
        del loc.q[pid]
        kind = loc.kind
        del where[pid]
        if kind == K_NODE:
            self.tape.append(("consumeN", 2, _time_ns(), pid, loc.id))
            return
        if kind == K_EDGE:
            if not loc.q:
                del self._s.busy[loc]
        elif kind == K_INPUT:
            rt = loc.rt
            rt.total -= 1
            self._s.dirty.add(rt)
        self.tape.append(("consume", 2, _time_ns(), pid, loc.key))

    def load(self, pid: str, port: str) -> None:
        """``load_packet_into_output_port``."""
        where = self._where
        loc = where.get(pid)
        pos = None if loc is None or loc.kind != K_NODE else loc.rt.out_pos.get(port)
        if pos is None:
            self._act("LoadPacketIntoOutputPort", NetAction.load_packet_into_output_port(pid, port), (pid, port))
            return
        olocs = loc.olocs
        if olocs is loc.rt.blank_olocs:  # the epoch's first load: its own locations (own_olocs)
            cap = olocs[pos].spec[1]
            if cap is not None and cap <= 0:  # (len(oq) >= cap on an empty port)
                self._act("LoadPacketIntoOutputPort", NetAction.load_packet_into_output_port(pid, port), (pid, port))
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
                self._act("LoadPacketIntoOutputPort", NetAction.load_packet_into_output_port(pid, port), (pid, port))
                return
        q = loc.q
        idx = 0 if next(iter(q)) == pid else index_in(q, pid)
        del q[pid]
        oq[pid] = None
        where[pid] = oloc
        self.tape.append(("load", 2, _time_ns(), pid, port, loc.id, idx))

    def send(self, eid: str, cond_name: str, take: bool = False) -> list:
        """``send_output_salvo`` of a running epoch; returns the orphaned packets as
        ``(packet_id, port)`` pairs. With ``take``, each orphan is then consumed (and that
        recorded), as ``FastLane.send`` does."""
        orphans = self._send(eid, cond_name)
        for pid, _ in orphans if take else ():
            self.consume(pid)
        return orphans

    def _send_slowly(self, eid: str, cond_name: str) -> list:
        evs = self._act("SendOutputSalvo", NetAction.send_output_salvo(eid, cond_name), (eid, cond_name))[1]
        return [(ev.packet_id, ev.orphaned_port_name) for ev in evs if ev.kind == "PacketOrphaned"]

    def _send(self, eid: str, cond_name: str) -> list:
        ep = self._epochs.get(eid)
        cond = None if ep is None else ep.rt.out_conds.get(cond_name)
        if cond is None or ep.state != RUNNING:
            return self._send_slowly(eid, cond_name)
        counts = ep.out_counts
        sent = 0 if counts is None else counts.get(cond_name, 0)
        if cond[0] is not None and sent >= cond[0]:
            return self._send_slowly(eid, cond_name)
        olocs = ep.olocs
        one = cond[3]
        if one is None:
            if not cond[2](olocs):
                return self._send_slowly(eid, cond_name)
        elif not olocs[one[0]].q:  # "this port is non-empty", unmet
            return self._send_slowly(eid, cond_name)
        ns = _time_ns()
        if counts is None:
            ep.out_counts = {cond_name: 1}
        else:
            counts[cond_name] = sent + 1
        where = self._where
        if one is not None:  # the condition is "this port is non-empty" and takes from it alone
            pos, port, n = one
            oloc = olocs[pos]
            q = oloc.q
            if len(q) == 1 if n is None else n == 1:  # fast path: one packet, one flat record
                pid = q.popitem(False)[0]
                if ep.outs:
                    add_out(ep, (cond_name, ((port, pid),)))
                else:
                    ep.outs = ((cond_name, ((port, pid),)),)
                dest = oloc.spec[2]
                if dest is None:  # orphaned
                    outside = self._s.outside
                    outside.q[pid] = None
                    where[pid] = outside
                    if ep.orphans:
                        add_orphans(ep, [(pid, port, cond_name)])
                    else:
                        ep.orphans = ((pid, port, cond_name),)
                    self.tape.append(("send1", 3, ns, eid, cond_name, ep.rt.info.name, pid, port, None))
                    return [(pid, port)]
                dest.q[pid] = None
                where[pid] = dest
                self._s.busy[dest] = None
                self.tape.append(("send1", 3, ns, eid, cond_name, ep.rt.info.name, pid, port, dest.key))
                return _NONE
        pairs = []
        moved = []
        orphaned = None
        for pos, port, n in cond[1]:
            oloc = olocs[pos]
            q = oloc.q
            if not q:
                continue
            k = len(q) if n is None or n >= len(q) else n
            if not k:
                continue
            dest = oloc.spec[2]
            fkey = ("O", eid, port)
            if dest is None:
                outside = self._s.outside
                oq = outside.q
                if orphaned is None:
                    orphaned = []
                orphans = []
                for _ in range(k):
                    pid = q.popitem(False)[0]
                    pairs.append((port, pid))
                    moved.append((pid, fkey, None))
                    orphans.append((pid, port, cond_name))
                    orphaned.append((pid, port))
                    oq[pid] = None
                    where[pid] = outside
                add_orphans(ep, orphans)
            else:
                dq = dest.q
                tkey = dest.key
                for _ in range(k):
                    pid = q.popitem(False)[0]
                    pairs.append((port, pid))
                    moved.append((pid, fkey, tkey))
                    dq[pid] = None
                    where[pid] = dest
                self._s.busy[dest] = None
        add_out(ep, (cond_name, tuple(pairs)))
        self.tape.append(("send", 2 + len(moved), ns, eid, cond_name, ep.rt.info.name, tuple(moved)))
        return orphaned or _NONE


def _moved(ts: int, pid: str, from_key: tuple, to_key: tuple, idx: int):
    ev = _new(PacketMoved)
    ev._ts = ts
    ev._pid = pid
    ev._from = from_key
    ev._to = to_key
    ev._idx = idx
    return ev


def _stamped(cls, ts: int, **slots):
    ev = _new(cls)
    ev._ts = ts
    for name, value in slots.items():
        setattr(ev, name, value)
    return ev


def tape_action(op: tuple) -> tuple:
    """``(action_name, args, events)`` of one tape tuple (see :class:`TapeLane`): the name
    and raw arguments of the action, and the very events the action API would have
    returned for it."""
    code = op[0]
    ts = op[2] // 1000000
    if code == "act":
        return op[3], op[4], list(op[5]) if op[5] else []
    if code == "step":
        moves = op[3]
        events = [_moved(ts, moves[i], moves[i + 1], moves[i + 2], 0) for i in range(0, len(moves), 3)]
        fired = op[4]
        for i in range(0, len(fired), 3):
            eid, node, (cond, pairs) = fired[i], fired[i + 1], fired[i + 2]
            events.append(_stamped(InputSalvoTriggered, ts, _eid=eid, _cond=cond))
            events.append(_stamped(EpochCreated, ts, _eid=eid))
            nkey = ("N", eid)
            events.extend(_moved(ts, pid, ("I", node, port), nkey, 0) for port, pid in pairs)
        if op[5]:
            events.extend(op[5])
        return "RunStep", (), events
    if code == "start":
        return "StartEpoch", (op[3],), [_stamped(EpochStarted, ts, _eid=op[3])]
    if code == "finish":
        snap = op[3:9]
        return "FinishEpoch", (snap[0],), [_stamped(EpochFinished, ts, _snap=snap)]
    if code == "create":
        return "CreatePacket", (op[3],), [_stamped(_PacketCreated, ts, _pid=op[4])]
    if code == "consumeN":
        return "ConsumePacket", (op[3],), [_stamped(PacketConsumed, ts, _pid=op[3], _loc=("N", op[4]))]
    if code == "consume":
        return "ConsumePacket", (op[3],), [_stamped(PacketConsumed, ts, _pid=op[3], _loc=op[4])]
    if code == "load":
        eid = op[5]
        return "LoadPacketIntoOutputPort", (op[3], op[4]), [_moved(ts, op[3], ("N", eid), ("O", eid, op[4]), op[6])]
    if code == "send1":
        eid, cond, node, pid, port, to = op[3], op[4], op[5], op[6], op[7], op[8]
        events = [_moved(ts, pid, ("O", eid, port), to, 0) if to is not None
                  else packet_orphaned(ts, pid, eid, node, port, cond),
                  _stamped(OutputSalvoTriggered, ts, _eid=eid, _cond=cond)]
        return "SendOutputSalvo", (eid, cond), events
    if code == "send":
        eid, cond, node = op[3], op[4], op[5]
        events = [_moved(ts, pid, f, t, 0) if t is not None else packet_orphaned(ts, pid, eid, node, f[2], cond)
                  for pid, f, t in op[6]]
        events.append(_stamped(OutputSalvoTriggered, ts, _eid=eid, _cond=cond))
        return "SendOutputSalvo", (eid, cond), events
    raise ValueError(f"not a fast-lane tape record: {op!r}")
