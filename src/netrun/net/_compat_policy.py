"""Net-level and node-level settings of the config front door, applied on the one scheduler.

A ``NetConfig`` (the published 0.5.0 schema) has settings the PROJECT_SPEC keywords do not:
``max_epochs``, ``run_on_init``, ``defer_init``, ``enabled``, ``propagate_exceptions``,
``print_exceptions`` and ``error_on_undeclared_output``. :func:`apply_config_settings` turns
them into a few objects the scheduler consults through hooks that cost one attribute check
when unused:

* ``NodeRuntime.compat`` (a :class:`CompatNode`, only for nodes with ``max_epochs`` or
  ``defer_init``): ``Scheduler.launch`` hands such a node's epochs to :meth:`CompatNode.intercept`.
  An epoch beyond ``max_epochs`` is cancelled and fails with ``MaxEpochsExceeded`` (wrapped in
  ``EpochError``); **its input packets go to the dead-letter queue** with their values, like
  any epoch that failed for good (unless the node has ``dead_letter_queue = false``). A
  ``defer_init`` node's init (start) function runs before its first epoch, not at start-up.
* ``Scheduler.failure_policy`` (a :class:`FailurePolicy`): an epoch that failed for good is
  reported as an :class:`~netrun.errors.EpochError` naming node, epoch, pool, worker and
  retries and chaining the cause. With ``propagate_exceptions`` (net default, node override)
  the run stops starting new epochs, lets the running ones finish (they are *not* cancelled
  and keep their packets) and raises it; otherwise it goes to ``net.exception_queue``.
  ``print_exceptions`` prints it to stderr as well. The policy is used when the config does
  not set PROJECT_SPEC's ``on_error``; a config that sets ``on_error`` keeps that behaviour.
* ``Scheduler.undeclared`` (an :class:`UndeclaredOutputs`): with explicit ``output_queues``,
  packets sent through an unconnected port that has no queue are dropped with a note in the
  node log, or (``error_on_undeclared_output``) the send fails with ``UndeclaredOutputError``
  before anything leaves the epoch.
* ``Scheduler.on_started``: fires the ``run_on_init`` nodes once (one epoch with an empty
  input salvo each) when the net first runs, unless ``net.init()`` already did.
"""

from __future__ import annotations

import asyncio
import sys
import time
import traceback
from typing import Any

from netrun._util.compat import BaseExceptionGroup, ExceptionGroup

from netrun.errors import (
    EpochError,
    MaxEpochsExceeded,
    NodeLifecycleError,
    UndeclaredOutputError,
)

__all__ = [
    "CompatNode",
    "FailurePolicy",
    "UndeclaredOutputs",
    "apply_config_settings",
    "epoch_error",
]


def epoch_error(run: Any, exc: BaseException) -> EpochError:
    """The :class:`EpochError` of an epoch that failed with ``exc`` (chained as its cause)."""
    if isinstance(exc, EpochError):
        return exc
    text = str(exc)
    error = EpochError(
        f"{type(exc).__name__}: {text}" if text else type(exc).__name__,
        node_name=run.node.name, epoch_id=run.id,
        pool_id=getattr(run.executor, "name", None),
        worker_id=0 if getattr(run.executor, "kind", None) == "main" else getattr(run, "worker_index", None),
        retry_count=run.attempt,
    )
    error.__cause__ = exc
    return error


class _NoAttempt:
    """The ``ctx`` of an epoch rejected before any attempt ran (nothing consumed)."""

    packet_values: dict = {}
    _consumed = None
    _queue = None


NO_ATTEMPT = _NoAttempt()


class CompatNode:
    """Launch-time settings of one node (``max_epochs``, ``defer_init``)."""

    __slots__ = ("init_pending", "init_waiting", "max_epochs")

    def __init__(self, max_epochs: int | None, defer_init: bool) -> None:
        self.max_epochs = max_epochs if max_epochs is not None and max_epochs >= 0 else None
        self.init_pending = defer_init
        self.init_waiting: list[tuple[Any, Any]] = []

    def intercept(self, core: Any, run: Any, executor: Any) -> bool:
        """Called by ``Scheduler.launch``; ``True`` when this took the epoch over."""
        node = run.node
        if self.init_pending:
            self.init_waiting.append((run, executor))
            if len(self.init_waiting) == 1:
                core.spawn(self._init_then_launch(core, node))
            return True
        limit = self.max_epochs
        if limit is not None:
            if node.epoch_count >= limit:
                reject(core, run, MaxEpochsExceeded(node.name, limit, run.id), executor)
                return True
            node.epoch_count += 1
        return False

    async def _init_then_launch(self, core: Any, node: Any) -> None:
        error: BaseException | None = None
        try:
            await initialize_node(core, node)
        except Exception as exc:  # NodeLifecycleError naming the node
            error = exc
        self.init_pending = False
        waiting, self.init_waiting = self.init_waiting, []
        for run, executor in waiting:
            if error is not None:
                reject(core, run, error, executor)
            elif core.pause_requested or core.pending_raise is not None or core.run_error is not None:
                put_back(core, run)
            else:
                core.launch(run, executor)
        core.wake()


async def initialize_node(core: Any, node: Any) -> None:
    """Run a node's init (start) function now, as ``Scheduler.ensure_started`` would."""
    if node.compat is not None:
        node.compat.init_pending = False
    if node.started_funcs:
        return
    node.started_funcs = True
    if node.start_func is None:
        if core.signals is not None:
            core.signals.node_event([node], "node_initialized")
        return
    try:
        pooled = [e for e in node.executors if e is not core.main]
        if pooled and node.config.pool_init_mode == "per_worker":
            for executor in pooled:
                await executor.init_nodes(core, [node])
        else:
            await core.call_lifecycle(node, node.start_func, "start")
    except NodeLifecycleError:
        node.started_funcs = False
        raise
    except Exception as exc:
        node.started_funcs = False
        raise NodeLifecycleError(node.name, "start", exc) from exc
    if core.signals is not None:  # the deferred init counts as the node's initialisation
        core.signals.node_event([node], "node_initialized")


def reject(core: Any, run: Any, exc: BaseException, executor: Any = None) -> None:
    """Fail an epoch that was about to launch on ``executor`` (no attempt runs): its packets
    go to the dead-letter queue and the failure is reported like any other."""
    node = run.node
    node.running += 1
    core.running += 1
    run.executor = executor
    run.started = time.monotonic()
    if core.epoch_start_callbacks or node.start_callbacks:
        core._fire_start_callbacks(run)  # every on_epoch_end has its on_epoch_start
    core.spawn(core._fail_for_good(run, NO_ATTEMPT, exc))


def put_back(core: Any, run: Any) -> None:
    """Return a not-yet-launched epoch to its node's ready queue, in creation order."""
    node = run.node
    node.ready.appendleft(run)
    if len(node.ready) > 1:
        ordered = sorted(node.ready, key=lambda r: r[5] if type(r) is tuple else r.seq)
        node.ready.clear()
        node.ready.extend(ordered)
    core.ready_nodes[node.name] = None


class FailurePolicy:
    """How an epoch that failed for good is reported (see the module docstring)."""

    def __init__(self, propagate: bool, print_exceptions: bool,
                 node_propagate: dict[str, bool], node_print: dict[str, bool]) -> None:
        self.propagate = propagate
        self.print_exceptions = print_exceptions
        self.node_propagate = node_propagate
        self.node_print = node_print
        self.exception_queue: list[BaseException] = []

    def propagates(self, node: Any) -> bool:
        return self.node_propagate.get(node.name, self.propagate)

    def failed(self, core: Any, run: Any, exc: BaseException) -> None:
        """Called by the lifecycle when an epoch failed for good (after DLQ and callbacks)."""
        error = epoch_error(run, exc)
        node = run.node
        if self.node_print.get(node.name, self.print_exceptions):
            print(f"netrun: {error}", file=sys.stderr)
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        self.report(core, node, error)

    def report(self, core: Any, node: Any, error: BaseException) -> None:
        """Queue ``error`` in ``exception_queue``, or (when ``node`` propagates exceptions)
        raise it at the end of the run: epochs already running finish normally (their
        packets are kept), no new ones start, and several failures in one run are all
        raised, as an ExceptionGroup, none dropped."""
        if not self.propagates(node):
            self.exception_queue.append(error)
            return
        pending = core.pending_raise
        if pending is None:
            core.pending_raise = error
        elif isinstance(pending, BaseExceptionGroup):
            core.pending_raise = BaseExceptionGroup(pending.message, [*pending.exceptions, error])
        else:
            core.pending_raise = ExceptionGroup("Multiple epoch failures", [pending, error])
        core.pause_requested = True


class UndeclaredOutputs:
    """Unconnected output ports without an output queue (see the module docstring)."""

    def __init__(self, ports: dict[str, dict[str, list[str]]], error: bool) -> None:
        self.ports = ports  # {node: {out condition: [undeclared ports it sends]}}
        self.error = error
        self.noted: set[tuple[str, str]] = set()

    def check(self, core: Any, node_name: str, epoch_id: str, condition: str) -> None:
        """Before a send (engine lock held): raise if it would send through such a port."""
        if not self.error:
            return
        ports = self.ports.get(node_name, {}).get(condition)
        if not ports:
            return
        from netrun_sim import PacketLocation

        for port in ports:
            if core.engine.packets_at(PacketLocation.output_port(epoch_id, port)):
                raise UndeclaredOutputError(node_name, port, epoch_id)

    def drop(self, core: Any, node_name: str, epoch_id: str, packet_id: str, port: str) -> None:
        """A packet left through such a port: drop it (value and engine record). Signal
        packets on unconnected signal ports are dropped without a note."""
        core.store.remove(packet_id)
        try:
            core.engine.destroy_packet(packet_id)
        except Exception:  # already gone: nothing more to free
            pass
        if (node_name, port) not in self.noted and not port.startswith("__signal_"):
            self.noted.add((node_name, port))
            core.nodes[node_name].log.add(
                f"packets sent through output port '{port}' (no edge, no output queue) are "
                f"dropped (first: {packet_id}, epoch {epoch_id}); declare an output queue for "
                f"it, or set error_on_undeclared_output = true to make this an error",
                epoch_id, "warning")


def _node_settings(cfg: Any) -> dict[str, Any]:
    return {node.name: node.exec_config for node in cfg.graph.nodes}


def apply_type_checking(core: Any, cfg: Any, settings: dict[str, Any]) -> None:
    """``type_checking_enabled`` (net default, node override): a node with it off checks no
    port type, in the net and in ``execute_node(..., outside_net=True)`` alike (0.5.0 could
    not turn it off outside the net). Its declared types stay visible to inspection; a port
    type set later does not turn checking back on."""
    default = cfg.type_checking_enabled is not False
    unchecked = frozenset(
        name for name, ec in settings.items()
        if name in core.nodes and not (default if ec.type_checking_enabled is None else ec.type_checking_enabled))
    if not unchecked:
        return

    def clear(name: str) -> None:
        if name in unchecked:
            node = core.nodes[name]
            node.in_types = {}
            node.out_types = {}

    for name in unchecked:
        clear(name)
    core.types.add_listener(clear)  # after the scheduler's own refresh


def apply_config_settings(net: Any, cfg: Any, run_init_nodes: bool = True) -> None:
    """Apply a resolved ``NetConfig``'s front-door settings to ``net``'s scheduler."""
    from netrun.config.signals import is_signal_port

    core = net._core
    settings = _node_settings(cfg)
    net_max = cfg.max_epochs
    for name, ec in settings.items():
        node = core.nodes.get(name)
        if node is None:
            continue
        node.enabled = bool(ec.enabled)
        max_epochs = ec.max_epochs if ec.max_epochs is not None else net_max
        # (not tied to a start function being set yet: set_node_exec may come later)
        defer = bool(ec.defer_init)
        if (max_epochs is not None and max_epochs >= 0) or defer:
            node.compat = CompatNode(max_epochs, defer)
    apply_type_checking(core, cfg, settings)
    if "on_error" not in cfg.model_fields_set:
        node_propagate = {n: bool(ec.propagate_exceptions) for n, ec in settings.items()
                          if ec.propagate_exceptions is not None}
        node_print = {n: bool(ec.print_exceptions) for n, ec in settings.items()
                      if ec.print_exceptions is not None}
        core.failure_policy = FailurePolicy(bool(cfg.propagate_exceptions), bool(cfg.print_exceptions),
                                            node_propagate, node_print)
        core.on_error = "continue"  # the policy decides; PROJECT_SPEC's modes stay out
    undeclared: dict[str, dict[str, list[str]]] = {}
    graph_nodes = core.engine.graph.nodes()
    for node_name, port in core.info.unconnected_outputs():
        if core.queues.queue_of(node_name, port) is not None or is_signal_port(port):
            continue
        for cond_name, cond in graph_nodes[node_name].out_salvo_conditions.items():
            if port in cond.ports:
                undeclared.setdefault(node_name, {}).setdefault(cond_name, []).append(port)
    if undeclared:
        core.undeclared = UndeclaredOutputs(undeclared, bool(cfg.error_on_undeclared_output))
    init_nodes = [n for n, ec in settings.items() if ec.run_on_init and n in core.nodes]
    net._compat_init_nodes = init_nodes
    if init_nodes and run_init_nodes:
        core.on_started = lambda: fire_init_nodes(net)


def fire_init_nodes(net: Any) -> list[str]:
    """Queue one epoch (empty input salvo) of every enabled ``run_on_init`` node, once.
    Returns the new epoch IDs."""
    core = net._core
    core.on_started = None
    net._compat_inited = True
    ids = []
    held = core.target_holds or {}  # run_to_targets holds nodes off: their own state counts
    for name in getattr(net, "_compat_init_nodes", ()):
        node = core.nodes[name]
        if held.get(name, node.enabled) and node.exec_func is not None:
            ids.append(core.inject_epoch(name))  # a held node's epoch waits for the hold to end
    return ids


def is_loop_of_core(core: Any) -> bool:
    """Whether the caller runs on the event loop the scheduler is driven from."""
    try:
        return asyncio.get_running_loop() is core.loop
    except RuntimeError:
        return False
