"""The worker side of out-of-process pools: what runs a node's epoch in a worker process,
on a remote pool server, or on a Dask worker.

One :class:`NodeRunner` per node is shipped to each worker once (cloudpickle, through
``ExecutionManager.send_function_to_pool``) under the key ``net:node:<name>``. It holds
the node's functions, port types and output conditions. Each epoch is then one job
``runner("run", epoch_id, attempt, retry_timestamps, retry_exceptions, inputs, is_async)``
that ships only the epoch's input values (``inputs`` is ``[(port, packet_id, entry)]``,
``entry`` a value or a ``StoredValue``; value functions are evaluated here, when the
packet is consumed).

A function in another process cannot reach the net live, so its context always records
its packet operations; the job returns the pickled :class:`WorkerResult` (the recorded
actions, the consumed values, the exception), which the net commits (see
``Scheduler.apply_worker_result``). Prints are not handled here: the ExecutionManager's
worker captures stdout/stderr per job, with timestamps, and the net routes the lines to
the epoch's log.

``runner("start")`` / ``runner("stop")`` run the node's start/stop function in that worker
(``None`` is passed instead of the net, which cannot travel). A worker that never got the
``start`` call (a replacement for a crashed worker) runs it before its first epoch.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

import cloudpickle

from netrun._util.aio import thread_loop
from netrun._util.callables import is_async_callable
from netrun.errors import NodeLifecycleError, PacketValueNotPicklable
from netrun.net._current import current_attempt
from netrun.net._pool_resident import ResidentInput, split_worker_result
from netrun.net.context import AsyncNodeExecutionContext, NodeExecutionContext
from netrun.net.logs import PrintTarget
from netrun.net.packets import PacketRef
from netrun.net.port_types import PortTypeSpec
from netrun.rpc import _codec
from netrun.rpc.base import MessageNotSerializable
from netrun.storage.values import PacketValueStore, StoredValue

__all__ = ["NodeRunner", "NodeSpec", "WorkerResult", "portable_exception", "runner_key"]


def runner_key(node_name: str) -> str:
    """The function key a node's runner is registered under on the workers."""
    return f"net:node:{node_name}"


@dataclass
class NodeSpec:
    """What a worker needs to know about a node (shipped once per worker)."""

    name: str
    exec_func: Any
    start_func: Any
    stop_func: Any
    in_types: dict
    out_types: dict
    out_ports: tuple
    out_conditions: tuple
    # output ports whose values stay in the Dask cluster (see _pool_resident.py)
    resident_ports: frozenset = frozenset()


@dataclass
class WorkerResult:
    """What a worker sends back for one attempt (``prints`` stays empty: output travels
    through the ExecutionManager's capture)."""

    exception: Optional[BaseException]
    actions: list
    consumed_values: dict
    prints: list = field(default_factory=list)


class NodeRunner:
    """The callable a worker keeps for one node; see the module docstring."""

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec
        self._prepared = False
        self._started = False
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self.spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["spec"])  # type: ignore[misc]

    def _prepare(self) -> None:
        spec = self.spec
        self.exec_async = spec.exec_func is not None and is_async_callable(spec.exec_func)
        self.node = _WorkerNode(spec.name, {p: PortTypeSpec.from_spec(s) for p, s in spec.in_types.items()},
                                {p: PortTypeSpec.from_spec(s) for p, s in spec.out_types.items()},
                                spec.out_ports, spec.out_conditions)
        self._prepared = True

    def __call__(self, op: str, *args: Any) -> Any:
        if not self._prepared:
            self._prepare()
        if op == "run":
            return self._run(*args)
        if op == "start":
            self._start()
            return None
        if op == "stop":
            return self._stop()
        raise ValueError(f"node runner of '{self.spec.name}': unknown operation {op!r}")

    # -- start / stop ---------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._started or self.spec.start_func is None:
                self._started = True
                return
            _call_blocking(self.spec.start_func, None)
            self._started = True

    def _stop(self) -> bool:
        with self._lock:
            if not self._started or self.spec.stop_func is None:
                self._started = False
                return False
            self._started = False
            _call_blocking(self.spec.stop_func, None)
            return True

    # -- one epoch ------------------------------------------------------------------------
    def _run(self, epoch_id: str, attempt: int, timestamps: list, exceptions: list, inputs: list,
             is_async: bool) -> bytes:
        spec = self.spec
        name = spec.name
        if not self._started:  # a worker that missed the "start" broadcast (a replacement)
            try:
                self._start()
            except Exception as error:
                failure = NodeLifecycleError(name, "start", error)
                return _codec.dumps(WorkerResult(portable_exception(failure), [], {}))
        run = _WorkerRun(epoch_id, self.node, [(port, pid) for port, pid, _ in inputs], attempt, timestamps,
                         exceptions)
        values = {}
        resident_inputs: set = set()
        for _, pid, entry in inputs:
            if type(entry) is tuple and ResidentInput.is_one(entry):  # handed over inside the Dask cluster
                entry = ResidentInput.value(entry)
                resident_inputs.add(pid)
            values[pid] = entry
        backend = _WorkerBackend(values)
        cls = AsyncNodeExecutionContext if is_async else NodeExecutionContext
        ctx = cls._for_attempt(backend, run, True)
        # prints go to the real (captured) stdout: no capture target in the worker
        token = current_attempt.set(PrintTarget(None, epoch_id, False, None, None, False))
        packets: dict[str, list[PacketRef]] = {}
        for port, pid in run.pairs:
            packets.setdefault(port, []).append(PacketRef(pid))
        exc: Optional[BaseException] = None
        try:
            if is_async:
                thread_loop().run_until_complete(spec.exec_func(ctx, packets))
            else:
                spec.exec_func(ctx, packets)
        except Exception as error:
            exc = error
        finally:
            current_attempt.reset(token)
        missed = ctx._unawaited() if is_async else 0
        if missed:
            from netrun.errors import ContextMisuseError

            cause = exc
            exc = ContextMisuseError(
                f"Node '{name}' (epoch {epoch_id}) called {missed} ctx operation(s) without "
                f"`await`; in an async exec function every ctx method must be awaited")
            exc.__cause__ = cause
        result = WorkerResult(exc, ctx._queue._actions, dict(ctx.packet_values))
        resident: Optional[dict] = None
        if spec.resident_ports or resident_inputs:
            resident = {}
            if exc is None:  # a failure sends everything back: the dead-letter queue needs it
                result, resident = split_worker_result(result, spec.resident_ports, resident_inputs)
        try:
            data = _codec.dumps(result)
        except MessageNotSerializable:
            data = _codec.dumps(_travelling_result(result, name, epoch_id))
        # split mode (the net asked for it when the node has resident ports): (inline, resident)
        return (data, resident) if spec.resident_ports else data


def _travelling_result(result: WorkerResult, name: str, epoch_id: str) -> WorkerResult:
    """``result`` with what cannot travel replaced: an unpicklable created value fails the
    attempt (naming the packet), unpicklable exceptions and consumed values are described."""
    if result.exception is not None:
        result.exception = portable_exception(result.exception)
    for action in result.actions:
        try:
            cloudpickle.dumps(action)
        except Exception as error:
            what = f"packet {action.deferred_packet.deferred_id}" if action.deferred_packet else "an action"
            failure = PacketValueNotPicklable(
                f"The value of {what} created by node '{name}' in epoch {epoch_id} "
                f"(type {type(action.value).__name__})", error)
            return WorkerResult(portable_exception(failure), [], {})
    result.consumed_values = {k: v for k, v in result.consumed_values.items() if _picklable(v)}
    return result


def portable_exception(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a ``RuntimeError`` carrying its type and message."""
    try:
        cloudpickle.loads(cloudpickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _picklable(value: Any) -> bool:
    try:
        cloudpickle.dumps(value)
        return True
    except Exception:
        return False


def _call_blocking(func: Any, *args: Any) -> Any:
    result = func(*args)
    if asyncio.iscoroutine(result):
        return thread_loop().run_until_complete(result)
    return result


class _WorkerNode:
    """The node attributes a context reads."""

    __slots__ = ("name", "in_types", "out_types", "out_ports", "out_conditions")

    def __init__(self, name: str, in_types: dict, out_types: dict, out_ports: tuple, out_conditions: tuple) -> None:
        self.name = name
        self.in_types = in_types
        self.out_types = out_types
        self.out_ports = out_ports
        self.out_conditions = out_conditions


class _WorkerRun:
    __slots__ = ("id", "node", "pairs", "attempt", "retry_timestamps", "retry_exceptions")

    def __init__(self, epoch_id: str, node: _WorkerNode, pairs: list, attempt: int,
                 timestamps: list, exceptions: list) -> None:
        self.id = epoch_id
        self.node = node
        self.pairs = pairs
        self.attempt = attempt
        self.retry_timestamps = timestamps
        self.retry_exceptions = exceptions

    def port_of(self, pid: str) -> Optional[str]:
        for port, p in self.pairs:
            if p == pid:
                return port
        return None


class _WorkerBackend:
    """Values shipped with the attempt, read by the recording context."""

    net = None

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def ctx_read(self, ctx: Any, pid: str, port: str) -> Any:
        value = PacketValueStore.resolve_entry(pid, self.values[pid], ctx.node_name)
        ctx._check_in_type(pid, port, value)
        return value

    async def ctx_read_async(self, ctx: Any, pid: str, port: str) -> Any:
        value = await PacketValueStore.async_resolve_entry(pid, self.values[pid], ctx.node_name)
        ctx._check_in_type(pid, port, value)
        return value

    def ctx_output_value(self, ctx: Any, pid: str) -> tuple[bool, Any]:
        entry = self.values.get(pid)
        if entry is None or type(entry) is StoredValue:
            return False, None
        return True, entry
