"""Every transport obeys the same close / broken / timeout contract (netrun.rpc.base)."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _peers import process_peer_main, run_async_peer, run_sync_peer

from netrun.rpc import (
    ChannelBroken,
    ChannelClosed,
    MessageNotSerializable,
    RecvTimeout,
    SyncThreadChannel,
    connect_channel,
    create_async_channel_pair,
    create_process_channel_pair,
    create_thread_channel_pair,
    serve_background,
)

TOKEN = "test-token-0123456789abcdef"


@contextlib.asynccontextmanager
async def aio_pair() -> AsyncIterator[Any]:
    local, remote = create_async_channel_pair()

    async def brk() -> None:
        remote.mark_broken("test break")

    task = asyncio.create_task(run_async_peer(remote, brk))
    try:
        yield local
    finally:
        await local.close()
        await asyncio.wait_for(task, 5)


@contextlib.asynccontextmanager
async def thread_pair() -> AsyncIterator[Any]:
    local, boxes = create_thread_channel_pair()
    remote = SyncThreadChannel(*boxes)
    t = threading.Thread(target=run_sync_peer, args=(remote, lambda: remote.mark_broken("test break")))
    t.start()
    try:
        yield local
    finally:
        await local.close()
        await asyncio.to_thread(t.join, 5)
        assert not t.is_alive()


@contextlib.asynccontextmanager
async def process_pair() -> AsyncIterator[Any]:
    ctx = multiprocessing.get_context("spawn")
    local, child_conn = create_process_channel_pair(ctx)
    proc = ctx.Process(target=process_peer_main, args=(child_conn,))
    proc.start()
    child_conn.close()
    try:
        yield local
    finally:
        await local.close()
        await asyncio.to_thread(proc.join, 10)
        if proc.is_alive():
            proc.kill()
            proc.join()
        assert proc.exitcode is not None


@contextlib.asynccontextmanager
async def websocket_pair() -> AsyncIterator[Any]:
    done: list[str] = []

    async def handler(chan: Any) -> None:
        async def brk() -> None:
            await chan._flush(5)
            chan._ws.transport.abort()

        done.append(await run_async_peer(chan, brk))

    async with serve_background(handler, "127.0.0.1", 0, token=TOKEN) as server:
        local = await connect_channel(server.url, token=TOKEN)
        try:
            yield local
        finally:
            await local.close()


TRANSPORTS = {"aio": aio_pair, "thread": thread_pair, "process": process_pair, "websocket": websocket_pair}


@pytest.fixture(params=list(TRANSPORTS))
def transport(request: Any) -> Any:
    return TRANSPORTS[request.param]


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_round_trip_keeps_order(transport: Any) -> None:
    async def main() -> None:
        async with transport() as chan:
            for i in range(50):
                await chan.send("echo", {"i": i})
            got = [await chan.recv(timeout=10) for _ in range(50)]
            assert got == [("echo", {"i": i}) for i in range(50)]

    run(main())


def test_recv_timeout_leaves_channel_usable(transport: Any) -> None:
    async def main() -> None:
        async with transport() as chan:
            with pytest.raises(RecvTimeout, match="within 0.05 s"):
                await chan.recv(timeout=0.05)
            assert await chan.try_recv() is None
            await chan.send("echo", 7)
            assert await chan.recv(timeout=10) == ("echo", 7)

    run(main())


def test_peer_close_delivers_pending_then_raises_closed(transport: Any) -> None:
    async def main() -> None:
        async with transport() as chan:
            await chan.send("send_then_close", [1, 2, 3])
            got = [await chan.recv(timeout=10) for _ in range(3)]
            assert got == [("msg", 1), ("msg", 2), ("msg", 3)]
            with pytest.raises(ChannelClosed, match="closed by the peer"):
                await chan.recv(timeout=10)
            with pytest.raises(ChannelClosed, match="closed by the peer"):
                await chan.recv(timeout=10)
            with pytest.raises(ChannelClosed):
                await chan.try_recv()
            assert chan.is_closed
            with pytest.raises(ChannelClosed, match="closed by the peer"):
                await chan.send("echo", 1)

    run(main())


def test_broken_transport_delivers_pending_then_raises_broken(transport: Any) -> None:
    async def main() -> None:
        async with transport() as chan:
            await chan.send("send_then_break", ["a", "b"])
            assert await chan.recv(timeout=10) == ("msg", "a")
            assert await chan.recv(timeout=10) == ("msg", "b")
            with pytest.raises(ChannelBroken, match="broke|lost"):
                await chan.recv(timeout=10)
            with pytest.raises(ChannelBroken):
                await chan.recv(timeout=10)
            with pytest.raises(ChannelBroken):
                await chan.send("echo", 1)

    run(main())


def test_local_close_wakes_waiting_recv_and_refuses_send(transport: Any) -> None:
    async def main() -> None:
        async with transport() as chan:
            waiting = asyncio.create_task(chan.recv(timeout=30))
            await asyncio.sleep(0.05)
            await chan.close()
            with pytest.raises(ChannelClosed, match="this end closed it"):
                await asyncio.wait_for(waiting, 5)
            with pytest.raises(ChannelClosed, match="this end"):
                await chan.send("echo", 1)
            with pytest.raises(ChannelClosed):
                await chan.recv(timeout=1)
            await chan.close()  # idempotent
            assert chan.is_closed

    run(main())


@pytest.mark.parametrize("name", ["process", "websocket"])
def test_unpicklable_message_raises_and_channel_survives(name: str) -> None:
    async def main() -> None:
        async with TRANSPORTS[name]() as chan:
            with pytest.raises(MessageNotSerializable, match="message 'echo' cannot be pickled"):
                await chan.send("echo", threading.Lock())
            await chan.send("echo", lambda x: x + 1)  # cloudpickle handles lambdas
            key, fn = await chan.recv(timeout=10)
            assert key == "echo" and fn(1) == 2

    run(main())
