"""The message-channel contract every RPC transport implements, and its errors.

A channel carries ``(key, data)`` messages in both directions between two ends. ``key`` is
a ``str``; ``data`` is any value (picklable when the transport crosses a process or a
network). Channels are opaque carriers: they know nothing of what the messages mean.

Exact semantics, identical for every transport (each has tests for each line):

* ``send(key, data)`` queues one message for the peer and returns. It raises
  :class:`ChannelClosed` once *this* end is closed or has received the peer's close (its
  ``recv`` raised ``ChannelClosed``), and :class:`ChannelBroken` once the transport has
  failed. So an end can still answer the messages that arrived before the peer's close;
  what it sends to a peer that is gone is lost (or raises ``ChannelBroken``). A message that cannot be serialized
  raises :class:`MessageNotSerializable` and nothing is sent.
* ``recv(timeout=None)`` returns the next ``(key, data)``. It waits at most ``timeout``
  seconds (``None``: no limit) and then raises :class:`RecvTimeout`; the channel stays
  usable after a timeout.
* ``try_recv()`` returns the next message if one is already there, else ``None``.
* When the **peer closes**, the messages it sent before closing are still delivered, in
  order; after them every ``recv``/``try_recv`` raises :class:`ChannelClosed`.
* When **this end closes**, ``recv`` waiting in another task/thread wakes up with
  :class:`ChannelClosed`; messages not yet received are discarded.
* When the transport **breaks** (the peer process died, the socket dropped without a close
  handshake, the peer thread died without closing), messages that arrived before the break
  are still delivered; after them ``recv`` raises :class:`ChannelBroken`, whose message says
  what broke. In-memory channels break only when their owner marks them broken.
* ``close()`` is idempotent and never raises.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from netrun.errors import NetrunRuntimeError

__all__ = [
    "RPC_KEY_BROKEN",
    "RPC_KEY_ERROR",
    "RPC_KEY_SHUTDOWN",
    "ChannelBroken",
    "ChannelClosed",
    "MessageNotSerializable",
    "RPCChannel",
    "RPCError",
    "RecvTimeout",
    "SyncRPCChannel",
]

#: Reserved key: "this side closed the channel" (never delivered to user code).
RPC_KEY_SHUTDOWN = "__rpc:shutdown"
#: Reserved key: an error report travelling over the channel.
RPC_KEY_ERROR = "__rpc:error"
#: Reserved key: "the transport behind this channel broke" (never delivered to user code).
RPC_KEY_BROKEN = "__rpc:broken"


class RPCError(NetrunRuntimeError):
    """Base class of every error raised by an RPC channel."""


class ChannelClosed(RPCError):
    """The channel was closed cleanly, by this end or by the peer."""


class ChannelBroken(RPCError):
    """The transport failed without a clean close (peer died, connection dropped)."""


class RecvTimeout(RPCError, TimeoutError):
    """``recv(timeout=...)`` waited the whole timeout and no message arrived."""


class MessageNotSerializable(RPCError, TypeError):
    """A message could not be pickled for a transport that crosses a process or network."""


@runtime_checkable
class RPCChannel(Protocol):
    """The asynchronous face of a channel (used from an event loop)."""

    async def send(self, key: str, data: Any) -> None: ...

    async def recv(self, timeout: float | None = None) -> tuple[str, Any]: ...

    async def try_recv(self) -> tuple[str, Any] | None: ...

    async def close(self) -> None: ...

    @property
    def is_closed(self) -> bool: ...


@runtime_checkable
class SyncRPCChannel(Protocol):
    """The synchronous face of a channel (used from a worker thread or process)."""

    def send(self, key: str, data: Any) -> None: ...

    def recv(self, timeout: float | None = None) -> tuple[str, Any]: ...

    def try_recv(self) -> tuple[str, Any] | None: ...

    def close(self) -> None: ...

    @property
    def is_closed(self) -> bool: ...
