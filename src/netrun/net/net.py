"""``Net``: run a ``netrun_sim`` graph with real node functions (the PROJECT_SPEC front door).

>>> net = Net(graph)                                    # doctest: +SKIP
>>> net.set_node_exec("Double", double)                 # doctest: +SKIP
>>> net.inject_data("Double", "in", [1, 2, 3])          # doctest: +SKIP
>>> net.start()                                         # run until blocked
>>> net.flush_output_queue("Double::out")               # doctest: +SKIP
[2, 4, 6]

The class is a thin facade: the scheduler (``_scheduler.py``) is the single async core,
shared with the config-driven front door. Sync methods run it on a private event loop
thread kept for the net's lifetime; ``async_*`` methods run it on the caller's loop.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from netrun_sim import Graph

from netrun.errors import InputPortNotFoundError, NodeConfigError, OutputPortNotFoundError
from netrun.net._compat_api import CompatMethods, net_from_config
from netrun.net._loop import LoopThread, SigintPause
from netrun.net._observability import NetObservabilityMethods
from netrun.config.runtime import controls_first
from netrun.net._controls import ControlMethods
from netrun.net._requests import RequestMethods
from netrun.net._run_methods import RunMethods
from netrun.net._targets import TargetMethods
from netrun.net._scheduler import Scheduler
from netrun.net.definition import NetDefinitionMethods
from netrun.net.checkpoint import NetCheckpointMethods
from netrun.net.dlq import DeadLetterQueue
from netrun.net.history import EventHistory
from netrun.net.logs import NodeLogEntry, NodeLogManager
from netrun.net.options import NodeConfig, NodeExecFuncs
from netrun.net.output_queues import OutputQueues, queue_name_for
from netrun.net.port_types import PortTypeRegistry
from netrun.net.state import NetState
from netrun.storage.values import PacketValueStore

__all__ = ["Net", "DEFAULT_HISTORY_MAX_SIZE"]

# In-memory history keeps the most recent entries (a 3-node pipeline makes ~50 entries
# per packet); ``history_file`` keeps everything, ``history_max_size`` changes the bound.
# Holding engine events in memory costs garbage-collector time, hence a modest default.
DEFAULT_HISTORY_MAX_SIZE = 1_000
_ON_ERROR = ("continue", "pause", "raise")
_MISSING: Any = object()


def _release(loop_thread: LoopThread, core: Scheduler) -> None:
    """Finalizer of a Net that was never stopped: free its threads and processes."""
    core.close_now()
    loop_thread.close(1.0)


def _pick(spec_name: str, spec_value: Any, short_name: str, short_value: Any) -> Any:
    if spec_value is not None and short_value is not None:
        raise TypeError(f"Pass either {spec_name} or {short_name}, not both")
    return spec_value if spec_value is not None else short_value


class Net(CompatMethods, RunMethods, NetDefinitionMethods, NetCheckpointMethods, ControlMethods, RequestMethods, TargetMethods, NetObservabilityMethods):
    """A running instance of a graph: node functions, packet values, scheduling, errors,
    history and logs. See PROJECT_SPEC "The Net Class" for the options.

    Extensions over the original keywords: ``history`` (``True``/``False`` forces the event
    history on/off; by default it is on when ``history_file`` or ``history_max_size`` is
    given, bounded to the last 1,000 entries in memory unless ``history_max_size`` says
    otherwise), ``output_queues`` (``True``: a queue
    ``"node::port"`` for every unconnected output port; ``False``: none; or a list of
    ``"node::port"`` names), ``node_log_max_entries``, ``handle_sigint`` and ``pools``
    (pools of every kind, including remote pool servers and Dask clusters:
    ``pools={"far": {"type": "remote", "url": "ws://host:8765"}}``; see
    ``netrun.net._pool_specs``).

    Storage and checkpoints: ``storage`` (a :class:`~netrun.storage.config.StorageConfig`
    or dict: named backends, the epoch cache, value storage; see
    ``netrun.net._storage_epochs``); ``checkpoint_path`` with ``checkpoint_every_epochs`` /
    ``checkpoint_every_seconds`` (and ``checkpoint_storage_options`` for an fsspec URL)
    take periodic checkpoints of the running net; epochs in flight at a checkpoint run
    again after a resume (see ``netrun.net._periodic_checkpoint``).

    Observability (the published 0.5.0 names): ``retain_epoch_logs`` / ``retain_net_action_logs``
    keep every :class:`EpochLog` / ``NetActionLog`` in ``net.epoch_logs`` /
    ``net.net_action_log`` (memory grows with the run; ``on_epoch_end`` / ``on_net_actions``
    callbacks, ``netrun.logging`` back-ends and ``net.logs`` need no retention);
    ``node_vars={"node": {"name": value}}`` sets what ``ctx.vars`` returns.
    """

    def __init__(
        self,
        graph: Graph,
        *,
        consumed_packet_storage: bool = False,
        consumed_packet_storage_limit: Optional[int] = None,
        packet_storage_path: Optional[str | Path] = None,
        thread_pools: Optional[dict[str, dict]] = None,
        process_pools: Optional[dict[str, dict]] = None,
        on_error: str = "pause",
        error_callback: Optional[Callable[..., Any]] = None,
        dead_letter_queue: Any = "memory",
        dead_letter_path: Optional[str | Path] = None,
        dead_letter_callback: Optional[Callable[..., Any]] = None,
        history_max_size: Optional[int] = None,
        history_file: Optional[str | Path] = None,
        history_chunk_size: int = 100,
        history_flush_on_pause: bool = True,
        history: Optional[bool] = None,
        retain_epoch_logs: bool = False,
        retain_net_action_logs: bool = False,
        node_vars: Optional[dict[str, Any]] = None,
        output_queues: Any = True,
        node_log_max_entries: Optional[int] = None,
        handle_sigint: bool = True,
        run_init_nodes: bool = True,
        pools: Optional[dict[str, Any]] = None,
        storage: Any = None,
        checkpoint_path: Any = None,
        checkpoint_every_epochs: Optional[int] = None,
        checkpoint_every_seconds: Optional[float] = None,
        checkpoint_storage_options: Optional[dict] = None,
    ) -> None:
        if not isinstance(graph, Graph):  # Net(NetConfig | path): the config front door
            net_from_config(self, graph, {k: v for k, v in locals().items() if k not in ("self", "graph")},
                            Net.__init__)
            return
        # Kept for save_definition (the options a definition file records).
        self._init_options = {k: v for k, v in locals().items() if k not in ("self", "graph")}
        self._definition: Any = None
        if on_error not in _ON_ERROR:
            raise NodeConfigError(f"on_error must be one of {_ON_ERROR}, got {on_error!r}")
        if error_callback is not None and not callable(error_callback):
            raise NodeConfigError("error_callback must be callable(exception, node_name, epoch_id)")
        for group, kind in ((thread_pools, "thread_pools"), (process_pools, "process_pools")):
            if group is not None and not isinstance(group, dict):
                raise NodeConfigError(f"{kind} must be a dict like {{'io': {{'size': 4}}}}, got {group!r}")
        overlap = set(thread_pools or ()) & set(process_pools or ())
        if overlap or "main" in set(thread_pools or ()) | set(process_pools or ()):
            raise NodeConfigError(
                f"Pool names must be unique and not 'main' (the event loop); clashing: "
                f"{sorted(overlap | ({'main'} & (set(thread_pools or ()) | set(process_pools or ()))))}"
            )
        graph = controls_first(graph)  # waiting controls fire before waiting data (_controls.py)
        self._graph = graph
        self._value_store = PacketValueStore(consumed_packet_storage, consumed_packet_storage_limit,
                                             packet_storage_path)
        if dead_letter_queue == "callback" or callable(dead_letter_queue):
            self._dlq = DeadLetterQueue("callback", None, dead_letter_callback
                                        if dead_letter_queue == "callback" else dead_letter_queue)
        else:
            self._dlq = DeadLetterQueue(dead_letter_queue, dead_letter_path, dead_letter_callback)
        enabled = history if history is not None else (history_file is not None or history_max_size is not None)
        self._history: Optional[EventHistory] = (
            EventHistory(DEFAULT_HISTORY_MAX_SIZE if history_max_size is None else history_max_size,
                         history_file, history_chunk_size, history_flush_on_pause)
            if enabled else None
        )
        self._logs = NodeLogManager(node_log_max_entries)
        self._types = PortTypeRegistry()
        self._queues = OutputQueues()
        self._core = Scheduler(
            graph, net=self, store=self._value_store, dlq=self._dlq, history=self._history,
            logs=self._logs, types=self._types, queues=self._queues, on_error=on_error,
            error_callback=error_callback, thread_pools=thread_pools, process_pools=process_pools,
            flush_history_on_pause=history_flush_on_pause, pools=pools,
        )
        self._setup_output_queues(output_queues)
        if storage is not None:  # epoch cache, file / value storage (_storage_epochs.py)
            from netrun.net._storage_epochs import attach_net_storage

            attach_net_storage(self._core, storage)
        if checkpoint_path is not None:  # periodic checkpoints (_periodic_checkpoint.py)
            from netrun.net._periodic_checkpoint import PeriodicCheckpointer

            self._core.periodic = PeriodicCheckpointer(
                self, checkpoint_path, checkpoint_every_epochs, checkpoint_every_seconds,
                storage_options=checkpoint_storage_options)
        self._core.observe.set_retention(retain_epoch_logs, retain_net_action_logs)
        for name, variables in (node_vars or {}).items():
            self.set_node_vars(name, variables)
        self._loop_thread = LoopThread(f"netrun-loop-{id(self):x}")
        core = self._core
        self._sigint = SigintPause(core.request_pause, lambda: core.driving) if handle_sigint else None
        self._background = None
        self._pool_manager: Any = None
        weakref.finalize(self, _release, self._loop_thread, self._core)

    def _setup_output_queues(self, spec: Any) -> None:
        unconnected = self._core.info.unconnected_outputs()
        if spec is True:
            for node, port in unconnected:
                self._queues.add(node, port)
            return
        if spec is False or spec is None:
            return
        names = spec.items() if isinstance(spec, dict) else ((s, None) for s in spec)
        for key, name in names:
            node, _, port = key.partition("::") if isinstance(key, str) else (key[0], "", key[1])
            if (node, port) not in unconnected:
                raise NodeConfigError(
                    f"Output queue {key!r}: there is no unconnected output port '{port}' on node "
                    f"'{node}'; unconnected output ports: "
                    f"{', '.join(queue_name_for(n, p) for n, p in unconnected) or 'none'}"
                )
            self._queues.add(node, port, name)

    # ------------------------------------------------------------------ properties
    @property
    def graph(self) -> Graph:
        """The graph the net was built from."""
        return self._graph

    @property
    def state(self) -> NetState:
        """The lifecycle state (:class:`NetState`)."""
        return self._core.state

    @property
    def dead_letter_queue(self) -> DeadLetterQueue:
        """Epochs that failed for good, with their packets and values."""
        return self._dlq

    @property
    def value_store(self) -> PacketValueStore:
        """Packet values."""
        return self._value_store

    @property
    def event_history(self) -> Optional[EventHistory]:
        """The event history (``None`` when history is off)."""
        return self._history

    @property
    def node_log_manager(self) -> NodeLogManager:
        """Per-node logs (captured prints, failures)."""
        return self._logs

    @property
    def port_type_registry(self) -> PortTypeRegistry:
        """Port types."""
        return self._types

    @property
    def pool_manager(self) -> Any:
        """The net's pools (:class:`~netrun.net.pools.PoolManager`)."""
        if self._pool_manager is None:
            from netrun.net.pools import PoolManager

            self._pool_manager = PoolManager._of_net(self)
        return self._pool_manager

    @classmethod
    def serve_pool(cls, config_or_path: Any, host: str = "127.0.0.1", port: int = 8080, *,
                   log_file: Optional[str] = None, worker_name: str = "execution_manager",
                   token: Optional[str | bytes] = None, certfile: Optional[str] = None,
                   keyfile: Optional[str] = None) -> Any:
        """A pool server for a net definition (``NetConfig`` or file path), for the nets
        whose remote pools point at it. Returns a context: ``await start()``, ``await
        stop()``, ``await wait_until_stopped()`` (until a client's
        :meth:`request_pool_shutdown`), or ``async with``. Binds loopback unless ``host``
        says otherwise; needs ``token`` (or ``NETRUN_REMOTE_TOKEN``); ``log_file`` (JSON
        lines) records each job's outcome and prints. See ``netrun.net._serve_pool``."""
        from netrun.net._serve_pool import PoolServerContext

        return PoolServerContext(config_or_path, host, port, log_file=log_file, worker_name=worker_name,
                                 token=token, certfile=certfile, keyfile=keyfile)

    async def request_pool_shutdown(self, pool_id: str, timeout: float = 10.0) -> None:
        """Ask the server of remote pool ``pool_id`` to stop serving (its
        ``wait_until_stopped()`` returns). ``TypeError`` for a pool that is not remote,
        ``UnknownPool`` for a name the net does not define."""
        from netrun.net._serve_pool import request_pool_shutdown

        await request_pool_shutdown(self._core, pool_id, timeout)

    # ------------------------------------------------------------------ node setup
    def set_node_exec(self, node_name: str, exec_node_func: Optional[Callable[..., Any]] = None,
                      start_node_func: Optional[Callable[..., Any]] = None,
                      stop_node_func: Optional[Callable[..., Any]] = None,
                      exec_failed_node_func: Optional[Callable[..., Any]] = None, *,
                      exec_func: Optional[Callable[..., Any]] = None,
                      start_func: Optional[Callable[..., Any]] = None,
                      stop_func: Optional[Callable[..., Any]] = None,
                      failed_func: Optional[Callable[..., Any]] = None) -> None:
        """Register a node's functions (replacing earlier ones). Each may be sync or async.

        ``exec_node_func(ctx, packets)``, ``start_node_func(net)``, ``stop_node_func(net)``,
        ``exec_failed_node_func(failure_ctx)``. The original implementation's short keyword
        names (``exec_func``, ``start_func``, ``stop_func``, ``failed_func``) work too.
        Raises ``NetStateError`` while the net is running.

        Start functions run once per net lifetime, when the net first runs (once per worker
        of the node's pool, or once in all with ``pool_init_mode="global"``); stop functions
        run once, at ``net.stop()`` (or when leaving ``with Net(...)``). A function given
        here is not called at registration.
        """
        self._core.set_node_exec(
            node_name,
            _pick("exec_node_func", exec_node_func, "exec_func", exec_func),
            _pick("start_node_func", start_node_func, "start_func", start_func),
            _pick("stop_node_func", stop_node_func, "stop_func", stop_func),
            _pick("exec_failed_node_func", exec_failed_node_func, "failed_func", failed_func),
        )

    def get_node_exec_funcs(self, node_name: str) -> Optional[NodeExecFuncs]:
        """The functions registered for a node, or ``None``."""
        node = self._core.node(node_name)
        funcs = (node.exec_func, node.start_func, node.stop_func, node.failed_func)
        return NodeExecFuncs(*funcs) if any(f is not None for f in funcs) else None

    def set_node_config(self, node_name: str, **options: Any) -> None:
        """Merge options into the node's :class:`NodeConfig` (see PROJECT_SPEC "Node
        Configuration"). Unknown options or invalid values raise ``NodeConfigError`` (a
        ``ValueError``); so does ``retries > 0`` without ``defer_net_actions=True``."""
        self._core.set_node_config(node_name, options)

    def get_node_config(self, node_name: str) -> NodeConfig:
        """The node's options."""
        return self._core.node(node_name).config

    def _check_port(self, node_name: str, port_name: str, side: str) -> None:
        node = self._core.node(node_name)
        ports = node.in_ports if side == "in" else node.out_ports
        if port_name not in ports:
            cls = InputPortNotFoundError if side == "in" else OutputPortNotFoundError
            kind = "input" if side == "in" else "output"
            raise cls(f"Node '{node_name}' has no {kind} port {port_name!r}; its {kind} ports are: "
                      f"{', '.join(ports) or 'none'}")

    def set_input_port_type(self, node_name: str, port_name: str, type_spec: Any) -> None:
        """Type checked when a packet from this input port is consumed (``None`` clears)."""
        self._check_port(node_name, port_name, "in")
        self._types.set_input_port_type(node_name, port_name, type_spec)

    def set_output_port_type(self, node_name: str, port_name: str, type_spec: Any) -> None:
        """Type checked when a packet is loaded into this output port (``None`` clears)."""
        self._check_port(node_name, port_name, "out")
        self._types.set_output_port_type(node_name, port_name, type_spec)

    def get_input_port_type(self, node_name: str, port_name: str) -> Any:
        """The raw type spec of an input port, or ``None``."""
        return self._types.get_input_port_type(node_name, port_name)

    def get_output_port_type(self, node_name: str, port_name: str) -> Any:
        """The raw type spec of an output port, or ``None``."""
        return self._types.get_output_port_type(node_name, port_name)

    # ------------------------------------------------------------------ putting work in
    def inject_source_epoch(self, node_name: str) -> str:
        """Queue one execution of a node with an empty input salvo (``packets == {}``); this
        is how source nodes (no input ports) run. Returns the epoch ID. Thread-safe."""
        self._check_open("inject an epoch")
        return self._core.inject_epoch(node_name)

    def inject_data(self, node_name: str, port_name: str, values: Iterable[Any]) -> list[str]:
        """Put values onto an input port as new packets (one per value); returns their IDs.
        Thread-safe; a background run picks them up at once."""
        self._check_open("inject data")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(
                f"inject_data takes an iterable of values (one packet each), got "
                f"{type(values).__name__}; wrap a single value in a list"
            )
        return self._core.inject_values(node_name, port_name, list(values))

    def _check_open(self, what: str) -> None:
        if self._core.state is NetState.STOPPED:
            from netrun.errors import NetStateError

            raise NetStateError(f"Cannot {what}: the net is stopped; build a new Net")

    # ------------------------------------------------------------------ queries
    def get_startable_epochs(self) -> list[str]:
        """IDs of epochs created but not started (including those of nodes without an exec
        function, which never start)."""
        return self._core.startable_ids()

    def get_startable_epochs_by_node(self, node_name: str) -> list[str]:
        """Startable epoch IDs of one node."""
        self._core.node(node_name)
        return self._core.startable_ids(node_name)

    def get_epoch(self, epoch_id: str) -> Any:
        """The engine's ``Epoch`` snapshot, or ``None`` (finished epochs are gone)."""
        return self._core.engine.get_epoch(epoch_id)

    def get_packet(self, packet_id: str) -> Any:
        """The engine's ``Packet`` snapshot (ID and location), or ``None``."""
        return self._core.engine.get_packet(packet_id)

    def get_running_epochs_count(self, node_name: str) -> int:
        """Epochs of the node currently running (what ``max_parallel_epochs`` limits)."""
        return self._core.node(node_name).running

    def get_packets_at_port(self, node_name: str, port_name: str) -> list[str]:
        """IDs of the packets waiting at an input port, oldest first."""
        from netrun_sim import PacketLocation

        self._check_port(node_name, port_name, "in")
        return self._core.engine.packets_at(PacketLocation.input_port(node_name, port_name))

    # ------------------------------------------------------------------ logs
    def get_node_log(self, node_name: str, limit: Optional[int] = None) -> list[NodeLogEntry]:
        """A node's captured output and failure notes, oldest first."""
        self._core.node(node_name)
        return self._logs.get_node_log(node_name, limit)

    def get_epoch_log(self, *args: Any, limit: Optional[int] = None) -> list[NodeLogEntry]:
        """One epoch's log entries: ``get_epoch_log(epoch_id)`` (PROJECT_SPEC) or
        ``get_epoch_log(node_name, epoch_id)`` (original implementation)."""
        if len(args) == 1:
            epoch_id = str(args[0])
            node = self._logs.node_of_epoch(epoch_id) or self._core.node_of(epoch_id)
            return self._logs.get_epoch_log(node, epoch_id, limit) if node else []
        if len(args) == 2:
            self._core.node(args[0])
            return self._logs.get_epoch_log(args[0], str(args[1]), limit)
        raise TypeError("get_epoch_log(epoch_id) or get_epoch_log(node_name, epoch_id)")

    # ------------------------------------------------------------------ output queues
    @property
    def output_queue_names(self) -> list[str]:
        """Names of the output queues (``"node::port"``)."""
        return self._queues.names

    def flush_output_queue(self, queue_name: Optional[str] = None, *, node: Optional[str] = None,
                           port: Optional[str] = None, include_metadata: bool = False) -> list[Any]:
        """Take every value waiting in one output queue (oldest first)."""
        return self._queues.flush(self._queues.resolve(queue_name, node, port), include_metadata)

    def flush_all_output_queues(self, include_metadata: bool = False) -> dict[str, list[Any]]:
        """Take every waiting value: ``{queue_name: [values]}`` for non-empty queues."""
        return self._queues.flush_all(include_metadata)

    def get_output(self, queue_name: Optional[str] = None, *, node: Optional[str] = None,
                   port: Optional[str] = None, timeout: Optional[float] = None,
                   include_metadata: bool = False) -> Any:
        """The oldest value of an output queue, waiting up to ``timeout`` s for one
        (``TimeoutError`` after). Use it while a background run produces values.
        In a net opened with ``await net.init()`` and called from a coroutine, it returns
        a coroutine (0.5.0's ``await net.get_output(...)``; a blocking wait there would stall
        the loop the net runs on): the naming rule of ``netrun.net._compat_api``."""
        name = self._queues.resolve(queue_name, node, port)
        if self._compat_async and self._async_call():
            return self._queues.async_get(name, timeout, include_metadata)
        return self._queues.get(name, timeout, include_metadata)

    async def async_get_output(self, queue_name: Optional[str] = None, *, node: Optional[str] = None,
                               port: Optional[str] = None, timeout: Optional[float] = None,
                               include_metadata: bool = False) -> Any:
        """Async form of :meth:`get_output`."""
        return await self._queues.async_get(self._queues.resolve(queue_name, node, port), timeout,
                                            include_metadata)

    def try_get_output(self, queue_name: Optional[str] = None, *, node: Optional[str] = None,
                       port: Optional[str] = None, include_metadata: bool = False) -> Any:
        """The oldest value of an output queue, or ``None`` if it is empty."""
        return self._queues.try_get(self._queues.resolve(queue_name, node, port), include_metadata)

    # ------------------------------------------------------------------ callbacks
    def on_epoch_start(self, callback: Callable[..., Any], *, node: Optional[str] = None) -> Callable[[], None]:
        """Call ``callback(node_name, epoch_id)`` when an epoch starts (of ``node`` only, if
        given). Sync or async. Returns a function that removes the callback."""
        return self._add_callback(callback, node, "start")

    def on_epoch_end(self, callback: Callable[..., Any], *, node: Optional[str] = None,
                     net_actions: bool = True) -> Callable[[], None]:
        """Call ``callback(node_name, epoch_id, epoch_log)`` when an epoch ends, whatever
        the outcome (success, error, cancelled, cache hit, file-storage hit; ``epoch_log`` is
        an :class:`EpochLog`). Sync or async; an exception in it becomes a
        ``RuntimeWarning``. Returns a function that removes the callback.
        ``net_actions=False``: the callback does not read ``epoch_log.net_actions`` or the
        flow counts, so the net need not record engine actions for it (much cheaper)."""
        if not net_actions and callable(callback):
            from netrun.net._observability import LeanEndCallback

            callback = LeanEndCallback(callback)
        return self._add_callback(callback, node, "end")

    def _add_callback(self, callback: Callable[..., Any], node: Optional[str], which: str) -> Callable[[], None]:
        if not callable(callback):
            raise TypeError(f"on_epoch_{which} needs a callable, got {type(callback).__name__}")
        core = self._core
        if node is None:
            target = core.epoch_start_callbacks if which == "start" else core.epoch_end_callbacks
        else:
            runtime = core.node(node)
            target = runtime.start_callbacks if which == "start" else runtime.end_callbacks
        target.append(callback)
        core.observe.refresh()  # epoch logs get their net actions and flow counts

        def remove() -> None:
            if callback in target:
                target.remove(callback)
                core.observe.refresh()

        return remove

    def __repr__(self) -> str:
        return f"Net(nodes={len(self._core.nodes)}, state={self._core.state.name})"
