"""Process pools: node functions in worker processes (``process_pools={"cpu": {"size": 2}}``).

Built on ``concurrent.futures.ProcessPoolExecutor`` (``spawn`` start method by default,
``{"size": 2, "start_method": "forkserver"}`` to change it). Node functions, start/stop
functions and port types are shipped once per pool with ``cloudpickle`` (so lambdas and
closures work) when the pool starts; each attempt then ships only the epoch's input values.

A function in another process cannot reach the net live, so its context always records
its packet operations (``create_packet`` returns a ``DeferredPacket``) and the runtime
applies them when the attempt returns: as one all-or-nothing commit on success; on failure
they are dropped when ``defer_net_actions=True``, or applied up to the failure otherwise
(what a live node would have done). Value functions are evaluated in the worker, when the
packet is consumed. Prints are captured in the worker with their timestamps and added to
the node log. Anything that must travel and cannot be pickled fails the attempt with
:class:`~netrun.errors.PacketValueNotPicklable` naming the packet and port.

Start functions run once per worker process (with ``None`` instead of the net, which
cannot travel); stop functions run when a worker process exits. A timed-out attempt is
abandoned (its result ignored); the worker process finishes it in the background.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import multiprocessing.util
from dataclasses import dataclass, field
from typing import Any, Optional

import cloudpickle

from netrun._util.aio import thread_loop
from netrun._util.callables import is_async_callable
from netrun.errors import NodeConfigError, PacketValueNotPicklable
from netrun.net._current import current_attempt
from netrun.net.context import AsyncNodeExecutionContext, NodeExecutionContext
from netrun.net.logs import PrintTarget, inject_print
from netrun.net.packets import PacketRef
from netrun.net.port_types import PortTypeSpec
from netrun.storage.values import PacketValueStore, StoredValue

__all__ = ["ProcessPoolExecutor"]


@dataclass
class _NodeSpec:
    """What a worker process needs to know about a node (shipped once per pool)."""

    name: str
    exec_func: Any
    start_func: Any
    stop_func: Any
    in_types: dict
    out_types: dict
    out_ports: tuple
    out_conditions: tuple
    capture: bool
    echo: bool
    # filled in the worker
    exec_async: bool = False
    compiled_in: dict = field(default_factory=dict)
    compiled_out: dict = field(default_factory=dict)


@dataclass
class WorkerResult:
    """What a worker sends back for one attempt."""

    exception: Optional[BaseException]
    actions: list
    consumed_values: dict
    prints: list


class ProcessPoolExecutor:
    """A named pool of worker processes; see the module docstring."""

    kind = "process"
    in_process = False
    starts_epochs = False

    def __init__(self, core: Any, name: str, size: int, spec: dict) -> None:
        self.core = core
        self.name = name
        self.size = size
        self.busy = 0
        method = (spec or {}).get("start_method", "spawn")
        if method not in multiprocessing.get_all_start_methods():
            raise NodeConfigError(
                f"Process pool {name!r}: start_method {method!r} is not available here; "
                f"choose one of {multiprocessing.get_all_start_methods()}"
            )
        self._method = method
        self._pool: Optional[concurrent.futures.ProcessPoolExecutor] = None
        self._signature: Any = None

    def has_capacity(self, node: Any = None) -> bool:
        return self.busy < self.size

    def available(self) -> float:
        return float(self.size - self.busy)

    # -- lifecycle --------------------------------------------------------------------
    def _nodes(self) -> list[Any]:
        return [n for n in self.core.nodes.values() if self in n.executors]

    async def start(self, core: Any) -> None:
        nodes = self._nodes()
        signature = tuple((n.name, id(n.exec_func), id(n.start_func), id(n.stop_func),
                           id(n.config), tuple(sorted(n.in_types)), tuple(sorted(n.out_types)))
                          for n in nodes)
        if self._pool is not None and signature == self._signature:
            return
        if self._pool is not None:
            await self.close(core)
        specs = {}
        for n in nodes:
            specs[n.name] = _NodeSpec(
                n.name, n.exec_func, n.start_func, n.stop_func,
                {p: s.raw for p, s in n.in_types.items()}, {p: s.raw for p, s in n.out_types.items()},
                n.out_ports, n.out_conditions, n.capture, n.echo)
        try:
            blob = cloudpickle.dumps(specs)
        except Exception as exc:
            raise PacketValueNotPicklable(
                f"The functions or port types of the nodes in process pool {self.name!r} "
                f"({', '.join(specs)})", exc) from exc
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.size, mp_context=multiprocessing.get_context(self._method),
            initializer=_worker_init, initargs=(blob,))
        self._signature = signature

    async def init_nodes(self, core: Any, nodes: list[Any]) -> None:
        return None  # start functions run in each worker's initializer

    async def stop_nodes(self, core: Any, nodes: list[Any]) -> None:
        return None  # stop functions run when each worker process exits

    async def close(self, core: Any) -> None:
        pool, self._pool = self._pool, None
        self._signature = None
        if pool is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: pool.shutdown(wait=True, cancel_futures=True))

    def close_now(self) -> None:
        """Shut the pool down without waiting (used when a net is garbage collected)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- work -------------------------------------------------------------------------
    def execute(self, run: Any, ctx: Any) -> None:
        self.busy += 1
        core = self.core
        store = core.store
        inputs = []
        for port, pid in run.pairs:
            entry = store.peek_entry(pid) if store.has_value(pid) else None
            inputs.append((port, pid, entry))
        payload = (run.node.name, run.id, run.attempt, list(run.retry_timestamps or ()),
                   [_portable_exception(e) for e in run.retry_exceptions or ()], inputs,
                   run.node.exec_async)
        try:
            blob = cloudpickle.dumps(payload)
        except Exception:
            core.attempt_done(run, ctx, _unpicklable_input(run, inputs))
            return
        if self._pool is None:
            core.attempt_done(run, ctx, RuntimeError(f"Process pool {self.name!r} is not running"))
            return
        try:
            future = self._pool.submit(_worker_run, blob)
        except Exception as exc:  # broken pool
            core.attempt_done(run, ctx, exc)
            return
        run.task = future
        future.add_done_callback(lambda f: self._finished(run, ctx, f))

    def _finished(self, run: Any, ctx: Any, future: concurrent.futures.Future) -> None:
        if future.cancelled():
            self.core.post_done(run, ctx, RuntimeError(f"Process pool {self.name!r} was shut down"))
            return
        error = future.exception()
        if error is not None:
            self.core.post_done(run, ctx, error)
            return
        try:
            result: WorkerResult = cloudpickle.loads(future.result())
        except Exception as exc:
            self.core.post_done(run, ctx, exc)
            return
        self.core.post_done(run, ctx, result.exception, result)

    def release(self, run: Any) -> None:
        self.busy -= 1

    def abandon(self, run: Any) -> None:
        future = run.task
        if future is not None:
            future.cancel()  # only helps if it has not started; otherwise the result is ignored


def _portable_exception(exc: BaseException) -> BaseException:
    try:
        cloudpickle.dumps(exc)
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _unpicklable_input(run: Any, inputs: list) -> BaseException:
    for port, pid, entry in inputs:
        try:
            cloudpickle.dumps(entry)
        except Exception as exc:
            what = "value function" if type(entry) is StoredValue and entry.is_value_func else "value"
            return PacketValueNotPicklable(
                f"The {what} of packet {pid} on input port '{port}' of node '{run.node.name}' "
                f"(type {type(entry).__name__})", exc)
    return PacketValueNotPicklable(f"The retry information of epoch {run.id}", RuntimeError("unpicklable"))


# ======================================================================================
# worker side
# ======================================================================================
_NODES: dict[str, _NodeSpec] = {}


def _call_blocking(func: Any, *args: Any) -> Any:
    result = func(*args)
    if asyncio.iscoroutine(result):
        return thread_loop().run_until_complete(result)
    return result


def _worker_init(blob: bytes) -> None:
    specs: dict[str, _NodeSpec] = cloudpickle.loads(blob)
    for spec in specs.values():
        spec.exec_async = spec.exec_func is not None and is_async_callable(spec.exec_func)
        spec.compiled_in = {p: PortTypeSpec.from_spec(s) for p, s in spec.in_types.items()}
        spec.compiled_out = {p: PortTypeSpec.from_spec(s) for p, s in spec.out_types.items()}
        if spec.capture and spec.exec_func is not None:
            inject_print(spec.exec_func)
    _NODES.update(specs)
    for spec in specs.values():
        if spec.start_func is not None:
            _call_blocking(spec.start_func, None)
    stops = [s.stop_func for s in specs.values() if s.stop_func is not None]
    if stops:
        multiprocessing.util.Finalize(None, _run_stops, args=(stops,), exitpriority=10)


def _run_stops(stops: list) -> None:
    for func in stops:
        try:
            _call_blocking(func, None)
        except Exception:
            pass


class _WorkerNode:
    """The node attributes a context reads."""

    __slots__ = ("name", "in_types", "out_types", "out_ports", "out_conditions")

    def __init__(self, spec: _NodeSpec) -> None:
        self.name = spec.name
        self.in_types = spec.compiled_in
        self.out_types = spec.compiled_out
        self.out_ports = spec.out_ports
        self.out_conditions = spec.out_conditions


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


def _worker_run(blob: bytes) -> bytes:
    name, epoch_id, attempt, timestamps, exceptions, inputs, is_async = cloudpickle.loads(blob)
    spec = _NODES[name]
    run = _WorkerRun(epoch_id, _WorkerNode(spec), [(port, pid) for port, pid, _ in inputs],
                     attempt, timestamps, exceptions)
    backend = _WorkerBackend({pid: entry for _, pid, entry in inputs})
    cls = AsyncNodeExecutionContext if is_async else NodeExecutionContext
    ctx = cls._for_attempt(backend, run, True)
    prints: list = []
    token = current_attempt.set(PrintTarget(None, epoch_id, spec.echo, prints, None, spec.capture))
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
    result = WorkerResult(exc, ctx._queue._actions, dict(ctx.packet_values), prints)
    try:
        return cloudpickle.dumps(result)
    except Exception:
        pass
    if exc is not None:
        result.exception = _portable_exception(exc)
    for action in result.actions:
        try:
            cloudpickle.dumps(action)
        except Exception as error:
            what = f"packet {action.deferred_packet.deferred_id}" if action.deferred_packet else "an action"
            failure = PacketValueNotPicklable(
                f"The value of {what} created by node '{name}' in epoch {epoch_id} "
                f"(type {type(action.value).__name__})", error)
            return cloudpickle.dumps(WorkerResult(failure, [], {}, prints))
    result.consumed_values = {k: v for k, v in result.consumed_values.items() if _picklable(v)}
    return cloudpickle.dumps(result)


def _picklable(value: Any) -> bool:
    try:
        cloudpickle.dumps(value)
        return True
    except Exception:
        return False
