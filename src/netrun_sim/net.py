"""``NetSim``: the net (state + actions + queries) built on a validated graph.

``do_action`` dispatches on the action's kind to one method per action below. Each method
converts its IDs first (``ValueError`` for malformed ones), runs the published checks in
order (the first failing one raises and nothing changes), then applies the change and
returns ``(response, events)``. All events of one action share one clock reading.
"""

from __future__ import annotations

from . import _state, _step, _undo
from ._args import as_instance, cannot_convert
from ._compiled import compiled
from ._ids import _BUFFER as _ID_BUFFER
from ._ids import IdSource, parse_id, to_ulid
from functools import partial
from time import time_ns as _time_ns

from ._state import FINISHED, K_EDGE, K_INPUT, K_NODE, K_OUTPUT, RUNNING, STARTABLE, State, index_in
from .actions import ACTION_CLASSES, NetAction
from .errors import (
    CannotFinishNonEmptyEpochError,
    CannotMovePacketFromRunningEpochError,
    CannotMovePacketIntoRunningEpochError,
    EdgeNotFoundError,
    EpochNotFoundError,
    EpochNotRunningError,
    EpochNotStartableError,
    GraphValidationError,
    InputPortFullError,
    InputPortNotFoundError,
    MaxSalvosExceededError,
    NodeNotFoundError,
    OutputPortFullError,
    OutputPortNotFoundError,
    PacketNotAtInputPortError,
    PacketNotFoundError,
    PacketNotInAnyNodeError,
    RequestNodeNotFoundError,
    SalvoConditionNotFoundError,
    SalvoConditionNotMetError,
    UnsentOutputSalvoError,
)
from .events import (
    PacketMoved,
    _PacketCreated,
    EpochCancelled,
    EpochCreated,
    EpochFinished,
    EpochStarted,
    OutputSalvoTriggered,
    PacketConsumed,
    PacketDestroyed,
    epoch_id_event,
    epoch_snapshot_event,
    packet_moved,
    packet_orphaned,
    packet_removed,
    request_created,
)
from .graph import Graph
from .locations import PacketLocation
from .records import Epoch, Packet, epoch_of
from .responses import (
    _EMPTY,
    _NO_PROGRESS,
    _PROGRESS,
    PacketResponse,
    CreatedEpochResponse,
    FinishedEpochResponse,
    StartedEpochResponse,
    cancelled_response,
    empty_response,
    epoch_response,
)
from .validation import invalid_graph_message, validate_graph

__all__ = ["NetSim"]

_new = object.__new__
_run_step = _step.run_step


def _validated(graph: Graph):
    shared = graph._shared
    errors = shared.get("errors")
    if errors is None:
        errors = validate_graph(graph)
        shared["errors"] = errors
    if errors:
        raise GraphValidationError(invalid_graph_message(errors), errors)
    return compiled(graph)


def _restore(graph: Graph, data: dict) -> "NetSim":
    from .snapshot import restore_snapshot

    return restore_snapshot(graph, data)


class NetSim:
    """The engine: where every packet is and which epochs exist.

    ``NetSim(graph)`` validates the graph (``GraphValidationError`` with ``.errors`` if
    invalid). Change it only through ``do_action(NetAction...)`` (or ``run_step`` /
    ``run_until_blocked``); read it with the query methods.

    >>> net = NetSim(Graph([Node("A")], []))
    >>> response, events = net.do_action(NetAction.create_packet())
    >>> events[0].kind
    'PacketCreated'
    """

    __slots__ = ("_graph", "_s", "_ids", "_dispatch", "__weakref__")

    def __init__(self, graph: Graph) -> None:
        if type(graph) is not Graph:
            as_instance(graph, Graph, "graph")
        comp = _validated(graph)
        self._graph = graph._copy()
        self._s = State(comp)
        self._ids = IdSource()
        self._dispatch = {
            ACTION_CLASSES[op]: handler
            for op, handler in {
                "run_step": self._do_run_step,
                "create_packet": self._create_packet,
                "consume_packet": partial(self._remove_packet, PacketConsumed),
                "destroy_packet": partial(self._remove_packet, PacketDestroyed),
                "start_epoch": self._start_epoch,
                "finish_epoch": self._finish_epoch,
                "cancel_epoch": self._cancel_epoch,
                "create_epoch": self._create_epoch,
                "load_packet_into_output_port": self._load,
                "send_output_salvo": self._send,
                "transport_packet_to_location": self._transport,
                "create_request": self._create_request,
                "run_net_until_blocked": self._run_net_until_blocked,
                "create_and_start_epoch": self._create_and_start_epoch,
            }.items()
        }

    def __repr__(self) -> str:
        return f"Net(graph={self._graph!r})"

    # ================================================================== stepping / dispatch
    def do_action(self, action: NetAction):
        """Apply ``action``; returns ``(NetActionResponseData, list[NetEvent])``."""
        try:
            handler = self._dispatch[type(action)]  # a subscript is cheaper than dict.get
        except KeyError:
            raise cannot_convert(action, "NetAction", "action") from None
        return handler(action)

    run_step = _step.run_step  # run_step(self) -> (made_progress, events)

    def run_until_blocked(self) -> list:
        """Step while ``is_blocked()`` is False; returns all events (errors are swallowed)."""
        return _step.run_until_blocked(self)

    def is_blocked(self) -> bool:
        """True when no step can make progress by the engine's own test."""
        return _step.is_blocked(self._s)

    def undo_action(self, action: NetAction, events) -> None:
        """Reverse a past action from its events (atomic: on error nothing changes)."""
        if not isinstance(action, NetAction):
            raise cannot_convert(action, "NetAction", "action")
        _undo.undo_action(self, action, events)

    def _fastlane(self):
        """The event-free happy paths of the per-epoch actions (extension, see ``_fastlane``)."""
        from ._fastlane import FastLane

        return FastLane(self)

    def _do_run_step(self, action):
        progress, events = _run_step(self, _time_ns() // 1000000)
        return (_PROGRESS if progress else _NO_PROGRESS), events

    # ============================================================================ queries
    def packet_count_at(self, location: PacketLocation) -> int:
        """Packets at ``location`` (0 for a location that does not exist)."""
        if type(location) is not PacketLocation:
            as_instance(location, PacketLocation, "location")
        loc = self._s.resolve(location._key)
        return 0 if loc is None else len(loc.q)

    def get_packets_at_location(self, location: PacketLocation) -> list:
        """IDs (``ulid.ULID``) at ``location`` in queue order, oldest first."""
        if type(location) is not PacketLocation:
            as_instance(location, PacketLocation, "location")
        loc = self._s.resolve(location._key)
        return [] if loc is None else [to_ulid(p) for p in loc.q]

    def get_epoch(self, epoch_id):
        """A snapshot of the live epoch ``epoch_id``, or None."""
        eid = epoch_id if epoch_id in self._s.epochs else parse_id(epoch_id)
        ep = self._s.epochs.get(eid)
        return None if ep is None else epoch_of(ep.snapshot())

    def get_packet(self, packet_id):
        """A snapshot of packet ``packet_id``, or None."""
        where = self._s.where
        pid = packet_id if packet_id in where else parse_id(packet_id)
        loc = where.get(pid)
        return None if loc is None else Packet._make(pid, loc.key)

    def get_startable_epochs(self) -> list:
        """IDs (``ulid.ULID``) of the Startable epochs, in the order they became Startable."""
        return [to_ulid(e) for e in self._s.startable]

    # ========================================================================== snapshots
    def snapshot(self) -> dict:
        """The complete state as JSON-able data (extension; see ``netrun_sim.snapshot``)."""
        from .snapshot import take_snapshot

        return take_snapshot(self)

    @classmethod
    def from_snapshot(cls, graph: Graph, data: dict) -> "NetSim":
        """A net on ``graph`` restored from ``snapshot()`` data (``SnapshotError`` if unusable)."""
        from .snapshot import restore_snapshot

        return restore_snapshot(graph, data)

    restore = from_snapshot

    def __reduce__(self):
        # pickling / deepcopy go through a snapshot (extension; the published engine cannot pickle)
        return (_restore, (self._graph, self.snapshot()))

    @property
    def graph(self) -> Graph:
        """A new copy of the graph on every access."""
        return self._graph._copy()

    # ============================================================================ actions
    # Hot paths are written out inline (ID fast path: an ID the engine already knows is
    # canonical, so it is parsed only when the lookup misses; one clock read per action).

    def _create_packet(self, action):
        s = self._s
        eid = action._a
        if eid is None:
            loc = s.outside
        else:
            epochs = s.epochs
            ep = epochs.get(eid)
            if ep is None:
                eid = parse_id(eid)
                ep = epochs.get(eid)
                if ep is None:
                    raise EpochNotFoundError(f"Epoch not found: {eid}")
            if ep.state != RUNNING:
                raise EpochNotRunningError(f"Epoch not running: {eid}")
            loc = ep
        ts = _time_ns() // 1000000
        ids = self._ids  # IdSource.new, inlined
        if ts != ids._ms:
            ids.set_time(ts)
        pos = ids._pos
        if pos >= _ID_BUFFER:
            pos = ids.refill()
        ids._pos = pos + 16
        pid = ids._prefix + ids._buf[pos : pos + 16]
        loc.q[pid] = None
        s.where[pid] = loc
        resp = _new(PacketResponse)
        resp._packet_id = pid
        ev = _new(_PacketCreated)
        ev._ts = ts
        ev._pid = pid
        return resp, [ev]

    def _remove_packet(self, cls, action):
        s = self._s
        where = s.where
        pid = action._a
        loc = where.get(pid)
        if loc is None:
            pid = parse_id(pid)
            loc = where.get(pid)
            if loc is None:
                raise PacketNotFoundError(f"Packet not found: {pid}")
        del loc.q[pid]
        kind = loc.kind
        if kind == K_EDGE:
            if not loc.q:
                del s.busy[loc]
        elif kind == K_INPUT:
            loc.rt.total -= 1
            s.dirty.add(loc.rt)
        del where[pid]
        ev = _new(cls)
        ev._ts = _time_ns() // 1000000
        ev._pid = pid
        ev._loc = loc.key
        return _EMPTY, [ev]

    def _start_epoch(self, action):
        s = self._s
        epochs = s.epochs
        eid = action._a
        ep = epochs.get(eid)
        if ep is None:
            eid = parse_id(eid)
            ep = epochs.get(eid)
            if ep is None:
                raise EpochNotFoundError(f"Epoch not found: {eid}")
        if ep.state != STARTABLE:
            raise EpochNotStartableError(f"Epoch not startable: {eid}")
        ep.state = RUNNING
        del s.startable[eid]
        ts = _time_ns() // 1000000
        epoch = _new(Epoch)
        epoch._s = (eid, ep.rt.info.name, RUNNING, ep.in_salvo, tuple(ep.outs), tuple(ep.orphans))
        resp = _new(StartedEpochResponse)
        resp._epoch = epoch
        ev = _new(EpochStarted)
        ev._ts = ts
        ev._eid = eid
        return resp, [ev]

    def _finish_epoch(self, action):
        s = self._s
        epochs = s.epochs
        eid = action._a
        ep = epochs.get(eid)
        if ep is None:
            eid = parse_id(eid)
            ep = epochs.get(eid)
            if ep is None:
                raise EpochNotFoundError(f"Epoch not found: {eid}")
        if ep.state != RUNNING:
            raise EpochNotRunningError(f"Epoch not running: {eid}")
        if ep.q:
            raise CannotFinishNonEmptyEpochError(f"Cannot finish epoch with packets remaining: {eid}")
        for oloc in ep.olocs:
            if oloc.q:
                raise UnsentOutputSalvoError(f"Cannot finish epoch {eid}: output port '{oloc.name}' has unsent packets")
        info = ep.rt.info
        name = info.name
        if info.no_salvo:
            s.tokens[name] = True
        ins, outs, orphans = ep.in_salvo, tuple(ep.outs), tuple(ep.orphans)
        del epochs[eid]
        # break the epoch <-> output-port reference cycle, so the finished epoch is freed at
        # once by reference counting instead of piling up for the cyclic garbage collector
        ep.olocs = ()
        epoch = _new(Epoch)
        epoch._s = (eid, name, FINISHED, ins, outs, orphans)
        resp = _new(FinishedEpochResponse)
        resp._epoch = epoch
        ev = _new(EpochFinished)
        ev._ts = _time_ns() // 1000000
        ev._snap = (eid, name, RUNNING, ins, outs, orphans)
        return resp, [ev]

    def _cancel_epoch(self, action):
        s = self._s
        eid = self._eid(action._a)
        ep = s.epochs.get(eid)
        if ep is None:
            raise EpochNotFoundError(f"Epoch not found: {eid}")
        info = ep.rt.info
        if info.no_salvo:
            s.tokens[info.name] = True
        snap = ep.snapshot()
        ts = _time_ns() // 1000000
        where = s.where
        destroyed: list = []
        events: list = []
        for loc in [ep, *_state.own_olocs(ep)]:  # (blank ones cannot be cleared)
            key = loc.key
            for pid in loc.q:
                del where[pid]
                destroyed.append(pid)
                events.append(packet_removed(PacketDestroyed, ts, pid, key))
            loc.q.clear()
        s.drop_epoch(ep)
        ep.olocs = ()  # break the reference cycle (see _finish_epoch)
        events.append(epoch_snapshot_event(EpochCancelled, ts, snap))
        return cancelled_response(epoch_of(snap), destroyed), events

    def _pid(self, text: str) -> str:
        return text if text in self._s.where else parse_id(text)

    def _eid(self, text: str) -> str:
        return text if text in self._s.epochs else parse_id(text)

    def _create_epoch(self, action, start: bool = False):
        s = self._s
        node_name, salvo = action._a, action._b
        where = s.where
        items = [(port, self._pid(pid)) for port, pid in salvo._packets]
        rt = s.rt_by_name.get(node_name)
        if rt is None:
            raise NodeNotFoundError(f"Node not found: {node_name}")
        in_pos = rt.info.in_pos
        seen: set = set()
        for port, pid in items:
            if port not in in_pos:
                raise InputPortNotFoundError(f"Input port '{port}' not found on node {node_name}")
            loc = where.get(pid)
            if loc is None:
                raise PacketNotFoundError(f"Packet not found: {pid}")
            if loc is not rt.in_locs[in_pos[port]] or pid in seen:
                raise PacketNotAtInputPortError(f"Packet {pid} not at input port '{port}' on node '{node_name}'")
            seen.add(pid)
        ts = _time_ns() // 1000000
        eid = self._ids.new(ts)
        ep = s.new_epoch(eid, rt, RUNNING if start else STARTABLE, (salvo._cond, tuple(items)))
        events = [epoch_id_event(EpochCreated, ts, eid)]
        nloc = ep
        nkey = nloc.key
        for port, pid in items:
            loc = rt.in_locs[in_pos[port]]
            idx = index_in(loc.q, pid)
            s.discard(loc, pid)
            s.add(nloc, pid)
            events.append(packet_moved(ts, pid, loc.key, nkey, idx))
        if start:
            events.append(epoch_id_event(EpochStarted, ts, eid))
            return epoch_response(StartedEpochResponse, epoch_of(ep.snapshot())), events
        return epoch_response(CreatedEpochResponse, epoch_of(ep.snapshot())), events

    def _create_and_start_epoch(self, action):
        return self._create_epoch(action, start=True)

    def _load(self, action):
        s = self._s
        where = s.where
        pid = action._a
        loc = where.get(pid)
        if loc is None:
            pid = parse_id(pid)
            loc = where.get(pid)
            if loc is None:
                raise PacketNotFoundError(f"Packet not found: {pid}")
        if loc.kind != K_NODE:
            raise PacketNotInAnyNodeError(f"Packet {pid} is not inside any epoch")
        ep = loc  # a Node location is the epoch itself
        port = action._b
        pos = ep.rt.info.out_pos.get(port)
        if pos is None:
            raise OutputPortNotFoundError(f"Output port '{port}' not found in epoch {ep.id}")
        oloc = _state.own_olocs(ep)[pos]
        oq = oloc.q
        cap = oloc.spec[1]
        if cap is not None and len(oq) >= cap:
            raise OutputPortFullError(f"Output port '{port}' is full in epoch {ep.id}")
        q = loc.q
        idx = 0 if next(iter(q)) == pid else index_in(q, pid)
        del q[pid]
        oq[pid] = None
        where[pid] = oloc
        ev = _new(PacketMoved)
        ev._ts = _time_ns() // 1000000
        ev._pid = pid
        ev._from = loc.key
        ev._to = oloc.key
        ev._idx = idx
        return _EMPTY, [ev]

    def _send(self, action):
        s = self._s
        epochs = s.epochs
        eid = action._a
        ep = epochs.get(eid)
        if ep is None:
            eid = parse_id(eid)
            ep = epochs.get(eid)
            if ep is None:
                raise EpochNotFoundError(f"Epoch not found: {eid}")
        cond_name = action._b
        info = ep.rt.info
        cond = info.out_conds.get(cond_name)
        if cond is None:
            raise SalvoConditionNotFoundError(f"Salvo condition '{cond_name}' not found for epoch {eid}")
        max_n, plan, test, _one = cond
        counts = ep.out_counts
        sent = 0 if counts is None else counts.get(cond_name, 0)
        if max_n is not None and sent >= max_n:
            raise MaxSalvosExceededError(f"Max salvos exceeded for condition '{cond_name}' in epoch {eid}")
        if not test(ep.olocs):
            raise SalvoConditionNotMetError(f"Salvo condition '{cond_name}' not met for epoch {eid}")
        if counts is None:
            ep.out_counts = {cond_name: 1}
        else:
            counts[cond_name] = sent + 1
        ts = _time_ns() // 1000000
        events = []
        pairs = []
        olocs = ep.olocs
        where = s.where
        for pos, port, n in plan:
            oloc = olocs[pos]
            q = oloc.q
            if not q:
                continue
            k = len(q) if n is None or n >= len(q) else n
            if not k:
                continue
            dest = oloc.spec[2]
            okey = oloc.key
            if dest is None:
                outside = s.outside
                oq = outside.q
                orphans = []
                for _ in range(k):
                    pid = q.popitem(last=False)[0]
                    pairs.append((port, pid))
                    events.append(packet_orphaned(ts, pid, eid, info.name, port, cond_name))
                    orphans.append((pid, port, cond_name))
                    oq[pid] = None
                    where[pid] = outside
                _state.add_orphans(ep, orphans)
            else:
                dq = dest.q
                dkey = dest.key
                for _ in range(k):
                    pid = q.popitem(last=False)[0]
                    pairs.append((port, pid))
                    ev = _new(PacketMoved)
                    ev._ts = ts
                    ev._pid = pid
                    ev._from = okey
                    ev._to = dkey
                    ev._idx = 0
                    events.append(ev)
                    dq[pid] = None
                    where[pid] = dest
                s.busy[dest] = None
        _state.add_out(ep, (cond_name, tuple(pairs)))
        ev = _new(OutputSalvoTriggered)
        ev._ts = ts
        ev._eid = eid
        ev._cond = cond_name
        events.append(ev)
        return _EMPTY, events

    def _transport(self, action):
        s = self._s
        where = s.where
        pid = action._a
        loc = where.get(pid)
        if loc is None:
            pid = parse_id(pid)
            loc = where.get(pid)
            if loc is None:
                raise PacketNotFoundError(f"Packet not found: {pid}")
        kind = loc.kind
        if (kind == K_NODE or kind == K_OUTPUT) and loc.ep.state == RUNNING:
            raise CannotMovePacketFromRunningEpochError(f"Cannot move packet {pid} from running epoch {loc.ep.id}")
        dkey = action._b
        tag = dkey[0]
        if tag == "E":
            dest = s.locs.get(dkey)
            if dest is None:
                raise EdgeNotFoundError(f"Edge not found: {dkey[1]}")
        elif tag == "I":
            node, port = dkey[1], dkey[2]
            rt = s.rt_by_name.get(node)
            if rt is None:
                raise NodeNotFoundError(f"Node not found: {node}")
            pos = rt.info.in_pos.get(port)
            if pos is None:
                raise InputPortNotFoundError(f"Input port '{port}' not found on node {node}")
            dest = rt.in_locs[pos]
            if dest.cap is not None and len(dest.q) >= dest.cap:
                raise InputPortFullError(f"Input port '{port}' is full on node {node}")
        elif tag == "N" or tag == "O":
            deid = dkey[1]
            dep = s.epochs.get(deid)
            if dep is None:
                raise EpochNotFoundError(f"Epoch not found: {deid}")
            if dep.state == RUNNING:
                raise CannotMovePacketIntoRunningEpochError(f"Cannot move packet {pid} into running epoch {deid}")
            if tag == "N":
                dest = dep
            else:
                pos = dep.rt.info.out_pos.get(dkey[2])
                if pos is None:
                    raise OutputPortNotFoundError(f"Output port '{dkey[2]}' not found in epoch {deid}")
                dest = _state.own_olocs(dep)[pos]
        else:
            dest = s.outside
        q = loc.q
        idx = index_in(q, pid)
        del q[pid]
        if kind == K_EDGE:
            if not q:
                del s.busy[loc]
        elif kind == K_INPUT:
            loc.rt.total -= 1
            s.dirty.add(loc.rt)
        dest.q[pid] = None
        where[pid] = dest
        dkind = dest.kind
        if dkind == K_EDGE:
            s.busy[dest] = None
        elif dkind == K_INPUT:
            dest.rt.total += 1
            s.dirty.add(dest.rt)
        ev = _new(PacketMoved)
        ev._ts = _time_ns() // 1000000
        ev._pid = pid
        ev._from = loc.key
        ev._to = dest.key
        ev._idx = idx
        return _EMPTY, [ev]

    def _create_request(self, action):
        s = self._s
        node, label = action._a, action._b
        if node not in s.rt_by_name:
            raise RequestNodeNotFoundError(f"Request targets non-existent node '{node}'")
        s.pending.append((node, label))
        return empty_response(), [request_created(_time_ns() // 1000000, node, label, "External")]

    def _run_net_until_blocked(self, action):
        return empty_response(), _step.run_until_blocked(self)
