"""Signals: the runtime sends a value on a node's ``__signal_<type>__`` output port when
something happens to the node.

A node emits the signal types it has a port *and* an output salvo condition for (the config
layer generates both from ``execution_config.signals`` or the net's ``default_signals``):

==================  ==========================================  ========================
type                when                                        value
==================  ==========================================  ========================
epoch_started       the epoch started, before the function runs  ``EpochSignalValue``
epoch_finished      the function returned and its outputs are    ``EpochSignalValue``
                    committed, just before the epoch finishes
epoch_failed        the epoch failed for good (after retries),   ``EpochFailedSignalValue``
                    while it is still running, so the signal
                    leaves before the epoch is cancelled
epoch_cancelled     the epoch was cancelled (``EpochCancelled``  ``EpochSignalValue``
                    raised by the node, or a cancel control)
node_initialized    the node's start function ran (or the net    ``SignalValue``
                    started, for a node without one)
node_closed         the node's stop function ran                 ``SignalValue``
==================  ==========================================  ========================

Epoch signals are sent from inside the epoch (create, load, send the signal's salvo).
``epoch_finished`` is part of the epoch's commit group: if the epoch then cannot finish
(unconsumed input...) the signal is undone with the rest. Node signals, which have no epoch,
go through a short-lived epoch of their own (created, started, sent from, finished at once).

Only the packets of *this* send are routed to output queues (the published 0.5.0 runtime
re-routed a cumulative list and crashed with ``KeyError`` on a second salvo). A signal
nobody can see (its port has no edge and no output queue) is not sent at all. Nodes without
signals cost one ``node.signals is None`` check per epoch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from netrun.config.signals import (
    VALID_SIGNAL_TYPES,
    EpochFailedSignalValue,
    EpochSignalValue,
    SignalValue,
    signal_port_name,
    signal_type_from_port,
)
from netrun.errors import (
    CannotFinishNonEmptyEpochError,
    NetrunError,
    UnsentOutputSalvoError,
)
from netrun.net.deferred import DeferredActionQueue

__all__ = ["NODE_EVENT_CONDITION", "SignalEmitter", "node_signal_types", "setup_signals"]

#: Salvo condition name of the short-lived epochs that carry node signals.
NODE_EVENT_CONDITION = "__signal__"


def node_signal_types(out_ports: Iterable[str], out_conditions: Iterable[str]) -> frozenset[str] | None:
    """The signal types a node emits: ``__signal_<type>__`` ports with a salvo condition of
    the same name and a known type (``None`` when there are none)."""
    conditions = set(out_conditions)
    types = {signal_type_from_port(p) for p in out_ports if p in conditions}
    types &= VALID_SIGNAL_TYPES
    return frozenset(types) if types else None


def setup_signals(core: Any) -> SignalEmitter | None:
    """Set ``node.signals`` of every node; the scheduler's emitter, or ``None`` when no node
    has signals (then no hook does anything)."""
    any_signals = False
    for node in core.nodes.values():
        node.signals = node_signal_types(node.out_ports, node.out_conditions)
        any_signals |= node.signals is not None
    return SignalEmitter(core) if any_signals else None


class SignalEmitter:
    """Sends the signals of one scheduler's nodes (see the module docstring)."""

    def __init__(self, core: Any) -> None:
        self.core = core

    # -- which signals are worth sending ------------------------------------------------
    def wants(self, node: Any, signal: str) -> bool:
        """Whether ``node`` emits ``signal`` and something can receive it (an edge or an
        output queue on its port)."""
        types = node.signals
        if types is None or signal not in types:
            return False
        port = signal_port_name(signal)
        core = self.core
        if (node.name, port) in core.info.connected_outputs:
            return True
        queues = core.queues
        return queues is not None and queues.queue_of(node.name, port) is not None

    # -- epoch signals ---------------------------------------------------------------------
    def started(self, run: Any) -> None:
        """``epoch_started``: the epoch is started in the engine first if its executor has
        not done it yet (a thread pool starts epochs when a worker takes them)."""
        if not self.wants(run.node, "epoch_started"):
            return
        if not run.in_engine:
            self.core.engine.start_epoch(run.id)
            run.in_engine = True
        self._emit_guarded(run, "epoch_started")

    def failed(self, run: Any, error: BaseException) -> None:
        """``epoch_failed``, while the failing epoch still runs (so the signal escapes)."""
        if run.in_engine and self.wants(run.node, "epoch_failed"):
            self._emit_guarded(run, "epoch_failed", error=f"{type(error).__name__}: {error}")

    def cancelled(self, run: Any) -> None:
        """``epoch_cancelled``, before the epoch is cancelled in the engine."""
        if run.in_engine and self.wants(run.node, "epoch_cancelled"):
            self._emit_guarded(run, "epoch_cancelled")

    def _emit_guarded(self, run: Any, signal: str, **extra: Any) -> None:
        # a failure path must go on even if the signal cannot be sent
        try:
            self.emit_in_epoch(run, signal, **extra)
        except NetrunError as error:
            run.node.log.add(f"could not send the {signal} signal of epoch {run.id}: {error}",
                             run.id, "error")

    def emit_in_epoch(self, run: Any, signal: str, **extra: Any) -> None:
        """Create the signal packet in the running epoch, load it and send its salvo."""
        node = run.node
        cls = EpochFailedSignalValue if signal == "epoch_failed" else EpochSignalValue
        value = cls(signal=signal, node_name=node.name, epoch_id=run.id, **extra)
        self._send(node, run.id, signal, value)

    def _send(self, node: Any, epoch_id: str, signal: str, value: Any) -> None:
        core = self.core
        engine = core.engine
        port = signal_port_name(signal)
        with engine.lock:
            pid = engine.create_packet_held(epoch_id)
            core.store.store_value(pid, value)
            engine.load_output_port_held(pid, port)
            orphans = engine.send_output_salvo_held(epoch_id, port, node.may_orphan)
        if orphans:  # only this salvo's packets
            core.route_orphans(node.name, epoch_id, orphans)

    def commit_and_finish(self, run: Any, ctx: Any) -> None:
        """The scheduler's commit-and-finish for a node with signals: the epoch's deferred
        actions, then the ``epoch_finished`` signal, then ``finish_epoch``, as one group."""
        core = self.core
        queue = ctx._queue
        actions = list(queue._actions) if queue is not None else []
        if self.wants(run.node, "epoch_finished"):
            signal = DeferredActionQueue()
            port = signal_port_name("epoch_finished")
            packet = signal.create_packet(EpochSignalValue(signal="epoch_finished", node_name=run.node.name,
                                                           epoch_id=run.id))
            signal.load_output_port(port, packet)
            signal.send_output_salvo(port)
            actions.extend(signal._actions)
        if actions:
            core.commit_actions(run, actions, atomic=True, finish=True, ctx=ctx)
            return
        try:
            core.engine.finish_epoch(run.id)
        except (CannotFinishNonEmptyEpochError, UnsentOutputSalvoError) as error:
            raise core.incomplete_error(run, ctx, error) from error

    # -- node signals ----------------------------------------------------------------------
    def node_event(self, nodes: Iterable[Any], signal: str) -> None:
        """``node_initialized`` / ``node_closed`` for each node that wants it, each sent from
        a short-lived epoch of the node (created, started, finished at once)."""
        core = self.core
        engine = core.engine
        for node in nodes:
            if not self.wants(node, signal):
                continue
            value = SignalValue(signal=signal, node_name=node.name)
            with engine.lock:
                epoch_id = engine.create_epoch(node.name, [], NODE_EVENT_CONDITION)
                engine.start_epoch(epoch_id)
                self._send(node, epoch_id, signal, value)
                engine.finish_epoch(epoch_id)
        core.wake()
