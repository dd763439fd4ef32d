"""The worker side of the ExecutionManager: the loop each pool worker runs.

A worker keeps the functions sent to it (``SEND_FUNCTION``, once per worker) and runs
``RUN`` requests one after another (sync workers) or as concurrent tasks (the event-loop
worker). Every job: announce the start, capture its output, call the function (awaiting
it if it is async: sync workers use one persistent loop per worker thread), and answer
with the result or the exception. A function's exception never kills the worker.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

import cloudpickle

from netrun._util.aio import thread_loop
from netrun._util.callables import callable_name
from netrun.execution.errors import (
    FunctionNotFound,
    JobCancelled,
    RemoteException,
    ResultNotPicklable,
)
from netrun.execution.protocol import (
    KEY_CANCEL,
    KEY_FUNCTION_ACK,
    KEY_PRINT_BUFFER,
    KEY_RESPONSE,
    KEY_RUN,
    KEY_SEND_FUNCTION,
    KEY_STARTED,
)
from netrun.pool._capture import capture_output
from netrun.rpc import _codec
from netrun.rpc.base import (
    ChannelBroken,
    ChannelClosed,
    MessageNotSerializable,
    SyncRPCChannel,
)

__all__ = ["async_execution_worker", "execution_worker", "remote_execution_manager_worker", "resolve_import_path"]

_log = logging.getLogger("netrun.execution.worker")

FuncPreprocessor = Callable[[Callable[..., Any], str], Callable[..., Any]]
FuncDoneCallback = Callable[[str, Any, "BaseException | None"], None]
# ``job_log(key, run_id, ok, value, output_lines, started, completed)`` after each job of a
# thread/process/remote worker (``Net.serve_pool(log_file=...)`` writes it to a file); its
# errors are logged, never raised into the worker.
JobLog = Callable[[str, Any, bool, Any, list, float, float], None]


def resolve_import_path(path: str) -> Callable[..., Any]:
    """Import ``"package.module.attr"`` or ``"package.module:attr.sub"``."""
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
        attrs = attr_path.split(".")
    else:
        module_name, _, attr = path.rpartition(".")
        attrs = [attr]
    if not module_name or not all(attrs):
        raise FunctionNotFound(
            f"{path!r} is neither a registered function key nor an import path like 'package.module.function'"
        )
    try:
        obj: Any = importlib.import_module(module_name)
        for attr in attrs:
            obj = getattr(obj, attr)
    except (ImportError, AttributeError) as exc:
        raise FunctionNotFound(
            f"{path!r} is not a registered function key, and importing it failed ({type(exc).__name__}: {exc}); "
            "send the function first (send_function_to_pool) or fix the import path"
        ) from None
    if not callable(obj):
        raise FunctionNotFound(f"{path!r} imports {obj!r}, which is not callable")
    return obj


class _Functions:
    """The functions one worker knows, preprocessed once."""

    def __init__(self, preprocessor: FuncPreprocessor | None) -> None:
        self._funcs: dict[str, Callable[..., Any]] = {}
        self._preprocessor = preprocessor

    def register(self, key: str, func_or_blob: Any) -> None:
        func = cloudpickle.loads(func_or_blob) if isinstance(func_or_blob, bytes) else func_or_blob
        if self._preprocessor is not None:
            func = self._preprocessor(func, key)
        self._funcs[key] = func

    def get(self, key: str) -> Callable[..., Any]:
        func = self._funcs.get(key)
        if func is None:
            func = resolve_import_path(key)
            if self._preprocessor is not None:
                func = self._preprocessor(func, key)
            self._funcs[key] = func
        return func


def _exception_value(exc: BaseException, packed: bool) -> BaseException:
    """``exc`` if it can travel, else a :class:`RemoteException` describing it."""
    if not packed:
        return exc
    try:
        _codec.dumps(exc)
        return exc
    except MessageNotSerializable:
        return RemoteException(type(exc).__name__, str(exc), "".join(traceback.format_exception(exc)))


def _notify_done(callback: FuncDoneCallback | None, key: str, result: Any, exc: BaseException | None) -> None:
    if callback is None:
        return
    try:
        callback(key, result, exc)
    except Exception:
        _log.exception("func_done_callback raised for %r", key)


def _line_streamer(send: Callable[[str, Any], Any], msg_id: Any) -> Callable[[Any], None]:
    """Send each completed output line of job ``msg_id`` at once (``UP_PRINT_BUFFER``)."""

    def on_line(line: Any) -> None:
        try:
            send(KEY_PRINT_BUFFER, (msg_id, [line]))
        except (ChannelClosed, ChannelBroken):
            pass  # the manager is gone; the line stays in the job's print buffer

    return on_line


def execution_worker(
    channel: SyncRPCChannel,
    worker_id: int,
    func_preprocessor: FuncPreprocessor | None = None,
    func_done_callback: FuncDoneCallback | None = None,
    capture_prints: bool = True,
    job_log: JobLog | None = None,
) -> None:
    """The worker loop for thread, process and remote pools (returns when the channel closes).

    ``func_preprocessor(func, key)`` wraps each function once when it is registered or
    imported; ``func_done_callback(key, result, exception)`` runs after each job;
    ``job_log`` (see :data:`JobLog`) also gets the job's run id, its captured output and times.
    """
    funcs = _Functions(func_preprocessor)
    while True:
        try:
            key, data = channel.recv()
        except (ChannelClosed, ChannelBroken):
            return
        try:
            if key == KEY_RUN:
                _run_sync_job(channel, funcs, data, func_done_callback, capture_prints, job_log)
            elif key == KEY_SEND_FUNCTION:
                msg_id, func_key, func_or_blob = data
                try:
                    funcs.register(func_key, func_or_blob)
                    error = None
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                channel.send(KEY_FUNCTION_ACK, (msg_id, func_key, error))
            else:
                _log.warning("worker %s ignored an unknown message %r", worker_id, key)
        except (ChannelClosed, ChannelBroken):
            return


def _run_sync_job(
    channel: SyncRPCChannel,
    funcs: _Functions,
    data: tuple[Any, ...],
    done_callback: FuncDoneCallback | None,
    capture_prints: bool,
    job_log: JobLog | None = None,
) -> None:
    msg_id, func_key, run_id, send_channel, payload, packed, stream = data
    started = time.time()
    channel.send(KEY_STARTED, (msg_id, started))
    on_line = _line_streamer(channel.send, msg_id) if stream else None
    output: list[Any] = []
    tb: str | None = None
    result: Any = None
    try:
        func = funcs.get(func_key)
        args, kwargs = _codec.loads(payload) if packed else payload
        if send_channel:
            args = (channel, *args)
        if capture_prints:
            with capture_output(on_line) as capture:
                try:
                    result = func(*args, **kwargs)
                    if inspect.isawaitable(result):
                        result = thread_loop().run_until_complete(result)
                finally:
                    output = capture.finish()
        else:
            result = func(*args, **kwargs)
            if inspect.isawaitable(result):
                result = thread_loop().run_until_complete(result)
        ok, value = True, result
    except BaseException as exc:  # the function's failure is the job's result, not the worker's
        ok, value, tb = False, _exception_value(exc, packed), "".join(traceback.format_exception(exc))
    completed = time.time()
    _notify_done(done_callback, func_key, value if ok else None, None if ok else value)
    if job_log is not None:
        try:
            job_log(func_key, run_id, ok, value, output, started, completed)
        except Exception:
            _log.exception("job_log raised for %r", func_key)
    if packed:
        try:
            value = _codec.dumps(value)
        except MessageNotSerializable as exc:
            name = func_key
            try:
                name = f"{func_key!r} ({callable_name(funcs.get(func_key))})"
            except Exception:
                pass
            ok, tb = False, None
            value = _codec.dumps(
                ResultNotPicklable(
                    f"function {name} returned a value of type {type(value).__module__}.{type(value).__qualname__} "
                    f"that cannot be sent back from the worker ({exc.__cause__ or exc}); return picklable data "
                    "(plain containers, dataclasses of them, numpy arrays...) or run it on a thread pool"
                )
            )
    channel.send(KEY_RESPONSE, (msg_id, started, completed, ok, value, packed, output, tb))


async def async_execution_worker(
    channel: Any,
    worker_id: int,
    func_preprocessor: FuncPreprocessor | None = None,
    func_done_callback: FuncDoneCallback | None = None,
    capture_prints: bool = True,
) -> None:
    """The worker loop for the event-loop pool: every job is a task, so async jobs overlap.

    A sync function runs directly on the loop (it blocks it while it runs).
    """
    funcs = _Functions(func_preprocessor)
    tasks: dict[Any, asyncio.Task[None]] = {}
    try:
        while True:
            try:
                key, data = await channel.recv()
            except (ChannelClosed, ChannelBroken):
                if tasks:
                    await asyncio.gather(*tasks.values(), return_exceptions=True)
                return
            if key == KEY_RUN:
                msg_id = data[0]
                task = asyncio.get_running_loop().create_task(
                    _run_async_job(channel, funcs, data, func_done_callback, capture_prints)
                )
                tasks[msg_id] = task
                task.add_done_callback(lambda _t, m=msg_id: tasks.pop(m, None))
            elif key == KEY_CANCEL:
                task = tasks.get(data[0])
                if task is not None:
                    task.cancel()
            elif key == KEY_SEND_FUNCTION:
                msg_id, func_key, func_or_blob = data
                try:
                    funcs.register(func_key, func_or_blob)
                    error = None
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                await channel.send(KEY_FUNCTION_ACK, (msg_id, func_key, error))
    finally:
        for task in tasks.values():
            task.cancel()


class _JobChannel:
    """The channel a ``send_channel=True`` job gets on the event-loop pool.

    ``send`` works from sync and async code alike (it sends at once and returns a finished
    awaitable), so the same function can use ``channel.send(...)`` on every pool kind.
    """

    __slots__ = ("_channel",)

    def __init__(self, channel: Any) -> None:
        self._channel = channel

    def send(self, key: str, data: Any) -> asyncio.Future[None]:
        self._channel.send_nowait(key, data)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def recv(self, timeout: float | None = None) -> tuple[str, Any]:
        return await self._channel.recv(timeout)


async def _run_async_job(
    channel: Any,
    funcs: _Functions,
    data: tuple[Any, ...],
    done_callback: FuncDoneCallback | None,
    capture_prints: bool,
) -> None:
    msg_id, func_key, _run_id, send_channel, payload, _packed, stream = data
    started = time.time()
    try:
        channel.send_nowait(KEY_STARTED, (msg_id, started))
    except (ChannelClosed, ChannelBroken):
        return
    on_line = _line_streamer(channel.send_nowait, msg_id) if stream else None
    output: list[Any] = []
    tb: str | None = None
    result: Any = None
    try:
        func = funcs.get(func_key)
        args, kwargs = payload
        if send_channel:
            args = (_JobChannel(channel), *args)
        if capture_prints:
            with capture_output(on_line) as capture:
                try:
                    result = func(*args, **kwargs)
                    if inspect.isawaitable(result):
                        result = await result
                finally:
                    output = capture.finish()
        else:
            result = func(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        ok, value = True, result
    except asyncio.CancelledError:
        ok, value = False, JobCancelled(f"job {msg_id} ({func_key!r}) was cancelled")
    except BaseException as exc:
        ok, value, tb = False, exc, "".join(traceback.format_exception(exc))
    _notify_done(done_callback, func_key, value if ok else None, None if ok else value)
    try:
        channel.send_nowait(KEY_RESPONSE, (msg_id, started, time.time(), ok, value, False, output, tb))
    except (ChannelClosed, ChannelBroken):
        pass


def remote_execution_manager_worker(
    channel: SyncRPCChannel,
    worker_id: int,
    func_preprocessor: FuncPreprocessor | None = None,
    func_done_callback: FuncDoneCallback | None = None,
    job_log: JobLog | None = None,
) -> None:
    """The worker a remote server runs for ExecutionManager clients (see ``server.py``)."""
    execution_worker(channel, worker_id, func_preprocessor, func_done_callback, job_log=job_log)
