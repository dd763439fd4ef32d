"""Receive buffers shared by every channel: one for blocking threads, one for an event loop.

A mailbox is the receiving half of one direction of a channel. Anything may ``put`` into it
from any thread; the owner takes messages out with ``get``. The reserved keys
``RPC_KEY_SHUTDOWN`` and ``RPC_KEY_BROKEN`` are end markers: they are recorded the moment
they are put (so the *sending* side of the same end can refuse to send at once), and they
are raised as :class:`ChannelClosed` / :class:`ChannelBroken` only after every message put
before them has been delivered. See ``netrun.rpc.base`` for the full contract.

The loop mailbox coalesces wake-ups: a burst of puts from a worker thread costs one
``call_soon_threadsafe``, and the consumer can take the whole burst with ``get_batch``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Any

from netrun.rpc.base import (
    RPC_KEY_BROKEN,
    RPC_KEY_SHUTDOWN,
    ChannelBroken,
    ChannelClosed,
    RecvTimeout,
)

_END_KEYS = (RPC_KEY_SHUTDOWN, RPC_KEY_BROKEN)


class _MailboxBase:
    """State shared by both mailbox kinds (always used under ``self._lock``)."""

    __slots__ = ("_end_reached", "_items", "_local_closed", "_lock", "_peer_end", "name")

    def __init__(self, name: str) -> None:
        self._items: deque[tuple[str, Any]] = deque()
        self._lock = threading.Lock()
        self._local_closed = False
        self._peer_end: tuple[str, Any] | None = None  # first end marker put
        self._end_reached = False  # the end marker has been reached by ``get``
        self.name = name

    # -- state seen by the sending side of the same end -----------------------------------
    @property
    def peer_ended(self) -> tuple[str, Any] | None:
        """The end marker the peer put (``(key, reason)``), or ``None`` while it is open."""
        return self._peer_end

    def send_error(self) -> Exception | None:
        """The error a ``send`` on this end must raise now, or ``None`` if it may send."""
        if self._local_closed:
            return ChannelClosed(f"{self.name} is closed (this end closed it); open a new channel")
        if self._end_reached:  # learned by receiving it, as across a pipe or socket
            return self._end_error(self._peer_end)  # type: ignore[arg-type]
        return None

    def _end_error(self, end: tuple[str, Any]) -> Exception:
        key, reason = end
        if key == RPC_KEY_SHUTDOWN:
            return ChannelClosed(f"{self.name} was closed by the peer")
        return ChannelBroken(f"{self.name} broke: {reason or 'the peer went away without closing'}")

    def _put_locked(self, item: tuple[str, Any]) -> None:
        if self._local_closed or self._end_reached:
            return
        if self._peer_end is not None:
            return  # nothing after an end marker is ever delivered
        if item[0] in _END_KEYS:
            self._peer_end = item
        self._items.append(item)

    def _take_locked(self) -> tuple[str, Any] | None:
        """Pop the next user message; raise at the end; ``None`` if empty."""
        if self._local_closed:
            raise ChannelClosed(f"{self.name} is closed (this end closed it)")
        if self._end_reached:
            raise self._end_error(self._peer_end)  # type: ignore[arg-type]
        if not self._items:
            return None
        item = self._items.popleft()
        if item[0] in _END_KEYS:
            self._end_reached = True
            raise self._end_error(item)
        return item

    def _take_all_locked(self, max_items: int | None) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        while self._items and (max_items is None or len(out) < max_items):
            if self._items[0][0] in _END_KEYS:
                if not out:
                    self._take_locked()  # raises the end error
                break
            out.append(self._items.popleft())
        if not out:
            self._take_locked()  # raises if closed locally or at the end
        return out


class SyncMailbox(_MailboxBase):
    """A mailbox read by a blocking thread."""

    __slots__ = ("_cond",)

    def __init__(self, name: str = "channel") -> None:
        super().__init__(name)
        self._cond = threading.Condition(self._lock)

    def put(self, item: tuple[str, Any]) -> None:
        """Append one message (any thread). Ignored once closed or ended."""
        with self._cond:
            self._put_locked(item)
            self._cond.notify()

    def put_many(self, items: list[tuple[str, Any]]) -> None:
        with self._cond:
            for item in items:
                self._put_locked(item)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> tuple[str, Any]:
        """Block until a message arrives (or ``timeout`` seconds pass: :class:`RecvTimeout`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                item = self._take_locked()
                if item is not None:
                    return item
                if deadline is None:
                    self._cond.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RecvTimeout(f"no message on {self.name} within {timeout} s")
                self._cond.wait(remaining)

    def try_get(self) -> tuple[str, Any] | None:
        with self._cond:
            return self._take_locked()

    def close_local(self) -> None:
        """This end closed: discard what is buffered and wake every waiter."""
        with self._cond:
            self._local_closed = True
            self._items.clear()
            self._cond.notify_all()


class LoopMailbox(_MailboxBase):
    """A mailbox read by coroutines on one event loop, written from any thread."""

    __slots__ = ("_waiters",)

    def __init__(self, name: str = "channel") -> None:
        super().__init__(name)
        self._waiters: list[asyncio.Future[None]] = []

    def put(self, item: tuple[str, Any]) -> None:
        """Append one message (any thread). Ignored once closed or ended."""
        with self._lock:
            self._put_locked(item)
            waiters, self._waiters = self._waiters, []
        if waiters:
            _wake(waiters)

    def put_many(self, items: list[tuple[str, Any]]) -> None:
        with self._lock:
            for item in items:
                self._put_locked(item)
            waiters, self._waiters = self._waiters, []
        if waiters:
            _wake(waiters)

    async def get(self, timeout: float | None = None) -> tuple[str, Any]:
        """Wait for the next message (at most ``timeout`` seconds: :class:`RecvTimeout`)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                item = self._take_locked()
                if item is not None:
                    return item
                waiter = self._new_waiter_locked()
            await self._wait(waiter, deadline, timeout)

    async def get_batch(
        self, timeout: float | None = None, max_items: int | None = None
    ) -> list[tuple[str, Any]]:
        """Wait for at least one message, then take every message already buffered."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._items or self._local_closed or self._end_reached:
                    return self._take_all_locked(max_items)
                waiter = self._new_waiter_locked()
            await self._wait(waiter, deadline, timeout)

    def try_get(self) -> tuple[str, Any] | None:
        with self._lock:
            return self._take_locked()

    def close_local(self) -> None:
        """This end closed: discard what is buffered and wake every waiter."""
        with self._lock:
            self._local_closed = True
            self._items.clear()
            waiters, self._waiters = self._waiters, []
        if waiters:
            _wake(waiters)

    def _new_waiter_locked(self) -> asyncio.Future[None]:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    async def _wait(
        self, waiter: asyncio.Future[None], deadline: float | None, timeout: float | None
    ) -> None:
        try:
            if deadline is None:
                await waiter
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise asyncio.TimeoutError
            await asyncio.wait_for(waiter, remaining)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                has_items = bool(self._items) or self._local_closed or self._end_reached
            if isinstance(exc, asyncio.CancelledError) or has_items:
                if isinstance(exc, asyncio.CancelledError):
                    raise
                return  # a message arrived exactly at the deadline: deliver it
            raise RecvTimeout(f"no message on {self.name} within {timeout} s") from None


def _set_done(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for waiter in waiters:
        loop = waiter.get_loop()
        if loop is running:
            _set_done(waiter)
        else:
            try:
                loop.call_soon_threadsafe(_set_done, waiter)
            except RuntimeError:
                pass  # that loop is closed: nobody is waiting any more
