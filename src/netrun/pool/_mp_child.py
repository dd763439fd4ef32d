"""The program each MultiprocessPool process runs (imported in the child, by ``spawn``).

The child's main thread is a router: it reads the pipe from the parent and hands each
message to the mailbox of the addressed worker thread. Worker threads write their replies
straight to the pipe (under a lock, no feeder thread), so whatever a worker sent before
the process died has reached the parent. End-of-file on the pipe means the parent is gone:
the child exits at once, so a killed parent leaves no orphan workers behind.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from typing import Any

from netrun.pool._capture import LineCapture, OutputLine, install_routing_streams
from netrun.pool.base import PoolInitMode
from netrun.rpc import _codec
from netrun.rpc._mailbox import SyncMailbox
from netrun.rpc._pipe import PipeEnd
from netrun.rpc.base import (
    RPC_KEY_SHUTDOWN,
    ChannelBroken,
    ChannelClosed,
    MessageNotSerializable,
)

MP_DOWN_SHUTDOWN = "__pool-mp-down:shutdown"
MP_DOWN_DISPATCH = "__pool-mp-down:dispatch"
MP_DOWN_BROADCAST = "__pool-mp-down:broadcast"
MP_DOWN_FLUSH_STDOUT = "__pool-mp-down:flush-stdout"
MP_DOWN_RESTART_THREAD = "__pool-mp-down:restart-thread"
MP_UP_RESPONSE = "__pool-mp-up:response"
MP_UP_STDOUT_BUFFER = "__pool-mp-up:stdout-buffer"
MP_UP_SHUTDOWN_COMPLETE = "__pool-mp-up:shutdown-complete"
MP_UP_SUBPROCESS_ERROR = "__pool-mp-up:subprocess-error"
MP_UP_WORKER_EXCEPTION = "__pool-mp-up:worker-exception"
MP_UP_WORKER_EXITED = "__pool-mp-up:worker-exited"
MP_UP_READY = "__pool-mp-up:ready"
MP_UP_STARTUP_FAILED = "__pool-mp-up:startup-failed"


def exception_payload(exc: BaseException) -> Any:
    """``exc`` itself if it pickles, else a ``{type, message, traceback}`` dict."""
    try:
        _codec.dumps(exc)
        return exc
    except MessageNotSerializable:
        return {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": "".join(traceback.format_exception(exc)),
        }


class _WorkerChannel:
    """The SyncRPCChannel a worker thread gets: mailbox in, pipe out (tagged)."""

    __slots__ = ("_box", "_closed", "_idx", "_pipe")

    def __init__(self, pipe: PipeEnd, thread_idx: int, box: SyncMailbox) -> None:
        self._pipe = pipe
        self._idx = thread_idx
        self._box = box
        self._closed = False

    def send(self, key: str, data: Any) -> None:
        err = self._box.send_error()
        if err is not None:
            raise err
        self._pipe.send((MP_UP_RESPONSE, self._idx, key, data), f"message {key!r}")

    def recv(self, timeout: float | None = None) -> tuple[str, Any]:
        return self._box.get(timeout)

    def try_recv(self) -> tuple[str, Any] | None:
        return self._box.try_get()

    def close(self) -> None:
        self._closed = True
        self._box.close_local()

    @property
    def is_closed(self) -> bool:
        return self._closed or self._box.peer_ended is not None


class _StreamToCapture:
    """A write-only stream adapter: writes go to a LineCapture as stdout or stderr."""

    def __init__(self, capture: LineCapture, is_stderr: bool, original: Any) -> None:
        self._capture = capture
        self._is_stderr = is_stderr
        self.encoding = getattr(original, "encoding", "utf-8")
        self._original = original

    def write(self, text: str) -> int:
        self._capture.write(self._is_stderr, text)
        return len(text)

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        return self._original.fileno()


class _Child:
    def __init__(self, conn: Connection, spec: dict[str, Any]) -> None:
        self.conn = conn
        self.spec = spec
        self.idx: int = spec["process_idx"]
        self.tpp: int = spec["threads_per_process"]
        self.pipe = PipeEnd(conn, f"pipe to the parent of pool process {self.idx}")
        self.boxes: list[SyncMailbox] = []
        self.threads: list[threading.Thread | None] = [None] * self.tpp
        self.shutting_down = False
        self.output: LineCapture | None = None
        self._stop_flusher = threading.Event()

    # -- output -------------------------------------------------------------------------------
    def setup_output(self) -> None:
        if self.spec["redirect_output"]:
            if self.spec["buffer_output"]:
                self.output = LineCapture()
                interval = self.spec["output_flush_interval"]
                threading.Thread(target=self._flush_loop, args=(interval,), name="netrun-output-flusher", daemon=True).start()
            else:
                self.output = LineCapture(on_line=lambda line: self._send_lines([line], None))
            install_routing_streams(
                _StreamToCapture(self.output, False, sys.__stdout__), _StreamToCapture(self.output, True, sys.__stderr__)
            )
        else:
            install_routing_streams()

    def _flush_loop(self, interval: float) -> None:
        while not self._stop_flusher.wait(interval):
            assert self.output is not None
            lines = self.output.take()
            if lines:
                self._send_lines(lines, None)

    def _send_lines(self, lines: list[OutputLine], request_id: Any) -> None:
        try:
            self.pipe.send((MP_UP_STDOUT_BUFFER, -1, lines, request_id))
        except (ChannelBroken, ChannelClosed):
            pass

    def flush_output(self, request_id: Any, final: bool = False) -> None:
        lines: list[OutputLine] = []
        if self.output is not None:
            lines = self.output.finish() if final else self.output.take()
        if lines or request_id is not None:
            self._send_lines(lines, request_id)

    # -- workers ------------------------------------------------------------------------------
    def start_workers(self) -> None:
        startup = self.spec["worker_startup"]
        if startup is not None and self.spec["init_mode"] is PoolInitMode.GLOBAL:
            try:
                startup(None)
            except BaseException as exc:
                self.pipe.send((MP_UP_STARTUP_FAILED, -1, exception_payload(exc), None))
                raise SystemExit(1) from None
        self.boxes = [SyncMailbox(f"channel of worker {self.idx * self.tpp + i}") for i in range(self.tpp)]
        ready = [threading.Event() for _ in range(self.tpp)]
        failures: list[tuple[int, BaseException]] = []
        for i in range(self.tpp):
            self._launch(i, ready[i], failures)
        for event in ready:
            event.wait()
        if failures:
            i, exc = failures[0]
            self.pipe.send((MP_UP_STARTUP_FAILED, i, exception_payload(exc), None))
            raise SystemExit(1)
        self.pipe.send((MP_UP_READY, -1, os.getpid(), None))

    def _launch(self, i: int, ready: threading.Event | None, failures: list[tuple[int, BaseException]]) -> None:
        box = self.boxes[i]
        thread = threading.Thread(
            target=self._run_worker, args=(i, box, ready, failures), name=f"netrun-worker-{self.idx * self.tpp + i}", daemon=True
        )
        self.threads[i] = thread
        thread.start()

    def _run_worker(
        self, i: int, box: SyncMailbox, ready: threading.Event | None, failures: list[tuple[int, BaseException]]
    ) -> None:
        wid = self.idx * self.tpp + i
        startup = self.spec["worker_startup"]
        try:
            if startup is not None and self.spec["init_mode"] is PoolInitMode.PER_WORKER:
                startup(wid)
        except BaseException as exc:
            failures.append((i, exc))
            if ready is not None:
                ready.set()
            else:  # a restarted thread: report like a worker exception
                self._report(MP_UP_WORKER_EXCEPTION, i, exc)
            return
        if ready is not None:
            ready.set()
        try:
            self.spec["worker_fn"](_WorkerChannel(self.pipe, i, box), wid)
        except BaseException as exc:
            if not self.shutting_down and self.boxes[i] is box:
                self._report(MP_UP_WORKER_EXCEPTION, i, exc)
        else:
            if not self.shutting_down and self.boxes[i] is box:
                self._report(MP_UP_WORKER_EXITED, i, None)

    def _report(self, kind: str, i: int, exc: BaseException | None) -> None:
        payload = None if exc is None else exception_payload(exc)
        try:
            self.pipe.send((kind, i, payload, None))
        except (ChannelBroken, ChannelClosed):
            pass

    def restart_thread(self, i: int) -> None:
        self.boxes[i].close_local()
        self.boxes[i] = SyncMailbox(f"channel of worker {self.idx * self.tpp + i}")
        self._launch(i, None, [])

    # -- the router ---------------------------------------------------------------------------
    def route(self) -> None:
        conn = self.conn
        loads = _codec.loads
        boxes = self.boxes
        while True:
            try:
                payload = conn.recv_bytes()
            except (EOFError, OSError):
                os._exit(0)  # the parent is gone: leave no orphan behind
            try:
                kind, i, key, data = loads(payload)
            except Exception as exc:
                self.pipe.send((MP_UP_SUBPROCESS_ERROR, -1, f"undecodable message from the parent: {exc!r}", None))
                continue
            if kind == MP_DOWN_DISPATCH:
                boxes[i].put((key, data))
            elif kind == MP_DOWN_BROADCAST:
                for box in boxes:
                    box.put((key, data))
            elif kind == MP_DOWN_FLUSH_STDOUT:
                self.flush_output(data)
            elif kind == MP_DOWN_RESTART_THREAD:
                self.restart_thread(i)
            elif kind == MP_DOWN_SHUTDOWN:
                self.shutdown(float(data))
                return

    def shutdown(self, grace: float) -> None:
        import time

        self.shutting_down = True
        for box in self.boxes:
            box.put((RPC_KEY_SHUTDOWN, None))
        deadline = time.monotonic() + grace
        for thread in self.threads:
            if thread is not None:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._stop_flusher.set()
        self.flush_output(None, final=True)
        self.pipe.send((MP_UP_SHUTDOWN_COMPLETE, -1, None, None))


def child_main(conn: Connection, spec_bytes: bytes, process_idx: int) -> None:
    """Entry point of a pool process."""
    spec = dict(_codec.loads(spec_bytes), process_idx=process_idx)
    child = _Child(conn, spec)
    child.setup_output()
    try:
        child.start_workers()
        child.route()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc(file=sys.__stderr__)
        code = 1
    else:
        code = 0
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    # Exit without waiting for threads a user function may have left running.
    os._exit(code)

