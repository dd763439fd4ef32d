"""In-loop channels: two coroutines on the same event loop talking through mailboxes.

>>> async def demo():
...     a, b = create_async_channel_pair()
...     await a.send("ping", 1)
...     return await b.recv(timeout=1)
>>> asyncio.run(demo())
('ping', 1)
"""

from __future__ import annotations

import asyncio  # noqa: F401  (used by the doctest)
from typing import Any, Protocol

from netrun.rpc._mailbox import LoopMailbox
from netrun.rpc.base import RPC_KEY_BROKEN, RPC_KEY_SHUTDOWN

__all__ = ["AsyncChannel", "create_async_channel_pair"]


class _Box(Protocol):
    def put(self, item: tuple[str, Any]) -> None: ...


class AsyncChannel:
    """The asynchronous face of an in-memory channel.

    ``send_box`` is the peer's mailbox (anything with a thread-safe ``put``); ``recv_box``
    is this end's :class:`~netrun.rpc._mailbox.LoopMailbox`. Semantics: ``netrun.rpc.base``.
    """

    __slots__ = ("_closed", "_recv_box", "_send_box")

    def __init__(self, send_box: _Box, recv_box: LoopMailbox) -> None:
        self._send_box = send_box
        self._recv_box = recv_box
        self._closed = False

    async def send(self, key: str, data: Any) -> None:
        """Queue ``(key, data)`` for the peer (no copy, no pickling)."""
        self.send_nowait(key, data)

    def send_nowait(self, key: str, data: Any) -> None:
        """Same as :meth:`send`, callable from synchronous code on the loop thread."""
        err = self._recv_box.send_error()
        if err is not None:
            raise err
        self._send_box.put((key, data))

    async def recv(self, timeout: float | None = None) -> tuple[str, Any]:
        """The next message; :class:`RecvTimeout` after ``timeout`` seconds."""
        return await self._recv_box.get(timeout)

    async def recv_batch(
        self, timeout: float | None = None, max_items: int | None = None
    ) -> list[tuple[str, Any]]:
        """Wait for one message, then return it with every message already buffered."""
        return await self._recv_box.get_batch(timeout, max_items)

    async def try_recv(self) -> tuple[str, Any] | None:
        """The next message if one is buffered, else ``None``."""
        return self._recv_box.try_get()

    async def close(self) -> None:
        """Close this end; the peer receives what was sent, then :class:`ChannelClosed`."""
        self.close_nowait()

    def close_nowait(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._recv_box.peer_ended is None:
            self._send_box.put((RPC_KEY_SHUTDOWN, None))
        self._recv_box.close_local()

    def mark_broken(self, reason: str) -> None:
        """Tell the peer this channel broke (used by pools when a worker dies)."""
        self._send_box.put((RPC_KEY_BROKEN, reason))

    @property
    def is_closed(self) -> bool:
        """True once either end closed or the channel broke."""
        return self._closed or self._recv_box.peer_ended is not None


def create_async_channel_pair(name: str = "async channel") -> tuple[AsyncChannel, AsyncChannel]:
    """Two connected ends for use within one event loop."""
    box_a, box_b = LoopMailbox(name), LoopMailbox(name)
    return AsyncChannel(box_b, box_a), AsyncChannel(box_a, box_b)

