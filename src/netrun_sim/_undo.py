"""``undo_action``: reverse a past action from its events (reference section 9).

The events are undone newest first with the published effects, including its order
quirks (recreated and un-orphaned packets are appended, so undoing a cancel or an orphaning
send reverses their order). Two deliberate differences (reference §11.6):

* Undo is **atomic**: every change is journaled and, if any event fails, the journal is
  rolled back before the error is raised, so a failed undo changes nothing.
* Situations where the published engine panics or corrupts its state raise
  ``UndoStateMismatchError`` instead: reinsertion beyond the end of a location, deleting an
  epoch that still holds packets, recreating packets in locations that no longer exist.
"""

from __future__ import annotations

from ._ids import parse_id
from ._state import RUNNING, STARTABLE, index_in
from .errors import UndoNotFoundError, UndoStateMismatchError
from .events import NetEvent
from .locations import OUTSIDE, debug_key

__all__ = ["undo_action"]


def _mismatch(detail: str) -> UndoStateMismatchError:
    return UndoStateMismatchError(f"State mismatch: {detail}")


def _not_found(detail: str) -> UndoNotFoundError:
    return UndoNotFoundError(f"Entity not found: {detail}")


def _check_action_ids(action) -> None:
    """Parse every ID of the action (``ValueError`` for malformed ones), as conversion does."""
    op, a = action._op, action._a
    if op in ("create_epoch", "create_and_start_epoch"):
        for _port, pid in action._b._packets:
            parse_id(pid)
    elif op in ("run_step", "run_net_until_blocked", "create_request"):
        return
    elif a is not None:
        parse_id(a)


class _Undoer:
    """Applies the undo of each event and journals the inverse of every change."""

    def __init__(self, net, action) -> None:
        self.s = net._s
        self.is_send = action._op == "send_output_salvo"
        self.journal: list = []
        self.startable_before = None
        self.epochs_before = None

    # -- journaled primitives ----------------------------------------------------------------
    def _remember_startable(self) -> None:
        """Keep the orders of the epoch and startable maps, restored exactly on rollback."""
        if self.startable_before is None:
            self.startable_before = list(self.s.startable)
            self.epochs_before = list(self.s.epochs.items())

    def take(self, loc, pid: str) -> None:
        s = self.s
        idx = index_in(loc.q, pid)
        s.discard(loc, pid)
        del s.where[pid]
        self.journal.append(lambda: s.insert_at(loc, pid, idx))

    def put(self, loc, pid: str, index: int | None = None) -> None:
        s = self.s
        if index is None:
            s.add(loc, pid)
        else:
            s.insert_at(loc, pid, index)

        def revert():
            s.discard(loc, pid)
            del s.where[pid]

        self.journal.append(revert)

    def rollback(self) -> None:
        for revert in reversed(self.journal):
            revert()
        if self.startable_before is not None:
            s = self.s
            s.epochs.clear()
            s.epochs.update(self.epochs_before)
            s.startable.clear()
            s.startable.update(dict.fromkeys(self.startable_before))

    # -- per event ---------------------------------------------------------------------------
    def undo(self, ev) -> None:
        getattr(self, "_" + ev._kind)(ev)

    def _PacketCreated(self, ev) -> None:
        loc = self.s.where.get(ev._pid)
        if loc is None:
            raise _not_found(f"packet {ev._pid} not found")
        self.take(loc, ev._pid)

    def _recreate(self, ev) -> None:
        s = self.s
        if ev._pid in s.where:
            raise _mismatch(f"packet {ev._pid} already exists")
        loc = s.resolve(ev._loc)
        if loc is None:
            raise _mismatch(f"location {debug_key(ev._loc)} no longer exists")
        self.put(loc, ev._pid)

    _PacketConsumed = _recreate
    _PacketDestroyed = _recreate

    def _EpochCreated(self, ev) -> None:
        s = self.s
        ep = s.epochs.get(ev._eid)
        if ep is None:
            raise _not_found(f"epoch {ev._eid} not found")
        if ep.q or any(o.q for o in ep.olocs):
            raise _mismatch(f"epoch {ev._eid} still contains packets")
        self._remember_startable()
        s.drop_epoch(ep)

        def revert():  # the map's order is restored by ``rollback``
            s.epochs[ep.id] = ep

        self.journal.append(revert)

    def _EpochStarted(self, ev) -> None:
        s = self.s
        ep = s.epochs.get(ev._eid)
        if ep is None:
            raise _not_found(f"epoch {ev._eid} not found")
        if ep.state != RUNNING:
            raise _mismatch(f"epoch {ev._eid} is not in Running state, cannot undo start")
        self._remember_startable()
        ep.state = STARTABLE
        s.startable[ep.id] = None

        def revert():
            ep.state = RUNNING

        self.journal.append(revert)

    def _reinsert_epoch(self, ev) -> None:
        s = self.s
        snap = ev._snap
        eid = snap[0]
        if eid in s.epochs:
            raise _mismatch(f"epoch {eid} already exists")
        rt = s.rt_by_name.get(snap[1])
        if rt is None:
            raise _mismatch(f"epoch {eid} belongs to node '{snap[1]}', which is not in the graph")
        state = snap[2] if snap[2] in (STARTABLE, RUNNING) else RUNNING
        self._remember_startable()
        ep = s.new_epoch(eid, rt, state, snap[3], snap[4], snap[5])
        name = rt.info.name
        old_token = s.tokens.get(name)
        if old_token is not None:
            s.tokens[name] = False

        def revert():
            s.drop_epoch(ep)
            if old_token is not None:
                s.tokens[name] = old_token

        self.journal.append(revert)

    _EpochFinished = _reinsert_epoch
    _EpochCancelled = _reinsert_epoch

    def _PacketMoved(self, ev) -> None:
        s = self.s
        pid = ev._pid
        cur = s.where.get(pid)
        if cur is None:
            raise _not_found(f"packet {pid} not found")
        if cur.key != ev._to:
            raise _mismatch(
                f"packet {pid} is not at expected location {debug_key(ev._to)}, found at {debug_key(cur.key)}"
            )
        src = s.resolve(ev._from)
        if src is None:
            raise _mismatch(f"location {debug_key(ev._from)} no longer exists")
        length = len(src.q) - (1 if src is cur else 0)
        if ev._idx > length:
            raise _mismatch(
                f"packet {pid} cannot be reinserted at index {ev._idx} of {debug_key(ev._from)} (length {length})"
            )
        self.take(cur, pid)
        self.put(src, pid, ev._idx)

    def _InputSalvoTriggered(self, ev) -> None:
        return None

    def _OutputSalvoTriggered(self, ev) -> None:
        if not self.is_send:
            return
        ep = self.s.epochs.get(ev._eid)
        if ep is None:
            raise _not_found(f"epoch {ev._eid} not found")
        if not ep.outs:
            raise _mismatch(f"epoch {ev._eid} has no out_salvos to pop")
        before = ep.outs
        cond = before[-1][0]
        ep.outs = before[:-1]
        counts = ep.out_counts
        counts[cond] -= 1

        def revert():
            ep.outs = before
            counts[cond] += 1

        self.journal.append(revert)

    def _PacketOrphaned(self, ev) -> None:
        s = self.s
        pid = ev._pid
        cur = s.where.get(pid)
        if cur is None:
            raise _not_found(f"packet {pid} not found")
        if cur.key != OUTSIDE:
            raise _mismatch(f"packet {pid} is not at OutsideNet, found at {debug_key(cur.key)}")
        key = ("O", ev._eid, ev._port)
        dest = s.resolve(key)
        if dest is None:
            raise _mismatch(f"location {debug_key(key)} no longer exists")
        self.take(cur, pid)
        self.put(dest, pid)
        ep = dest.ep
        before = ep.orphans
        ep.orphans = type(before)(o for o in before if o[0] != pid)

        def revert():
            ep.orphans = before

        self.journal.append(revert)

    def _RequestCreated(self, ev) -> None:
        s = self.s
        source = ev._source
        if source == "External":
            pending = s.pending
            entry = (ev._node, ev._label)
            for i in range(len(pending) - 1, -1, -1):
                if pending[i] == entry:
                    del pending[i]
                    self.journal.append(lambda: pending.insert(i, entry))
                    break
        elif source == "OnStartup":
            old = s.startup_sent
            s.startup_sent = False

            def revert():
                s.startup_sent = old

            self.journal.append(revert)
        else:
            name = ev._node
            old_token = s.tokens.get(name)
            if old_token is not None:
                s.tokens[name] = True

                def revert_token():
                    s.tokens[name] = old_token

                self.journal.append(revert_token)

    def _RequestCascadeResolved(self, ev) -> None:
        return None

    def _RequestEpochCreated(self, ev) -> None:
        return None


def undo_action(net, action, events) -> None:
    """Undo ``events`` (as returned for ``action``) newest first, atomically."""
    if type(events) is not list:
        if not isinstance(events, list):
            raise TypeError(f"argument 'events': '{type(events).__name__}' object cannot be converted to 'PyList'")
    for ev in events:
        if not isinstance(ev, NetEvent):
            raise TypeError(f"'{type(ev).__name__}' object cannot be converted to 'NetEvent'")
    _check_action_ids(action)
    undoer = _Undoer(net, action)
    try:
        for ev in reversed(events):
            undoer.undo(ev)
    except BaseException:
        undoer.rollback()
        raise
