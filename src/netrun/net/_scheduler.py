"""The scheduler: the single async core behind every front door of ``Net``.

It owns the engine adapter, the per-node runtime records, the value store, output queues,
dead-letter queue, history and logs, and the executors ("where an epoch runs"). One
``drive`` coroutine at a time runs the net on whatever event loop awaits it: the caller's
loop for the async methods, the net's private loop thread for the sync ones.

How a run proceeds (``drive``):

1. ``advance``: the engine moves packets and fires input salvo conditions until it is
   blocked (so packets injected onto one port all get their epochs *before* any starts:
   eight packets and ``max_parallel_epochs=4`` start four epochs at once);
2. ``launch_ready``: start every startable epoch its node's limits allow (exec function
   set, ``max_parallel_epochs``, ``rate_limit_per_second``, pool capacity). Sync nodes on the
   main loop run inline, without a task; others go to their executor;
3. wait until an attempt completes, an injection arrives, a rate-limit timer fires or a
   pause is requested; repeat. The run ends when nothing runs and nothing can start
   ("blocked"), or after a pause once running epochs have finished.

The epoch lifecycle (attempts, commit, retries, failure) is in ``_lifecycle.py``; the
operations a node context performs live are in ``_live_ops.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from typing import Any, Callable, Optional

from netrun._util.aio import on_loop_thread
from netrun._util.callables import is_async_callable
from netrun.errors import NetStateError, NodeConfigError, NodeNotFoundError
from netrun.net._engine import Engine
from netrun.net._express import ExpressMixin
from netrun.net._executors import MainLoopExecutor, ThreadPoolExecutor
from netrun.net._pool_choice import pick_executor, pool_size
from netrun.net._lifecycle import LifecycleMixin
from netrun.net._live_ops import LiveOpsMixin
from netrun.net._node_functions import NodeFunctionsMixin
from netrun.net._observability import Observability
from netrun.net._controls import setup_controls
from netrun.net._records import EpochRun, NodeRuntime, waiting_state
from netrun.net._requests import IdleRequests, check_request_config
from netrun.net._signals import setup_signals
from netrun.net.logs import inject_print
from netrun.net.options import NodeConfig
from netrun.net.state import NetState

__all__ = ["Scheduler", "ADVANCE_BATCH"]

# Most epochs created per engine advance while running (see _drive_loop).
ADVANCE_BATCH = 256


class Scheduler(ExpressMixin, LifecycleMixin, LiveOpsMixin, NodeFunctionsMixin):
    """See the module docstring. Built by a ``Net`` front door; not public API."""

    def __init__(self, graph: Any, *, net: Any, store: Any, dlq: Any, history: Any, logs: Any,
                 types: Any, queues: Any, on_error: str, error_callback: Optional[Callable[..., Any]],
                 thread_pools: Optional[dict[str, dict]] = None,
                 process_pools: Optional[dict[str, dict]] = None,
                 flush_history_on_pause: bool = True,
                 pools: Optional[dict[str, Any]] = None) -> None:
        self.engine = Engine(graph)
        self.engine.history = history
        self.watch_lanes()  # express epochs (_express.py)
        self.info = self.engine.info
        self.locate = self.engine.packet_location
        # a weak reference: workers and finalizers hold the scheduler, not the Net
        self._net_ref = weakref.ref(net) if net is not None else (lambda: None)
        self.store = store
        self.dlq = dlq
        self.history = history
        self.logs = logs
        self.types = types
        self.queues = queues
        self.on_error = on_error
        self.error_callback = error_callback
        self.error_callback_async = error_callback is not None and is_async_callable(error_callback)
        self.flush_history_on_pause = flush_history_on_pause
        self.nodes: dict[str, NodeRuntime] = {
            name: NodeRuntime(name, self.info.in_ports[name], self.info.out_ports[name],
                              self.info.out_conditions[name])
            for name in self.info.node_names
        }
        connected = self.info.connected_outputs
        for node in self.nodes.values():
            node.log = logs.get_log(node.name)
            node.may_orphan = any((node.name, p) not in connected for p in node.out_ports)
        # signals and controls: ``None`` (and no per-epoch work) unless some node has them
        self.signals = setup_signals(self)
        self.controls = setup_controls(self, self.info.in_conditions)
        self.pending_controls: deque = deque()  # control epochs, applied before launching
        self.target_holds: Optional[dict[str, bool]] = None  # see _targets.py
        check_request_config(graph)
        self.idle_requests = IdleRequests.of(self)  # on_no_salvo_triggered nodes, else None
        types.add_listener(self._refresh_types)
        self.main = MainLoopExecutor(self)
        self.executors: dict[str, Any] = {"main": self.main}
        self.pool_turns: dict[str, int] = {}  # round-robin position of nodes with several pools
        for name, spec in (thread_pools or {}).items():
            self.executors[name] = ThreadPoolExecutor(self, name, pool_size(name, spec))
        if process_pools or pools:  # out-of-process pools run through the ExecutionManager
            from netrun.net._pool_executor import build_pool_executors

            build_pool_executors(self, process_pools, pools)
        for node in self.nodes.values():
            node.executors = [self.main]
        # run state
        self.state = NetState.CREATED
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.runs: dict[str, EpochRun] = {}
        self.ready_nodes: dict[str, None] = {}
        self.running = 0
        self.pause_requested = False
        self.pending_raise: Optional[BaseException] = None
        self.driving = False
        self.started = False
        self.tasks: set[asyncio.Task] = set()
        self._wakeup: Optional[asyncio.Event] = None
        self._waiting = False
        self._done: deque = deque()
        self._drain_scheduled = False
        self.idle = threading.Event()
        self.idle.set()
        self._idle_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self.epoch_start_callbacks: list[Callable[..., Any]] = []
        self.epoch_end_callbacks: list[Callable[..., Any]] = []
        self.run_error: Optional[BaseException] = None
        self.periodic: Any = None  # periodic checkpoints (_periodic_checkpoint.py), None when off
        self.storage: Any = None  # net-level cache / file / value storage (_storage_epochs.py)
        # config front door hooks (_compat_policy.py); None unless a NetConfig sets them
        self.failure_policy: Any = None
        self.undeclared: Any = None
        self.on_started: Optional[Callable[[], Any]] = None
        # observability (net actions, epoch logs); flush_actions is None unless net
        # actions are wanted, and is then called once per propagation round
        self.observe = Observability(self)
        self.flush_actions: Optional[Callable[[], None]] = None

    @property
    def net(self) -> Any:
        """The ``Net`` front door (given to start/stop functions and ``ctx._net``)."""
        return self._net_ref()

    def close_now(self) -> None:
        """Best-effort synchronous release of worker threads/processes (for finalizers)."""
        for executor in self.executors.values():
            close = getattr(executor, "close_now", None)
            if close is not None:
                close()

    # ================================================================== node setup
    def node(self, name: str) -> NodeRuntime:
        """The runtime record of a node (``NodeNotFoundError`` naming the known nodes)."""
        node = self.nodes.get(name)
        if node is None:
            raise NodeNotFoundError(
                f"Node not found: {name!r}. The graph's nodes are: {', '.join(sorted(self.nodes)) or 'none'}"
            )
        return node

    def check_not_running(self, what: str) -> None:
        if self.driving:
            raise NetStateError(
                f"Cannot {what} while the net is running; call net.pause() (or wait until "
                f"net.start() returns) first"
            )
        if self.state is NetState.STOPPED:
            raise NetStateError(f"Cannot {what}: the net is stopped; build a new Net")

    def set_node_exec(self, name: str, exec_func: Any, start_func: Any, stop_func: Any,
                      failed_func: Any) -> None:
        node = self.node(name)
        self.check_not_running(f"set the functions of node '{name}'")
        for label, func in (("exec_node_func", exec_func), ("start_node_func", start_func),
                            ("stop_node_func", stop_func), ("exec_failed_node_func", failed_func)):
            if func is not None and not callable(func):
                raise NodeConfigError(
                    f"{label} of node '{name}' must be callable, got {type(func).__name__}"
                )
        node.set_funcs(exec_func, start_func, stop_func, failed_func)
        node.started_funcs = False
        for func in (exec_func, start_func, stop_func, failed_func):
            if func is not None and node.capture:
                inject_print(func)
        self._validate_pool_mode(node, node.config)
        node.ready.clear()
        self.ready_nodes.pop(name, None)
        if exec_func is not None:
            # every epoch of the node that has not started (also those that waited for a
            # function) becomes ready, in creation order
            waiting = [r for r in self.runs.values()
                       if (r[1] == name if type(r) is tuple else (r.node is node and not r.started))]
            waiting.sort(key=lambda r: r[5] if type(r) is tuple else r.seq)
            node.ready.extend(waiting)
            if node.ready:
                self.ready_nodes[name] = None

    def set_node_config(self, name: str, options: dict[str, Any]) -> NodeConfig:
        node = self.node(name)
        self.check_not_running(f"change the options of node '{name}'")
        config = node.config.merged(**options)
        executors = []
        for pool in config.pools:
            executor = self.executors.get(pool)
            if executor is None:
                known = [p for p in self.executors if p != "main"]
                raise NodeConfigError(
                    f"Node '{name}' uses pool {pool!r}, which is not defined; defined pools: "
                    f"{', '.join(known) or 'none'} (define pools with Net(..., "
                    f"thread_pools={{{pool!r}: {{'size': 4}}}}))"
                )
            executors.append(executor)
        self._validate_pool_mode(node, config)
        node.apply_config(config)
        if config.storage is not None or node.storage is not None or self.storage is not None:
            from netrun.net._storage_epochs import refresh_node_storage

            refresh_node_storage(self, node)
        node.executors = executors or [self.main]
        if node.capture:
            for func in (node.exec_func, node.start_func, node.stop_func, node.failed_func):
                if func is not None:
                    inject_print(func)
        return config

    def _validate_pool_mode(self, node: NodeRuntime, config: NodeConfig) -> None:
        pools = [self.executors[p] for p in config.pools if p in self.executors]
        if config.pool_init_mode == "global" and any(not p.in_process for p in pools):
            kind = next(p.kind for p in pools if not p.in_process)
            raise NodeConfigError(
                f"Node '{node.name}': pool_init_mode='global' is only possible for thread "
                f"pools; a {kind} pool runs start functions once per worker process"
            )

    def _refresh_types(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is not None:
            node.in_types = self.types.compiled("in", name)
            node.out_types = self.types.compiled("out", name)

    # ================================================================== queries
    def running_epoch(self, epoch_id: str) -> Optional[EpochRun]:
        run = self.runs.get(epoch_id)
        return run if run is not None and type(run) is not tuple and run.started else None

    def startable_ids(self, node: Optional[str] = None) -> list[str]:
        runs = tuple(self.runs.values())  # a snapshot: the loop thread may be adding epochs
        out = []
        for r in runs:
            if type(r) is tuple:
                if node is None or r[1] == node:
                    out.append(r[0])
            elif not r.started and (node is None or r.node.name == node):
                out.append(r.id)
        return out

    def node_of(self, epoch_id: str) -> Optional[str]:
        """The node of an epoch the runtime knows (startable or running)."""
        run = self.runs.get(epoch_id)
        if run is None:
            return None
        return run[1] if type(run) is tuple else run.node.name

    def snapshot_state(self) -> dict[str, Any]:
        """The run state as plain data, for checkpoints: the engine's own snapshot (when the
        engine offers ``NetSim.snapshot()``), the epochs the runtime knows, the packet values
        (raw entries: values or ``StoredValue``) and the output queues. Only while paused."""
        if self.driving:
            from netrun.errors import NetNotPausedError

            raise NetNotPausedError("snapshot the net state")
        sim = self.engine.sim
        with self.engine.lock:
            return {
                "engine": sim.snapshot() if hasattr(sim, "snapshot") else None,
                "epochs": [waiting_state(r) if type(r) is tuple else r.to_state()
                           for r in self.runs.values()],
                "values": {pid: self.store.peek_entry(pid) for pid in self.store.active_ids()},
                "output_queues": self.queues.snapshot() if self.queues is not None else {},
                "state": self.state.name,
            }

    # ================================================================== waking up
    def wake(self) -> None:
        """Wake the driver (loop thread only)."""
        if self._waiting and self._wakeup is not None:
            self._wakeup.set()

    def wake_threadsafe(self) -> None:
        """Wake the driver from any thread."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            if on_loop_thread(loop):
                self.wake()
            else:
                loop.call_soon_threadsafe(self.wake)
        except RuntimeError:
            pass

    def post_done(self, run: EpochRun, ctx: Any, exc: Optional[BaseException], payload: Any = None) -> None:
        """Report a finished attempt from a worker thread (wake-ups are batched)."""
        self._done.append((run, ctx, exc, payload))
        if not self._drain_scheduled:
            self._drain_scheduled = True
            try:
                self.loop.call_soon_threadsafe(self._drain_done)  # type: ignore[union-attr]
            except RuntimeError:
                self._drain_scheduled = False

    def _drain_done(self) -> None:
        self._drain_scheduled = False
        done = self._done
        while done:
            run, ctx, exc, payload = done.popleft()
            try:
                self.attempt_done(run, ctx, exc, payload)
            except Exception as error:
                self.internal_error(error)

    def internal_error(self, error: BaseException) -> None:
        """An unexpected error in a loop callback: end the run with it instead of hanging."""
        if self.run_error is None:
            self.run_error = error
        self.pause_requested = True
        # the run cannot account for its epochs any more: let it end (the counters restart
        # from zero, and epochs still in flight never take them below it)
        self.running = 0
        for node in self.nodes.values():
            node.running = 0
        self.tasks.clear()
        self.wake()

    def spawn(self, coro: Any) -> asyncio.Task:
        """A task the driver waits for before the run can end (failure handling, async
        callbacks)."""
        task = self.loop.create_task(coro)  # type: ignore[union-attr]
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # a bug in failure handling or a callback task: the epoch it was handling can
            # no longer be accounted for, so end the run with the error instead of waiting
            # for that epoch forever
            self.internal_error(task.exception())
            return
        self.wake()

    def request_pause(self) -> None:
        """Finish running epochs, start no new ones (thread-safe)."""
        self.pause_requested = True
        self.wake_threadsafe()

    def work_arrived(self) -> None:
        """Something new may be startable (injection from any thread)."""
        self.idle.clear()
        self.wake_threadsafe()

    def _set_idle(self) -> None:
        self.idle.set()
        waiters, self._idle_waiters = self._idle_waiters, []
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_resolve, fut)
            except RuntimeError:
                pass

    async def wait_idle(self, timeout: Optional[float] = None) -> bool:
        """Wait (from any loop) until the net is blocked or no run is active."""
        if self.idle.is_set():
            return True
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._idle_waiters.append((loop, fut))
        if self.idle.is_set():
            return True
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except asyncio.TimeoutError:
            return False

    # ================================================================== driving
    def claim(self) -> None:
        """Mark the net as running (synchronously, from any thread) before a run is
        scheduled, so that a pause requested right after start is not lost and a second
        run is refused at once."""
        if self.state is NetState.STOPPED:
            raise NetStateError("The net is stopped and cannot run again; build a new Net")
        if self.driving:
            raise NetStateError(
                "The net is already running (a background run or another run call); wait for "
                "it with net.wait_until_blocked() or call net.pause() first"
            )
        self.driving = True
        self.pause_requested = False
        self.pending_raise = None
        self.run_error = None
        self.idle.clear()
        self.state = NetState.RUNNING

    async def drive(self, mode: str, claimed: bool = False, body: Optional[Callable[[], Any]] = None) -> bool:
        """Run the net: ``"step"`` (one step), ``"until_blocked"`` or ``"background"`` (keep
        waiting for new work until paused). Returns whether any epoch was started.
        ``body``: a coroutine function run instead of the mode (``execute_epoch``, ``init``)."""
        if not claimed:
            self.claim()
        self.loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        any_started = False
        try:
            await self.ensure_started()
            if body is not None:
                any_started = bool(await body())
            elif mode == "step":
                any_started = await self._drive_step()
            else:
                any_started = await self._drive_loop(mode == "background")
        finally:
            if self.flush_actions is not None:
                self.flush_actions()
            self.driving = False
            if self.state is NetState.RUNNING:
                self.state = NetState.PAUSED
            if self.history is not None and self.flush_history_on_pause:
                self.history.flush()
            if self.periodic is not None:
                self.periodic.run_ended(self)
            self._set_idle()
        if self.run_error is not None:
            error, self.run_error = self.run_error, None
            raise error
        if self.pending_raise is not None:
            error, self.pending_raise = self.pending_raise, None
            raise error
        return any_started

    async def _wait(self) -> None:
        self._waiting = True
        try:
            await self._wakeup.wait()  # type: ignore[union-attr]
        finally:
            self._waiting = False
            self._wakeup.clear()  # type: ignore[union-attr]

    def _should_stop(self) -> bool:
        return self.pause_requested or self.pending_raise is not None or self.run_error is not None

    async def _drain(self) -> None:
        while self.running or self.tasks:
            await self._wait()

    async def _drive_loop(self, background: bool) -> bool:
        started_any = False
        while True:
            if self._should_stop():
                await self._drain()
                return started_any
            if self.periodic is not None:
                self.periodic.maybe_take(self)
            # Epochs are created in bounded batches: a big injection then flows through the
            # net in waves instead of creating every epoch first, which keeps the number of
            # live objects (and so the garbage collector's work) proportional to the batch.
            self.advance(ADVANCE_BATCH)
            launched = self.launch_ready()
            if self.flush_actions is not None:
                self.flush_actions()
            if launched:
                started_any = True
                continue
            if self.engine.dirty:
                continue
            if self.running == 0 and not self.tasks and not self._done:
                if self.idle_requests is not None and self.idle_requests.poke():
                    continue  # a node still waiting for input requested it again
                if not self._rate_limited_waiting():
                    if self.periodic is not None:  # blocked: checkpoint what is done
                        self.periodic.idle(self)
                    self._set_idle()
                    if not background:
                        return started_any
            await self._wait()

    async def _drive_step(self) -> bool:
        self.advance()
        if self.pending_controls:  # controls go before any data epoch
            self.controls.apply_pending()
        nodes = self.nodes
        budget = {name: len(nodes[name].ready) for name in self.ready_nodes if nodes[name].enabled}
        started_any = False
        while budget and not self._should_stop():
            started_any |= self.launch_ready(budget) > 0
            if budget:
                await self._wait()
        await self._drain()
        return started_any

    def _rate_limited_waiting(self) -> bool:
        return any(self.nodes[n].rate_timer is not None for n in self.ready_nodes)

    def advance(self, limit: Optional[int] = None) -> None:
        """Let the engine run until blocked (or until ``limit`` new epochs) and index the
        epochs it created."""
        created = self.engine.advance(limit, time.monotonic())  # waiting-epoch tuples
        if not created:
            return
        nodes = self.nodes
        runs = self.runs
        ready_nodes = self.ready_nodes
        for item in created:
            name = item[1]
            runs[item[0]] = item
            node = nodes[name]
            if node.controls is not None and item[3] in node.controls:
                self.pending_controls.append(item)  # applied inline, see _controls.py
                continue
            if node.exec_func is not None:
                node.ready.append(item)
                ready_nodes[name] = None

    def launch_ready(self, budget: Optional[dict[str, int]] = None) -> int:
        """Start every ready epoch the limits allow; returns how many started."""
        if self.pending_controls:  # controls go before any data epoch
            self.controls.apply_pending()
        launched = 0
        loop = self.loop
        main = self.main
        runs = self.runs
        launch = self.launch
        for name in list(self.ready_nodes):
            node = self.nodes[name]
            if not node.enabled:
                continue
            ready = node.ready
            limit = budget.get(name, 0) if budget is not None else -1
            executors = node.executors
            single = executors[0] if len(executors) == 1 else None
            if single is main and ready and self.express_ok(node):
                done = self.run_express(node, limit)  # the common case, flattened (_express.py)
                if done > 0:
                    launched += done
                    if limit > 0:
                        limit -= done
            max_parallel = node.max_parallel
            while ready and limit != 0:
                if self.pause_requested or self.pending_raise is not None or self.run_error is not None:
                    return launched
                if max_parallel is not None and node.running >= max_parallel:
                    break
                if node.rate_interval:
                    now = loop.time()  # type: ignore[union-attr]
                    if now < node.next_start:
                        if node.rate_timer is None:
                            node.rate_timer = loop.call_at(node.next_start, self._rate_ready, node)  # type: ignore[union-attr]
                        break
                    node.next_start = max(node.next_start, now) + node.rate_interval
                if single is main:
                    executor = main  # the loop always has room
                elif single is not None:
                    executor = single if single.has_capacity(node) else None
                else:
                    executor = self._pick_executor(node)
                if executor is None:
                    break
                run = ready.popleft()
                if type(run) is tuple:
                    run = EpochRun(run[0], node, run[2], run[3], run[4], run[5])
                    runs[run.id] = run
                launch(run, executor)
                launched += 1
                if limit > 0:
                    limit -= 1
            if budget is not None:
                if limit == 0 or not ready:
                    budget.pop(name, None)
                else:
                    budget[name] = limit
            if not ready:
                self.ready_nodes.pop(name, None)
        return launched

    def _rate_ready(self, node: NodeRuntime) -> None:
        node.rate_timer = None
        self.wake()

    def _pick_executor(self, node: NodeRuntime) -> Any:
        return pick_executor(self.pool_turns, node)


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)
