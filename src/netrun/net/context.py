"""``NodeExecutionContext`` (the ``ctx`` of an exec function) and ``NodeFailureContext``.

One context is made per attempt. Its packet operations either reach the engine at once
(``defer_net_actions=False``, in-process nodes) or are recorded in a
:class:`~netrun.net.deferred.DeferredActionQueue` and committed when the attempt succeeds
(``defer_net_actions=True``, and always for nodes running in another process).

Sync and async: a sync exec function gets a :class:`NodeExecutionContext` whose methods are
plain calls; an async one gets an :class:`AsyncNodeExecutionContext` whose methods must be
awaited (``await ctx.consume_packet(p)``). An operation of an async context that is never
awaited fails the attempt with :class:`~netrun.errors.ContextMisuseError` instead of being
silently dropped. A context used after its attempt ended raises ``ContextMisuseError`` (or
``EpochTimeout`` if the attempt was abandoned for running past its timeout).
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Any, Callable, List, Optional

from netrun.errors import (
    ContextMisuseError,
    EpochCancelled,
    NetrunError,
    OutputPortNotFoundError,
    PacketTypeMismatch,
    SalvoConditionNotFoundError,
)
from netrun.net._current import current_attempt
from netrun.net.deferred import DeferredActionQueue, DeferredPacket
from netrun.net.logs import LogMessage
from netrun.net.packets import PacketRef, packet_id_of
from netrun.storage.values import StoredValue

__all__ = ["NodeExecutionContext", "AsyncNodeExecutionContext", "NodeFailureContext"]

_new = object.__new__
_NO_VARS: Any = MappingProxyType({})
_MISSING = object()
_builtin_print = print
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class NodeExecutionContext:
    """What a node function can do while its epoch runs (PROJECT_SPEC "Node Execution").

    Attributes: ``epoch_id``, ``node_name``, ``retry_count`` (0 on the first attempt),
    ``retry_timestamps`` / ``retry_exceptions`` (of the earlier attempts), ``packet_values``
    (values consumed so far in this attempt) and ``_net`` (the owning ``Net``).
    """

    # What every attempt sets is a slot; the rest are class-level defaults (overridden in
    # the instance ``__dict__`` when an attempt sets them), so a context costs few stores.
    __slots__ = ("_run", "_node", "_backend", "_closed", "epoch_id", "node_name", "packet_values",
                 "_consumed", "_lane", "_lock", "__dict__")
    _queue: Optional[DeferredActionQueue] = None  # the deferred actions (defer_net_actions)
    retry_count = 0
    _retry_timestamps: Optional[list] = None
    _retry_exceptions: Optional[list] = None
    _pending: Optional[list] = None  # an async context's operations not awaited yet

    def __init__(self, net: Any, epoch_id: str, node_name: str, defer_net_actions: bool = False,
                 retry_count: int = 0, retry_timestamps: Optional[List[datetime]] = None,
                 retry_exceptions: Optional[List[BaseException]] = None,
                 packet_to_port_map: Optional[dict[str, str]] = None) -> None:
        """Build a context by hand for a *running* epoch of ``net`` (the runtime makes them
        itself; this signature is the original implementation's)."""
        core = net._core
        run = core.running_epoch(str(epoch_id))
        if run is None or run.node.name != node_name:
            raise ContextMisuseError(
                f"Epoch {epoch_id} of node '{node_name}' is not running in this net; contexts "
                f"can only be made for running epochs"
            )
        self._setup(core, run, defer_net_actions, retry_count, retry_timestamps, retry_exceptions)

    @classmethod
    def _for_attempt(cls, backend: Any, run: Any, defer: bool) -> "NodeExecutionContext":
        ctx = _new(cls)
        ctx._setup(backend, run, defer, run.attempt, run.retry_timestamps, run.retry_exceptions)
        return ctx

    def _setup(self, backend: Any, run: Any, defer: bool, retry_count: int,
               retry_timestamps: Optional[list], retry_exceptions: Optional[list]) -> None:
        self._run = run
        self._node = run.node
        self._backend = backend
        if defer:
            self._queue = DeferredActionQueue()
        self._closed: Optional[BaseException] = None
        self.epoch_id = run.id
        self.node_name = run.node.name
        if retry_count:
            self.retry_count = retry_count
        if retry_timestamps is not None:
            self._retry_timestamps = retry_timestamps
        if retry_exceptions is not None:
            self._retry_exceptions = retry_exceptions
        self.packet_values: dict[str, Any] = {}
        self._consumed: Optional[set] = None
        self._lane: Any = None

    @property
    def _net(self) -> Any:
        """The owning ``Net`` (use sparingly; ``None`` in a worker process)."""
        return getattr(self._backend, "net", None)

    # -- retry information ------------------------------------------------------------
    @property
    def retry_timestamps(self) -> List[datetime]:
        """When each earlier attempt of this epoch failed (a copy)."""
        return list(self._retry_timestamps or ())

    @property
    def retry_exceptions(self) -> List[BaseException]:
        """What each earlier attempt raised (a copy)."""
        return list(self._retry_exceptions or ())

    @property
    def defer_net_actions(self) -> bool:
        """Whether packet operations are buffered until the attempt succeeds."""
        return self._queue is not None

    @property
    def deferred_actions(self) -> Optional[DeferredActionQueue]:
        """The attempt's buffered actions (``None`` when actions are not deferred)."""
        return self._queue

    # -- guards -----------------------------------------------------------------------
    def _check_open(self) -> None:
        closed = self._closed
        if closed is not None:
            if closed is True:
                raise ContextMisuseError(
                    f"The context of epoch {self.epoch_id} (node '{self.node_name}') was used "
                    f"after its attempt ended; use ctx only while the exec function runs, and do "
                    f"not keep it"
                )
            raise closed

    def _close(self, reason: Optional[BaseException] = None) -> None:
        # the error is built only if the context is used again (closing is on the hot path)
        self._closed = reason if reason is not None else True  # type: ignore[assignment]
        self._lane = None  # (an express context: its operations take the general road now)

    def _input_port(self, pid: str) -> str:
        port = self._run.port_of(pid)
        if port is None:
            raise ContextMisuseError(
                f"Packet {pid} is not an input packet of epoch {self.epoch_id} of node "
                f"'{self.node_name}'; consume only packets from the `packets` argument"
            )
        consumed = self._consumed
        if consumed is None:
            self._consumed = {pid}
        elif pid in consumed:
            raise ContextMisuseError(
                f"Packet {pid} was already consumed in epoch {self.epoch_id} of node "
                f"'{self.node_name}'; consume each input packet once"
            )
        else:
            consumed.add(pid)
        return port

    def _check_in_type(self, pid: str, port: str, value: Any) -> None:
        spec = self._node.in_types.get(port)
        if spec is not None and not spec.check(value):
            raise PacketTypeMismatch(pid, spec.get_expected_type_str(), type(value).__name__, port,
                                     node_name=self.node_name, port_kind="input")

    def _check_output(self, port_name: str, packet: Any) -> None:
        node = self._node
        if port_name not in node.out_ports:
            raise OutputPortNotFoundError(
                f"Node '{self.node_name}' has no output port '{port_name}' (epoch {self.epoch_id}); "
                f"its output ports are: {', '.join(node.out_ports) or 'none'}"
            )
        spec = node.out_types.get(port_name)
        if spec is None:
            return
        if isinstance(packet, DeferredPacket):
            if packet.value_func is not None:
                return  # a lazy value is checked when it is consumed
            value, pid = packet.value, packet.deferred_id
        else:
            pid = packet_id_of(packet)
            known, value = self._backend.ctx_output_value(self, pid)
            if not known:
                return
        if not spec.check(value):
            raise PacketTypeMismatch(pid, spec.get_expected_type_str(), type(value).__name__,
                                     port_name, node_name=self.node_name, port_kind="output")

    def _check_condition(self, name: str) -> None:
        if name not in self._node.out_conditions:
            raise SalvoConditionNotFoundError(
                f"Node '{self.node_name}' has no output salvo condition '{name}' (epoch "
                f"{self.epoch_id}); its output salvo conditions are: "
                f"{', '.join(self._node.out_conditions) or 'none'}"
            )

    # -- packet operations ------------------------------------------------------------
    def create_packet(self, value: Any) -> Any:
        """A new packet inside this epoch holding ``value`` (a ``DeferredPacket`` when
        actions are deferred)."""
        # an express epoch (_express.py); None once closed or once the engine's lane changed
        if self._lane is not None:
            store = self._backend.store
            if store._path is None and type(value) is not StoredValue:
                lock = self._lock
                lock.acquire()
                try:
                    lane = self._lane  # (read again under the lock: it may have changed)
                    if lane is not None:
                        pid = lane.create(self.epoch_id)
                        store._active[pid] = value
                        return PacketRef(pid)
                finally:
                    lock.release()
        if self._closed is not None:
            self._check_open()
        if self._queue is not None:
            return self._queue.create_packet(value)
        return self._backend.ctx_create(self, value, None)

    def create_packet_from_value_func(self, func: Callable[[], Any]) -> Any:
        """A new packet whose value is computed by ``func()`` (sync or async) when consumed.
        ``func`` must be pure: it may run more than once (retries)."""
        if self._closed is not None:
            self._check_open()
        if not callable(func):
            raise TypeError(
                f"create_packet_from_value_func needs a callable, got {type(func).__name__} "
                f"(node '{self.node_name}'); use create_packet(value) for a plain value"
            )
        if self._queue is not None:
            return self._queue.create_packet_from_func(func)
        return self._backend.ctx_create(self, None, func)

    def consume_packet(self, packet: Any) -> Any:
        """Take an input packet's value (calling its value function); checks the input port
        type. The consumption reaches the engine now, or at commit when deferred."""
        if self._lane is not None and type(packet) is PacketRef:  # an express epoch (_express.py)
            lock = self._lock
            lock.acquire()
            try:
                lane = self._lane  # (read again under the lock: it may have changed)
                if lane is not None:
                    store = self._backend.store
                    active = store._active
                    value = active.pop(packet, _MISSING)
                    if value is not _MISSING:
                        if type(value) is not StoredValue:
                            try:
                                pairs = self._run.pairs
                                if self._consumed is None and len(pairs) == 1 and pairs[0][1] == packet:
                                    self._consumed = {packet}  # the common case of _input_port
                                    port = pairs[0][0]
                                else:  # raises on a packet not in the salvo / consumed twice
                                    port = self._input_port(packet)
                            except BaseException:
                                active[packet] = value
                                raise
                            try:
                                in_types = self._node.in_types
                                if in_types:
                                    spec = in_types.get(port)
                                    if spec is not None and not spec._check(value):
                                        self._check_in_type(packet, port, value)  # raises the mismatch
                                lane.consume(packet)
                            except BaseException:
                                active[packet] = value
                                self._consumed.discard(packet)  # type: ignore[union-attr]
                                raise
                            if store._consumed is not None:
                                store.remember_consumed(packet, value)
                            self.packet_values[packet] = value
                            return value
                        active[packet] = value  # a value function: the general road
            finally:
                lock.release()
        if self._closed is not None:
            self._check_open()
        if type(packet) is PacketRef:  # the common case: a packet from the `packets` argument
            pid = packet
        elif isinstance(packet, DeferredPacket):
            return self._consume_own_deferred(packet, None)
        else:
            pid = packet_id_of(packet)
        port = self._input_port(pid)
        try:
            if self._queue is None:
                value = self._backend.ctx_consume(self, pid, port)
            else:
                value = self._backend.ctx_read(self, pid, port)
                self._queue.consume_packet(pid, value)
        except BaseException:
            self._consumed.discard(pid)  # type: ignore[union-attr]
            raise
        self.packet_values[pid] = value
        return value

    def _consume_own_deferred(self, packet: DeferredPacket, value: Any) -> Any:
        if self._queue is None:
            raise ContextMisuseError(f"{packet!r} does not belong to this attempt of node '{self.node_name}'")
        if packet.value_func is not None and value is None:
            from netrun.storage.values import StoredValue, PacketValueStore

            value = PacketValueStore.resolve_entry(packet.deferred_id, StoredValue(None, packet.value_func, True),
                                                   self.node_name)
        elif packet.value_func is None:
            value = packet.value
        self._queue.consume_packet(packet, value)
        return value

    async def async_consume_packet(self, packet: Any) -> Any:
        """``consume_packet`` awaiting an async value function (original implementation's
        name; in an async node ``await ctx.consume_packet(p)`` does the same)."""
        if self._closed is not None:
            self._check_open()
        if isinstance(packet, DeferredPacket):
            value = None
            if packet.value_func is not None:
                from netrun.storage.values import StoredValue, PacketValueStore

                value = await PacketValueStore.async_resolve_entry(
                    packet.deferred_id, StoredValue(None, packet.value_func, True), self.node_name)
            return self._consume_own_deferred(packet, value)
        pid = packet_id_of(packet)
        port = self._input_port(pid)
        try:
            if self._queue is None:
                value = await self._backend.ctx_consume_async(self, pid, port)
            else:
                value = await self._backend.ctx_read_async(self, pid, port)
                self._queue.consume_packet(pid, value)
        except BaseException:
            self._consumed.discard(pid)  # type: ignore[union-attr]
            raise
        self.packet_values[pid] = value
        return value

    def load_output_port(self, port_name: str, packet: Any) -> None:
        """Load a packet created in this epoch into an output port (checks the port type)."""
        if self._lane is not None and type(packet) is PacketRef:  # an express epoch (_express.py)
            lock = self._lock
            lock.acquire()
            try:
                lane = self._lane  # (read again under the lock: it may have changed)
                if lane is not None:
                    out_types = self._node.out_types
                    if out_types:
                        spec = out_types.get(port_name)
                        if spec is not None:
                            value = self._backend.store._active.get(packet, _MISSING)
                            if type(value) is StoredValue or value is _MISSING or not spec._check(value):
                                self._check_output(port_name, packet)  # raises a mismatch, or passes
                    lane.load(packet, port_name)
                    return
            except NetrunError:
                pass  # (the action changed nothing) the general road raises the runtime's error
            finally:
                lock.release()
        if self._closed is not None:
            self._check_open()
        self._check_output(port_name, packet)
        if self._queue is not None:
            self._queue.load_output_port(port_name, packet)
            return
        if type(packet) is PacketRef:
            self._backend.ctx_load(self, port_name, packet)
            return
        if isinstance(packet, DeferredPacket):
            raise ContextMisuseError(
                f"{packet!r} comes from a deferred attempt, but node '{self.node_name}' does "
                f"not defer its actions; load packets made by this ctx"
            )
        self._backend.ctx_load(self, port_name, packet_id_of(packet))

    def send_output_salvo(self, salvo_condition_name: str) -> None:
        """Send the loaded output packets through the named output salvo condition."""
        take = self._node.send_mode if self._lane is not None else None  # an express epoch:
        if take is not None:  # True: the engine consumes the orphans, all bound for output
            lock = self._lock  # queues; False: they are routed after the send (_express.py)
            lock.acquire()
            try:
                lane = self._lane  # (read again under the lock: it may have changed)
                if lane is not None:
                    try:
                        orphans = lane.send(self.epoch_id, salvo_condition_name, take)
                    except NetrunError:
                        orphans = None  # (the action changed nothing) the general road raises
                    if orphans is not None:
                        backend = self._backend
                        backend.engine.dirty = True
                        if orphans:
                            if take:
                                backend.queue_taken(self.node_name, self.epoch_id, orphans)
                            else:
                                backend.route_orphans(self.node_name, self.epoch_id, orphans)
                        return
            finally:
                lock.release()
        if self._closed is not None:
            self._check_open()
        self._check_condition(salvo_condition_name)
        if self._queue is not None:
            self._queue.send_output_salvo(salvo_condition_name)
            return
        self._backend.ctx_send(self, salvo_condition_name)

    def cancel_epoch(self) -> None:
        """Stop this epoch: raises :class:`~netrun.errors.EpochCancelled`; the runtime cancels
        the epoch in the engine (its packets are destroyed; no retry, no DLQ)."""
        if self._closed is not None:
            self._check_open()
        raise EpochCancelled(self.node_name, self.epoch_id)

    # -- observability ----------------------------------------------------------------
    def log(self, message: Any = None, *, level: str = "info", **fields: Any) -> None:
        """A structured log entry: ``ctx.log("loaded", level="info", rows=10)``.

        It goes to the node log as ``"loaded | rows=10"`` (so ``net.logs`` and
        ``EpochLog.logs`` show it, even with ``capture_stdout=False``), and into the epoch's
        ``EpochLog.node_log_entries`` (``{"timestamp", "message", "level", "fields"}``) and
        ``user_fields``. ``level``: debug, info, warning, error or critical. Synchronous in
        async nodes too (no ``await``)."""
        if self._closed is not None:
            self._check_open()
        if level not in LOG_LEVELS:
            raise ValueError(
                f"ctx.log in node '{self.node_name}' (epoch {self.epoch_id}): unknown level "
                f"{level!r}; use one of {', '.join(LOG_LEVELS)}")
        if message is None and not fields:
            raise ValueError(
                f"ctx.log in node '{self.node_name}' (epoch {self.epoch_id}) needs a message or "
                f"fields, e.g. ctx.log('done', rows=3)")
        entry = LogMessage(None if message is None else str(message), level, fields)
        target = current_attempt.get()
        if target is not None and target.epoch_id == self.epoch_id:
            target.write_entry(entry)
            return
        node_log = getattr(self._node, "log", None)  # a context used outside its attempt's task
        if node_log is not None:
            node_log.add(entry, self.epoch_id, level)
            manager = getattr(self._backend, "logs", None)
            if manager is not None:
                manager.note_epoch(self.epoch_id, self.node_name)

    def print(self, *args: Any, sep: Optional[str] = " ", end: Optional[str] = "\n", flush: bool = False) -> None:
        """Print into this epoch's log (``EpochLog.logs``, ``net.logs``) like a captured
        ``print``, even where print capture is off (the published runtime's ``ctx.print``);
        echoed to stdout when the node's ``echo_stdout`` is set."""
        if self._closed is not None:
            self._check_open()
        text = (" " if sep is None else sep).join(map(str, args)) + ("\n" if end is None else end)
        target = current_attempt.get()
        if target is None or target.epoch_id != self.epoch_id or (target.log is None and target.sink is None):
            if target is not None and target.epoch_id == self.epoch_id:  # a worker process
                _builtin_print(text, end="", flush=True)
                return
            node_log = getattr(self._node, "log", None)
            for line in text.splitlines():
                if line.strip() and node_log is not None:
                    node_log.add(line, self.epoch_id)
            return
        target.write(text)
        if target.echo:
            _builtin_print(text, end="", flush=flush)

    @property
    def vars(self) -> Any:
        """The node's variables (``node_vars`` of its config merged over the net's), as a
        read-only mapping. Each value is resolved once, on first use (an unfilled
        placeholder raises then, naming the variable)."""
        variables = getattr(self._node, "vars", None)
        if variables is None:  # the node record of a worker process carries no variables
            raise ContextMisuseError(
                f"ctx.vars is not available to node '{self.node_name}' (epoch {self.epoch_id}) in "
                f"a process-pool worker; run the node on the main loop or a thread pool, or pass "
                f"the values as packets or factory arguments")
        return variables

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(node_name={self.node_name!r}, epoch_id={self.epoch_id!r}, "
                f"retry_count={self.retry_count})")


class _PendingOp:
    """An awaitable ctx operation of an async node; tracked so a missing ``await`` is caught."""

    __slots__ = ("_coro", "awaited")

    def __init__(self, coro: Any) -> None:
        self._coro = coro
        self.awaited = False

    def __await__(self) -> Any:
        self.awaited = True
        return self._coro.__await__()

    def discard(self) -> None:
        self._coro.close()


async def _value(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


class AsyncNodeExecutionContext(NodeExecutionContext):
    """The context of an async exec function: every operation must be awaited."""

    __slots__ = ()

    def _op(self, coro: Any) -> _PendingOp:
        op = _PendingOp(coro)
        if self._pending is None:
            self._pending = [op]
        else:
            self._pending.append(op)
        return op

    def _unawaited(self) -> int:
        """Count (and discard) operations that were never awaited."""
        if not self._pending:
            return 0
        missed = [op for op in self._pending if not op.awaited]
        for op in missed:
            op.discard()
        self._pending = None
        return len(missed)

    def create_packet(self, value: Any) -> Any:  # type: ignore[override]
        return self._op(_value(NodeExecutionContext.create_packet, self, value))

    def create_packet_from_value_func(self, func: Callable[[], Any]) -> Any:  # type: ignore[override]
        return self._op(_value(NodeExecutionContext.create_packet_from_value_func, self, func))

    def consume_packet(self, packet: Any) -> Any:  # type: ignore[override]
        return self._op(NodeExecutionContext.async_consume_packet(self, packet))

    def async_consume_packet(self, packet: Any) -> Any:  # type: ignore[override]
        return self._op(NodeExecutionContext.async_consume_packet(self, packet))

    def load_output_port(self, port_name: str, packet: Any) -> Any:  # type: ignore[override]
        return self._op(_value(NodeExecutionContext.load_output_port, self, port_name, packet))

    def send_output_salvo(self, salvo_condition_name: str) -> Any:  # type: ignore[override]
        return self._op(_value(NodeExecutionContext.send_output_salvo, self, salvo_condition_name))

    def cancel_epoch(self) -> Any:  # type: ignore[override]
        return self._op(_value(NodeExecutionContext.cancel_epoch, self))


class NodeFailureContext:
    """Read-only record given to ``exec_failed_node_func`` after each failed attempt.

    ``retry_count`` is the attempt that just failed (0-based); ``retry_timestamps`` and
    ``retry_exceptions`` cover all attempts so far *including* this one; ``input_salvo`` is
    ``{port: [PacketRef]}``; ``packet_values`` the values consumed in the failed attempt;
    ``exception`` what it raised.
    """

    __slots__ = ("_epoch_id", "_node_name", "_retry_count", "_timestamps", "_exceptions",
                 "_input_salvo", "_values", "_exception")

    def __init__(self, epoch_id: str, node_name: str, retry_count: int,
                 retry_timestamps: List[datetime], retry_exceptions: List[BaseException],
                 input_salvo: dict[str, list[Any]], packet_values: dict[str, Any],
                 exception: BaseException) -> None:
        self._epoch_id = epoch_id
        self._node_name = node_name
        self._retry_count = retry_count
        self._timestamps = list(retry_timestamps)
        self._exceptions = list(retry_exceptions)
        self._input_salvo = {p: list(v) for p, v in input_salvo.items()}
        self._values = dict(packet_values)
        self._exception = exception

    @property
    def epoch_id(self) -> str:
        return self._epoch_id

    @property
    def node_name(self) -> str:
        return self._node_name

    @property
    def retry_count(self) -> int:
        return self._retry_count

    @property
    def retry_timestamps(self) -> List[datetime]:
        return list(self._timestamps)

    @property
    def retry_exceptions(self) -> List[BaseException]:
        return list(self._exceptions)

    @property
    def input_salvo(self) -> dict[str, list[Any]]:
        return {p: list(v) for p, v in self._input_salvo.items()}

    @property
    def packet_values(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def exception(self) -> BaseException:
        return self._exception

    def __repr__(self) -> str:
        return (f"NodeFailureContext(node_name={self._node_name!r}, epoch_id={self._epoch_id!r}, "
                f"retry_count={self._retry_count}, exception={self._exception!r})")
