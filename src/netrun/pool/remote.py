"""Pools hosted by another machine: ``RemotePoolServer`` and ``RemotePoolClient``.

The server registers worker functions by name and serves authenticated WebSocket
connections (``netrun.rpc.remote``: shared token, signed frames, optional TLS). Each
client asks for a pool of a registered worker; the server runs it as a
:class:`MultiprocessPool` (or a :class:`ThreadPool` with ``pool_type="thread"``) for as
long as the connection lasts and closes it when the client leaves, so a vanished client
leaves no processes behind.

The client is a :class:`~netrun.pool.base.Pool`. When the connection is lost, every worker
is reported by ``recv`` as ``WorkerCrashed`` (not restarted) and the pool is unusable.

Server::

    server = RemotePoolServer(token=TOKEN)
    server.register_worker("echo", echo_worker)
    async with server.serve_background("127.0.0.1", 8765) as running:
        ...  # running.url is "ws://127.0.0.1:8765"

Client::

    async with RemotePoolClient(url, "echo", num_processes=2, token=TOKEN) as pool:
        await pool.send(0, "task", data)
        msg = await pool.recv(timeout=5)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl as _ssl
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from netrun.pool._core import Failure, PoolContextMixin, PoolCore
from netrun.pool.base import (
    POOL_UP_ERROR_CRASHED,
    POOL_UP_ERROR_EXCEPTION,
    PoolError,
    PoolNotStarted,
    WorkerCrashed,
    WorkerFn,
    WorkerId,
    WorkerMessage,
)
from netrun.pool.multiprocess import MultiprocessPool
from netrun.pool.thread import ThreadPool
from netrun.rpc.base import ChannelBroken, ChannelClosed, RPCError
from netrun.rpc.remote import (
    RemoteServer,
    WebSocketChannel,
    client_ssl_context,
    connect_channel,
    serve_background,
    server_ssl_context,
)

__all__ = ["RemotePoolClient", "RemotePoolServer"]

_log = logging.getLogger("netrun.pool.remote")

RP_DOWN_CREATE_POOL = "__pool-rp-down:create_pool"
RP_DOWN_SEND = "__pool-rp-down:send"
RP_DOWN_BROADCAST = "__pool-rp-down:broadcast"
RP_DOWN_CLOSE = "__pool-rp-down:close"
RP_DOWN_REQUEST_SHUTDOWN = "__pool-rp-down:request_shutdown"
RP_DOWN_FLUSH_STDOUT = "__pool-rp-down:flush_stdout"
RP_DOWN_FLUSH_ALL_STDOUT = "__pool-rp-down:flush_all_stdout"
RP_DOWN_RESTART_WORKER = "__pool-rp-down:restart_worker"
RP_UP_POOL_CREATED = "__pool-rp-up:pool_created"
RP_UP_RECV = "__pool-rp-up:recv"
RP_UP_ERROR_EXCEPTION = "__pool-rp-up:error-exception"
RP_UP_ERROR_POOL_FAILED = "__pool-rp-up:error-pool_failed"
RP_UP_SHUTDOWN_ACK = "__pool-rp-up:shutdown_ack"
RP_UP_STDOUT_BUFFER = "__pool-rp-up:stdout_buffer"
RP_UP_CLOSED = "__pool-rp-up:closed"

_FAILURE_KEYS = (POOL_UP_ERROR_CRASHED, POOL_UP_ERROR_EXCEPTION)


class RemotePoolServer:
    """Hosts pools of registered worker functions for authenticated remote clients.

    ``token`` (or ``NETRUN_REMOTE_TOKEN``) is required. TLS is on when a certificate is
    given: ``certfile`` (PEM, with ``keyfile`` unless the key is in it) or a ready
    ``ssl_context``.
    """

    def __init__(
        self,
        token: str | bytes | None = None,
        *,
        ssl_context: _ssl.SSLContext | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> None:
        if certfile is not None:
            if ssl_context is not None:
                raise ValueError("give either ssl_context or certfile/keyfile, not both")
            ssl_context = server_ssl_context(certfile, keyfile)
        self._token = token
        self._ssl = ssl_context
        self._workers: dict[str, WorkerFn] = {}
        self._shutdown = asyncio.Event()

    def register_worker(self, name: str, worker_fn: WorkerFn) -> None:
        """Make ``worker_fn`` available to clients under ``name``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a worker name must be a non-empty string (got {name!r})")
        if not callable(worker_fn):
            raise TypeError(f"worker {name!r}: {worker_fn!r} is not callable")
        self._workers[name] = worker_fn

    @property
    def registered_workers(self) -> list[str]:
        return sorted(self._workers)

    @contextlib.asynccontextmanager
    async def serve_background(self, host: str = "127.0.0.1", port: int = 8080, **kwargs: Any) -> AsyncIterator[RemoteServer]:
        """Serve while the ``async with`` body runs; yields the server (``.url``, ``.port``)."""
        async with serve_background(
            self._handle, host, port, token=self._token, ssl_context=self._ssl, **kwargs
        ) as server:
            yield server

    async def serve(self, host: str = "127.0.0.1", port: int = 8080, **kwargs: Any) -> None:
        """Serve until a client calls ``request_shutdown()`` (or this task is cancelled)."""
        async with self.serve_background(host, port, **kwargs):
            await self._shutdown.wait()

    async def wait_for_shutdown(self) -> None:
        """Return once a client has requested the server to shut down."""
        await self._shutdown.wait()

    async def _handle(self, channel: WebSocketChannel) -> None:
        session = _ServerSession(self, channel)
        try:
            await session.run()
        finally:
            await session.close_pool(timeout=5.0)


class _ServerSession:
    """One client connection: at most one pool, forwarded both ways."""

    def __init__(self, server: RemotePoolServer, channel: WebSocketChannel) -> None:
        self.server = server
        self.channel = channel
        self.pool: MultiprocessPool | ThreadPool | None = None
        self.generation: list[int] = []
        self.forwarder: asyncio.Task[None] | None = None

    async def run(self) -> None:
        channel = self.channel
        while True:
            for key, data in await channel.recv_batch():
                if key == RP_DOWN_SEND:
                    await self._send(*data)
                elif key == RP_DOWN_CREATE_POOL:
                    await self._create(data)
                elif key == RP_DOWN_BROADCAST:
                    if self.pool is not None:
                        await self.pool.broadcast(*data)
                elif key == RP_DOWN_RESTART_WORKER:
                    if self.pool is not None:
                        await self.pool.restart_worker(*data)
                elif key == RP_DOWN_FLUSH_STDOUT or key == RP_DOWN_FLUSH_ALL_STDOUT:
                    await self._flush(key, data)
                elif key == RP_DOWN_CLOSE:
                    request_id, timeout = data
                    await self.close_pool(timeout)
                    channel.send_nowait(RP_UP_CLOSED, request_id)
                elif key == RP_DOWN_REQUEST_SHUTDOWN:
                    channel.send_nowait(RP_UP_SHUTDOWN_ACK, data)
                    self.server._shutdown.set()
                else:
                    _log.warning("ignoring unknown message %r from %s", key, channel.remote_address)

    async def _create(self, options: dict[str, Any]) -> None:
        request_id = options.pop("request_id")
        name = options.pop("worker_name")
        pool_type = options.pop("pool_type", "process")
        worker_fn = self.server._workers.get(name)
        try:
            if self.pool is not None:
                raise PoolError("this connection already has a pool; open another connection for a second pool")
            if worker_fn is None:
                raise PoolError(
                    f"no worker named {name!r} is registered on this server (registered: "
                    f"{self.server.registered_workers}); register it with server.register_worker()"
                )
            if pool_type == "process":
                pool: Any = MultiprocessPool(worker_fn, **options)
            elif pool_type == "thread":
                pool = ThreadPool(
                    worker_fn, options["num_processes"] * options.get("threads_per_process", 1),
                    **{k: v for k, v in options.items() if k in ("worker_startup", "init_mode", "restart_workers")},
                )
            else:
                raise PoolError(f"pool_type must be 'process' or 'thread' (got {pool_type!r})")
            await pool.start()
        except Exception as exc:
            self.channel.send_nowait(RP_UP_ERROR_POOL_FAILED, (request_id, f"{type(exc).__name__}: {exc}"))
            return
        self.pool = pool
        self.generation = [0] * pool.num_workers
        self.forwarder = asyncio.get_running_loop().create_task(self._forward(pool))
        pids = pool.get_process_ids() if isinstance(pool, MultiprocessPool) else []
        self.channel.send_nowait(RP_UP_POOL_CREATED, (request_id, pool.num_workers, pids))

    async def _send(self, worker_id: WorkerId, generation: int, key: str, data: Any) -> None:
        pool = self.pool
        if pool is None or generation != self.generation[worker_id]:
            return  # addressed to a worker that has failed since: discarded (pool contract)
        try:
            await pool.send(worker_id, key, data)
        except WorkerCrashed:
            pass  # the client learns of it through the forwarded failure

    async def _forward(self, pool: Any) -> None:
        channel = self.channel
        try:
            while True:
                for msg in await pool.recv_batch():
                    if msg.key in _FAILURE_KEYS:
                        self.generation[msg.worker_id] += 1
                    channel.send_nowait(RP_UP_RECV, (msg.worker_id, msg.key, msg.data))
        except (PoolNotStarted, ChannelClosed, ChannelBroken, RPCError):
            return

    async def _flush(self, key: str, data: tuple[int, Any, float]) -> None:
        request_id, process_idx, timeout = data
        pool = self.pool
        try:
            if not isinstance(pool, MultiprocessPool):
                result: Any = [] if key == RP_DOWN_FLUSH_STDOUT else {}
            elif key == RP_DOWN_FLUSH_STDOUT:
                result = await pool.flush_stdout(process_idx, timeout)
            else:
                result = await pool.flush_all_stdout(timeout)
        except Exception as exc:
            self.channel.send_nowait(RP_UP_ERROR_EXCEPTION, (request_id, f"{type(exc).__name__}: {exc}"))
            return
        self.channel.send_nowait(RP_UP_STDOUT_BUFFER, (request_id, result))

    async def close_pool(self, timeout: float | None) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            await pool.close(timeout)
        if self.forwarder is not None:
            self.forwarder.cancel()
            await asyncio.gather(self.forwarder, return_exceptions=True)
            self.forwarder = None


class RemotePoolClient(PoolContextMixin):
    """A pool whose workers run on a :class:`RemotePoolServer`.

    ``start()`` connects and creates the pool (``worker_name`` required then); or call
    ``connect()`` and ``create_pool(...)`` yourself. ``token``/``NETRUN_REMOTE_TOKEN`` must
    match the server's. For a ``wss://`` server whose certificate is not signed by a system
    CA, give ``cafile`` (the certificate or its CA, PEM) or an ``ssl_context``.
    ``pool_type="thread"`` asks the server for worker threads instead of processes.

    A server that vanishes without closing the connection (its machine lost power, a
    network cut, a frozen process) is noticed by the WebSocket keepalive: a ping every
    ``ping_interval`` seconds that must be answered within ``ping_timeout`` seconds (5 and
    10 by default; ``None`` turns the keepalive off). The connection then counts as lost:
    every worker is reported as ``WorkerCrashed``. ``open_timeout`` bounds the connection
    and authentication.
    """

    serializes_messages = True

    def __init__(
        self,
        url: str,
        worker_name: str | None = None,
        num_processes: int = 1,
        threads_per_process: int = 1,
        redirect_output: bool = True,
        buffer_output: bool = True,
        *,
        token: str | bytes | None = None,
        ssl_context: _ssl.SSLContext | None = None,
        cafile: str | None = None,
        pool_type: str = "process",
        request_timeout: float = 120.0,
        name: str | None = None,
        ping_interval: float | None = 5.0,
        ping_timeout: float | None = 10.0,
        open_timeout: float = 10.0,
    ) -> None:
        if cafile is not None:
            if ssl_context is not None:
                raise ValueError("give either ssl_context or cafile, not both")
            ssl_context = client_ssl_context(cafile)
        self._url = url
        self._worker_name = worker_name
        self._options = {
            "num_processes": num_processes,
            "threads_per_process": threads_per_process,
            "redirect_output": redirect_output,
            "buffer_output": buffer_output,
        }
        self._pool_type = pool_type
        self._token = token
        self._ssl = ssl_context
        self._timeout = request_timeout
        # a peer that missed its ping will not send a close frame either: wait for it no
        # longer than for the ping's answer
        self._keepalive = {"ping_interval": ping_interval, "ping_timeout": ping_timeout, "open_timeout": open_timeout,
                           "close_timeout": min(ping_timeout or 10.0, 10.0)}
        self._name = name or f"RemotePoolClient({url})"
        self._channel: WebSocketChannel | None = None
        self._reader: asyncio.Task[None] | None = None
        self._core: PoolCore | None = None
        self._send_generation: list[int] = []
        self._requests: dict[int, asyncio.Future[Any]] = {}
        self._request_ids = itertools.count(1)
        self._process_ids: list[int] = []
        self._closed = False

    # -- properties -----------------------------------------------------------------------
    @property
    def num_workers(self) -> int:
        return self._core.num_workers if self._core else self._options["num_processes"] * self._options["threads_per_process"]

    @property
    def num_processes(self) -> int:
        return self._options["num_processes"]

    @property
    def threads_per_process(self) -> int:
        return self._options["threads_per_process"]

    @property
    def is_running(self) -> bool:
        return self._core is not None and self._core.started and not self._core.closed

    def get_process_ids(self) -> list[int]:
        """The server-side pids reported when the pool was created."""
        return list(self._process_ids)

    # -- lifecycle ------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open and authenticate the connection (``AuthenticationFailed`` on a wrong token)."""
        if self._channel is not None:
            return
        self._channel = await connect_channel(self._url, token=self._token, ssl_context=self._ssl, **self._keepalive)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def start(self) -> None:
        """Connect and create the pool given to the constructor."""
        if self._worker_name is None:
            raise PoolError(f"{self._name}: start() needs worker_name=...; or call connect() and create_pool()")
        await self.connect()
        try:
            await self.create_pool(self._worker_name, **self._options)
        except BaseException:
            await self.close(timeout=0)
            raise

    async def create_pool(
        self,
        worker_name: str,
        num_processes: int,
        threads_per_process: int = 1,
        redirect_output: bool = True,
        buffer_output: bool = True,
    ) -> None:
        """Ask the server for a pool of its worker ``worker_name``."""
        await self.connect()
        self._worker_name = worker_name
        self._options.update(num_processes=num_processes, threads_per_process=threads_per_process,
                             redirect_output=redirect_output, buffer_output=buffer_output)
        num_workers, pids = await self._request(
            RP_DOWN_CREATE_POOL,
            lambda rid: dict(self._options, request_id=rid, worker_name=worker_name, pool_type=self._pool_type),
        )
        self._process_ids = list(pids)
        core = PoolCore(self._name, num_workers)
        core.begin_start()
        self._send_generation = [0] * num_workers
        self._core = core

    async def _request(self, key: str, make_data: Any) -> Any:
        assert self._channel is not None
        request_id = next(self._request_ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._requests[request_id] = fut
        try:
            self._channel.send_nowait(key, make_data(request_id))
            return await asyncio.wait_for(fut, self._timeout)
        except asyncio.TimeoutError:
            raise PoolError(f"{self._name}: the server did not answer {key!r} within {self._timeout} s") from None
        finally:
            self._requests.pop(request_id, None)

    def _answer(self, request_id: int, result: Any = None, error: BaseException | None = None) -> None:
        fut = self._requests.get(request_id)
        if fut is not None and not fut.done():
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(result)

    async def _read(self) -> None:
        channel = self._channel
        assert channel is not None
        try:
            while True:
                for key, data in await channel.recv_batch():
                    if key == RP_UP_RECV:
                        self._deliver(*data)
                    elif key == RP_UP_POOL_CREATED:
                        self._answer(data[0], data[1:])
                    elif key in (RP_UP_STDOUT_BUFFER, RP_UP_CLOSED, RP_UP_SHUTDOWN_ACK):
                        if key == RP_UP_STDOUT_BUFFER:
                            self._answer(data[0], data[1])
                        else:
                            self._answer(data)
                    elif key in (RP_UP_ERROR_POOL_FAILED, RP_UP_ERROR_EXCEPTION):
                        self._answer(data[0], error=PoolError(f"the server at {self._url} reported: {data[1]}"))
        except (ChannelClosed, ChannelBroken) as exc:
            self._connection_lost(str(exc))

    def _deliver(self, worker_id: WorkerId, key: str, data: Any) -> None:
        core = self._core
        if core is None:
            return
        if key in _FAILURE_KEYS:
            details = dict(data)
            exception = details.pop("exception", None)

            def bump(wid: WorkerId = worker_id) -> None:
                self._send_generation[wid] += 1

            core.push_failure(worker_id, Failure(key, details, exception, on_received=bump))
        else:
            core.push(worker_id, key, data, core.generation[worker_id])

    def _connection_lost(self, reason: str) -> None:
        for fut in self._requests.values():
            if not fut.done():
                fut.set_exception(PoolError(f"{self._name}: the connection to the server was lost ({reason})"))
        core = self._core
        if core is None or core.closed or self._closed:
            return
        for wid in range(core.num_workers):
            if core.state[wid] != "dead":
                core.push_failure(
                    wid,
                    Failure(POOL_UP_ERROR_CRASHED, {
                        "reason": f"the connection to the remote pool server at {self._url} was lost ({reason})",
                        "restarted": False,
                    }),
                )

    async def close(self, timeout: float | None = 10.0) -> None:
        """Close the remote pool (its processes stop) and the connection."""
        if self._closed:
            return
        self._closed = True
        channel = self._channel
        if channel is not None and not channel.is_closed and self._core is not None and timeout != 0:
            with contextlib.suppress(PoolError, RPCError):
                grace = 10.0 if timeout is None else timeout
                await asyncio.wait_for(self._request(RP_DOWN_CLOSE, lambda rid: (rid, grace)), grace + 5)
        if self._core is not None:
            self._core.closed = True
            self._core.inbox.close_local()
        if channel is not None:
            await channel.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def request_shutdown(self, timeout: float = 10.0) -> None:
        """Ask the server process to stop serving (its ``serve()`` returns)."""
        await self.connect()
        await asyncio.wait_for(self._request(RP_DOWN_REQUEST_SHUTDOWN, lambda rid: rid), timeout)

    # -- messages -------------------------------------------------------------------------
    def _ready_core(self, action: str) -> PoolCore:
        core = self._core
        if core is None:
            raise PoolNotStarted(f"cannot {action}: {self._name} has no pool yet; call `await pool.start()` first")
        core.check_running(action)
        return core

    async def send(self, worker_id: WorkerId, key: str, data: Any) -> None:
        """Pickle ``(key, data)`` now and send it to the server for worker ``worker_id``."""
        self.send_nowait(worker_id, key, data)

    def send_nowait(self, worker_id: WorkerId, key: str, data: Any) -> None:
        """:meth:`send` for synchronous code on the loop thread."""
        core = self._ready_core("send")
        if type(worker_id) is not int or not 0 <= worker_id < core.num_workers:
            core.check_worker(worker_id)
        if core.may_send(worker_id):
            self._channel.send_nowait(RP_DOWN_SEND, (worker_id, self._send_generation[worker_id], key, data))  # type: ignore[union-attr]

    async def broadcast(self, key: str, data: Any) -> None:
        core = self._ready_core("broadcast")
        for wid in range(core.num_workers):
            if core.may_send(wid):
                self._channel.send_nowait(RP_DOWN_SEND, (wid, self._send_generation[wid], key, data))  # type: ignore[union-attr]

    async def restart_worker(self, worker_id: WorkerId, reason: str = "restart requested") -> None:
        """Restart the worker's process on the server (see ``MultiprocessPool.restart_worker``)."""
        core = self._ready_core("restart a worker")
        core.check_worker(worker_id)
        self._channel.send_nowait(RP_DOWN_RESTART_WORKER, (worker_id, reason))  # type: ignore[union-attr]

    async def recv(self, timeout: float | None = None) -> WorkerMessage:
        return await self._ready_core("recv").recv(timeout)

    async def recv_batch(self, timeout: float | None = None) -> list[WorkerMessage]:
        return await self._ready_core("recv").recv_batch(timeout)

    async def try_recv(self) -> WorkerMessage | None:
        return self._ready_core("recv").try_recv()

    async def flush_stdout(self, process_idx: int, timeout: float = 5.0) -> list[tuple[datetime, bool, str]]:
        """Output printed outside job captures by server process ``process_idx``."""
        self._ready_core("flush stdout")
        return await self._request(RP_DOWN_FLUSH_STDOUT, lambda rid: (rid, process_idx, timeout))

    async def flush_all_stdout(self, timeout: float = 5.0) -> dict[int, list[tuple[datetime, bool, str]]]:
        self._ready_core("flush stdout")
        return await self._request(RP_DOWN_FLUSH_ALL_STDOUT, lambda rid: (rid, None, timeout))
