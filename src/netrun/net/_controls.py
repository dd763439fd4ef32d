"""Controls: packets on a node's ``__control_<type>__`` input port make the runtime act on
the node (start an epoch, cancel epochs, init/close it, enable/disable it, set its epoch count).

How they are handled (and how this differs from the published 0.5.0 runtime):

* **Inline, no worker.** An epoch the engine creates for a control salvo condition never
  reaches the node's function: the scheduler takes it aside when it indexes new epochs and
  applies it at the start of the next launch round, on the event loop.
* **Priority over data.** Control epochs are applied before any waiting data epoch of any
  node is launched, so a ``disable`` sent before (or together with) data is in effect before
  the data epochs run. They bypass ``enabled`` and ``max_parallel_epochs``. Every ``Net`` also
  lists a node's control salvo conditions first in its engine graph
  (``netrun.config.runtime.controls_first``), so the engine fires a waiting control before
  the next data salvo of the same node, however many data epochs wait.
* **Each control applied.** A control salvo takes every waiting packet of its port; each
  packet is applied on its own (three ``start_epoch`` packets start three epochs; 0.5.0 merged
  them into one). Controls sent with :meth:`ControlMethods.send_control` that wait together
  are applied in the order they were sent, whatever their type.
* **Failures are reported, not lost.** A control that cannot be applied (``cancel_epoch``
  of an unknown epoch...) becomes a :class:`~netrun.errors.ControlFailed`: logged on the
  node, recorded in the dead-letter queue with its value, passed to ``error_callback``, and
  handled like a failed epoch: by ``on_error`` (``"raise"`` raises it from the run), or, in a
  config-built net without ``on_error``, as an ``EpochError`` chaining it, raised by the run
  (``propagate_exceptions``) or put in ``net.exception_queue``.

Control types and their values (``netrun.config.signals.CONTROL_TYPES``):
``start_epoch`` (no value; a source node gets a new epoch, a node with input ports starts
its oldest waiting epoch now), ``cancel_epoch`` (``str`` epoch ID, waiting or running),
``cancel_all_epochs``, ``init_node`` / ``close_node`` (call the start / stop function; a node
closed this way is not started again by later runs, only by ``init_node``),
``enable``, ``disable``, ``set_epoch_count`` (``int`` >= 0), ``reset_epoch_count``. A
control that takes no value ignores the value of a packet arriving over an edge (so a
signal port can drive a control port directly).
"""

from __future__ import annotations

import asyncio
import itertools
import warnings
from datetime import datetime, timezone
from typing import Any

from netrun.config.signals import (
    CONTROL_TYPES,
    VALID_CONTROL_TYPES,
    control_port_name,
    control_type_from_port,
    is_control_port,
)
from netrun.errors import (
    ControlFailed,
    ControlPortNotFoundError,
    ControlValueError,
    EpochCancelledByControl,
    EpochError,
    UnknownControlTypeError,
)
from netrun.net._records import EpochRun
from netrun.net.dlq import DeadLetterEntry
from netrun.net.epoch_log import EpochOutcome

__all__ = ["ControlHandler", "ControlMethods", "check_control", "node_control_conditions", "set_node_enabled",
           "setup_controls"]

_send_order = itertools.count()


def node_control_conditions(in_ports: tuple[str, ...], in_conditions: tuple[str, ...]) -> frozenset[str] | None:
    """Input salvo conditions of a node that are control conditions (``__control_<type>__``
    with a port of the same name and a known type); ``None`` when there are none."""
    names = {c for c in in_conditions
             if c in in_ports and control_type_from_port(c) in VALID_CONTROL_TYPES}
    return frozenset(names) if names else None


def setup_controls(core: Any, in_conditions: dict[str, tuple[str, ...]]) -> ControlHandler | None:
    """Set ``node.controls`` of every node; the scheduler's handler, or ``None`` when no node
    accepts controls."""
    any_controls = False
    for node in core.nodes.values():
        node.controls = node_control_conditions(node.in_ports, in_conditions.get(node.name, ()))
        any_controls |= node.controls is not None
    return ControlHandler(core) if any_controls else None


def check_control(core: Any, node_name: str, control_type: str, value: Any) -> str:
    """Validate a control for ``send_control``; returns its port name. Each problem raises a
    specific error naming the node, the port and the fix."""
    spec = CONTROL_TYPES.get(control_type) if isinstance(control_type, str) else None
    if spec is None:
        raise UnknownControlTypeError(
            f"Unknown control type {control_type!r} for node '{node_name}'; the control types are: "
            f"{', '.join(sorted(VALID_CONTROL_TYPES))}")
    node = core.node(node_name)
    port = control_port_name(control_type)
    if node.controls is None or port not in node.controls:
        have = sorted(control_type_from_port(c) for c in (node.controls or ()))
        raise ControlPortNotFoundError(
            f"Node '{node_name}' has no control port '{port}' (its controls: "
            f"{', '.join(have) or 'none'}); add {control_type!r} to the node's "
            f"execution_config.controls (or the net's default_controls)")
    expected = spec.value_type
    if expected is None:
        if value is not None:
            raise ControlValueError(
                f"Control {control_type!r} (port '{port}' of node '{node_name}') takes no value, "
                f"got {value!r}; call net.send_control({node_name!r}, {control_type!r})")
    elif value is None:
        raise ControlValueError(
            f"Control {control_type!r} (port '{port}' of node '{node_name}') needs a value of type "
            f"{expected.__name__}; pass it: net.send_control({node_name!r}, {control_type!r}, value)")
    elif not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ControlValueError(
            f"Control {control_type!r} (port '{port}' of node '{node_name}') needs a value of type "
            f"{expected.__name__}, got {type(value).__name__} {value!r}")
    if control_type == "set_epoch_count" and value < 0:
        raise ControlValueError(
            f"Control 'set_epoch_count' (port '{port}' of node '{node_name}') needs a count >= 0, "
            f"got {value}")
    return port


def set_node_enabled(core: Any, node: Any, enabled: bool) -> None:
    """Enable or disable a node. While ``run_to_targets`` holds the node back, the change is
    remembered and takes effect when the hold ends."""
    held = core.target_holds
    if held is not None and node.name in held:
        held[node.name] = enabled
        return
    node.enabled = enabled
    if enabled and node.ready:
        core.ready_nodes[node.name] = None
        core.wake_threadsafe()  # also called from user threads (Net.enable_node)


class ControlHandler:
    """Applies the control epochs of one scheduler (see the module docstring)."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.sent: dict[str, int] = {}  # packet ID -> send order, for send_control packets
        self.closed: set[str] = set()  # nodes closed by close_node (not restarted by a run)

    def apply_pending(self) -> None:
        """Apply every control epoch the scheduler set aside (loop thread, before launching)."""
        core = self.core
        pending = core.pending_controls
        items = list(pending)
        pending.clear()
        engine = core.engine
        store = core.store
        applications = []
        for item in items:
            epoch_id, name, pairs, condition = item[0], item[1], item[2], item[3]
            core.runs.pop(epoch_id, None)
            control_type = control_type_from_port(condition)
            values = []
            with engine.lock:
                engine.start_epoch(epoch_id)
                for _port, pid in pairs:
                    entry = store.pop_entry(pid) if store.has_value(pid) else None
                    value = store.resolve_entry(pid, entry, name) if entry is not None else None
                    engine.consume_packet(pid)
                    values.append((pid, value))
                engine.finish_epoch(epoch_id)
            for pid, value in values:
                applications.append([self.sent.pop(pid, None), core.nodes[name], control_type,
                                     value, epoch_id, pid, condition])
        # controls sent with send_control that wait together apply in the order they were
        # sent; the others keep the engine's order, in the places they hold
        known = [i for i, a in enumerate(applications) if a[0] is not None]
        for i, app in zip(known, sorted((applications[i] for i in known), key=lambda a: a[0])):
            applications[i] = app
        failures: dict[str, BaseException] = {}
        for _order, node, control_type, value, epoch_id, pid, port in applications:
            try:
                self.apply(node, control_type, value)
            except Exception as error:
                failures[epoch_id] = self._failed(node, control_type, value, epoch_id, pid, port, error)
        observe = getattr(core, "observe", None)
        if observe is not None:  # on_epoch_start / on_epoch_end see control epochs too
            for item in items:
                error = failures.get(item[0])
                observe.epoch_ran_without_function(item[0], item[1], item[2], item[3], item[4],
                                                   EpochOutcome.ERROR if error else EpochOutcome.SUCCESS, error)

    def reclaim(self) -> None:
        """Move control epochs that ended up in a node's ready queue (a restored checkpoint
        or ``set_node_exec`` re-queues every waiting epoch of the node) back to the pending
        controls, so they are applied, not run as data. Called when a run starts."""
        core = self.core
        pending_ids = {item[0] for item in core.pending_controls}
        for node in core.nodes.values():
            controls = node.controls
            if controls is None or not node.ready:
                continue
            keep = []
            for item in node.ready:
                condition = item[3] if type(item) is tuple else item.condition
                if condition not in controls:
                    keep.append(item)
                    continue
                if type(item) is not tuple:
                    item = (item.id, node.name, tuple(item.pairs), condition, item.created, item.seq)
                    core.runs[item[0]] = item
                if item[0] not in pending_ids:
                    core.pending_controls.append(item)
                    pending_ids.add(item[0])
            if len(keep) != len(node.ready):
                node.ready.clear()
                node.ready.extend(keep)
                if not keep:
                    core.ready_nodes.pop(node.name, None)

    # -- the controls ------------------------------------------------------------------
    def apply(self, node: Any, control_type: str, value: Any) -> None:
        """Apply one control to ``node`` (raises :class:`ControlFailed` when it cannot)."""
        expected = CONTROL_TYPES[control_type].value_type
        if expected is not None and (not isinstance(value, expected)
                                     or (expected is int and isinstance(value, bool))):
            raise ControlFailed(
                f"Control {control_type!r} on node '{node.name}' needs a value of type "
                f"{expected.__name__}, got {type(value).__name__} {value!r}; send it with "
                f"net.send_control('{node.name}', {control_type!r}, <{expected.__name__}>)")
        core = self.core
        if control_type == "start_epoch":
            self._start_epoch(node)
        elif control_type == "cancel_epoch":
            self._cancel_epoch(node, value)
        elif control_type == "cancel_all_epochs":
            for run in [r for r in core.runs.values()
                        if type(r) is not tuple and r.node is node and r.started and not r.done]:
                self.cancel_running(run, "cancel_all_epochs")
        elif control_type in ("init_node", "close_node"):
            core.spawn(self._lifecycle(node, "start" if control_type == "init_node" else "stop"))
        elif control_type in ("enable", "disable"):
            set_node_enabled(core, node, control_type == "enable")
        elif control_type == "set_epoch_count":
            if value < 0:
                raise ControlFailed(f"Control 'set_epoch_count' on node '{node.name}' needs a count >= 0, "
                                    f"got {value}")
            node.epoch_count = value
        else:  # reset_epoch_count
            node.epoch_count = 0
        core.wake()

    def _start_epoch(self, node: Any) -> None:
        core = self.core
        data_ports = [p for p in node.in_ports if not is_control_port(p)]
        if not data_ports:
            core.inject_epoch(node.name)
            return
        if node.exec_func is None or not node.ready:
            raise ControlFailed(
                f"Control 'start_epoch' on node '{node.name}': the node has input ports "
                f"({', '.join(data_ports)}) and no waiting epoch to start; send data to its input "
                f"ports instead (start_epoch creates epochs only for nodes without input ports)")
        executor = core._pick_executor(node)
        if executor is None:
            raise ControlFailed(
                f"Control 'start_epoch' on node '{node.name}': every worker of its pool(s) "
                f"{', '.join(node.config.pools) or 'main'} is busy; its waiting epoch starts when "
                f"one is free")
        run = node.ready.popleft()
        if type(run) is tuple:
            run = EpochRun(run[0], node, run[2], run[3], run[4], run[5])
            core.runs[run.id] = run
        if not node.ready:
            core.ready_nodes.pop(node.name, None)
        core.launch(run, executor)

    def _cancel_epoch(self, node: Any, epoch_id: str) -> None:
        core = self.core
        run = core.runs.get(epoch_id)
        owner = None if run is None else (run[1] if type(run) is tuple else run.node.name)
        if owner != node.name:
            mine = [r[0] if type(r) is tuple else r.id for r in core.runs.values()
                    if (r[1] if type(r) is tuple else r.node.name) == node.name]
            raise ControlFailed(
                f"Control 'cancel_epoch' on node '{node.name}': epoch {epoch_id!r} is not a "
                f"waiting or running epoch of this node (it may have ended already); the node's "
                f"epochs now: {', '.join(mine) or 'none'}")
        if type(run) is tuple or not run.started:
            self._cancel_waiting(node, run)
        else:
            self.cancel_running(run, "cancel_epoch")

    def _cancel_waiting(self, node: Any, run: Any) -> None:
        core = self.core
        epoch_id = run[0] if type(run) is tuple else run.id
        try:
            node.ready.remove(run)
        except ValueError:
            pass
        if not node.ready:
            core.ready_nodes.pop(node.name, None)
        core.runs.pop(epoch_id, None)
        for pid in core.engine.cancel_epoch(epoch_id):
            core.store.remove(pid)
        node.log.add(f"waiting epoch {epoch_id} cancelled by a 'cancel_epoch' control", epoch_id, "info")
        observe = getattr(core, "observe", None)
        if observe is not None:
            pairs, condition, created = ((run[2], run[3], run[4]) if type(run) is tuple
                                         else (run.pairs, run.condition, run.created))
            observe.epoch_ran_without_function(epoch_id, node.name, pairs, condition, created,
                                               EpochOutcome.CANCELLED,
                                               EpochCancelledByControl(node.name, epoch_id))

    def cancel_running(self, run: Any, control: str) -> None:
        """End a running epoch as cancelled: its attempt is abandoned (an async function is
        cancelled; a sync one in a thread finishes unseen), its packets are destroyed."""
        core = self.core
        if run.ctx is None:
            raise ControlFailed(
                f"Control {control!r} on node '{run.node.name}': epoch {run.id} is between "
                f"attempts (its failure is being handled); it ends on its own")
        error = EpochCancelledByControl(run.node.name, run.id, control)
        ctx = run.ctx
        with core.engine.lock:
            ctx._close(error)
        run.abandoned = error
        run.ctx = None
        if run.timer is not None:
            run.timer.cancel()
            run.timer = None
        run.executor.abandon(run)
        core.executor_release(run)
        if core.signals is not None:
            core.signals.cancelled(run)
        core._cancel_in_engine(run)
        core._epoch_ended(run, EpochOutcome.CANCELLED, error)

    async def _lifecycle(self, node: Any, phase: str) -> None:
        core = self.core
        func = node.start_func if phase == "start" else node.stop_func
        if func is not None:
            pooled = [e for e in node.executors if e is not core.main]
            if pooled and node.config.pool_init_mode == "per_worker":
                for executor in pooled:
                    await (executor.init_nodes(core, [node]) if phase == "start"
                           else executor.stop_nodes(core, [node]))
            else:
                await core.call_lifecycle(node, func, phase)
        # a node closed by this control stays closed (runs do not start it again, the net's
        # stop does not close it twice) until an init_node control
        node.started_funcs = phase == "start"
        if phase == "start":
            self.closed.discard(node.name)
        else:
            self.closed.add(node.name)
        if core.signals is not None:
            core.signals.node_event([node], "node_initialized" if phase == "start" else "node_closed")

    # -- failure -----------------------------------------------------------------------
    def _failed(self, node: Any, control_type: str, value: Any, epoch_id: str, pid: str, port: str,
                error: BaseException) -> BaseException:
        """Report a control that could not be applied; returns the :class:`ControlFailed`."""
        core = self.core
        if not isinstance(error, ControlFailed):
            wrapped = ControlFailed(f"Control {control_type!r} on node '{node.name}' failed: "
                                    f"{type(error).__name__}: {error}")
            wrapped.__cause__ = error
            error = wrapped
        node.log.add(str(error), epoch_id, "error")
        if node.config.dead_letter_queue:
            entry = DeadLetterEntry(
                epoch_id=epoch_id, node_name=node.name, exception=error, retry_count=0,
                retry_timestamps=[], retry_exceptions=[], input_packets={port: [pid]},
                packet_values={pid: value}, timestamp=datetime.now(timezone.utc))
            try:
                result = core.dlq.add(entry)
                if asyncio.iscoroutine(result):
                    core.spawn(result)
            except Exception as dlq_error:
                warnings.warn(f"The dead-letter callback failed for control {control_type!r} of node "
                              f"'{node.name}': {dlq_error!r}", RuntimeWarning, stacklevel=2)
        if core.error_callback is not None:
            core.spawn(core._call_hook(node, core.error_callback, (error, node.name, epoch_id),
                                       "error_callback"))
        policy = getattr(core, "failure_policy", None)
        if policy is not None:  # config front door: an EpochError, raised or queued
            self._report_as_epoch_error(policy, node, epoch_id, error)
        elif core.on_error == "raise":
            if core.pending_raise is None:
                core.pending_raise = error
            core.pause_requested = True
        elif core.on_error == "pause":
            core.pause_requested = True
        else:
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)
        return error


    def _report_as_epoch_error(self, policy: Any, node: Any, epoch_id: str, error: BaseException) -> None:
        """Like a failed epoch under the config front door's policy (``_compat_policy.py``):
        an :class:`EpochError` chaining the :class:`ControlFailed`, raised at the end of the
        run when the node propagates exceptions, else put in ``net.exception_queue``."""
        wrapped = EpochError(f"{type(error).__name__}: {error}", node_name=node.name, epoch_id=epoch_id)
        wrapped.__cause__ = error
        policy.report(self.core, node, wrapped)


class ControlMethods:
    """``Net.send_control`` (mixed into :class:`netrun.net.Net`)."""

    _core: Any

    def send_control(self, node_name: str, control_type: str, value: Any = None) -> str:
        """Send a control to a node: a packet on its ``__control_<type>__`` input port, applied
        by the runtime (no worker) before the node's waiting data epochs the next time the net
        runs. Returns the control packet's ID. Thread-safe.

        ``control_type`` is one of ``start_epoch``, ``cancel_epoch`` (value: epoch ID),
        ``cancel_all_epochs``, ``init_node``, ``close_node``, ``enable``, ``disable``,
        ``set_epoch_count`` (value: int >= 0), ``reset_epoch_count``. The node must have the
        control enabled (``execution_config.controls`` or the net's ``default_controls``).

        >>> net.send_control("Source", "start_epoch")       # doctest: +SKIP
        """
        core = self._core
        check_open = getattr(self, "_check_open", None)
        if check_open is not None:
            check_open("send a control")
        port = check_control(core, node_name, control_type, value)
        with core.engine.lock:  # the loop cannot apply it before its send order is known
            pid = core.inject_values(node_name, port, [value])[0]
            core.controls.sent[pid] = next(_send_order)
        return pid

