"""Authenticated channels over WebSockets (the ``websockets`` library; ``netrun[remote]``).

Every connection starts with the token handshake of ``netrun.rpc._secure``; nothing the
peer sends is unpickled before it has proved it holds the shared token, and every frame
after that is signed and sequence-checked. Give TLS certificates (``ssl_context``) to also
encrypt the traffic; without TLS the token is never sent, but messages travel in clear.

Messages sent in the same event-loop turn travel in one frame (batching), so a stream of
small messages costs one socket write per burst.

Server::

    async def handler(channel: WebSocketChannel) -> None:
        key, data = await channel.recv()
        await channel.send("echo", data)

    async with serve_background(handler, "127.0.0.1", 0, token=TOKEN) as server:
        async with connect(server.url, token=TOKEN) as chan:
            await chan.send("hi", 1)
            print(await chan.recv(timeout=5))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as _ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from netrun.rpc import _codec
from netrun.rpc._mailbox import LoopMailbox
from netrun.rpc._secure import (
    AUTH_FAILED_CLOSE_CODE,
    AuthenticationFailed,
    ClientHandshake,
    FrameOpener,
    FrameSealer,
    ServerHandshake,
    TokenRequired,
    resolve_token,
)
from netrun.rpc.base import (
    RPC_KEY_BROKEN,
    RPC_KEY_ERROR,
    RPC_KEY_SHUTDOWN,
    ChannelBroken,
    ChannelClosed,
    MessageNotSerializable,
)

__all__ = [
    "AuthenticationFailed",
    "ConnectionHandler",
    "RemoteServer",
    "TokenRequired",
    "WebSocketChannel",
    "client_ssl_context",
    "connect",
    "connect_channel",
    "serve",
    "serve_background",
    "server_ssl_context",
]

_log = logging.getLogger("netrun.rpc.remote")
_LEN = struct.Struct(">I")
_HANDSHAKE_TIMEOUT = 10.0
DEFAULT_MAX_MESSAGE_SIZE = 256 * 1024 * 1024

#: An async function run once per authenticated connection; the channel closes when it returns.
ConnectionHandler = Callable[["WebSocketChannel"], Awaitable[None]]


def _websockets() -> Any:
    try:
        import websockets  # noqa: F401
        from websockets.asyncio import client, server
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "remote channels need the 'websockets' package: pip install 'netrun[remote]'"
        ) from exc
    return client, server


def server_ssl_context(certfile: str, keyfile: str | None = None) -> _ssl.SSLContext:
    """A TLS context for :func:`serve` from a PEM certificate (chain) and private key."""
    ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = _ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile, keyfile)
    return ctx


def client_ssl_context(cafile: str | None = None) -> _ssl.SSLContext:
    """A TLS context for :func:`connect` trusting ``cafile`` (or the system CAs if ``None``)."""
    ctx = _ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = _ssl.TLSVersion.TLSv1_2
    return ctx


class WebSocketChannel:
    """An authenticated, signed channel over one WebSocket connection (async face).

    Created by :func:`connect`/:func:`connect_channel` (client) or handed to the handler by
    :func:`serve` (server). Semantics: ``netrun.rpc.base``. A connection lost without the
    peer's close notice raises :class:`ChannelBroken` naming the close code.
    """

    def __init__(self, websocket: Any, sealer: FrameSealer, opener: FrameOpener, name: str) -> None:
        self._ws = websocket
        self._sealer = sealer
        self._opener = opener
        self._name = name
        self._box = LoopMailbox(name)
        self._outbox: list[bytes] = []
        self._out_event = asyncio.Event()
        self._writing = False
        self._closed = False
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    @property
    def remote_address(self) -> Any:
        return getattr(self._ws, "remote_address", None)

    # -- sending --------------------------------------------------------------------------
    async def send(self, key: str, data: Any) -> None:
        """Pickle ``(key, data)`` now and queue it; the burst is written as one frame."""
        self.send_nowait(key, data)

    def send_nowait(self, key: str, data: Any) -> None:
        err = self._box.send_error()
        if err is not None:
            raise err
        payload = _codec.dumps((key, data), f"message {key!r}")
        self._outbox.append(_LEN.pack(len(payload)) + payload)
        self._out_event.set()

    async def _write_loop(self) -> None:
        ws = self._ws
        try:
            while True:
                await self._out_event.wait()
                self._out_event.clear()
                if not self._outbox:
                    continue
                batch, self._outbox = self._outbox, []
                self._writing = True
                try:
                    await ws.send(self._sealer.seal(b"".join(batch)))
                finally:
                    self._writing = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._box.put((RPC_KEY_BROKEN, f"sending failed ({type(exc).__name__}: {exc})"))

    async def _flush(self, timeout: float) -> None:
        """Wait until the outbox is written (bounded)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (self._outbox or self._out_event.is_set() or self._writing) and not self._writer.done():
            if asyncio.get_running_loop().time() > deadline:
                return
            await asyncio.sleep(0.001)

    # -- receiving ------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        from websockets.exceptions import ConnectionClosed

        ws = self._ws
        box = self._box
        try:
            while True:
                frame = await ws.recv()
                payload = self._opener.open(frame)  # before any unpickling
                items: list[tuple[str, Any]] = []
                view, pos, end = memoryview(payload), 0, len(payload)
                while pos < end:
                    (size,) = _LEN.unpack_from(view, pos)
                    pos += 4
                    try:
                        items.append(_codec.loads(view[pos : pos + size]))
                    except Exception as exc:
                        items.append(
                            (RPC_KEY_ERROR, MessageNotSerializable(f"a message could not be unpickled: {exc!r}"))
                        )
                    pos += size
                box.put_many(items)
        except asyncio.CancelledError:
            raise
        except ConnectionClosed as exc:
            rcvd = exc.rcvd
            if rcvd is not None and rcvd.code == 1000:
                box.put((RPC_KEY_SHUTDOWN, None))  # a clean WebSocket close is a close
            else:
                detail = f"close code {rcvd.code} {rcvd.reason!r}" if rcvd else "no close frame"
                box.put((RPC_KEY_BROKEN, f"the connection was lost ({detail})"))
        except AuthenticationFailed as exc:
            _log.warning("closing %s: %s", self._name, exc)
            box.put((RPC_KEY_BROKEN, f"{exc}; the connection was closed"))
            await ws.close(AUTH_FAILED_CLOSE_CODE, "bad frame signature")
        except Exception as exc:
            box.put((RPC_KEY_BROKEN, f"receiving failed ({type(exc).__name__}: {exc})"))

    async def recv(self, timeout: float | None = None) -> tuple[str, Any]:
        """The next message; :class:`RecvTimeout` after ``timeout`` seconds."""
        return await self._box.get(timeout)

    async def recv_batch(
        self, timeout: float | None = None, max_items: int | None = None
    ) -> list[tuple[str, Any]]:
        """Wait for one message, then return it with every message already buffered."""
        return await self._box.get_batch(timeout, max_items)

    async def try_recv(self) -> tuple[str, Any] | None:
        return self._box.try_get()

    # -- closing --------------------------------------------------------------------------
    async def close(self, timeout: float = 5.0) -> None:
        """Send what is queued and a close notice, then close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        peer_open = self._box.peer_ended is None
        self._box.close_local()  # first, so a waiting recv sees "closed by this end"
        if peer_open and not self._writer.done():
            payload = _codec.dumps((RPC_KEY_SHUTDOWN, None))
            self._outbox.append(_LEN.pack(len(payload)) + payload)
            self._out_event.set()
            await self._flush(timeout)
        for task in (self._writer, self._reader):
            task.cancel()
        await asyncio.gather(self._writer, self._reader, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(), timeout)

    @property
    def is_closed(self) -> bool:
        return self._closed or self._box.peer_ended is not None

    async def wait_closed(self) -> None:
        """Wait until the reader stopped (peer closed, connection lost, or closed here)."""
        await asyncio.gather(self._reader, return_exceptions=True)


# -- client -------------------------------------------------------------------------------


async def connect_channel(
    url: str,
    *,
    token: str | bytes | None = None,
    ssl_context: _ssl.SSLContext | None = None,
    open_timeout: float = 10.0,
    ping_interval: float | None = 5.0,
    ping_timeout: float | None = 10.0,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float | None = 10.0,
) -> WebSocketChannel:
    """Connect, authenticate with ``token`` (or ``NETRUN_REMOTE_TOKEN``), return the channel.

    ``ping_interval``/``ping_timeout`` (seconds, ``None``: off) are the keepalive that
    notices a peer gone without closing the connection; ``close_timeout`` bounds the wait
    for the peer's close frame after that (or any close) before the socket is dropped.

    Raises :class:`AuthenticationFailed` if the server refuses the token, ``OSError`` if
    nothing listens at ``url``, and :class:`TokenRequired` without a token.
    """
    client, _ = _websockets()
    raw_token = resolve_token(token, f"connecting to {url}")
    if url.startswith("ws://") and ssl_context is not None:
        raise ValueError(f"an ssl_context was given but {url!r} is not a wss:// URL; use wss://")
    kwargs: dict[str, Any] = {}
    if url.startswith("wss://"):
        kwargs["ssl"] = ssl_context or client_ssl_context()
    ws = await client.connect(
        url,
        open_timeout=open_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        close_timeout=close_timeout,
        max_size=max_message_size,
        compression=None,
        proxy=None,
        **kwargs,
    )
    try:
        handshake = ClientHandshake(raw_token)
        await ws.send(handshake.answer(await asyncio.wait_for(ws.recv(), _HANDSHAKE_TIMEOUT)))
        try:
            acceptance = await asyncio.wait_for(ws.recv(), _HANDSHAKE_TIMEOUT)
        except Exception as exc:
            raise AuthenticationFailed(
                f"the server at {url} closed the connection during authentication ({exc})"
            ) from None
        sealer, opener = handshake.finish(acceptance)
    except AuthenticationFailed as exc:
        await ws.close()
        raise AuthenticationFailed(
            f"authentication with {url} failed: {exc}. Give the client the same shared token as "
            "the server (token=... or the NETRUN_REMOTE_TOKEN environment variable)"
        ) from None
    except BaseException:
        await ws.close()
        raise
    return WebSocketChannel(ws, sealer, opener, f"websocket channel to {url}")


@contextlib.asynccontextmanager
async def connect(url: str, **kwargs: Any) -> AsyncIterator[WebSocketChannel]:
    """``async with connect(url, token=...) as channel:`` (closed on exit)."""
    channel = await connect_channel(url, **kwargs)
    try:
        yield channel
    finally:
        await channel.close()


# -- server -------------------------------------------------------------------------------


class RemoteServer:
    """A running server (from :func:`serve_background`): its address, and ``close()``."""

    def __init__(self, ws_server: Any, scheme: str) -> None:
        self._ws_server = ws_server
        sock = next(iter(ws_server.sockets))
        self.host, self.port = sock.getsockname()[:2]
        self.url = f"{scheme}://{self.host}:{self.port}"

    async def close(self) -> None:
        self._ws_server.close()
        await self._ws_server.wait_closed()


def _make_connection_handler(
    handler: ConnectionHandler, raw_token: bytes, max_clock_skew: float
) -> Callable[[Any], Awaitable[None]]:
    async def on_connection(ws: Any) -> None:
        peer = getattr(ws, "remote_address", None)
        handshake = ServerHandshake(raw_token, max_clock_skew)
        try:
            await ws.send(handshake.challenge())
            reply = await asyncio.wait_for(ws.recv(), _HANDSHAKE_TIMEOUT)
            accept, sealer, opener = handshake.verify(reply)
        except AuthenticationFailed as exc:
            _log.warning("refused connection from %s: %s", peer, exc)
            with contextlib.suppress(Exception):
                await ws.send(ServerHandshake.refusal(f"authentication failed: {exc}"))
                await ws.close(AUTH_FAILED_CLOSE_CODE, "authentication failed")
            return
        except Exception as exc:  # timeout, connection dropped mid-handshake
            _log.info("connection from %s ended during the handshake: %r", peer, exc)
            with contextlib.suppress(Exception):
                await ws.close(AUTH_FAILED_CLOSE_CODE, "handshake not completed")
            return
        await ws.send(accept)
        channel = WebSocketChannel(ws, sealer, opener, f"websocket channel from {peer}")
        try:
            await handler(channel)
        except (ChannelClosed, ChannelBroken) as exc:
            _log.info("connection from %s ended: %s", peer, exc)
        except Exception:
            _log.exception("the connection handler for %s failed", peer)
        finally:
            await channel.close()

    return on_connection


@contextlib.asynccontextmanager
async def serve_background(
    handler: ConnectionHandler,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    token: str | bytes | None = None,
    ssl_context: _ssl.SSLContext | None = None,
    ping_interval: float | None = 5.0,
    ping_timeout: float | None = 10.0,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    max_clock_skew: float = 300.0,
) -> AsyncIterator[RemoteServer]:
    """Serve ``handler`` while the ``async with`` body runs; yields a :class:`RemoteServer`.

    Binds ``127.0.0.1`` unless told otherwise (expose it deliberately, with TLS). Port ``0``
    picks a free port (read it from ``server.port``/``server.url``).
    """
    _, server_mod = _websockets()
    raw_token = resolve_token(token, f"serving on {host}:{port}")
    ws_server = await server_mod.serve(
        _make_connection_handler(handler, raw_token, max_clock_skew),
        host,
        port,
        ssl=ssl_context,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_size=max_message_size,
        compression=None,
    )
    server = RemoteServer(ws_server, "wss" if ssl_context is not None else "ws")
    try:
        yield server
    finally:
        await server.close()


async def serve(
    handler: ConnectionHandler, host: str = "127.0.0.1", port: int = 8080, **kwargs: Any
) -> None:
    """Serve ``handler`` until cancelled (same options as :func:`serve_background`)."""
    async with serve_background(handler, host, port, **kwargs):
        await asyncio.Future()
