"""Plain-data records the scheduler keeps per node and per epoch.

They hold only data (names, IDs, counters, timestamps) plus references to the live objects
of the current attempt, so the persistent part (:meth:`EpochRun.to_state`) is what a
checkpoint serialises.
"""

from __future__ import annotations

import itertools
from collections import deque
from types import MappingProxyType
from typing import Any, Callable, Optional

from netrun._util.callables import is_async_callable
from netrun.net.options import NodeConfig
from netrun.net.packets import PacketRef

__all__ = ["NodeRuntime", "EpochRun", "NOT_STARTED", "waiting_epoch", "waiting_state"]

_sequence = itertools.count()
_NO_VARS: Any = MappingProxyType({})
next_sequence = _sequence.__next__  # creation order of epochs (shared by all nets)


class _NotStarted(Exception):
    """Outcome of a queued attempt a worker did not start because the net is pausing."""


NOT_STARTED = _NotStarted()


class NodeRuntime:
    """Everything the scheduler needs about one node, resolved once (not per epoch)."""

    __slots__ = (
        "name", "in_ports", "out_ports", "out_conditions", "exec_func", "start_func", "stop_func",
        "failed_func", "exec_async", "config", "executors", "in_types", "out_types", "capture",
        "echo", "ready", "running", "next_start", "rate_interval", "max_parallel", "timeout",
        "rate_timer", "start_callbacks", "end_callbacks", "started_funcs", "log", "may_orphan",
        "vars", "factory",
        "enabled", "signals", "controls", "epoch_count", "compat", "storage", "targets",
        "send_mode",
    )

    def __init__(self, name: str, in_ports: tuple[str, ...], out_ports: tuple[str, ...],
                 out_conditions: tuple[str, ...]) -> None:
        self.name = name
        self.in_ports = in_ports
        self.out_ports = out_ports
        self.out_conditions = out_conditions
        self.exec_func: Optional[Callable[..., Any]] = None
        self.start_func: Optional[Callable[..., Any]] = None
        self.stop_func: Optional[Callable[..., Any]] = None
        self.failed_func: Optional[Callable[..., Any]] = None
        self.exec_async = False
        self.config = NodeConfig()
        self.executors: list[Any] = []
        self.in_types: dict[str, Any] = {}
        self.out_types: dict[str, Any] = {}
        self.capture = True
        self.echo = False
        self.ready: deque[EpochRun] = deque()
        self.running = 0
        self.next_start = 0.0
        self.rate_interval = 0.0
        self.max_parallel: Optional[int] = None
        self.timeout: Optional[float] = None
        self.rate_timer: Any = None
        self.start_callbacks: list[Callable[..., Any]] = []
        self.end_callbacks: list[Callable[..., Any]] = []
        self.started_funcs = False
        self.log: Any = None
        self.vars: Any = _NO_VARS  # node variables (ctx.vars), resolved once: set_node_vars
        self.factory: Optional[str] = None  # the node factory's import path (EpochLog.factory)
        self.may_orphan = True  # has an output port without an edge
        self.enabled = True  # a disabled node keeps its startable epochs (config front door)
        # Signal types the node emits (``None``: none, the hot path's only check) and the
        # control salvo conditions it accepts (``None``: none); see _signals.py/_controls.py.
        self.signals: Optional[frozenset[str]] = None
        self.controls: Optional[frozenset[str]] = None
        # Epochs of the node counted for ``max_epochs``; the ``set_epoch_count`` and
        # ``reset_epoch_count`` controls write it.
        self.epoch_count = 0
        # Config front door settings (max_epochs, defer_init, propagate_exceptions...):
        # ``None`` unless one is set, the scheduler's only check (see _compat_policy.py).
        self.compat: Any = None
        # Cache / file storage / value storage of the node (_storage_epochs.py): ``None``
        # unless the node uses one, the scheduler's only check.
        self.storage: Any = None
        # ``(key, PrintTarget subclass)`` of its express epochs' print targets (_express.py)
        self.targets: Any = None
        # How its express epochs send (set per express round, _express.py): ``None`` the
        # general road; ``True`` every orphan goes straight to an output queue (the engine
        # consumes it in the send); ``False`` orphans are routed after the send
        self.send_mode: Optional[bool] = None

    def set_funcs(self, exec_func: Any, start_func: Any, stop_func: Any, failed_func: Any) -> None:
        self.exec_func = exec_func
        self.start_func = start_func
        self.stop_func = stop_func
        self.failed_func = failed_func
        self.exec_async = exec_func is not None and is_async_callable(exec_func)

    def apply_config(self, config: NodeConfig) -> None:
        self.config = config
        self.capture = config.capture_stdout
        self.echo = config.echo_stdout
        self.max_parallel = config.max_parallel_epochs
        self.timeout = config.timeout
        rate = config.rate_limit_per_second
        self.rate_interval = (1.0 / rate) if rate else 0.0


def waiting_epoch(epoch_id: str, node_name: str, pairs: tuple, condition: Optional[str],
                  created: float) -> tuple:
    """A startable epoch that has not been launched yet, as a plain tuple.

    Waiting epochs can be many; as tuples of strings the garbage collector stops tracking
    them, so a net with 100,000 waiting epochs does not slow every collection down. The
    :class:`EpochRun` is made when the epoch launches. Fields: ``(id, node, pairs,
    condition, created, seq)``.
    """
    return (epoch_id, node_name, pairs, condition, created, next(_sequence))


def waiting_state(item: tuple) -> dict[str, Any]:
    """:meth:`EpochRun.to_state` of a waiting-epoch tuple."""
    return {"epoch_id": item[0], "node_name": item[1], "salvo_condition": item[3],
            "packets": [list(p) for p in item[2]], "attempt": 0}


class EpochRun:
    """One epoch the runtime knows about, from creation to its end.

    ``pairs`` is the input salvo as ``(port, packet_id)`` in salvo order. Attempt state
    (``ctx``, ``timer``, ``worker``...) refers to the attempt in progress.
    """

    # The attributes every epoch sets are slots; the others (set only by some attempts:
    # timeouts, retries, workers, tasks...) are class-level defaults, overridden per
    # instance in its ``__dict__`` when set, so that making a record stays cheap.
    __slots__ = (
        "id", "node", "pairs", "condition", "created", "started", "attempt", "ctx",
        "executor", "done", "in_engine", "seq", "__dict__",
    )
    deadline: Optional[float] = None
    retry_timestamps: Optional[list] = None
    retry_exceptions: Optional[list] = None
    timer: Any = None
    worker: Any = None
    worker_index: Optional[int] = None  # the worker of the latest attempt (kept for logs/errors)
    _port_of: Optional[dict[str, str]] = None
    task: Any = None
    abandoned: Any = None
    log_record: Any = None
    saved_inputs: Any = None  # set only with periodic checkpoints

    def __init__(self, epoch_id: str, node: NodeRuntime, pairs: Any,
                 condition: Optional[str], created: float, seq: Optional[int] = None) -> None:
        self.id = epoch_id
        self.node = node
        self.pairs = pairs
        self.condition = condition
        self.created = created
        self.started = 0.0
        self.attempt = 0
        self.ctx: Any = None
        self.executor: Any = None
        self.done = False
        self.in_engine = False  # started in the engine (Running)
        self.seq = next(_sequence) if seq is None else seq  # creation order

    def port_of(self, packet_id: str) -> Optional[str]:
        """The input port a packet of this epoch's salvo arrived on (``None``: not an input)."""
        pairs = self.pairs
        if len(pairs) <= 4:
            for port, pid in pairs:
                if pid == packet_id:
                    return port
            return None
        table = self._port_of
        if table is None:
            table = self._port_of = {pid: port for port, pid in pairs}
        return table.get(packet_id)

    def packets_by_port(self) -> dict[str, list[PacketRef]]:
        """The ``packets`` argument of the exec function."""
        out: dict[str, list[PacketRef]] = {}
        for port, pid in self.pairs:
            refs = out.get(port)
            if refs is None:
                out[port] = [PacketRef(pid)]
            else:
                refs.append(PacketRef(pid))
        return out

    def input_packets(self) -> dict[str, list[str]]:
        """``{port: [packet_id]}`` (plain strings)."""
        out: dict[str, list[str]] = {}
        for port, pid in self.pairs:
            out.setdefault(port, []).append(pid)
        return out

    def to_state(self) -> dict[str, Any]:
        """The persistent part, as plain data (for checkpoints)."""
        return {
            "epoch_id": self.id,
            "node_name": self.node.name,
            "salvo_condition": self.condition,
            "packets": [list(p) for p in self.pairs],
            "attempt": self.attempt,
        }
