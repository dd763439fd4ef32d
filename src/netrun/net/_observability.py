"""The observability state of one scheduler: net-action callbacks and retention, retained
epoch logs, per-run collection (``run_step``'s ``(progress, net_actions, epoch_logs)``),
and the bounded index of ended epochs that ``net.logs`` uses.

Cost model: with nothing registered the scheduler pays nothing (the engine has no action
recorder, ``core.flush_actions`` is ``None`` and no ``EpochLog`` is built). Switching a
feature on or off calls :meth:`Observability.refresh`, which installs exactly what is
needed:

* an :class:`~netrun.net.action_log.ActionRecorder` in the engine's recorder slot
  (forwarding to the event history) when net actions are wanted (callbacks, retention,
  collection: *batching*) or when ``EpochLog`` records are built (their ``net_actions``
  and flow counts come from it: *per epoch*);
* ``core.flush_actions``, which the driver calls once per propagation round (and at the
  end of a run) to hand the round's actions out;
* an internal ``on_epoch_end`` hook for retention and collection.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Callable, Optional

from netrun.net.action_log import ActionRecorder, NetActionLog
from netrun.net.epoch_log import EpochLog

__all__ = ["Observability", "LeanEndCallback", "StepCollector", "EndedEpochs", "NetObservabilityMethods", "DEFAULT_ENDED_EPOCH_INDEX"]

#: How many ended epochs ``net.logs`` remembers (node, pool, worker, outcome) when epoch
#: logs are being built; older ones are forgotten (their log lines stay in the node logs).
DEFAULT_ENDED_EPOCH_INDEX = 100_000


class EndedEpochs:
    """A bounded ``epoch_id -> (node, pool_id, worker_id, outcome)`` index, oldest dropped."""

    def __init__(self, capacity: int = DEFAULT_ENDED_EPOCH_INDEX) -> None:
        self.capacity = capacity
        self._items: dict[str, tuple] = {}

    def add(self, epoch_id: str, node: str, pool: Any, worker: Any, outcome: str) -> None:
        items = self._items
        items[epoch_id] = (node, pool, worker, outcome)
        if len(items) > self.capacity + max(64, self.capacity // 8):
            # trim in batches: cheap on average, and never above capacity * 9/8
            for key in list(items)[: len(items) - self.capacity]:
                del items[key]

    def get(self, epoch_id: str) -> Optional[tuple]:
        return self._items.get(epoch_id)

    def __contains__(self, epoch_id: object) -> bool:
        return epoch_id in self._items

    def __len__(self) -> int:
        return len(self._items)


class LeanEndCallback:
    """An ``on_epoch_end`` callback registered with ``net_actions=False``: it does not need
    ``EpochLog.net_actions`` nor the flow counts, so, while only such callbacks are
    registered, no engine action is recorded for them (``net_actions`` is ``[]`` and the
    flow counts ``None`` in the records they receive)."""

    __slots__ = ("func",)

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func

    def __call__(self, node_name: str, epoch_id: str, log: EpochLog) -> Any:
        return self.func(node_name, epoch_id, log)

    def __repr__(self) -> str:
        return repr(self.func)


class _WatchedList(list):
    """A callback list that tells the hub when it changes, so code that appends to
    ``core.epoch_end_callbacks`` directly still gets complete epoch logs."""

    __slots__ = ("_changed",)

    def __init__(self, items: Any, changed: Callable[[], None]) -> None:
        super().__init__(items)
        self._changed = changed

    def append(self, item: Any) -> None:
        super().append(item)
        self._changed()

    def extend(self, items: Any) -> None:
        super().extend(items)
        self._changed()

    def insert(self, index: Any, item: Any) -> None:
        super().insert(index, item)
        self._changed()

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._changed()

    def pop(self, index: Any = -1) -> Any:
        item = super().pop(index)
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __iadd__(self, items: Any) -> "_WatchedList":
        super().extend(items)
        self._changed()
        return self

    def __setitem__(self, index: Any, item: Any) -> None:
        super().__setitem__(index, item)
        self._changed()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._changed()


class StepCollector:
    """Collects the net actions and epoch logs of one run (``with core.observe.collect()``).

    While open, net actions are recorded and ``EpochLog`` records built; ``net_actions`` and
    ``epoch_logs`` list them in order. Use on the loop thread that drives the net.
    """

    def __init__(self, hub: "Observability") -> None:
        self._hub = hub
        self.net_actions: list[NetActionLog] = []
        self.epoch_logs: list[EpochLog] = []

    def __enter__(self) -> "StepCollector":
        self._hub.collectors.append(self)
        self._hub.refresh()
        return self

    def __exit__(self, *exc: Any) -> None:
        hub = self._hub
        try:
            hub.flush()
        finally:
            if self in hub.collectors:
                hub.collectors.remove(self)
            hub.refresh()


class Observability:
    """See the module docstring. One per scheduler (``core.observe``)."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.action_callbacks: list[Callable[..., Any]] = []
        self.retain_actions = False
        self.retain_epochs = False
        self.action_log: list[NetActionLog] = []
        self.epoch_logs: dict[str, EpochLog] = {}
        self.collectors: list[StepCollector] = []
        self.recorder: Optional[ActionRecorder] = None
        self.ended = EndedEpochs()
        self._hook_installed = False
        self._refreshing = False
        # whether EpochLog records carry their epoch's net actions and flow counts (costs
        # recording every engine action while epoch logs are built)
        self.epoch_net_actions = True
        core.epoch_end_callbacks = _WatchedList(core.epoch_end_callbacks, self.refresh)
        for node in core.nodes.values():
            node.end_callbacks = _WatchedList(node.end_callbacks, self.refresh)

    # ------------------------------------------------------------------ switching
    def set_retention(self, epoch_logs: Optional[bool] = None, net_action_logs: Optional[bool] = None) -> None:
        """Turn keeping every ``EpochLog`` / ``NetActionLog`` in memory on or off."""
        for name, value in (("retain_epoch_logs", epoch_logs), ("retain_net_action_logs", net_action_logs)):
            if value is not None and not isinstance(value, bool):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        if epoch_logs is not None:
            self.retain_epochs = epoch_logs
        if net_action_logs is not None:
            self.retain_actions = net_action_logs
        self.refresh()

    def add_action_callback(self, callback: Callable[..., Any]) -> Callable[[], None]:
        if not callable(callback):
            raise TypeError(
                f"on_net_actions needs a callable taking a list of NetActionLog, got "
                f"{type(callback).__name__}")
        self.action_callbacks.append(callback)
        self.refresh()

        def remove() -> None:
            if callback in self.action_callbacks:
                self.action_callbacks.remove(callback)
                self.refresh()

        return remove

    def collect(self) -> StepCollector:
        """A :class:`StepCollector` (use as a context manager around a run)."""
        return StepCollector(self)

    def refresh(self) -> None:
        """Install what the registered features need, and nothing else (see module docs)."""
        if self._refreshing:
            return
        self._refreshing = True
        try:
            self._refresh()
        finally:
            self._refreshing = False

    def _refresh(self) -> None:
        core = self.core
        batching = bool(self.action_callbacks or self.retain_actions or self.collectors)
        hook = bool(self.retain_epochs or self.collectors)
        end_lists = core.epoch_end_callbacks
        if hook and not self._hook_installed:
            end_lists.append(self._on_epoch_end)
            self._hook_installed = True
        elif not hook and self._hook_installed:
            end_lists.remove(self._on_epoch_end)
            self._hook_installed = False
        # callbacks registered with on_epoch_end(..., net_actions=False) do not need them
        wanting = any(type(cb) is not LeanEndCallback for cb in end_lists)
        scoped = frozenset(n.name for n in core.nodes.values()
                           if any(type(cb) is not LeanEndCallback for cb in n.end_callbacks))
        per_epoch = bool(wanting or scoped) and self.epoch_net_actions
        engine = core.engine
        with engine.lock:
            if batching or per_epoch:
                recorder = self.recorder
                if recorder is None:
                    recorder = self.recorder = ActionRecorder(core.history, core.node_of, engine.lock)
                    engine.history = recorder
                recorder.batching = batching
                if recorder.per_epoch and not per_epoch:
                    recorder.forget_epochs()
                recorder.per_epoch = per_epoch
                recorder.epoch_nodes = None if wanting else scoped
            elif self.recorder is not None:
                engine.history = core.history
                self.recorder = None
        core.flush_actions = self.flush if batching else None

    # ------------------------------------------------------------------ handing out
    def flush(self) -> None:
        """Hand the actions recorded since the last flush to retention, collectors and
        ``on_net_actions`` callbacks (loop thread)."""
        recorder = self.recorder
        if recorder is None or not recorder.batching or not recorder.has_batch():
            return
        logs = recorder.take_batch()
        if self.retain_actions:
            self.action_log.extend(logs)
        for collector in self.collectors:
            collector.net_actions.extend(logs)
        for callback in tuple(self.action_callbacks):
            self._call(callback, list(logs))

    def _call(self, callback: Callable[..., Any], logs: list[NetActionLog]) -> None:
        try:
            result = callback(logs)
        except Exception as error:
            warnings.warn(f"on_net_actions callback {callback!r} raised {error!r}", RuntimeWarning,
                          stacklevel=3)
            return
        if asyncio.iscoroutine(result):
            core = self.core
            loop = core.loop
            if loop is not None and not loop.is_closed() and _running_loop() is loop:
                core.spawn(_guarded(result, callback))
            else:  # outside a run (no loop to spawn on): run it to completion here
                try:
                    asyncio.run(_guarded(result, callback))
                except RuntimeError as error:
                    result.close()
                    warnings.warn(f"on_net_actions callback {callback!r} could not be awaited: {error}",
                                  RuntimeWarning, stacklevel=3)

    def _on_epoch_end(self, node_name: str, epoch_id: str, log: EpochLog) -> None:
        if self.retain_epochs:
            self.epoch_logs[epoch_id] = log
        for collector in self.collectors:
            collector.epoch_logs.append(log)

    # ------------------------------------------------------------------ per epoch
    def epoch_ran_without_function(self, epoch_id: str, node_name: str, pairs: Any = (),
                                   condition: Optional[str] = None, created: Optional[float] = None,
                                   outcome: str = "success", exc: Optional[BaseException] = None) -> None:
        """Fire ``on_epoch_start`` / ``on_epoch_end`` for an epoch the runtime ran itself,
        without the node's function (a control epoch, a no-op epoch of a node without a
        function, a result served from a cache): call it after the epoch ended in the
        engine. Costs one check when no epoch callback is registered."""
        core = self.core
        node = core.nodes[node_name]
        starts = core.epoch_start_callbacks or node.start_callbacks
        ends = core.epoch_end_callbacks or node.end_callbacks
        if not (starts or ends):
            return
        import time

        from netrun.net._records import EpochRun

        now = time.monotonic()
        run = EpochRun(epoch_id, node, tuple(pairs), condition, now if created is None else created)
        run.started = now
        run.done = True
        if starts:
            core._fire_start_callbacks(run)
        if ends:
            core._fire_end_callbacks(run, outcome, exc)

    def epoch_actions(self, epoch_id: str, node_name: str) -> Optional[list[NetActionLog]]:
        """The actions of an ended epoch (``None`` when they were not recorded)."""
        recorder = self.recorder
        if recorder is None or not recorder.per_epoch:
            return None
        if recorder.epoch_nodes is not None and node_name not in recorder.epoch_nodes:
            return None  # not recorded for this node (only other nodes' callbacks want them)
        return recorder.take_epoch(epoch_id, node_name)


def _running_loop() -> Optional[asyncio.AbstractEventLoop]:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _guarded(coro: Any, callback: Any) -> None:
    try:
        await coro
    except Exception as error:
        warnings.warn(f"on_net_actions callback {callback!r} raised {error!r}", RuntimeWarning, stacklevel=2)


class NetObservabilityMethods:
    """Mixed into :class:`netrun.net.Net`: net-action logs, retained epoch logs, ``net.logs``."""

    _core: Any

    def on_net_actions(self, callback: Callable[..., Any]) -> Callable[[], None]:
        """Call ``callback(list_of_NetActionLog)`` once per propagation round of a run (and
        once per ``run_step``) with the engine actions of that round. Sync or async; an
        exception in it becomes a ``RuntimeWarning``. Returns a function that removes it.
        Costs nothing while no callback (and no retention) is registered."""
        return self._core.observe.add_action_callback(callback)

    @property
    def retain_net_action_logs(self) -> bool:
        """Whether every :class:`NetActionLog` is kept in :attr:`net_action_log`."""
        return self._core.observe.retain_actions

    @retain_net_action_logs.setter
    def retain_net_action_logs(self, value: bool) -> None:
        self._core.observe.set_retention(net_action_logs=value)

    @property
    def retain_epoch_logs(self) -> bool:
        """Whether every :class:`EpochLog` is kept in :attr:`epoch_logs`."""
        return self._core.observe.retain_epochs

    @retain_epoch_logs.setter
    def retain_epoch_logs(self, value: bool) -> None:
        self._core.observe.set_retention(epoch_logs=value)

    @property
    def epoch_log_net_actions(self) -> bool:
        """Whether each :class:`EpochLog` carries its epoch's ``net_actions`` and flow counts
        (``out_salvo_count``, ``orphaned_packet_count``, ``destroyed_packet_count``). On by
        default (the published runtime's records); switching it off makes ``on_epoch_end``
        callbacks much cheaper (no engine action is recorded for them), and those fields are
        then ``[]`` / ``None``."""
        return self._core.observe.epoch_net_actions

    @epoch_log_net_actions.setter
    def epoch_log_net_actions(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"epoch_log_net_actions must be True or False, got {value!r}")
        observe = self._core.observe
        observe.epoch_net_actions = value
        observe.refresh()

    @property
    def net_action_log(self) -> list[NetActionLog]:
        """Every net action since retention was switched on (a copy), oldest first.
        Raises ``NetStateError`` when ``retain_net_action_logs`` is off."""
        observe = self._core.observe
        if not observe.retain_actions and not observe.action_log:
            from netrun.errors import NetStateError

            raise NetStateError(
                "net.net_action_log is empty because net actions are not retained; create the "
                "net with retain_net_action_logs=True (or set net.retain_net_action_logs = True "
                "before running), or receive them with net.on_net_actions(callback)")
        return list(observe.action_log)

    @property
    def epoch_logs(self) -> dict[str, EpochLog]:
        """``{epoch_id: EpochLog}`` of every ended epoch since retention was switched on (a
        copy). Raises ``NetStateError`` when ``retain_epoch_logs`` is off."""
        observe = self._core.observe
        if not observe.retain_epochs and not observe.epoch_logs:
            from netrun.errors import NetStateError

            raise NetStateError(
                "net.epoch_logs is empty because epoch logs are not retained; create the net "
                "with retain_epoch_logs=True (or set net.retain_epoch_logs = True before "
                "running), or receive them with net.on_epoch_end(callback)")
        return dict(observe.epoch_logs)

    def clear_net_action_log(self) -> list[NetActionLog]:
        """Return the retained net actions and forget them."""
        observe = self._core.observe
        out, observe.action_log = observe.action_log, []
        return out

    def clear_epoch_logs(self) -> dict[str, EpochLog]:
        """Return the retained epoch logs and forget them."""
        observe = self._core.observe
        out, observe.epoch_logs = observe.epoch_logs, {}
        return out

    @property
    def logs(self) -> Any:
        """Query and print log lines by epoch or node (:class:`~netrun.net.log_query.NetLogQuery`)."""
        query = getattr(self, "_log_query", None)
        if query is None:
            from netrun.net.log_query import NetLogQuery

            query = self._log_query = NetLogQuery(self._core)
        return query

    def set_node_vars(self, node_name: str, variables: Any) -> None:
        """Set a node's variables (what ``ctx.vars`` returns): a mapping of names to values.
        Nets built from a config get the config's ``node_vars`` (net level merged with the
        node's own, each resolved once on first use). Unknown node: ``NodeNotFoundError``."""
        from collections.abc import Mapping
        from types import MappingProxyType

        node = self._core.node(node_name)
        if variables is None:
            variables = {}
        if not isinstance(variables, Mapping):
            raise TypeError(f"set_node_vars('{node_name}', ...) needs a mapping of variable names to "
                            f"values, got {type(variables).__name__}")
        # a plain dict is copied and frozen; a lazy mapping (config variables) is kept as is
        node.vars = MappingProxyType(dict(variables)) if type(variables) is dict else variables

    def get_node_vars(self, node_name: str) -> Any:
        """A node's variables (read-only mapping)."""
        return self._core.node(node_name).vars
