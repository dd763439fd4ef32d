"""Epochs on out-of-process pools: worker processes, remote pool servers, Dask clusters.

:class:`PoolExecutor` is the scheduler's executor (see ``_executors.py`` for the interface)
for every pool whose workers live outside this process. It drives one
:class:`~netrun.execution.ExecutionManager` with one pool (``netrun.pool``:
``MultiprocessPool``, ``RemotePoolClient``, ``DaskPool``):

* when the net starts, each node of the pool gets a :class:`~netrun.net._pool_worker.NodeRunner`
  sent once per worker (re-sent only when its functions or port types change between runs,
  and automatically to a worker that replaces a dead one);
* each attempt is one job (``ExecutionManager.submit``) carrying the epoch's input values;
  its result (the recorded packet operations) is committed on the net like a deferred
  attempt; the job's stdout/stderr lines reach the epoch's log as they are printed
  (``capture_stdout``; stderr lines with level ``"warning"``), and the terminal when the
  node echoes (``echo_stdout``) or does not capture;
* a worker that dies mid-epoch fails that attempt with ``WorkerCrashed``; the node's retry
  policy then runs it again on a live worker (the pool replaces the dead one). When every
  worker is gone (a remote server that disappeared), attempts fail at once with
  ``WorkerCrashed`` and the pool reconnects in the background (every few seconds) and at
  the next run;
* an attempt past its node's ``timeout`` is abandoned and its worker process is killed and
  replaced (process and remote pools; Dask cancels the task), so it stops holding a slot;
* ``Net.stop()`` drains (``on_stop="drain"``, at most ``drain_timeout`` s) or cancels
  (``on_stop="cancel"``) the attempts in flight, runs stop functions on the workers, and
  closes the pool: processes, sockets, clusters.

On a Dask pool (``keep_values``), values passed from one epoch of the pool to another stay
in the cluster: see ``_pool_resident.py``.

A worker keeps up to ``prefetch`` attempts queued (so it never waits for the net between
epochs), except for nodes with a ``timeout``, which only start on a free worker.
"""

from __future__ import annotations

import asyncio
import pickle
import sys
from functools import partial
from typing import Any, Optional

import cloudpickle

from netrun.errors import NodeConfigError, NodeLifecycleError, PacketValueNotPicklable
from netrun.execution import (
    ArgumentsNotPicklable,
    ExecutionError,
    ExecutionManager,
    FunctionNotPicklable,
    JobCancelled,
    PoolInitMode,
    WorkerCrashed,
)
from netrun.net._pool_resident import ClusterValue, ResidentInput, bind_result, resident_ports
from netrun.net._pool_specs import PoolSpec, parse_pools
from netrun.net._pool_worker import NodeRunner, NodeSpec, portable_exception, runner_key
from netrun.storage.values import StoredValue

__all__ = ["PoolExecutor", "begin_stop", "build_pool_executors"]

_RECONNECT_EVERY = 2.0  # seconds between reconnection attempts of a pool whose workers are all gone


def build_pool_executors(core: Any, process_pools: Optional[dict], pools: Optional[dict]) -> None:
    """Add the executors of ``process_pools`` and ``pools`` to ``core.executors``."""
    from netrun.net._executors import ThreadPoolExecutor

    for spec in parse_pools(None, process_pools, pools):
        if spec.name in core.executors:
            raise NodeConfigError(f"Pool name {spec.name!r} is used twice; pool names must be unique")
        if spec.kind == "thread":
            core.executors[spec.name] = ThreadPoolExecutor(core, spec.name, spec.size)
        else:
            core.executors[spec.name] = PoolExecutor(core, spec)


def begin_stop(core: Any) -> None:
    """``Net.stop()`` began (any thread): out-of-process pools drain or cancel their
    attempts per their ``on_stop`` setting, so the stop cannot wait forever."""
    loop = core.loop
    for executor in core.executors.values():
        if isinstance(executor, PoolExecutor) and executor.em is not None:
            target = executor._loop or loop
            if target is None or target.is_closed():
                continue
            try:
                target.call_soon_threadsafe(executor.begin_stop)
            except RuntimeError:
                pass


class PoolExecutor:
    """One out-of-process pool of a net; see the module docstring."""

    in_process = False
    starts_epochs = False

    def __init__(self, core: Any, spec: PoolSpec) -> None:
        self.core = core
        self.spec = spec
        self.name = spec.name
        self.kind = spec.kind  # "process" | "remote" | "dask"
        self.size = spec.size
        self.busy = 0
        self.em: Optional[ExecutionManager] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._shipped: dict[str, tuple] = {}
        self._inflight: dict[Any, tuple[Any, Any]] = {}  # run -> (ctx, job future)
        self._targets = [self.name]
        self._stopping = False
        self._cancelled = False
        self._stop_timer: Optional[asyncio.TimerHandle] = None
        self._reconnect: Optional[asyncio.Task] = None
        self._next_reconnect = 0.0
        self._by_value = bool(spec.options.get("by_value", False))
        self._keep_values = bool(spec.options.get("keep_values", False))
        self._resident: dict[str, frozenset] = {}  # node -> its output ports whose values stay in the cluster

    # -- capacity ---------------------------------------------------------------------
    def has_capacity(self, node: Any = None) -> bool:
        if node is not None and node.timeout is None:
            return self.busy < self.spec.prefetch * self.size
        return self.busy < self.size

    def available(self) -> float:
        return float(self.size - self.busy)

    # -- lifecycle --------------------------------------------------------------------
    def _pool_config(self) -> Any:
        opts = dict(self.spec.options)
        if self.kind == "process":
            from netrun.pool.multiprocess import MultiprocessPool

            return (MultiprocessPool, opts)
        if self.kind == "remote":
            from netrun.pool.remote import RemotePoolClient

            opts.pop("by_value", None)
            return (RemotePoolClient, opts)
        from netrun.pool.dask import DaskPool

        opts.pop("keep_values", None)
        return DaskPool(**opts)

    def _nodes(self) -> list[Any]:
        return [n for n in self.core.nodes.values() if self in n.executors]

    async def start(self, core: Any) -> None:
        """Start the pool (once; again after a loop change or when every worker is gone)
        and send each node's runner to every worker when it changed."""
        loop = asyncio.get_running_loop()
        self._stopping = self._cancelled = False
        if self.em is not None and (self._loop is not loop or self._all_dead()):
            await self._discard()
        if self.em is None:
            if not self._nodes():
                return  # no node uses the pool (yet): start nothing
            await self._open(loop)
        em = self.em
        assert em is not None
        for node in self._nodes():
            resident = resident_ports(core, node, self) if self._keep_values else frozenset()
            signature = _signature(node) + (resident,)
            if self._shipped.get(node.name) == signature:
                continue
            runner = NodeRunner(NodeSpec(
                node.name, node.exec_func, node.start_func, node.stop_func,
                {p: s.raw for p, s in node.in_types.items()}, {p: s.raw for p, s in node.out_types.items()},
                node.out_ports, node.out_conditions, resident))
            modules = _user_modules(node) if self._by_value else []
            try:
                for module in modules:  # the node's own code travels, not just its name
                    cloudpickle.register_pickle_by_value(module)
                try:
                    future = em.send_function_to_pool(self.name, runner_key(node.name), runner,
                                                      self.spec.start_timeout)
                    await future
                finally:
                    for module in modules:
                        cloudpickle.unregister_pickle_by_value(module)
            except FunctionNotPicklable as exc:
                raise PacketValueNotPicklable(
                    f"The functions or port types of node '{node.name}' (sent to {self.kind} pool {self.name!r})",
                    exc.__cause__ or exc) from exc
            self._shipped[node.name] = signature
            if resident:
                self._resident[node.name] = resident
            else:
                self._resident.pop(node.name, None)
            node.started_funcs = False if node.start_func is not None else node.started_funcs

    async def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        em = ExecutionManager({self.name: self._pool_config()}, capture_prints=True,
                              function_timeout=self.spec.start_timeout)
        try:
            await asyncio.wait_for(em.start(), self.spec.start_timeout + 5)
        except BaseException as exc:
            await _quietly(em.close(drain=False, timeout=5))
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise ExecutionError(
                f"{self.kind.capitalize()} pool {self.name!r} could not start: {type(exc).__name__}: {exc}"
                + _start_hint(self.kind, self.spec)) from exc
        self.em = em
        self._loop = loop
        self._shipped.clear()
        self.size = em.get_num_workers(self.name) or self.size

    def _all_dead(self) -> bool:
        em = self.em
        return em is not None and not em.live_worker_ids(self.name)

    async def _discard(self) -> None:
        """Drop the manager (its loop changed, or its workers are all gone)."""
        em, self.em = self.em, None
        self._shipped.clear()
        if em is not None:
            await self._close_on_its_loop(em, False, 5.0)

    async def init_nodes(self, core: Any, nodes: list[Any]) -> None:
        """Run the start functions on every worker."""
        await self._broadcast(nodes, "start")

    async def stop_nodes(self, core: Any, nodes: list[Any]) -> None:
        """Run the stop functions on every worker that started the node."""
        await self._broadcast(nodes, "stop")

    async def _broadcast(self, nodes: list[Any], op: str) -> None:
        em = self.em
        if em is None or not em.started:
            return
        for node in nodes:
            if node.name not in self._shipped or not em.live_worker_ids(self.name):
                continue
            # stop functions wait behind what a worker still runs: briefly after a cancel
            limit = self.spec.start_timeout if op == "start" else (2.0 if self._cancelled else self.spec.drain_timeout)
            try:
                results = await asyncio.wait_for(em.run_on_workers(
                    self.name, runner_key(node.name), PoolInitMode.PER_WORKER, func_args=(op,)), limit)
                errors = [r.exception for r in results if r.exception is not None]
            except asyncio.TimeoutError:
                errors = [TimeoutError(f"the workers of {self.kind} pool {self.name!r} did not finish the {op} "
                                       f"function within {limit:g} s")]
            except Exception as exc:  # a worker died or the pool broke while starting
                errors = [exc]
            if not errors:
                continue
            if op == "start":
                node.started_funcs = False
                raise NodeLifecycleError(node.name, "start", errors[0])
            self.core.report_lifecycle_error(node, "stop", errors[0])

    def begin_stop(self) -> None:
        """``Net.stop()``: cancel now, or after ``drain_timeout`` (loop thread)."""
        if self._stopping:
            return
        self._stopping = True
        if self.spec.on_stop == "cancel":
            self._cancel_inflight("the net was stopped (on_stop='cancel')")
        elif self._inflight and self._loop is not None:
            self._stop_timer = self._loop.call_later(
                self.spec.drain_timeout, self._cancel_inflight,
                f"the net was stopped and the epoch did not finish within drain_timeout="
                f"{self.spec.drain_timeout:g} s")

    def _cancel_inflight(self, reason: str) -> None:
        self._stop_timer = None
        em = self.em
        if self._inflight:
            self._cancelled = True  # workers may still be busy with them: close without waiting
        for run, (ctx, future) in list(self._inflight.items()):
            if em is not None:
                em.abandon(self.name, future, restart_worker=False)
            self._done(run, ctx, JobCancelled(
                f"epoch {run.id} of node '{run.node.name}' on {self.kind} pool {self.name!r} was cancelled: {reason}"))

    async def close(self, core: Any) -> None:
        if self._stop_timer is not None:
            self._stop_timer.cancel()
            self._stop_timer = None
        if self._reconnect is not None:
            self._reconnect.cancel()
            await asyncio.gather(self._reconnect, return_exceptions=True)
            self._reconnect = None
        if self._inflight:
            self._cancel_inflight("the net was stopped")
        if self.em is not None and self._keep_values:
            await self._fetch_all_resident()
        em, self.em = self.em, None
        self._shipped.clear()
        if em is not None:
            # a worker may still run a cancelled epoch: then do not wait for it
            drain, timeout = (False, 5.0) if self._cancelled else (True, self.spec.drain_timeout)
            await self._close_on_its_loop(em, drain, timeout)

    async def _close_on_its_loop(self, em: ExecutionManager, drain: bool, timeout: float) -> None:
        """Close ``em`` on the loop it was started on (the net may now run on another)."""
        current = asyncio.get_running_loop()
        old = self._loop
        if old is None or old is current:
            await _quietly(em.close(drain=drain, timeout=timeout))
        elif old.is_running():
            future = asyncio.run_coroutine_threadsafe(em.close(drain=drain, timeout=timeout), old)
            await _quietly(asyncio.wait_for(asyncio.wrap_future(future), timeout + 10))
        else:  # its loop is gone: nothing can be awaited there any more
            _kill_processes(em)

    def close_now(self) -> None:
        """Kill worker processes without waiting (a net garbage-collected unstopped)."""
        em, self.em = self.em, None
        if em is not None:
            _kill_processes(em)

    # -- work -------------------------------------------------------------------------
    def execute(self, run: Any, ctx: Any) -> None:
        self.busy += 1
        node = run.node
        em = self.em
        if self._stopping:
            self._done(run, ctx, JobCancelled(
                f"epoch {run.id} of node '{node.name}' was not sent to {self.kind} pool {self.name!r}: "
                f"the net is stopping"))
            return
        if em is None and self._loop is not None:  # it ran before: lost, reconnecting
            self._request_reconnect()
            self._done(run, ctx, self._gone(run, "the pool is reconnecting"))
            return
        if em is None or node.name not in self._shipped:
            self._done(run, ctx, ExecutionError(
                f"{self.kind.capitalize()} pool {self.name!r} is not running for node '{node.name}'; "
                f"start the net (net.start()) so the pool starts and receives the node"))
            return
        store = self.core.store
        inputs = [(port, pid, store.peek_entry(pid) if store.has_value(pid) else None) for port, pid in run.pairs]
        if self._keep_values:
            inputs = [self._hand_over(item) for item in inputs]
        timestamps = list(run.retry_timestamps) if run.retry_timestamps else []
        exceptions = [portable_exception(e) for e in run.retry_exceptions] if run.retry_exceptions else []
        args = ("run", run.id, run.attempt, timestamps, exceptions, inputs, node.exec_async)
        try:
            worker = em.allocate(self._targets, node.config.pool_allocation_method or self.spec.allocation)[1]
        except ExecutionError as exc:
            self._request_reconnect()
            self._done(run, ctx, self._gone(run, str(exc)))
            return
        try:
            future = em.submit(self.name, worker, runner_key(node.name), args, timeout=None, run_id=run.id,
                               on_output=None if self.kind == "dask" else self._output_sink(run),
                               **({"split_result": True} if node.name in self._resident else {}))
        except ArgumentsNotPicklable:
            self._done(run, ctx, _unpicklable_input(run, inputs))
            return
        except Exception as exc:  # a dead worker, a closed manager
            self._done(run, ctx, exc)
            return
        run.task = future
        run.worker = worker
        run.worker_index = worker if isinstance(worker, int) else getattr(worker, "index", None)
        self._inflight[run] = (ctx, future)
        future.add_done_callback(partial(self._finished, run, ctx))

    def _gone(self, run: Any, reason: str) -> WorkerCrashed:
        return WorkerCrashed(-1, {
            "reason": reason, "restarted": False,
            "message": f"epoch {run.id} of node '{run.node.name}' could not run: every worker of {self.kind} pool "
                       f"{self.name!r} is gone{_gone_hint(self.kind, self.spec)}"})

    def _done(self, run: Any, ctx: Any, exc: Optional[BaseException], payload: Any = None) -> None:
        self._inflight.pop(run, None)
        try:
            self.core.attempt_done(run, ctx, exc, payload)
        except Exception as error:
            self.core.internal_error(error)

    def _finished(self, run: Any, ctx: Any, future: asyncio.Future) -> None:
        if self._inflight.get(run, (None,))[0] is not ctx:
            return  # abandoned (timeout, cancelled at stop): already reported
        if future.cancelled():
            self._done(run, ctx, JobCancelled(f"epoch {run.id} of node '{run.node.name}' was cancelled"))
            return
        error = future.exception()
        if error is not None:
            if isinstance(error, WorkerCrashed) and self._all_dead():
                self._request_reconnect()
            self._done(run, ctx, error)
            return
        job = future.result()
        if job.exception is not None:  # the runner itself failed (e.g. it could not be found)
            self._done(run, ctx, job.exception)
            return
        if self.kind == "dask" and job.print_buffer:  # no live output on Dask: it comes with the result
            self._log_lines(run, job.print_buffer)
        data, envelope = job.result if run.node.name in self._resident else (job.result, None)
        try:
            result = pickle.loads(data)
            if envelope is not None:
                bind_result(result, envelope, self)
        except Exception as exc:
            self._done(run, ctx, ExecutionError(
                f"the result of epoch {run.id} of node '{run.node.name}' could not be read here "
                f"({type(exc).__name__}: {exc}); make the classes of its values importable in this process"))
            return
        self._done(run, ctx, result.exception, result)

    def release(self, run: Any) -> None:
        self.busy -= 1

    def abandon(self, run: Any) -> None:
        """The attempt ran past its timeout: stop waiting and replace its worker."""
        entry = self._inflight.pop(run, None)
        em = self.em
        if entry is None or em is None:
            return
        em.abandon(self.name, entry[1], restart_worker=True,
                   reason=f"epoch {run.id} of node '{run.node.name}' exceeded its timeout of {run.node.timeout:g} s")

    # -- values kept in the cluster (Dask; see _pool_resident.py) ----------------------
    def _hand_over(self, item: tuple) -> tuple:
        """An input entry whose value this pool's cluster holds travels as its future."""
        entry = item[2]
        if type(entry) is StoredValue and type(entry.value_func) is ClusterValue:
            cv = entry.value_func
            if cv.resident and cv.executor is self:
                return (item[0], item[1], (ResidentInput, cv.future, cv.key))
        return item

    async def fetch_resident(self, cv: ClusterValue) -> Any:
        """Bring one resident value here (only that value travels)."""
        from netrun.execution._dask import pick_resident

        em = self.em
        if em is None:
            raise ExecutionError(f"the value {cv.key!r} kept in Dask pool {self.name!r} is gone: the pool was closed")
        client = em.get_pool(self.name).client
        return await client.submit(pick_resident, cv.future, cv.key, pure=False)

    def read_resident_here(self, cv: ClusterValue) -> Any:
        """Read a resident value on the net's loop thread, which cannot wait for the cluster:
        possible when the cluster's workers live in this process."""
        em = self.em
        pool = em.get_pool(self.name) if em is not None else None
        cluster = getattr(pool, "_cluster", None)
        key = getattr(cv.future, "key", None)
        for worker in (getattr(cluster, "workers", None) or {}).values():
            data = getattr(worker, "data", None)
            if data is not None and key in data:
                return data[key][3][1][cv.key]
        raise ExecutionError(
            f"a packet value kept in Dask pool {self.name!r} was read on the net's event loop, which cannot wait "
            f"for the cluster (its workers are not in this process); read it from another thread, or set "
            f"pools={{{self.name!r}: {{..., 'keep_values': False}}}} so values come back after each epoch")

    async def _fetch_all_resident(self) -> None:
        """Before the cluster closes: bring every resident value still in the net here."""
        store = self.core.store
        for pid in store.active_ids():
            try:
                entry = store.peek_entry(pid)
            except KeyError:
                continue
            if type(entry) is StoredValue and type(entry.value_func) is ClusterValue:
                cv = entry.value_func
                if cv.resident and cv.executor is self:
                    try:
                        cv.set(await asyncio.wait_for(self.fetch_resident(cv), 30))
                    except Exception as exc:
                        self.core.logs.get_log(self._nodes()[0].name if self._nodes() else self.name).add(
                            f"Dask pool {self.name!r}: the value of packet {pid} could not be fetched before the "
                            f"cluster closed: {type(exc).__name__}: {exc}", None, "error")

    # -- output -----------------------------------------------------------------------
    def _output_sink(self, run: Any) -> Any:
        return partial(self._log_lines, run)

    def _log_lines(self, run: Any, lines: list) -> None:
        node = run.node
        capture, echo = node.capture, node.echo
        if capture:
            log = node.log
            for line in lines:
                log.add(line.text, run.id, "warning" if line.is_stderr else "info", line.timestamp)
            self.core.logs.note_epoch(run.id, node.name)
        if echo or not capture:
            for line in lines:
                print(line.text, file=sys.stderr if line.is_stderr else sys.stdout)

    # -- reconnection -----------------------------------------------------------------
    def _request_reconnect(self) -> None:
        """Every worker is gone (a remote server vanished): try to open the pool again in
        the background, at most every couple of seconds, while the net runs."""
        loop = self._loop
        if self._reconnect is not None or self._stopping or loop is None or loop.is_closed():
            return
        if loop.time() < self._next_reconnect:
            return
        self._next_reconnect = loop.time() + _RECONNECT_EVERY
        self._reconnect = loop.create_task(self._reopen())

    async def _reopen(self) -> None:
        try:
            await asyncio.sleep(0.1)
            if self._stopping or not self._all_dead():
                return
            await self._discard()
            await self.start(self.core)
        except Exception as exc:
            self.core.logs.get_log(next(iter(n.name for n in self._nodes()), self.name)).add(
                f"{self.kind} pool {self.name!r}: reconnecting failed: {type(exc).__name__}: {exc}", None, "warning")
        finally:
            self._reconnect = None


def _user_modules(node: Any) -> list[Any]:
    """The modules of a node's functions that a remote worker may not have (not netrun's,
    not the standard library's, not ``__main__``, which cloudpickle ships by value anyway)."""
    out = []
    for func in (node.exec_func, node.start_func, node.stop_func):
        name = getattr(func, "__module__", None) or ""
        module = sys.modules.get(name)
        if module is None or name == "__main__" or name.split(".")[0] in ("netrun", "netrun_sim") \
                or name in sys.stdlib_module_names or module in out:
            continue
        out.append(module)
    return out


def _signature(node: Any) -> tuple:
    return (id(node.exec_func), id(node.start_func), id(node.stop_func),
            tuple(sorted((p, id(s)) for p, s in node.in_types.items())),
            tuple(sorted((p, id(s)) for p, s in node.out_types.items())))


def _unpicklable_input(run: Any, inputs: list) -> BaseException:
    import cloudpickle

    for port, pid, entry in inputs:
        try:
            cloudpickle.dumps(entry)
        except Exception as exc:
            what = "value function" if type(entry) is StoredValue and entry.is_value_func else "value"
            return PacketValueNotPicklable(
                f"The {what} of packet {pid} on input port '{port}' of node '{run.node.name}' "
                f"(type {type(entry).__name__})", exc)
    return PacketValueNotPicklable(f"The retry information of epoch {run.id}", RuntimeError("unpicklable"))


def _start_hint(kind: str, spec: PoolSpec) -> str:
    if kind == "remote":
        return (f"; check that a pool server (netrun.execution.create_execution_manager_server) listens at "
                f"{spec.options.get('url')} and that the token matches (token=... or NETRUN_REMOTE_TOKEN)")
    if kind == "dask":
        return "; install the extra (pip install 'netrun[dask]') and check the scheduler address"
    return ""


def _gone_hint(kind: str, spec: PoolSpec) -> str:
    if kind == "remote":
        return (f" (the connection to {spec.options.get('url')} was lost); restart the pool server: the net "
                f"reconnects on its own, and retries (set_node_config(node, retries=..., retry_wait=...)) "
                f"carry the epochs over")
    return "; they died and could not be replaced"


def _kill_processes(em: ExecutionManager) -> None:
    for pool in em.pools.values():
        kill = getattr(pool, "_kill_all", None)
        if kill is not None:
            try:
                kill()
            except Exception:
                pass


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:
        pass
