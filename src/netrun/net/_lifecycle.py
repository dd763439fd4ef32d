"""The life of one epoch: launch, attempts, commit, retries, failure, end.

The success path is synchronous (no task per epoch): ``launch`` starts the epoch in the
engine and hands the first attempt to its executor; ``attempt_done`` commits (deferred
actions, as one all-or-nothing group) and finishes the epoch. Failures take an async path
(``_attempt_failed``) because failure handlers, retry waits and callbacks may await.

Guarantees: a failing epoch never touches other epochs; its packets are retried, recorded
in the dead-letter queue (with their values), or reported to the caller (``on_error`` /
``error_callback``), never dropped silently.
"""

from __future__ import annotations

import asyncio
import time
import warnings
from datetime import datetime, timezone
from typing import Any, Optional

from netrun.errors import (
    ContextMisuseError,
    EpochCancelled,
    EpochIncompleteError,
    EpochTimeout,
    NetrunError,
    NodeExecutionFailed,
    UnsentOutputSalvoError,
)
from netrun.net._current import current_attempt
from netrun.net._records import NOT_STARTED
from netrun.net.context import AsyncNodeExecutionContext, NodeExecutionContext, NodeFailureContext
from netrun.net.dlq import DeadLetterEntry
from netrun.net.epoch_log import EpochLog, EpochOutcome, build_epoch_log
from netrun.net.logs import PrintTarget

__all__ = ["LifecycleMixin"]

_utc = timezone.utc
_new = object.__new__


class LifecycleMixin:
    """Epoch lifecycle methods of the :class:`~netrun.net._scheduler.Scheduler`."""

    # ------------------------------------------------------------------ launching
    def launch(self, run: Any, executor: Any) -> None:
        node = run.node
        if node.compat is not None and node.compat.intercept(self, run, executor):
            return  # max_epochs / defer_init (config front door, _compat_policy.py)
        node.running += 1
        self.running += 1
        run.executor = executor
        run.started = time.monotonic()
        if not executor.starts_epochs:  # thread pools start it when a worker takes it
            self.engine.start_epoch(run.id)
            run.in_engine = True
        if node.signals is not None:
            self.signals.started(run)
        if node.timeout is not None:
            run.deadline = self.loop.time() + node.timeout
        if self.epoch_start_callbacks or node.start_callbacks:
            self._fire_start_callbacks(run)
        if node.storage is not None and node.storage.launch(self, run):
            return  # a cache or file-storage hit, replayed (_storage_epochs.py)
        if executor is self.main and run.deadline is None and not node.exec_async:
            self._run_inline(run, node)
        else:
            if self.periodic is not None:  # it may be in flight at a periodic checkpoint
                run.saved_inputs = self.periodic.inputs_of(run)
            self.begin_attempt(run)

    def _run_inline(self, run: Any, node: Any) -> None:
        """``begin_attempt`` + ``MainLoopExecutor.execute`` + ``attempt_done`` for the common
        case (a sync function on the loop, no timeout), without the indirections: the
        attempt runs right here and its outcome is handled at once."""
        ctx = _new(NodeExecutionContext)
        ctx._setup(self, run, node.config.defer_net_actions, run.attempt, run.retry_timestamps,
                   run.retry_exceptions)
        run.ctx = ctx
        token = current_attempt.set(
            PrintTarget(node.log, run.id, node.echo, None, self.logs, node.capture, self.locate))
        try:
            node.exec_func(ctx, run.packets_by_port())
            exc = None
        except Exception as error:
            exc = error
        finally:
            current_attempt.reset(token)
        if run.ctx is not ctx or run.done:
            return
        run.ctx = None
        if exc is None:  # the success path of _attempt_outcome, written out
            ctx._closed = True
            try:
                if node.storage is not None:
                    node.storage.before_commit(self, run, ctx)
                self._commit_and_finish(run, ctx)
            except Exception as error:
                exc = error
            else:
                self._epoch_ended(run, EpochOutcome.SUCCESS)
                return
        self._attempt_outcome(run, ctx, exc)

    def begin_attempt(self, run: Any) -> None:
        node = run.node
        defer = node.config.defer_net_actions or not run.executor.in_process
        cls = AsyncNodeExecutionContext if node.exec_async else NodeExecutionContext
        ctx = cls._for_attempt(self, run, defer)
        run.ctx = ctx
        if run.deadline is not None:
            remaining = run.deadline - self.loop.time()
            if remaining <= 0:
                run.ctx = None
                self.executor_release(run)
                self._failing(run, ctx, EpochTimeout(node.name, run.id, node.timeout))
                return
            run.timer = self.loop.call_at(run.deadline, self._on_timeout, run, ctx)
        run.executor.execute(run, ctx)

    def executor_release(self, run: Any) -> None:
        executor = run.executor
        if executor is not None:
            executor.release(run)

    # ------------------------------------------------------------------ calling node code
    def _target(self, run: Any) -> PrintTarget:
        node = run.node
        return PrintTarget(node.log, run.id, node.echo, None, self.logs, node.capture, self.locate)

    def call_sync(self, run: Any, ctx: Any) -> Optional[BaseException]:
        """Call a sync exec function; returns its exception (or ``None``)."""
        token = current_attempt.set(self._target(run))
        try:
            run.node.exec_func(ctx, run.packets_by_port())
            return None
        except Exception as exc:
            return exc
        finally:
            current_attempt.reset(token)

    async def run_async(self, run: Any, ctx: Any, report: bool = True) -> Optional[BaseException]:
        """Await an async exec function (on the main loop, or a worker thread's loop)."""
        current_attempt.set(self._target(run))
        exc: Optional[BaseException] = None
        try:
            await run.node.exec_func(ctx, run.packets_by_port())
        except asyncio.CancelledError as cancelled:
            exc = run.abandoned or cancelled
            if run.abandoned is None and report:
                raise
        except Exception as error:
            exc = error
        missed = ctx._unawaited()
        if missed and not isinstance(exc, asyncio.CancelledError):
            # the missing await is the root cause of whatever else went wrong
            cause = exc
            exc = ContextMisuseError(
                f"Node '{run.node.name}' (epoch {run.id}) called {missed} ctx operation(s) "
                f"without `await`; in an async exec function every ctx method must be awaited "
                f"(e.g. `await ctx.consume_packet(p)`)"
            )
            exc.__cause__ = cause
        if report:
            self.attempt_done(run, ctx, exc)
        return exc

    # ------------------------------------------------------------------ completion
    def attempt_done(self, run: Any, ctx: Any, exc: Optional[BaseException], payload: Any = None) -> None:
        """An attempt returned (loop thread). Stale reports of abandoned attempts are ignored."""
        if run.ctx is not ctx or run.done:
            return
        run.ctx = None
        if run.timer is not None:
            run.timer.cancel()
            run.timer = None
        run.task = None
        self.executor_release(run)
        if exc is NOT_STARTED:
            self._requeue(run)
            return
        if payload is not None:
            exc = self.apply_worker_result(run, ctx, payload, exc)
        self._attempt_outcome(run, ctx, exc)

    def _attempt_outcome(self, run: Any, ctx: Any, exc: Optional[BaseException]) -> None:
        """Commit and finish a returned attempt, or handle its failure."""
        ctx._closed = True  # the attempt returned: later use of ctx is an error
        if exc is None:
            try:
                if run.node.storage is not None:  # record / store outputs (_storage_epochs.py)
                    run.node.storage.before_commit(self, run, ctx)
                self._commit_and_finish(run, ctx)
            except Exception as error:
                exc = error
            else:
                self._epoch_ended(run, EpochOutcome.SUCCESS)
                return
        if isinstance(exc, EpochCancelled):
            if run.node.signals is not None:
                self.signals.cancelled(run)
            self._cancel_in_engine(run)
            self._epoch_ended(run, EpochOutcome.CANCELLED, exc)
            return
        self._failing(run, ctx, exc)

    def _requeue(self, run: Any) -> None:
        """Put back an epoch a worker did not start (the net is pausing), in creation order."""
        node = run.node
        node.running -= 1
        self.running -= 1
        run.started = 0.0
        run.deadline = None
        ready = node.ready
        ready.appendleft(run)
        if len(ready) > 1:
            ordered = sorted(ready, key=_seq_of)
            ready.clear()
            ready.extend(ordered)
        self.ready_nodes[node.name] = None
        self.wake()

    def _failing(self, run: Any, ctx: Any, exc: BaseException) -> None:
        if (self.on_error != "continue" or (self.failure_policy is not None
                                            and self.failure_policy.propagates(run.node))) \
                and not self._may_retry(run, ctx, exc):
            # pause at once, so that no further epoch starts while the failure is handled
            self.pause_requested = True
        self.spawn(self._attempt_failed(run, ctx, exc))

    def _may_retry(self, run: Any, ctx: Any, exc: BaseException) -> bool:
        return (run.attempt < run.node.config.retries and ctx._queue is not None
                and not isinstance(exc, EpochTimeout))

    def incomplete_error(self, run: Any, ctx: Any, error: BaseException) -> EpochIncompleteError:
        name = run.node.name
        if isinstance(error, UnsentOutputSalvoError):
            hint = (f"it loaded packets into an output port but did not send them: call "
                    f"ctx.send_output_salvo(<condition>) (conditions: "
                    f"{', '.join(run.node.out_conditions) or 'none'})")
        else:
            consumed = ctx._consumed or set()
            left = [pid for _, pid in run.pairs if pid not in consumed]
            what = f"input packet(s) {left}" if left else "packet(s) it created"
            hint = (f"it left {what} in the epoch: consume every input packet with "
                    f"ctx.consume_packet(p), and load and send every packet it creates")
        return EpochIncompleteError(
            f"Node '{name}' returned from epoch {run.id} but the epoch cannot finish: {hint} "
            f"({error})"
        )

    def _on_timeout(self, run: Any, ctx: Any) -> None:
        try:
            self._timed_out(run, ctx)
        except Exception as error:  # never leave a run stuck on an internal error
            self.internal_error(error)

    def _timed_out(self, run: Any, ctx: Any) -> None:
        run.timer = None
        if run.ctx is not ctx or run.done:
            return
        error = EpochTimeout(run.node.name, run.id, run.node.timeout)
        with self.engine.lock:
            ctx._close(error)
        run.abandoned = error
        run.ctx = None
        run.executor.abandon(run)
        self.executor_release(run)
        run.node.log.add(
            f"epoch {run.id} abandoned after its timeout of {run.node.timeout:g} s "
            f"(a sync function keeps running in its thread until it returns; its results are discarded)",
            run.id, "error")
        self._failing(run, ctx, error)

    # ------------------------------------------------------------------ failure
    async def _attempt_failed(self, run: Any, ctx: Any, exc: BaseException) -> None:
        node = run.node
        config = node.config
        stamp = datetime.now(_utc)
        if run.retry_timestamps is None:
            run.retry_timestamps, run.retry_exceptions = [], []
        run.retry_timestamps.append(stamp)
        run.retry_exceptions.append(exc)
        node.log.add(f"attempt {run.attempt} failed: {type(exc).__name__}: {exc}", run.id, "error")
        if node.failed_func is not None:
            failure = NodeFailureContext(run.id, node.name, run.attempt, run.retry_timestamps,
                                         run.retry_exceptions, run.packets_by_port(),
                                         ctx.packet_values, exc)
            await self._call_hook(node, node.failed_func, (failure,), "exec_failed_node_func")
        timed_out = isinstance(exc, EpochTimeout)
        if self._may_retry(run, ctx, exc) and not timed_out and self.pending_raise is None:
            delay = config.retry_delay(run.attempt + 1)
            if delay > 0:
                await asyncio.sleep(delay)
            if run.deadline is not None and self.loop.time() >= run.deadline:
                exc = EpochTimeout(node.name, run.id, node.timeout)
                run.retry_timestamps.append(datetime.now(_utc))
                run.retry_exceptions.append(exc)
            else:
                run.attempt += 1
                run.abandoned = None
                self.begin_attempt(run)
                return
        await self._fail_for_good(run, ctx, exc)

    async def _fail_for_good(self, run: Any, ctx: Any, exc: BaseException) -> None:
        node = run.node
        values: dict[str, Any] = {}
        consumed = ctx.packet_values
        store = self.store
        for _, pid in run.pairs:
            if pid in consumed:
                values[pid] = consumed[pid]
            elif store.has_value(pid):
                values[pid] = store.peek_entry(pid)
        if node.signals is not None:
            self.signals.failed(run, exc)
        self._cancel_in_engine(run)
        if node.config.dead_letter_queue:
            entry = DeadLetterEntry(
                epoch_id=run.id, node_name=node.name, exception=exc, retry_count=run.attempt,
                retry_timestamps=list(run.retry_timestamps or ()),
                retry_exceptions=list(run.retry_exceptions or ()),
                input_packets=run.input_packets(), packet_values=values,
                timestamp=datetime.now(_utc))
            try:
                result = self.dlq.add(entry)
                if asyncio.iscoroutine(result):
                    await result
            except Exception as error:
                warnings.warn(f"The dead-letter callback failed for epoch {run.id} of node "
                              f"'{node.name}': {error!r}", RuntimeWarning, stacklevel=2)
        if self.error_callback is not None:
            await self._call_hook(node, self.error_callback, (exc, node.name, run.id), "error_callback")
        if self.failure_policy is not None:  # EpochError raised or queued (config front door)
            self.failure_policy.failed(self, run, exc)
        elif self.on_error == "pause":
            self.pause_requested = True
        elif self.on_error == "raise":
            if self.pending_raise is None:
                self.pending_raise = NodeExecutionFailed(node.name, run.id, exc, attempts=run.attempt + 1)
            self.pause_requested = True
        self._epoch_ended(run, EpochOutcome.ERROR, exc)

    async def _call_hook(self, node: Any, func: Any, args: tuple, label: str) -> None:
        try:
            result = func(*args)
            if asyncio.iscoroutine(result):
                await result
        except Exception as error:
            message = f"{label} of node '{node.name}' raised {type(error).__name__}: {error}"
            node.log.add(message, level="error")
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def _cancel_in_engine(self, run: Any) -> None:
        try:
            destroyed = self.engine.cancel_epoch(run.id)
        except NetrunError:
            destroyed = []
        remove = self.store.remove
        for pid in destroyed:
            remove(pid)

    # ------------------------------------------------------------------ the end
    def _epoch_ended(self, run: Any, outcome: str, exc: Optional[BaseException] = None) -> None:
        run.done = True
        run.ctx = None
        self.runs.pop(run.id, None)
        node = run.node
        # (never below zero: an internal error resets the counters while epochs still run)
        if node.running > 0:
            node.running -= 1
        if self.running > 0:
            self.running -= 1
        if self.periodic is not None:  # count, and checkpoint when due (a consistent point)
            self.periodic.epoch_ended(self)
        if self.epoch_end_callbacks or node.end_callbacks:
            self._fire_end_callbacks(run, outcome, exc)
        self.wake()

    def _fire_start_callbacks(self, run: Any) -> None:
        for cb in (*self.epoch_start_callbacks, *run.node.start_callbacks):
            self._run_callback(cb, (run.node.name, run.id))

    def _fire_end_callbacks(self, run: Any, outcome: str, exc: Optional[BaseException]) -> None:
        record = self.epoch_log(run, outcome, exc)
        for cb in (*self.epoch_end_callbacks, *run.node.end_callbacks):
            self._run_callback(cb, (run.node.name, run.id, record))

    def _run_callback(self, cb: Any, args: tuple) -> None:
        try:
            result = cb(*args)
        except Exception as error:
            warnings.warn(f"Epoch callback {cb!r} raised {error!r}", RuntimeWarning, stacklevel=3)
            return
        if asyncio.iscoroutine(result):
            self.spawn(_guarded(result, cb))

    def epoch_log(self, run: Any, outcome: str, exc: Optional[BaseException]) -> EpochLog:
        """Build the :class:`EpochLog` of an ended epoch."""
        return build_epoch_log(self, run, outcome, exc)


def _seq_of(item: Any) -> int:
    return item[5] if type(item) is tuple else item.seq


async def _guarded(coro: Any, cb: Any) -> None:
    try:
        await coro
    except Exception as error:
        warnings.warn(f"Epoch callback {cb!r} raised {error!r}", RuntimeWarning, stacklevel=2)
