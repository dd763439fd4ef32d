"""Channels between processes, over a duplex ``multiprocessing`` pipe.

The parent keeps a :class:`ProcessChannel` (async) and passes the other
``Connection`` to the child process, which wraps it in a :class:`SyncProcessChannel`.
Messages are pickled (cloudpickle when plain pickle refuses). A peer process that dies
makes the other end raise :class:`ChannelBroken` once everything it sent is delivered.

Example (the child function must be importable by the ``spawn`` start method)::

    chan, child_conn = create_process_channel_pair()
    proc = multiprocessing.get_context("spawn").Process(target=child_main, args=(child_conn,))
    proc.start(); child_conn.close()
    await chan.send("job", 1)
    print(await chan.recv(timeout=10))

    def child_main(conn):
        chan = SyncProcessChannel(conn)
        key, data = chan.recv()
        chan.send("done", data)
        chan.close()
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any

from netrun.rpc import _codec
from netrun.rpc._mailbox import LoopMailbox
from netrun.rpc._pipe import PipeEnd
from netrun.rpc.base import (
    RPC_KEY_BROKEN,
    RPC_KEY_ERROR,
    RPC_KEY_SHUTDOWN,
    ChannelBroken,
    ChannelClosed,
    MessageNotSerializable,
    RecvTimeout,
)

__all__ = [
    "ProcessChannel",
    "SyncProcessChannel",
    "create_process_channel_pair",
    "create_queue_pair",
]


class ProcessChannel:
    """The asynchronous (event-loop) end of a process channel."""

    def __init__(self, conn: Connection, name: str = "process channel") -> None:
        self._box = LoopMailbox(name)
        self._closed = False
        self._pipe = PipeEnd(
            conn,
            name,
            on_message=self._box.put,
            on_end=lambda reason: self._box.put((RPC_KEY_BROKEN, reason)),
            on_undecodable=self._undecodable,
        )
        self._pipe.start_reader(f"netrun-rpc-reader[{name}]")

    def _undecodable(self, exc: BaseException) -> None:
        self._box.put(
            (RPC_KEY_ERROR, MessageNotSerializable(f"a message could not be unpickled: {exc!r}"))
        )

    async def send(self, key: str, data: Any) -> None:
        """Pickle and write ``(key, data)`` to the peer process."""
        err = self._box.send_error()
        if err is not None:
            raise err
        try:
            self._pipe.send((key, data), f"message {key!r}")
        except ChannelBroken:
            end = self._box.peer_ended
            if end is not None and end[0] == RPC_KEY_SHUTDOWN:
                raise ChannelClosed(f"{self._box.name} was closed by the peer") from None
            raise

    async def recv(self, timeout: float | None = None) -> tuple[str, Any]:
        """The next message; :class:`RecvTimeout` after ``timeout`` seconds."""
        return await self._box.get(timeout)

    async def try_recv(self) -> tuple[str, Any] | None:
        return self._box.try_get()

    async def close(self) -> None:
        """Tell the peer we are closing, then stop reading (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._box.peer_ended is None:
            try:
                self._pipe.send((RPC_KEY_SHUTDOWN, None))
            except (ChannelBroken, ChannelClosed):
                pass
        self._box.close_local()
        self._pipe.stop()

    @property
    def is_closed(self) -> bool:
        return self._closed or self._box.peer_ended is not None


class SyncProcessChannel:
    """The blocking end of a process channel, used in the child process (or a thread)."""

    def __init__(self, conn: Connection, name: str = "process channel") -> None:
        self._conn = conn
        self._name = name
        self._pipe = PipeEnd(conn, name)
        self._read_lock = threading.Lock()
        self._closed = False
        self._end: tuple[str, Any] | None = None
        self._pending: deque[tuple[str, Any]] = deque()

    def send(self, key: str, data: Any) -> None:
        """Pickle and write ``(key, data)``; it is in the kernel when this returns."""
        self._raise_if_ended()
        try:
            self._pipe.send((key, data), f"message {key!r}")
        except ChannelBroken:
            # The pipe is gone. If the peer closed cleanly before going, say so.
            with self._read_lock:
                self._drain_available()
            if self._end is not None and self._end[0] == RPC_KEY_SHUTDOWN:
                raise ChannelClosed(f"{self._name} was closed by the peer") from None
            raise

    def _drain_available(self) -> None:
        try:
            while self._end is None and self._conn.poll(0):
                item = self._read_one()
                if item is not None:
                    self._pending.append(item)
        except (OSError, ValueError):
            pass

    def recv(self, timeout: float | None = None) -> tuple[str, Any]:
        """Block for the next message; :class:`RecvTimeout` after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._read_lock:
            while True:
                if self._pending and not self._closed:
                    return self._pending.popleft()
                self._raise_if_ended()
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    ready = self._conn.poll(remaining)
                except (OSError, ValueError) as exc:
                    self._end = (RPC_KEY_BROKEN, f"the pipe failed ({exc})")
                    continue
                if not ready:
                    raise RecvTimeout(f"no message on {self._name} within {timeout} s")
                item = self._read_one()
                if item is not None:
                    return item

    def try_recv(self) -> tuple[str, Any] | None:
        with self._read_lock:
            if self._pending and not self._closed:
                return self._pending.popleft()
            self._raise_if_ended()
            try:
                if not self._conn.poll(0):
                    return None
            except (OSError, ValueError):
                return None
            item = self._read_one()
            if item is None:
                self._raise_if_ended()
            return item

    def _read_one(self) -> tuple[str, Any] | None:
        try:
            payload = self._conn.recv_bytes()
        except (EOFError, OSError):
            self._end = (RPC_KEY_BROKEN, "the peer process exited without closing the channel")
            return None
        try:
            item = _codec.loads(payload)
        except Exception as exc:
            return (RPC_KEY_ERROR, MessageNotSerializable(f"a message could not be unpickled: {exc!r}"))
        if item[0] in (RPC_KEY_SHUTDOWN, RPC_KEY_BROKEN):
            self._end = item
            return None
        return item

    def _raise_if_ended(self) -> None:
        if self._closed:
            raise ChannelClosed(f"{self._name} is closed (this end closed it)")
        if self._end is not None:
            key, reason = self._end
            if key == RPC_KEY_SHUTDOWN:
                raise ChannelClosed(f"{self._name} was closed by the peer")
            raise ChannelBroken(f"{self._name} broke: {reason}")

    def close(self) -> None:
        if self._closed:
            return
        if self._end is None:
            try:
                self._pipe.send((RPC_KEY_SHUTDOWN, None))
            except (ChannelBroken, ChannelClosed):
                pass
        self._closed = True
        self._pipe.stop()

    @property
    def is_closed(self) -> bool:
        return self._closed or self._end is not None


def create_process_channel_pair(
    ctx: BaseContext | None = None, name: str = "process channel"
) -> tuple[ProcessChannel, Connection]:
    """An async parent end and the ``Connection`` to hand to the child process.

    Close the returned ``Connection`` in the parent after starting the child, so that the
    parent notices the child's death (end-of-file) at once.
    """
    ctx = ctx or multiprocessing.get_context("spawn")
    parent_conn, child_conn = ctx.Pipe(duplex=True)
    return ProcessChannel(parent_conn, name), child_conn


def create_queue_pair(
    ctx: BaseContext | None = None,
) -> tuple[ProcessChannel, Connection]:
    """Alias of :func:`create_process_channel_pair` under the published name.

    The published runtime used two ``multiprocessing.Queue`` objects here; a pipe is used
    instead because it reports the peer's death (``ChannelBroken``) and has no feeder
    thread that could lose messages when the sender is killed.
    """
    return create_process_channel_pair(ctx)
