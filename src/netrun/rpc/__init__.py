"""RPC channels: bidirectional ``(key, data)`` message passing between two ends.

Transports: in one event loop (:mod:`~netrun.rpc.aio`), loop to thread
(:mod:`~netrun.rpc.thread`), between processes (:mod:`~netrun.rpc.multiprocess`) and
over authenticated WebSockets (:mod:`~netrun.rpc.remote`). Channels carry opaque messages;
exact close/broken/timeout semantics are in :mod:`netrun.rpc.base`.
"""

from netrun.rpc.aio import AsyncChannel, create_async_channel_pair
from netrun.rpc.base import (
    ChannelBroken,
    ChannelClosed,
    MessageNotSerializable,
    RecvTimeout,
    RPCChannel,
    RPCError,
    SyncRPCChannel,
)
from netrun.rpc.multiprocess import (
    ProcessChannel,
    SyncProcessChannel,
    create_process_channel_pair,
    create_queue_pair,
)
from netrun.rpc.remote import (
    AuthenticationFailed,
    ConnectionHandler,
    TokenRequired,
    WebSocketChannel,
    connect,
    connect_channel,
    serve,
    serve_background,
)
from netrun.rpc.thread import (
    SyncThreadChannel,
    ThreadChannel,
    create_thread_channel_pair,
)

__all__ = [
    "AsyncChannel",
    "AuthenticationFailed",
    "ChannelBroken",
    "ChannelClosed",
    "ConnectionHandler",
    "MessageNotSerializable",
    "ProcessChannel",
    "RPCChannel",
    "RPCError",
    "RecvTimeout",
    "SyncProcessChannel",
    "SyncRPCChannel",
    "SyncThreadChannel",
    "ThreadChannel",
    "TokenRequired",
    "WebSocketChannel",
    "connect",
    "connect_channel",
    "create_async_channel_pair",
    "create_process_channel_pair",
    "create_queue_pair",
    "create_thread_channel_pair",
    "serve",
    "serve_background",
]
