"""Channels between an event loop and a worker thread of the same process.

Messages are passed by reference (no pickling). The loop side is a :class:`ThreadChannel`
(async); the thread side is a :class:`SyncThreadChannel` (blocking). A burst of messages
from the thread costs one loop wake-up, not one per message.

>>> import threading
>>> async def demo():
...     chan, (send_box, recv_box) = create_thread_channel_pair()
...     def worker():
...         side = SyncThreadChannel(send_box, recv_box)
...         key, data = side.recv(timeout=5)
...         side.send("echo", data)
...     t = threading.Thread(target=worker); t.start()
...     await chan.send("ping", 42)
...     reply = await chan.recv(timeout=5)
...     t.join()
...     return reply
>>> asyncio.run(demo())
('echo', 42)
"""

from __future__ import annotations

import asyncio  # noqa: F401  (used by the doctest)
from typing import Any, Protocol

from netrun.rpc._mailbox import LoopMailbox, SyncMailbox
from netrun.rpc.aio import AsyncChannel
from netrun.rpc.base import RPC_KEY_BROKEN, RPC_KEY_SHUTDOWN

__all__ = ["SyncThreadChannel", "ThreadChannel", "create_thread_channel_pair"]


class _Box(Protocol):
    def put(self, item: tuple[str, Any]) -> None: ...


class ThreadChannel(AsyncChannel):
    """The loop side of a loop-to-thread channel (``send_box`` is the thread's mailbox)."""

    __slots__ = ()


class SyncThreadChannel:
    """The blocking side of an in-memory channel, used from a worker thread.

    ``send_box`` is the peer's mailbox (thread-safe ``put``), ``recv_box`` this end's
    :class:`~netrun.rpc._mailbox.SyncMailbox`. Semantics: ``netrun.rpc.base``.
    """

    __slots__ = ("_closed", "_recv_box", "_send_box")

    def __init__(self, send_box: _Box, recv_box: SyncMailbox) -> None:
        self._send_box = send_box
        self._recv_box = recv_box
        self._closed = False

    def send(self, key: str, data: Any) -> None:
        """Queue ``(key, data)`` for the peer and return at once."""
        err = self._recv_box.send_error()
        if err is not None:
            raise err
        self._send_box.put((key, data))

    def recv(self, timeout: float | None = None) -> tuple[str, Any]:
        """Block for the next message; :class:`RecvTimeout` after ``timeout`` seconds."""
        return self._recv_box.get(timeout)

    def try_recv(self) -> tuple[str, Any] | None:
        """The next message if one is buffered, else ``None``."""
        return self._recv_box.try_get()

    def close(self) -> None:
        """Close this end; the peer receives what was sent, then ``ChannelClosed``."""
        if self._closed:
            return
        self._closed = True
        if self._recv_box.peer_ended is None:
            self._send_box.put((RPC_KEY_SHUTDOWN, None))
        self._recv_box.close_local()

    def mark_broken(self, reason: str) -> None:
        """Tell the peer this channel broke (used when the owning thread dies)."""
        self._send_box.put((RPC_KEY_BROKEN, reason))

    @property
    def is_closed(self) -> bool:
        """True once either end closed or the channel broke."""
        return self._closed or self._recv_box.peer_ended is not None


def create_thread_channel_pair(
    name: str = "thread channel",
) -> tuple[ThreadChannel, tuple[LoopMailbox, SyncMailbox]]:
    """A loop-side channel, and the ``(send_box, recv_box)`` for ``SyncThreadChannel``."""
    to_loop, to_thread = LoopMailbox(name), SyncMailbox(name)
    return ThreadChannel(to_thread, to_loop), (to_loop, to_thread)
