"""The runtime's only door to the engine (``netrun_sim``): actions, event parsing, history.

Every engine call of the runtime goes through :class:`Engine`, which

* holds the re-entrant lock that serialises engine access between the event loop and
  worker threads (node functions in thread pools talk to the engine live);
* records each action with its events in the event history, when one is enabled;
* turns the engine's events into the few facts the runtime indexes (new epochs with their
  node and salvo; packets orphaned by a send) so the runtime never scans engine state;
* knows the graph's static facts (ports, salvo conditions, edges) for validation.

It uses the engine's public API only (the published 0.2.0 engine works as well as the
project's own).
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from netrun_sim import NetAction, NetSim, PacketLocation, Salvo

try:  # the project's own engine: the fast lane's recording form
    from netrun_sim._fastlane import TapeLane, tape_action
except ImportError:  # pragma: no cover - the published engine has no fast lane
    TapeLane = tape_action = None

from netrun.errors import NetrunRuntimeError
from netrun.net._records import next_sequence

__all__ = ["Engine", "GraphInfo"]

_NO_LIMIT = 1 << 62  # "no limit" for the fast lane's ``steps``


class GraphInfo:
    """Static facts of a graph, computed once."""

    def __init__(self, graph: Any) -> None:
        nodes = graph.nodes()
        self.node_names: list[str] = list(nodes)
        self.in_ports: dict[str, tuple[str, ...]] = {}
        self.out_ports: dict[str, tuple[str, ...]] = {}
        self.in_conditions: dict[str, tuple[str, ...]] = {}
        self.out_conditions: dict[str, tuple[str, ...]] = {}
        for name, node in nodes.items():
            self.in_ports[name] = tuple(node.in_ports)
            self.out_ports[name] = tuple(node.out_ports)
            self.in_conditions[name] = tuple(node.in_salvo_conditions)
            self.out_conditions[name] = tuple(node.out_salvo_conditions)
        self.connected_outputs: set[tuple[str, str]] = set()
        self.connected_inputs: set[tuple[str, str]] = set()
        for edge in graph.edges():
            self.connected_outputs.add((edge.source.node_name, edge.source.port_name))
            self.connected_inputs.add((edge.target.node_name, edge.target.port_name))

    def unconnected_outputs(self) -> list[tuple[str, str]]:
        """Output ports without an edge, in node/port declaration order."""
        return [
            (node, port)
            for node in self.node_names
            for port in self.out_ports[node]
            if (node, port) not in self.connected_outputs
        ]


# An epoch the engine just created, as the runtime's waiting-epoch tuple ``(id, node, pairs,
# condition, created, seq)`` (see ``_records.waiting_epoch``; ``pairs``: the input salvo's
# ``(port, packet_id)`` tuples, in salvo order).
NewEpoch = tuple


class Engine:
    """Wraps one ``NetSim``; see the module docstring."""

    def __init__(self, graph: Any, sim: Optional[NetSim] = None) -> None:
        self.graph = graph
        self.sim = sim if sim is not None else NetSim(graph)  # (sets _do and _lane too)
        self.info = GraphInfo(graph)
        self.lock = threading.RLock()
        self._history: Any = None
        # Called (no arguments, lock held) whenever ``quiet`` may have changed: the
        # scheduler's express epochs drop their cached lane then (_express.py).
        self.on_lane_change: Optional[Any] = None
        # Stepping with run_step (not the engine's run_net_until_blocked): each step's events
        # are few and die young, which keeps the garbage collector's work small (measured:
        # ~30% faster on a 20,000-packet pipeline).
        self._until_blocked = False
        self._tx: Optional[list[tuple[Any, list]]] = None
        self._update_quiet()
        # Whether a step could make progress: only packets put on edges or input ports
        # (sends, injections, undone actions) can let the engine move or fire anything, so
        # advance() skips the engine call when none happened since the last one.
        self.dirty = True

    @property
    def sim(self) -> Any:
        """The wrapped ``NetSim`` (replaced when a checkpoint is restored)."""
        return self._sim

    @sim.setter
    def sim(self, sim: Any) -> None:
        self._sim = sim
        self._do = sim.do_action
        # The engine's fast lane (our netrun_sim only): the per-epoch actions without their
        # event objects, used while nothing records events (no history, no transaction).
        lane = getattr(sim, "_fastlane", None)
        self._lane = lane() if lane is not None else None
        self._update_quiet()

    @property
    def history(self) -> Any:
        """The event history that records every action (``None``: not recorded)."""
        return self._history

    @history.setter
    def history(self, history: Any) -> None:
        self._history = history
        self._update_quiet()

    def _update_quiet(self) -> None:
        self._choose_lanes()
        hook = getattr(self, "on_lane_change", None)
        if hook is not None:
            hook()

    def _choose_lanes(self) -> None:
        # ``quiet``: the fast lane while no history or transaction needs the events, else None
        # (one attribute read on the hot path instead of three)
        # ``recording``: the lane's recording form on a private tape, while another kind of
        # history (the net-action recorder) wants every action's events at once: each
        # action's tape record is read back into (name, args, events) right away (_replay)
        # An event history with a ``tape`` (EventHistory) is recorded by the lane itself: the
        # lane's recording form (TapeLane) is then ``quiet`` too, so the hot paths record
        # with no extra call and no event objects (see netrun_sim._fastlane)
        lane = getattr(self, "_lane", None)
        free = getattr(self, "_tx", None) is None
        history = getattr(self, "_history", None)
        tape = getattr(history, "tape", None) if history is not None else None
        if tape is not None and lane is not None and TapeLane is not None:
            taper = getattr(self, "_taper", None)
            if taper is None or taper.tape is not tape or taper._net is not self._sim:
                taper = self._taper = TapeLane(self._sim, tape, history.seal, history.seal_every)
            self.quiet = taper if free else None
            self.recording = None
            return
        self.quiet = lane if history is None and free else None
        if history is not None and free and lane is not None and TapeLane is not None:
            recorder = getattr(self, "_recorder", None)
            if recorder is None or recorder._net is not self._sim:
                recorder = self._recorder = TapeLane(self._sim, [])
            self.recording = recorder
        else:
            self.recording = None

    def _replay(self) -> None:
        """Hand the actions on the recording lane's tape to the history, with their events."""
        tape = self.recording.tape
        record = self._history.record_engine_action
        for op in tape:
            record(*tape_action(op))
        tape.clear()

    # -- plumbing ---------------------------------------------------------------------
    def _act(self, name: str, action: Any, *args: Any) -> tuple[Any, list]:
        resp, events = self._do(action)
        history = self.history
        if history is not None:  # raw arguments; named when the history is read
            history.record_engine_action(name, args, events)
        if self._tx is not None:
            self._tx.append((action, events))
        return resp, events

    def _note(self, name: str, action: Any, events: list, *args: Any) -> None:
        """History and transaction bookkeeping of an action done by a hot-path method."""
        if self.history is not None:
            self.history.record_engine_action(name, args, events)
        if self._tx is not None:
            self._tx.append((action, events))

    def begin(self) -> None:
        """Start an all-or-nothing group of actions (holds the lock until :meth:`end`)."""
        self.lock.acquire()
        self._tx = []
        self.quiet = self.recording = None
        if self.on_lane_change is not None:
            self.on_lane_change()

    def end(self, rollback: bool = False) -> None:
        """End the group; with ``rollback`` undo its actions, newest first."""
        try:
            if rollback and self._tx:
                self.dirty = True
                for action, events in reversed(self._tx):
                    self.sim.undo_action(action, events)
                    if self.history is not None:
                        self.history.record_engine_action("UndoAction", (repr(action),), None)
        finally:
            self._tx = None
            self._update_quiet()
            self.lock.release()

    # -- packets ----------------------------------------------------------------------
    def create_packet(self, epoch_id: Optional[str] = None) -> str:
        """A new packet inside ``epoch_id`` (or outside the net); returns its ID."""
        action = NetAction.create_packet(epoch_id)
        with self.lock:
            resp, events = self._do(action)
            if self.history is not None or self._tx is not None:
                self._note("CreatePacket", action, events, epoch_id)
        return resp.packet_id

    def consume_packet(self, packet_id: str) -> None:
        action = NetAction.consume_packet(packet_id)
        with self.lock:
            _, events = self._do(action)
            if self.history is not None or self._tx is not None:
                self._note("ConsumePacket", action, events, packet_id)

    def destroy_packet(self, packet_id: str) -> None:
        with self.lock:
            self._act("DestroyPacket", NetAction.destroy_packet(packet_id), packet_id)

    def load_output_port(self, packet_id: str, port_name: str) -> None:
        action = NetAction.load_packet_into_output_port(packet_id, port_name)
        with self.lock:
            _, events = self._do(action)
            if self.history is not None or self._tx is not None:
                self._note("LoadPacketIntoOutputPort", action, events, packet_id, port_name)

    def send_output_salvo(self, epoch_id: str, condition: str, may_orphan: bool = True) -> list[tuple[str, str]]:
        """Send an output salvo; returns the orphaned packets as ``(packet_id, port)``
        (not looked for when ``may_orphan`` is false: the node has no unconnected port)."""
        with self.lock:
            return self.send_output_salvo_held(epoch_id, condition, may_orphan)

    def send_output_salvo_held(self, epoch_id: str, condition: str, may_orphan: bool = True) -> list[tuple[str, str]]:
        """:meth:`send_output_salvo`; the caller holds :attr:`lock`."""
        if self.quiet is not None:
            self.dirty = True
            return self.quiet.send(epoch_id, condition)
        if self.recording is not None:
            self.dirty = True
            orphans = self.recording.send(epoch_id, condition)
            self._replay()
            return orphans
        action = NetAction.send_output_salvo(epoch_id, condition)
        _, events = self._do(action)
        self.dirty = True
        if self.history is not None or self._tx is not None:
            self._note("SendOutputSalvo", action, events, epoch_id, condition)
        if not may_orphan:
            return []
        orphans = []
        for ev in events:
            if ev.kind == "PacketOrphaned":
                orphans.append((ev.packet_id, ev.orphaned_port_name))
        return orphans

    # -- the same, for callers that already hold ``lock`` (a context's live operations) --
    def create_packet_held(self, epoch_id: Optional[str]) -> str:
        """:meth:`create_packet`; the caller holds :attr:`lock`."""
        if epoch_id is not None:
            if self.quiet is not None:
                return self.quiet.create(epoch_id)
            if self.recording is not None:
                pid = self.recording.create(epoch_id)
                self._replay()
                return pid
        action = NetAction.create_packet(epoch_id)
        resp, events = self._do(action)
        if self.history is not None or self._tx is not None:
            self._note("CreatePacket", action, events, epoch_id)
        return resp.packet_id

    def consume_packet_held(self, packet_id: str) -> None:
        """:meth:`consume_packet`; the caller holds :attr:`lock`."""
        if self.quiet is not None:
            self.quiet.consume(packet_id)
            return
        if self.recording is not None:
            self.recording.consume(packet_id)
            self._replay()
            return
        action = NetAction.consume_packet(packet_id)
        _, events = self._do(action)
        if self.history is not None or self._tx is not None:
            self._note("ConsumePacket", action, events, packet_id)

    def load_output_port_held(self, packet_id: str, port_name: str) -> None:
        """:meth:`load_output_port`; the caller holds :attr:`lock`."""
        if self.quiet is not None:
            self.quiet.load(packet_id, port_name)
            return
        if self.recording is not None:
            self.recording.load(packet_id, port_name)
            self._replay()
            return
        action = NetAction.load_packet_into_output_port(packet_id, port_name)
        _, events = self._do(action)
        if self.history is not None or self._tx is not None:
            self._note("LoadPacketIntoOutputPort", action, events, packet_id, port_name)

    def inject_to_input(self, node: str, port: str, count: int) -> list[str]:
        """Create ``count`` packets outside the net and move each to an input port."""
        location = PacketLocation.input_port(node, port)
        ids = []
        with self.lock:
            self.dirty = True
            for _ in range(count):
                resp, _ = self._act("CreatePacket", NetAction.create_packet(), None)
                pid = resp.packet_id
                try:
                    self._act("TransportPacketToLocation",
                              NetAction.transport_packet_to_location(pid, location), pid,
                              {"kind": "InputPort", "node": node, "port": port})
                except Exception:
                    self._act("DestroyPacket", NetAction.destroy_packet(pid), pid)
                    raise
                ids.append(pid)
        return ids

    # -- epochs -----------------------------------------------------------------------
    def start_epoch(self, epoch_id: str) -> None:
        with self.lock:  # the lane is read under the lock (a history may be installed meanwhile)
            lane = self.quiet
            if lane is not None:
                lane.start(epoch_id)
                return
            action = NetAction.start_epoch(epoch_id)
            if self.recording is not None:
                self.recording.start(epoch_id)
                self._replay()
                return
            _, events = self._do(action)
            if self.history is not None or self._tx is not None:
                self._note("StartEpoch", action, events, epoch_id)

    def finish_epoch(self, epoch_id: str) -> None:
        with self.lock:  # the lane is read under the lock (a history may be installed meanwhile)
            lane = self.quiet
            if lane is not None:
                lane.finish(epoch_id)
                return
            action = NetAction.finish_epoch(epoch_id)
            if self.recording is not None:
                self.recording.finish(epoch_id)
                self._replay()
                return
            _, events = self._do(action)
            if self.history is not None or self._tx is not None:
                self._note("FinishEpoch", action, events, epoch_id)

    def cancel_epoch(self, epoch_id: str) -> list[str]:
        """Cancel an epoch; returns the IDs of the packets the engine destroyed."""
        with self.lock:
            resp, _ = self._act("CancelEpoch", NetAction.cancel_epoch(epoch_id), epoch_id)
        return list(resp.destroyed_packets)

    def create_epoch(self, node: str, pairs: list[tuple[str, str]], condition: str) -> str:
        """A Startable epoch of ``node`` holding the given input packets."""
        with self.lock:
            resp, _ = self._act("CreateEpoch", NetAction.create_epoch(node, Salvo(condition, list(pairs))),
                                node, condition, [list(p) for p in pairs])
        return resp.epoch.id

    def create_request(self, node: str, label: str) -> list:
        """Queue a dependency request of ``node`` (the next step resolves it); its events."""
        with self.lock:
            self.dirty = True
            _, events = self._act("CreateRequest", NetAction.create_request(node, label), node, label)
        return list(events)

    # -- stepping ---------------------------------------------------------------------
    def advance(self, limit: Optional[int] = None, stamp: float = 0.0) -> list[NewEpoch]:
        """Let the engine move packets and fire salvo conditions until it is blocked, or
        until ``limit`` epochs were created (then ``dirty`` stays set: there is more).

        Returns the epochs created, in creation order, as waiting-epoch tuples whose
        creation time is ``stamp`` (a ``time.monotonic()`` value), numbered in order.
        """
        with self.lock:
            if not self.dirty:
                return []
            self.dirty = False
            if self._until_blocked:
                _, events = self._act("RunNetUntilBlocked", NetAction.run_net_until_blocked())
                return self._parse_step_events(events, stamp) if events else []
            if self.quiet is not None:
                return self._advance_quietly(limit, self.quiet, False, stamp)
            if self.recording is not None:
                return self._advance_quietly(limit, self.recording, True, stamp)
            created: list[NewEpoch] = []
            run_step = NetAction.run_step
            # NetSim.run_step() is do_action(NetAction.run_step()) without the action and
            # response objects; the action form is kept when the step must be recorded
            direct = self.sim.run_step if self.history is None and self._tx is None else None
            while True:
                if direct is not None:
                    progress, events = direct()
                else:
                    resp, events = self._act("RunStep", run_step())
                    progress = resp.made_progress
                if events:
                    new = self._parse_step_events(events, stamp)
                    if new:
                        self._guard_empty(new)
                        created.extend(new)
                if not progress:
                    return created
                if limit is not None and len(created) >= limit:
                    self.dirty = True
                    return created

    def _advance_quietly(self, limit: Optional[int], lane: Any, record: bool, stamp: float) -> list[NewEpoch]:
        """:meth:`advance` through the fast lane (the recording one, read back into the
        history after its steps, when ``record``); the caller holds the lock."""
        eps: list = []
        try:
            # the steps, in one call: until no progress, ``limit`` epochs, or an epoch
            # whose input salvo took no packets (which the pass below refuses)
            if lane.steps(eps, _NO_LIMIT if limit is None else limit) and limit is not None \
                    and len(eps) >= limit:
                self.dirty = True
        finally:
            if record:
                self._replay()
        new = []
        seq = next_sequence
        for ep in eps:
            condition, pairs = ep.in_salvo
            epoch = (ep.id, ep.rt.info.name, pairs, condition, stamp, seq())
            if not pairs and condition != "__request__":
                self._guard_empty([epoch])
            new.append(epoch)
        return new

    def _guard_empty(self, new: list[NewEpoch]) -> None:
        for _, node, pairs, condition, *_ in new:
            if not pairs and condition not in (None, "__request__"):
                raise NetrunRuntimeError(
                    f"Input salvo condition '{condition}' on node '{node}' is "
                    f"satisfied but takes no packets, so it would create epochs forever; make "
                    f"its `ports` include the ports its term tests."
                )

    def _parse_step_events(self, events: list, stamp: float) -> list[NewEpoch]:
        # Only EpochCreated events are read; each new epoch's node and salvo come from one
        # get_epoch() snapshot, which is cheaper than decoding every PacketMoved event.
        created: list[NewEpoch] = []
        get_epoch = self.sim.get_epoch
        for ev in events:
            if ev.kind == "EpochCreated":
                epoch = get_epoch(ev.epoch_id)
                salvo = epoch.in_salvo
                created.append((ev.epoch_id, epoch.node_name, tuple(salvo.packets),
                                salvo.salvo_condition, stamp, next_sequence()))
        return created

    # -- queries ----------------------------------------------------------------------
    def get_epoch(self, epoch_id: Any) -> Any:
        with self.lock:
            return self.sim.get_epoch(epoch_id)

    def get_packet(self, packet_id: Any) -> Any:
        with self.lock:
            return self.sim.get_packet(packet_id)

    def packet_location(self, packet_id: str) -> Any:
        packet = self.get_packet(packet_id)
        return packet.location if packet is not None else None

    def packets_at(self, location: Any) -> list[str]:
        with self.lock:
            return [str(p) for p in self.sim.get_packets_at_location(location)]

    def startable_epoch_ids(self) -> list[str]:
        with self.lock:
            return [str(e) for e in self.sim.get_startable_epochs()]

    def is_blocked(self) -> bool:
        with self.lock:
            return self.sim.is_blocked()
