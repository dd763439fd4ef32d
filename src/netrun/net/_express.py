"""The express path of an epoch: a sync node function on the event loop, nothing optional on.

Most epochs of most nets are of this kind: a plain sync exec function on the main loop, no
timeout, no deferred actions, no port types, no signals, callbacks, cache or file storage,
and no event history recording engine actions (the engine's quiet fast lane is in use).
For them ``Scheduler.launch`` calls :meth:`ExpressMixin.run_express`, which does exactly
what the general path (``launch`` → ``_run_inline`` → ``ctx_*`` → ``_commit_and_finish``)
does, with the layers flattened:

* the engine lock is taken **once** for the whole epoch (start, the function's packet
  operations, finish) instead of once per operation. A sync function on the loop holds the
  loop anyway; holding the engine too only makes worker threads that talk to the engine
  wait for it to return (they never wait for each other in a way the epoch depends on);
* the context is a :class:`NodeExecutionContext` carrying the engine's fast lane
  (``ctx._lane``, ``None`` in every other context): its packet operations then call the
  lane and the value store directly. Whenever an operation is not plain (a packet
  given as an engine ``Packet`` or a string, a value function, a value store that pickles to
  disk, a typed port, an unknown port or condition, a closed context, a lane replaced
  meanwhile...) it takes the general road from the start, so errors, messages and effects
  are the general path's.

Every outcome other than success (an exception, a cancelled epoch, an epoch that cannot
finish) goes to the general ``_attempt_outcome``, so failures, retries and the dead-letter
queue behave identically.
"""

from __future__ import annotations

import time
from typing import Any

from netrun.errors import CannotFinishNonEmptyEpochError, UnsentOutputSalvoError
from netrun.net._current import current_attempt
from netrun.net.context import NodeExecutionContext
from netrun.net.epoch_log import EpochOutcome
from netrun.net.logs import PrintTarget

__all__ = ["ExpressMixin"]

_new = object.__new__
_SUCCESS = EpochOutcome.SUCCESS
_monotonic = time.monotonic


class ExpressMixin:
    """The express epoch of the :class:`~netrun.net._scheduler.Scheduler`."""

    def run_express(self, run: Any, node: Any) -> bool:
        """Run ``run`` as an express epoch; ``False`` (nothing done) when the engine is not
        on its quiet fast lane, so the caller takes the general path."""
        engine = self.engine
        lock = engine.lock
        lock.acquire()
        try:
            lane = engine.quiet
            if lane is None:
                return False
            eid = run.id
            lane.start(eid)
            node.running += 1
            self.running += 1
            run.executor = self.main
            run.started = _monotonic()
            run.in_engine = True
            ctx = _new(NodeExecutionContext)
            ctx._lane = lane
            ctx._run = run
            ctx._node = node
            ctx._backend = self
            ctx._queue = None
            ctx._closed = None
            ctx.epoch_id = eid
            ctx.node_name = node.name
            ctx.retry_count = run.attempt
            ctx._retry_timestamps = run.retry_timestamps
            ctx._retry_exceptions = run.retry_exceptions
            ctx.packet_values = {}
            ctx._consumed = None
            ctx._pending = None
            run.ctx = ctx
            token = current_attempt.set(
                PrintTarget(node.log, eid, node.echo, None, self.logs, node.capture, self.locate))
            try:
                node.exec_func(ctx, run.packets_by_port())
                exc = None
            except Exception as error:
                exc = error
            finally:
                current_attempt.reset(token)
            if run.ctx is not ctx or run.done:
                return True
            run.ctx = None
            ctx._closed = True
            if exc is None:
                try:
                    lane.finish(eid)
                except (CannotFinishNonEmptyEpochError, UnsentOutputSalvoError) as error:
                    exc = self.incomplete_error(run, ctx, error)
                    exc.__cause__ = error
        finally:
            lock.release()
        if exc is None:
            self._epoch_ended(run, _SUCCESS)
        else:
            self._attempt_outcome(run, ctx, exc)
        return True
