"""A pool of worker processes, each running several worker threads.

``MultiprocessPool(worker_fn, num_processes=N, threads_per_process=M)`` has ``N*M``
workers; worker ``w`` is thread ``w % M`` of process ``w // M``. Processes are started with
``spawn`` (safe next to the runtime's threads; ``"forkserver"`` is accepted too), so the
worker function and start-up function must be importable or cloudpickle-able.

Output: in the worker processes, ``print`` output (stdout and stderr) is captured line by
line with the time each line was written. Lines printed inside a capture (the
ExecutionManager captures each job's output) belong to that capture; the rest is shipped
to the parent every ``output_flush_interval`` seconds, kept per process (at most
``max_buffered_lines``; the oldest are dropped and counted), handed to ``on_output`` and
returned by :meth:`MultiprocessPool.flush_stdout`.

Failures: a process that dies is detected at once (its pipe reaches end-of-file); each of
its workers is reported by ``recv`` as :class:`WorkerCrashed` after everything it sent, and
a replacement process is started (``restart_workers=True``). A process whose parent dies
exits by itself.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import itertools
import logging
import multiprocessing
import threading
import time
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

import cloudpickle

from netrun._util.callables import callable_name
from netrun.pool import _mp_child as proto
from netrun.pool._capture import OutputLine
from netrun.pool._core import Failure, PoolContextMixin, PoolCore
from netrun.pool.base import (
    POOL_UP_ERROR_CRASHED,
    POOL_UP_ERROR_EXCEPTION,
    PoolError,
    PoolInitMode,
    PoolStartupFailed,
    WorkerFn,
    WorkerId,
    WorkerMessage,
)
from netrun.rpc._pipe import PipeEnd
from netrun.rpc.base import ChannelBroken, ChannelClosed

__all__ = ["MultiprocessPool", "OutputLine"]

_log = logging.getLogger("netrun.pool.multiprocess")
_live_pools: weakref.WeakSet[MultiprocessPool] = weakref.WeakSet()


@atexit.register
def _kill_leftover_processes() -> None:
    """Interpreter exit without ``close()``: kill the pools' processes (no orphans)."""
    for pool in list(_live_pools):
        pool._kill_all()


class _Slot:
    """One worker process (a replacement gets a new slot)."""

    def __init__(self, idx: int, generation: int) -> None:
        self.idx = idx
        self.generation = generation
        self.process: Any = None
        self.pipe: PipeEnd | None = None
        self.ready = False
        self.ready_future: asyncio.Future[int] | None = None
        self.pending: list[bytes] = []
        self.closing = False
        self.kill_reason: str | None = None
        self.shutdown_done = threading.Event()
        self.pid: int | None = None


class MultiprocessPool(PoolContextMixin):
    """``num_processes`` processes × ``threads_per_process`` worker threads.

    See the module docstring for output capture and failure handling. ``worker_startup``
    runs in each worker thread (``init_mode="per_worker"``) or once per process before its
    threads start (``init_mode="global"``, called with ``None``).
    """

    serializes_messages = True

    def __init__(
        self,
        worker_fn: WorkerFn,
        num_processes: int,
        threads_per_process: int = 1,
        redirect_output: bool = True,
        buffer_output: bool = True,
        output_flush_interval: float = 0.1,
        on_output: Callable[[int, list[OutputLine]], None] | None = None,
        *,
        worker_startup: Callable[[WorkerId | None], Any] | None = None,
        init_mode: PoolInitMode | str = PoolInitMode.PER_WORKER,
        restart_workers: bool = True,
        start_timeout: float = 60.0,
        mp_context: str = "spawn",
        max_buffered_lines: int = 10_000,
        name: str = "MultiprocessPool",
    ) -> None:
        if not isinstance(num_processes, int) or num_processes < 1:
            raise ValueError(f"{name} needs num_processes >= 1 (got {num_processes!r})")
        if not isinstance(threads_per_process, int) or threads_per_process < 1:
            raise ValueError(f"{name} needs threads_per_process >= 1 (got {threads_per_process!r})")
        if mp_context not in ("spawn", "forkserver"):
            raise ValueError(
                f"mp_context={mp_context!r} is not supported: use 'spawn' or 'forkserver' ('fork' is "
                "unsafe in a process that runs threads)"
            )
        self._core = PoolCore(name, num_processes * threads_per_process)
        self._nproc = num_processes
        self._tpp = threads_per_process
        self._worker_fn = worker_fn
        self._startup = worker_startup
        self._spec = {
            "worker_fn": worker_fn,
            "threads_per_process": threads_per_process,
            "worker_startup": worker_startup,
            "init_mode": PoolInitMode(init_mode),
            "redirect_output": redirect_output,
            "buffer_output": buffer_output,
            "output_flush_interval": output_flush_interval,
        }
        self._on_output = on_output
        self._restart = restart_workers
        self._start_timeout = start_timeout
        self._ctx = multiprocessing.get_context(mp_context)
        self._name = name
        self._slots: list[_Slot] = []
        self._stdout: list[collections.deque[OutputLine]] = [
            collections.deque(maxlen=max_buffered_lines) for _ in range(num_processes)
        ]
        self._dropped_lines = [0] * num_processes
        self._flush_waiters: dict[int, asyncio.Future[None]] = {}
        self._request_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    # -- properties -----------------------------------------------------------------------
    @property
    def num_workers(self) -> int:
        return self._core.num_workers

    @property
    def num_processes(self) -> int:
        return self._nproc

    @property
    def threads_per_process(self) -> int:
        return self._tpp

    @property
    def is_running(self) -> bool:
        return self._core.started and not self._core.closed

    def get_process_ids(self) -> list[int | None]:
        """The pid of each process (``None`` while a replacement is starting)."""
        return [slot.pid for slot in self._slots]

    def worker_process_index(self, worker_id: WorkerId) -> int:
        return worker_id // self._tpp

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Start every process and wait until all workers are ready (``start_timeout``)."""
        self._core.begin_start()
        self._loop = asyncio.get_running_loop()
        _live_pools.add(self)
        try:
            spec_bytes = self._spec_bytes()
            self._slots = [self._launch(idx, spec_bytes) for idx in range(self._nproc)]
            await self._await_ready(self._slots)
        except BaseException:
            await self.close(timeout=0)
            raise

    def _spec_bytes(self) -> bytes:
        try:
            return cloudpickle.dumps(self._spec)
        except Exception as exc:
            raise PoolError(
                f"{self._name} cannot send its worker function {callable_name(self._worker_fn)} (or start-up "
                f"function) to worker processes: it cannot be pickled ({type(exc).__name__}: {exc}); define "
                "it at module level"
            ) from exc

    def _launch(self, idx: int, spec_bytes: bytes, slot: _Slot | None = None) -> _Slot:
        """Start process ``idx`` (into ``slot``, a placeholder holding queued sends, if given)."""
        slot = slot or _Slot(idx, 0)
        assert self._loop is not None
        slot.ready_future = self._loop.create_future()
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=proto.child_main,
            args=(child_conn, spec_bytes, idx),
            name=f"netrun-{self._name}-process-{idx}",
            daemon=False,
        )
        process.start()
        child_conn.close()
        slot.process = process
        slot.pid = process.pid
        slot.pipe = PipeEnd(
            parent_conn,
            f"pipe to process {idx} of {self._name}",
            on_message=lambda msg, s=slot: self._on_message(s, msg),
            on_end=lambda reason, s=slot: self._on_end(s, reason),
        )
        slot.pipe.start_reader(f"netrun-{self._name}-reader-{idx}")
        return slot

    async def _await_ready(self, slots: list[_Slot]) -> None:
        futures = [s.ready_future for s in slots]
        _done, pending = await asyncio.wait(futures, timeout=self._start_timeout)  # type: ignore[arg-type]
        if pending:
            slot = slots[futures.index(next(iter(pending)))]
            raise PoolStartupFailed(
                slot.idx * self._tpp,
                f"process {slot.idx} of {self._name} did not become ready within {self._start_timeout} s "
                "(a slow import or a stuck start-up function?); raise start_timeout or fix the start-up",
            )
        errors = [f.exception() for f in futures]  # type: ignore[union-attr]
        for err in errors:
            if err is not None:
                raise err

    # -- replies (reader threads) ---------------------------------------------------------
    def _on_message(self, slot: _Slot, msg: tuple[str, int, Any, Any]) -> None:
        kind, i, a, b = msg
        core = self._core
        if kind == proto.MP_UP_RESPONSE:
            wid = slot.idx * self._tpp + i
            core.push(wid, a, b, core.generation[wid])
        elif kind == proto.MP_UP_STDOUT_BUFFER:
            self._store_output(slot.idx, a)
            if b is not None:
                self._call_soon(self._resolve_flush, b)
        elif kind == proto.MP_UP_READY:
            self._call_soon(self._slot_ready, slot, a)
        elif kind == proto.MP_UP_STARTUP_FAILED:
            self._call_soon(self._slot_startup_failed, slot, i, a)
        elif kind in (proto.MP_UP_WORKER_EXCEPTION, proto.MP_UP_WORKER_EXITED):
            self._worker_thread_failed(slot, i, kind, a)
        elif kind == proto.MP_UP_SHUTDOWN_COMPLETE:
            slot.shutdown_done.set()
        elif kind == proto.MP_UP_SUBPROCESS_ERROR:
            _log.warning("%s process %d: %s", self._name, slot.idx, a)

    def _call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)  # type: ignore[union-attr]
        except RuntimeError:
            pass  # the loop is closed; nobody is listening any more

    def _store_output(self, idx: int, lines: list[OutputLine]) -> None:
        buf = self._stdout[idx]
        overflow = len(buf) + len(lines) - (buf.maxlen or 0)
        if overflow > 0:
            self._dropped_lines[idx] += overflow
        buf.extend(lines)
        if self._on_output is not None and lines:
            self._call_soon(self._deliver_output, idx, lines)

    def _deliver_output(self, idx: int, lines: list[OutputLine]) -> None:
        try:
            self._on_output(idx, lines)  # type: ignore[misc]
        except Exception:
            _log.exception("%s: the on_output callback raised", self._name)

    def _slot_ready(self, slot: _Slot, pid: int) -> None:
        slot.pid = pid
        slot.ready = True
        pending, slot.pending = slot.pending, []
        for payload in pending:
            self._write(slot, payload)
        if slot.ready_future is not None and not slot.ready_future.done():
            slot.ready_future.set_result(pid)

    def _slot_startup_failed(self, slot: _Slot, i: int, info: Any) -> None:
        fn = callable_name(self._startup) if self._startup is not None else "start-up"
        desc = f"{info.get('type')}: {info.get('message')}" if isinstance(info, dict) else f"{type(info).__name__}: {info}"
        where = f"worker {slot.idx * self._tpp + i}" if i >= 0 else f"process {slot.idx}"
        err = PoolStartupFailed(
            max(i, 0) + slot.idx * self._tpp,
            f"the start-up function {fn} raised {desc} in {where} of {self._name}",
        )
        if slot.ready_future is not None and not slot.ready_future.done():
            slot.ready_future.set_exception(err)
        slot.closing = True  # its exit is expected now

    def _worker_thread_failed(self, slot: _Slot, i: int, kind: str, exc: Any) -> None:
        wid = slot.idx * self._tpp + i

        def restart_thread() -> None:
            self._send_to_slot(slot, (proto.MP_DOWN_RESTART_THREAD, i, None, None))

        if kind == proto.MP_UP_WORKER_EXCEPTION:
            failure = Failure(
                POOL_UP_ERROR_EXCEPTION,
                {"reason": "the worker function raised", "restarted": self._restart, "pid": slot.pid},
                exception=exc,
                on_received=restart_thread if self._restart else None,
            )
        else:
            failure = Failure(
                POOL_UP_ERROR_CRASHED,
                {"reason": "the worker function returned while the pool was running", "restarted": self._restart,
                 "pid": slot.pid},
                on_received=restart_thread if self._restart else None,
            )
        self._core.push_failure(wid, failure)

    def _on_end(self, slot: _Slot, reason: str) -> None:
        """The pipe of ``slot`` reached end-of-file (reader thread)."""
        slot.shutdown_done.set()
        if slot.closing or self._closing:
            return
        process = slot.process
        process.join(1.0)
        exitcode = process.exitcode
        if slot.ready_future is not None and not slot.ready_future.done():
            self._call_soon(self._fail_startup_exit, slot, exitcode)
            return
        restart = self._restart and not self._core.closed
        wids = list(range(slot.idx * self._tpp, (slot.idx + 1) * self._tpp))
        details = {
            "reason": slot.kill_reason or "its process died",
            "restarted": restart,
            "requested": slot.kill_reason is not None,
            "pid": slot.pid,
            "exitcode": exitcode,
            "process_idx": slot.idx,
            "worker_ids": wids,
        }
        if restart:
            # The replacement slot exists before anyone can learn of the failure, so sends
            # made after receiving it queue up there until the new process is ready.
            replacement = _Slot(slot.idx, slot.generation + 1)
            self._slots[slot.idx] = replacement
        for wid in wids:
            self._core.push_failure(wid, Failure(POOL_UP_ERROR_CRASHED, dict(details)))
        if restart:
            self._call_soon(self._start_replacement, replacement)

    def _fail_startup_exit(self, slot: _Slot, exitcode: int | None) -> None:
        if slot.ready_future is not None and not slot.ready_future.done():
            slot.ready_future.set_exception(
                PoolStartupFailed(
                    slot.idx * self._tpp,
                    f"process {slot.idx} of {self._name} exited during start-up (exit code {exitcode}); "
                    "see its stderr above",
                )
            )

    def _start_replacement(self, placeholder: _Slot) -> None:
        if self._core.closed:
            return
        self._core.spawn(self._replace(placeholder))

    async def _replace(self, placeholder: _Slot) -> None:
        idx = placeholder.idx
        try:
            slot = self._launch(idx, self._spec_bytes(), placeholder)
            await self._await_ready([slot])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.error("%s: the replacement of process %d failed: %s", self._name, idx, exc)
            for wid in range(idx * self._tpp, (idx + 1) * self._tpp):
                self._core.push_failure(
                    wid,
                    Failure(POOL_UP_ERROR_CRASHED, {"reason": f"its replacement process failed to start: {exc}",
                                                    "restarted": False, "process_idx": idx}),
                )

    async def restart_worker(self, worker_id: WorkerId, reason: str = "restart requested") -> None:
        """Kill the process of ``worker_id`` (all its threads' workers) and start a new one.

        Each worker of that process is then reported by ``recv`` as ``WorkerCrashed`` with
        ``details["requested"] = True`` and ``details["reason"] = reason``.
        """
        self._core.check_running("restart a worker")
        self._core.check_worker(worker_id)
        slot = self._slots[worker_id // self._tpp]
        if slot.process is None or slot.kill_reason is not None:
            return
        slot.kill_reason = reason
        slot.process.kill()

    # -- sending --------------------------------------------------------------------------
    def _write(self, slot: _Slot, payload: bytes) -> None:
        try:
            slot.pipe.send_bytes(payload)  # type: ignore[union-attr]
        except (ChannelBroken, ChannelClosed):
            pass  # the process is gone; its failure is reported through recv

    def _send_to_slot(self, slot: _Slot, msg: tuple[Any, ...]) -> None:
        from netrun.rpc import _codec

        payload = _codec.dumps(msg, f"message {msg[2]!r}" if isinstance(msg[2], str) else "message")
        if slot.ready:
            self._write(slot, payload)
        else:
            slot.pending.append(payload)

    async def send(self, worker_id: WorkerId, key: str, data: Any) -> None:
        """Pickle ``(key, data)`` and write it to the worker's process."""
        self.send_nowait(worker_id, key, data)

    def send_nowait(self, worker_id: WorkerId, key: str, data: Any) -> None:
        """:meth:`send` for synchronous code on the loop thread."""
        core = self._core
        if not core.started or core.closed:
            core.check_running("send")
        if type(worker_id) is not int or not 0 <= worker_id < core.num_workers:
            core.check_worker(worker_id)
        if core.may_send(worker_id):
            self._send_to_slot(
                self._slots[worker_id // self._tpp], (proto.MP_DOWN_DISPATCH, worker_id % self._tpp, key, data)
            )

    async def broadcast(self, key: str, data: Any) -> None:
        """Send ``(key, data)`` to every live worker."""
        self._core.check_running("broadcast")
        for wid in range(self.num_workers):
            if self._core.may_send(wid):
                self._send_to_slot(self._slots[wid // self._tpp], (proto.MP_DOWN_DISPATCH, wid % self._tpp, key, data))

    async def recv(self, timeout: float | None = None) -> WorkerMessage:
        return await self._core.recv(timeout)

    async def recv_batch(self, timeout: float | None = None) -> list[WorkerMessage]:
        return await self._core.recv_batch(timeout)

    async def try_recv(self) -> WorkerMessage | None:
        return self._core.try_recv()

    # -- output ---------------------------------------------------------------------------
    def _resolve_flush(self, request_id: int) -> None:
        fut = self._flush_waiters.pop(request_id, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def flush_stdout(self, process_idx: int, timeout: float | None = 5.0) -> list[tuple[datetime, bool, str]]:
        """Everything process ``process_idx`` printed outside job captures, oldest first.

        Asks the process to ship what it holds first (waiting at most ``timeout`` s), then
        returns and clears the parent's buffer for it. Entries are :class:`OutputLine`
        ``(timestamp, is_stderr, text)`` tuples.
        """
        self._core.check_running("flush stdout")
        if not isinstance(process_idx, int) or not 0 <= process_idx < self._nproc:
            raise ValueError(f"process_idx {process_idx!r} is not a process of {self._name} (0..{self._nproc - 1})")
        slot = self._slots[process_idx]
        if slot.ready and slot.process is not None and slot.process.is_alive():
            request_id = next(self._request_ids)
            fut = asyncio.get_running_loop().create_future()
            self._flush_waiters[request_id] = fut
            self._send_to_slot(slot, (proto.MP_DOWN_FLUSH_STDOUT, -1, None, request_id))
            try:
                await asyncio.wait_for(fut, timeout)
            except asyncio.TimeoutError:
                self._flush_waiters.pop(request_id, None)
                raise PoolError(
                    f"process {process_idx} of {self._name} did not ship its output within {timeout} s "
                    "(is it stuck in C code holding the GIL?)"
                ) from None
        buf = self._stdout[process_idx]
        lines = list(buf)
        buf.clear()
        if self._dropped_lines[process_idx]:
            lines.insert(0, OutputLine(lines[0].timestamp if lines else datetime.now().astimezone(), True,
                                       f"[netrun: {self._dropped_lines[process_idx]} older output lines of process "
                                       f"{process_idx} were dropped (max_buffered_lines)]"))
            self._dropped_lines[process_idx] = 0
        return lines

    async def flush_all_stdout(self, timeout: float | None = 5.0) -> dict[int, list[tuple[datetime, bool, str]]]:
        """:meth:`flush_stdout` for every process, concurrently."""
        results = await asyncio.gather(*(self.flush_stdout(i, timeout) for i in range(self._nproc)))
        return dict(enumerate(results))

    # -- shutting down --------------------------------------------------------------------
    async def close(self, timeout: float | None = 10.0) -> None:
        """Stop every process: workers finish the messages already sent, output is flushed.

        Waits at most ``timeout`` seconds (``0``: kill at once), then kills what is left and
        waits for it to be gone, so no process outlives the pool.
        """
        if self._core.closed:
            return
        self._closing = True
        self._core.closed = True
        grace = 10.0 if timeout is None else float(timeout)
        await self._core.cancel_tasks()
        for slot in self._slots:
            slot.closing = True
            if grace > 0 and slot.ready:
                self._write(slot, _encode_shutdown(grace))
        deadline = time.monotonic() + grace
        for slot in self._slots:
            if slot.process is None:
                continue
            remaining = deadline - time.monotonic()
            if remaining > 0 and slot.ready:
                await asyncio.to_thread(slot.shutdown_done.wait, remaining)
                await asyncio.to_thread(slot.process.join, max(0.1, deadline - time.monotonic()))
        self._kill_all()
        for slot in self._slots:
            if slot.process is not None:
                await asyncio.to_thread(slot.process.join, 5.0)
            if slot.pipe is not None:
                slot.pipe.stop()
                await asyncio.to_thread(slot.pipe.join, 1.0)
        for fut in self._flush_waiters.values():
            fut.cancel()
        self._core.inbox.close_local()
        _live_pools.discard(self)

    def _kill_all(self) -> None:
        self._closing = True
        for slot in self._slots:
            slot.closing = True
            proc = slot.process
            if proc is not None and proc.exitcode is None:
                try:
                    proc.kill()
                except Exception:
                    pass


def _encode_shutdown(grace: float) -> bytes:
    from netrun.rpc import _codec

    return _codec.dumps((proto.MP_DOWN_SHUTDOWN, -1, None, grace))
