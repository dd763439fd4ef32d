"""The express path of an epoch: a sync node function on the event loop, nothing optional on.

Most epochs of most nets are of this kind: a plain sync exec function on the main loop, no
timeout, no deferred actions, no port types, no signals, callbacks, cache or file storage,
and no event history recording engine actions (the engine's quiet fast lane is in use).
For them ``Scheduler.launch_ready`` calls :meth:`ExpressMixin.run_express`, which runs a
node's ready epochs one after the other doing exactly what the general path (``launch`` →
``_run_inline`` → ``ctx_*`` → ``_commit_and_finish`` → ``_epoch_ended``) does per epoch,
with the layers flattened and the per-node lookups done once per round:

* the engine lock is taken once around each epoch's bookkeeping (its end and the next
  epoch's start share one hold) and released while the node function runs; the
  function's packet operations take it themselves (``acquire``/``release``, no ``with``),
  so a function may wait for a thread of its own that uses the net, and thread-pool
  epochs of other nodes use the engine between the operations of express epochs;
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
import weakref
from typing import Any

from netrun.errors import CannotFinishNonEmptyEpochError, UnsentOutputSalvoError
from netrun.net._current import current_attempt
from netrun.net.context import NodeExecutionContext
from netrun.net.epoch_log import EpochOutcome
from netrun.net.logs import PrintTarget
from netrun.net.packets import PacketRef
from netrun.net._records import EpochRun

__all__ = ["ExpressMixin"]

_new = object.__new__
_SUCCESS = EpochOutcome.SUCCESS
_monotonic = time.monotonic


class ExpressMixin:
    """The express epochs of the :class:`~netrun.net._scheduler.Scheduler`."""

    express_active = False  # an express round is under way (its contexts may hold a lane)

    def watch_lanes(self) -> None:
        """Have the engine tell when its quiet lane changes (a history installed, a
        transaction begun...): the running express epoch's context then drops its cached
        lane, so its next operations take the general road (which records them). (Rare:
        the running epochs are searched then, rather than tracked on the hot path.)"""
        ref = weakref.ref(self)

        def changed() -> None:
            scheduler = ref()
            if scheduler is None or not scheduler.express_active:
                return
            for run in list(scheduler.runs.values()):
                ctx = run.ctx if type(run) is not tuple else None
                if ctx is not None and ctx._lane is not None:
                    ctx._lane = None

        self.engine.on_lane_change = changed

    def orphans_all_queued(self, node: Any) -> bool:
        """Whether every packet ``node`` sends out of the net goes to an output queue (then
        the engine may consume it in the send itself: ``FastLane.send(..., take=True)``)."""
        if not node.may_orphan:
            return False
        queues = self.queues
        if queues is None:
            return False
        connected = self.info.connected_outputs
        return all(queues.queue_of(node.name, port) is not None
                   for port in node.out_ports if (node.name, port) not in connected)

    def express_ok(self, node: Any) -> bool:
        """Whether ``node``'s epochs may take the express path (its executor being the
        loop is checked by the caller). Read once per node and launch round."""
        return (node.compat is None and node.storage is None and node.signals is None
                and node.timeout is None and not node.exec_async and not node.rate_interval
                and not node.config.defer_net_actions and not node.start_callbacks
                and not self.epoch_start_callbacks)

    def run_express(self, node: Any, limit: int) -> int:
        """Launch and run ``node``'s ready epochs as express epochs, in order, while nothing
        stops the round (a pause, a pending error, the node disabled or at its parallel
        limit, ``limit`` epochs run; ``limit`` < 0: no limit). Returns how many ran; -1 (and
        nothing done) when the engine is not on its quiet fast lane."""
        engine = self.engine
        lock = engine.lock
        ready = node.ready
        runs = self.runs
        main = self.main
        logs = self.logs
        locate = self.locate
        name = node.name
        exec_func = node.exec_func
        max_parallel = node.max_parallel
        key = (node.log, node.echo, logs, node.capture, locate)
        if node.targets is None or node.targets[0] != key:
            node.targets = (key, PrintTarget.for_node(*key))
        target_cls = node.targets[1]
        node.send_mode = None if self.undeclared is not None else self.orphans_all_queued(node)
        set_target = current_attempt.set
        reset_target = current_attempt.reset
        done = 0
        lane = None
        lock.acquire()
        try:
            lane = engine.quiet
            if lane is None:
                return -1
            # The round counts as one running epoch of the node (one epoch of it runs at a
            # time): set once here, not per epoch; a failing epoch takes a count of its own
            # for the failure handling, which ends it later (_epoch_ended).
            node.running += 1
            self.running += 1
            self.express_active = True
            while ready and done != limit:
                if (self.pause_requested or self.pending_raise is not None or self.run_error is not None
                        or not node.enabled or lane is not engine.quiet
                        or (max_parallel is not None and node.running > max_parallel)
                        or self.epoch_start_callbacks or node.start_callbacks):
                    break  # (start callbacks registered by a node function: the general path)
                run = ready.popleft()
                if type(run) is tuple:  # a waiting epoch: EpochRun(*item), inlined
                    item = run
                    run = _new(EpochRun)
                    run.id = eid = item[0]
                    run.node = node
                    run.pairs = item[2]
                    run.condition = item[3]
                    run.created = item[4]
                    run.seq = item[5]
                    run.attempt = 0
                    run.done = False
                    attempt = 0
                else:
                    eid = run.id
                    attempt = run.attempt
                runs[eid] = run
                run.executor = main
                run.started = _monotonic()
                lane.start(eid)
                run.in_engine = True
                ctx = _new(NodeExecutionContext)  # NodeExecutionContext._setup, inlined
                ctx._lane = lane
                ctx._lock = lock
                ctx._run = run
                ctx._node = node
                ctx._backend = self
                ctx._closed = None
                ctx.epoch_id = eid
                ctx.node_name = name
                ctx.packet_values = {}
                ctx._consumed = None
                if attempt:  # (a requeued epoch that failed before: not express today)
                    ctx.retry_count = attempt
                    ctx._retry_timestamps = run.retry_timestamps
                    ctx._retry_exceptions = run.retry_exceptions
                run.ctx = ctx
                pairs = run.pairs
                if len(pairs) == 1:
                    port, pid = pairs[0]
                    packets = {port: [PacketRef(pid)]}
                else:
                    packets = run.packets_by_port()
                target = _new(target_cls)  # PrintTarget(node.log, eid, ...), see PrintTarget.for_node
                target.epoch_id = eid
                token = set_target(target)
                lock.release()  # the function runs without the engine (its operations lock)
                try:
                    exec_func(ctx, packets)
                    exc = None
                except Exception as error:
                    exc = error
                finally:
                    reset_target(token)
                    lock.acquire()
                done += 1
                if run.ctx is not ctx or run.done:
                    # ended meanwhile (a control cancelled it): that end took a count the
                    # epoch never had of its own; give the round its count back
                    node.running += 1
                    self.running += 1
                    continue
                run.ctx = None
                ctx._closed = True
                ctx._lane = None
                if exc is None:
                    try:
                        if lane is engine.quiet:
                            lane.finish(eid)
                        else:  # the function installed a history: the finish is recorded
                            engine.finish_epoch(eid)
                    except (CannotFinishNonEmptyEpochError, UnsentOutputSalvoError) as error:
                        exc = self.incomplete_error(run, ctx, error)
                        exc.__cause__ = error
                    except Exception as error:  # (as _run_inline: the attempt failed)
                        exc = error
                if exc is not None:
                    node.running += 1
                    self.running += 1
                    lock.release()  # (failure handling may run user code: not under the engine)
                    try:
                        self._attempt_outcome(run, ctx, exc)
                    finally:
                        lock.acquire()
                    continue
                # _epoch_ended(run, SUCCESS), inlined (the driver is woken once, below)
                run.done = True
                runs.pop(eid, None)
                if self.periodic is not None or self.epoch_end_callbacks or node.end_callbacks:
                    lock.release()  # (checkpoints and end callbacks: not under the engine)
                    try:
                        if self.periodic is not None:
                            self.periodic.epoch_ended(self)
                        if self.epoch_end_callbacks or node.end_callbacks:
                            self._fire_end_callbacks(run, _SUCCESS, None)
                    finally:
                        lock.acquire()
        finally:
            self.express_active = False
            if lane is not None:  # the round's own count (never below zero: see _epoch_ended)
                if node.running > 0:
                    node.running -= 1
                if self.running > 0:
                    self.running -= 1
            lock.release()
            if done:
                self.wake()
        return done
