"""Packet operations against the engine: a context's live calls, commits, injections.

A context without deferred actions calls ``ctx_*`` here while the node function runs (from
the loop thread or a worker thread; the engine lock serialises them, and the context's
"closed" check happens under the same lock, so an attempt abandoned after its timeout can
no longer change the net). Deferred actions, and the recorded effects of an attempt that
ran in another process, are applied by :meth:`LiveOpsMixin.commit_actions` as one
all-or-nothing group: on an engine error the group is undone with the engine's
``undo_action`` and the attempt fails cleanly (and may be retried).
"""

from __future__ import annotations

from typing import Any, Optional

from netrun.errors import (
    CannotFinishNonEmptyEpochError,
    ContextMisuseError,
    InputPortFullError,
    InputPortNotFoundError,
    UnsentOutputSalvoError,
)
from netrun.net.deferred import DeferredActionQueue, DeferredActionType, DeferredPacket
from netrun.net.packets import PacketRef, packet_id_of
from netrun.net._records import EpochRun
from netrun.storage.values import StoredValue

__all__ = ["LiveOpsMixin"]

_MISSING = object()
_CREATE = DeferredActionType.CREATE_PACKET
_CREATE_FUNC = DeferredActionType.CREATE_PACKET_FROM_FUNC
_CONSUME = DeferredActionType.CONSUME_PACKET
_LOAD = DeferredActionType.LOAD_OUTPUT_PORT
_SEND = DeferredActionType.SEND_OUTPUT_SALVO


class LiveOpsMixin:
    """Engine-facing operations of the :class:`~netrun.net._scheduler.Scheduler`."""

    # ------------------------------------------------------------------ context backend
    def ctx_create(self, ctx: Any, value: Any, func: Any) -> PacketRef:
        engine = self.engine
        with engine.lock:
            if ctx._closed is not None:
                ctx._check_open()
            lane = engine.quiet  # the engine's fast lane (recording on the history's tape if any), no transaction
            pid = lane.create(ctx.epoch_id) if lane is not None else engine.create_packet_held(ctx.epoch_id)
            if func is None:
                self.store.store_value(pid, value)
            else:
                self.store.store_value_func(pid, func)
        return PacketRef(pid)

    def ctx_consume(self, ctx: Any, pid: str, port: str) -> Any:
        store = self.store
        entry = store.pop_entry(pid)
        try:
            value = store.resolve_entry(pid, entry, ctx.node_name) if type(entry) is StoredValue else entry
            if ctx._node.in_types:
                ctx._check_in_type(pid, port, value)
            engine = self.engine
            with engine.lock:
                if ctx._closed is not None:
                    ctx._check_open()
                lane = engine.quiet
                if lane is not None:
                    lane.consume(pid)
                else:
                    engine.consume_packet_held(pid)
        except BaseException:
            store.store_entry(pid, entry)
            raise
        store.remember_consumed(pid, value)
        return value

    async def ctx_consume_async(self, ctx: Any, pid: str, port: str) -> Any:
        store = self.store
        entry = store.pop_entry(pid)
        try:
            value = await store.async_resolve_entry(pid, entry, ctx.node_name)
            ctx._check_in_type(pid, port, value)
            with self.engine.lock:
                ctx._check_open()
                self.engine.consume_packet(pid)
        except BaseException:
            store.store_entry(pid, entry)
            raise
        store.remember_consumed(pid, value)
        return value

    def ctx_read(self, ctx: Any, pid: str, port: str) -> Any:
        store = self.store
        value = store.resolve_entry(pid, store.peek_entry(pid), ctx.node_name)
        ctx._check_in_type(pid, port, value)
        return value

    async def ctx_read_async(self, ctx: Any, pid: str, port: str) -> Any:
        store = self.store
        value = await store.async_resolve_entry(pid, store.peek_entry(pid), ctx.node_name)
        ctx._check_in_type(pid, port, value)
        return value

    def ctx_load(self, ctx: Any, port: str, pid: str) -> None:
        engine = self.engine
        with engine.lock:
            if ctx._closed is not None:
                ctx._check_open()
            lane = engine.quiet
            if lane is not None:
                lane.load(pid, port)
            else:
                engine.load_output_port_held(pid, port)

    def ctx_send(self, ctx: Any, condition: str) -> None:
        engine = self.engine
        with engine.lock:
            if ctx._closed is not None:
                ctx._check_open()
            if self.undeclared is not None and ctx._node.may_orphan:  # error_on_undeclared_output
                self.undeclared.check(self, ctx.node_name, ctx.epoch_id, condition)
            lane = engine.quiet
            if lane is not None:
                engine.dirty = True
                orphans = lane.send(ctx.epoch_id, condition)
            else:
                orphans = engine.send_output_salvo_held(ctx.epoch_id, condition, ctx._node.may_orphan)
        if orphans:
            self.route_orphans(ctx.node_name, ctx.epoch_id, orphans)

    def ctx_output_value(self, ctx: Any, pid: str) -> tuple[bool, Any]:
        entry = self.store._active.get(pid, _MISSING)
        if entry is _MISSING:
            return False, None
        if type(entry) is StoredValue:
            return (False, None) if entry.is_value_func else (True, entry.value)
        return True, entry

    # ------------------------------------------------------------------ output queues
    def route_orphans(self, node_name: str, epoch_id: str, orphans: list[tuple[str, str]]) -> None:
        """Move packets that left through unconnected output ports into output queues."""
        queues = self.queues
        if queues is None:
            return
        active = self.store._active
        engine = self.engine
        lock = engine.lock
        for pid, port in orphans:
            name = queues.queue_of(node_name, port)
            if name is None:
                if self.undeclared is not None:  # a config with explicit output queues: dropped
                    self.undeclared.drop(self, node_name, epoch_id, pid, port)
                continue  # no queue: the packet stays outside the net with its value
            entry = active.pop(pid, None)
            lock.acquire()  # (cheaper than `with`: this runs once per output packet)
            try:
                lane = engine.quiet
                if lane is not None:
                    lane.consume(pid)
                else:
                    engine.consume_packet_held(pid)
            finally:
                lock.release()
            queues.put(name, pid, entry, epoch_id)

    def queue_taken(self, node_name: str, epoch_id: str, orphans: list[tuple[str, str]]) -> None:
        """Put into their output queues packets the engine already consumed as it sent
        them (``send(..., take=True)``, see ``_express.orphans_all_queued``)."""
        queues = self.queues
        active = self.store._active
        for pid, port in orphans:
            queues.put(queues.queue_of(node_name, port), pid, active.pop(pid, None), epoch_id)

    # ------------------------------------------------------------------ commits
    def commit_actions(self, run: EpochRun, actions: list, *, atomic: bool, finish: bool,
                       ctx: Any = None) -> None:
        """Apply recorded actions (and finish the epoch) as one group; see module docs."""
        engine = self.engine
        store = self.store
        created: list[str] = []
        consumed: list[tuple[str, Any]] = []
        orphans: list[tuple[str, str]] = []
        engine.begin()
        try:
            for action in actions:
                kind = action.action_type
                if kind is _CREATE or kind is _CREATE_FUNC:
                    pid = engine.create_packet(run.id)
                    created.append(pid)
                    if kind is _CREATE:
                        store.store_value(pid, action.value)
                    else:
                        store.store_value_func(pid, action.value_func)
                    action.deferred_packet._resolve(pid, engine.packet_location)
                elif kind is _CONSUME:
                    pid = _real_id(action.packet)
                    engine.consume_packet(pid)
                    consumed.append((pid, action.consumed_value))
                elif kind is _LOAD:
                    engine.load_output_port(_real_id(action.packet), action.port_name)
                else:
                    if self.undeclared is not None and run.node.may_orphan:
                        self.undeclared.check(self, run.node.name, run.id, action.salvo_condition_name)
                    orphans.extend(engine.send_output_salvo(run.id, action.salvo_condition_name,
                                                            run.node.may_orphan))
            if finish:
                engine.finish_epoch(run.id)
        except Exception as error:
            try:
                engine.end(rollback=atomic)
            finally:
                if atomic:
                    for pid in created:
                        store.remove(pid)
                    for action in actions:
                        if action.deferred_packet is not None:
                            action.deferred_packet._resolve(None)  # type: ignore[arg-type]
            if isinstance(error, (CannotFinishNonEmptyEpochError, UnsentOutputSalvoError)):
                raise self.incomplete_error(run, ctx if ctx is not None else run.ctx or _NoCtx, error) from error
            raise
        engine.end()
        for pid, value in consumed:
            if store.has_value(pid):
                store.pop_entry(pid)
            store.remember_consumed(pid, value)
        if orphans:
            self.route_orphans(run.node.name, run.id, orphans)

    def _commit_and_finish(self, run: EpochRun, ctx: Any) -> None:
        if run.node.signals is not None:  # epoch_finished joins the commit group
            self.signals.commit_and_finish(run, ctx)
            return
        queue = ctx._queue
        if queue is not None and len(queue):
            self.commit_actions(run, queue._actions, atomic=True, finish=True, ctx=ctx)
            return
        try:
            self.engine.finish_epoch(run.id)
        except (CannotFinishNonEmptyEpochError, UnsentOutputSalvoError) as error:
            raise self.incomplete_error(run, ctx, error) from error

    def apply_worker_result(self, run: EpochRun, ctx: Any, payload: Any, exc: Optional[BaseException]) -> Optional[BaseException]:
        """Take in the recorded effects of an attempt that ran in another process."""
        node = run.node
        for stamp, line in payload.prints:
            node.log.add(line, run.id, "info", stamp)
            self.logs.note_epoch(run.id, node.name)
        ctx.packet_values.update(payload.consumed_values)
        ctx._consumed = set(payload.consumed_values)
        queue = DeferredActionQueue()
        queue._actions = list(payload.actions)
        if exc is not None and not node.config.defer_net_actions and queue._actions:
            # live semantics: what the node did before failing stays done
            try:
                self.commit_actions(run, queue._actions, atomic=False, finish=False, ctx=ctx)
            except Exception as error:
                node.log.add(f"could not apply the actions of failed epoch {run.id}: {error}", run.id, "error")
            queue._actions = []
        ctx._queue = queue
        return exc

    # ------------------------------------------------------------------ injection
    def inject_values(self, node_name: str, port: str, values: list[Any]) -> list[str]:
        """Put values onto an input port as new packets; returns their IDs."""
        node = self.node(node_name)
        if port not in node.in_ports:
            raise InputPortNotFoundError(
                f"Node '{node_name}' has no input port {port!r}; its input ports are: "
                f"{', '.join(node.in_ports) or 'none'}"
            )
        engine = self.engine
        store = self.store
        ids: list[str] = []
        with engine.lock:
            for value in values:
                try:
                    pid = engine.inject_to_input(node_name, port, 1)[0]
                except InputPortFullError as error:
                    raise InputPortFullError(
                        f"Input port {port!r} of node '{node_name}' is full: injected {len(ids)} "
                        f"of {len(values)} value(s). Run the net so the node drains the port, "
                        f"then inject the rest ({error})"
                    ) from error
                store.store_value(pid, value)
                ids.append(pid)
        self.work_arrived()
        return ids

    def inject_epoch(self, node_name: str) -> str:
        """A new epoch of ``node_name`` with an empty input salvo (how source nodes run)."""
        node = self.node(node_name)
        import time

        epoch_id = self.engine.create_epoch(node_name, [], "__inject__")
        run = EpochRun(epoch_id, node, [], "__inject__", time.monotonic())
        loop = self.loop
        if self.driving and loop is not None and not _on_thread_of(loop):
            loop.call_soon_threadsafe(self._register_run, run)
        else:
            self._register_run(run)
        self.work_arrived()
        return epoch_id

    def _register_run(self, run: EpochRun) -> None:
        self.runs[run.id] = run
        node = run.node
        if node.exec_func is not None:
            node.ready.append(run)
            self.ready_nodes[node.name] = None
        self.wake()


class _NoCtxType:
    _consumed: set = set()


_NoCtx = _NoCtxType()


def _real_id(packet: Any) -> str:
    if isinstance(packet, DeferredPacket):
        pid = packet._packet_id
        if pid is None:
            raise ContextMisuseError(
                f"{packet!r} was not created in this attempt (or its creation was not "
                f"committed); use packets made by this epoch's ctx"
            )
        return pid
    return packet_id_of(packet)


def _on_thread_of(loop: Any) -> bool:
    import asyncio

    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
