"""RemotePoolServer / RemotePoolClient over real WebSockets on the loopback interface."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _workers
from conftest import wait_gone

from netrun.pool import PoolError, WorkerCrashed
from netrun.pool.remote import RemotePoolClient, RemotePoolServer
from netrun.rpc import AuthenticationFailed

TOKEN = "remote-pool-token-0123456789"


@pytest.fixture(scope="module")
def server(runner: Any) -> Iterator[Any]:
    srv = RemotePoolServer(token=TOKEN)
    srv.register_worker("echo", _workers.echo_worker)
    cm = srv.serve_background("127.0.0.1", 0)
    running = runner.run(cm.__aenter__())
    yield running
    runner.run(cm.__aexit__(None, None, None))


def test_round_trip_output_and_layout(server: Any, runner: Any) -> None:
    async def main() -> None:
        async with RemotePoolClient(server.url, "echo", 2, 2, token=TOKEN) as pool:
            assert pool.num_workers == 4
            for wid in range(4):
                await pool.send(wid, "who", wid)
            got = sorted((m.worker_id, m.data[2]) for m in [await pool.recv(timeout=10) for _ in range(4)])
            assert got == [(0, 0), (1, 1), (2, 2), (3, 3)]
            await pool.send(1, "print", ["remote hello"])
            await pool.recv(timeout=10)
            lines = await pool.flush_stdout(0)
            assert [line.text for line in lines][:1] == ["remote hello"]
            pids = pool.get_process_ids()
        # The client left: the server closed the pool, its processes are gone.
        assert not wait_gone(pids, 10)

    runner.run(main())


def test_wrong_token_is_refused_and_no_pool_is_created(server: Any, runner: Any) -> None:
    before = set(p.pid for p in psutil.Process().children(recursive=True))

    async def main() -> None:
        pool = RemotePoolClient(server.url, "echo", 1, token="not-the-right-token-000")
        with pytest.raises(AuthenticationFailed, match="wrong token"):
            await pool.start()

    runner.run(main())
    after = set(p.pid for p in psutil.Process().children(recursive=True))
    assert after <= before


def test_unknown_worker_name_lists_registered_ones(server: Any, runner: Any) -> None:
    async def main() -> None:
        pool = RemotePoolClient(server.url, "nope", token=TOKEN)
        with pytest.raises(PoolError, match=r"no worker named 'nope' is registered on this server \(registered: \['echo'\]\)"):
            await pool.start()

    runner.run(main())


def test_remote_process_crash_is_forwarded_and_worker_replaced(server: Any, runner: Any) -> None:
    async def main() -> None:
        async with RemotePoolClient(server.url, "echo", 1, 1, token=TOKEN) as pool:
            await pool.send(0, "who", None)
            pid = (await pool.recv(timeout=10)).data[1]
            os.kill(pid, signal.SIGKILL)
            await pool.send(0, "lost", None)  # sent before the failure was received: discarded
            with pytest.raises(WorkerCrashed, match="killed by SIGKILL.*replacement") as info:
                await pool.recv(timeout=10)
            assert info.value.details["restarted"] is True
            await pool.send(0, "who", "again")
            msg = await pool.recv(timeout=30)
            assert msg.key == "who" and msg.data[2] == "again" and msg.data[1] != pid

    runner.run(main())


def _start_server_process(tmp_path: Path, kind: str = "echo") -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "_remote_server.py"), str(port_file), TOKEN, kind])
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return proc, f"ws://127.0.0.1:{port_file.read_text()}"


def test_server_that_disappears_fails_every_worker_promptly(tmp_path: Path) -> None:
    proc, url = _start_server_process(tmp_path)
    grandchildren: list[int] = []

    async def main() -> None:
        pool = RemotePoolClient(url, "echo", 2, 1, token=TOKEN)
        await pool.start()
        try:
            grandchildren.extend(pool.get_process_ids())
            await pool.send(0, "sleep", 30)
            await asyncio.sleep(0.2)
            loop = asyncio.get_running_loop()
            start = loop.time()
            proc.kill()
            failures = []
            for _ in range(2):
                with pytest.raises(WorkerCrashed, match="connection to the remote pool server .* was lost") as info:
                    await pool.recv(timeout=10)
                failures.append(info.value)
            assert loop.time() - start < 3.0
            assert sorted(f.worker_id for f in failures) == [0, 1]
            assert all(f.details["restarted"] is False for f in failures)
            with pytest.raises(WorkerCrashed, match="is gone"):
                await pool.send(0, "who", None)
        finally:
            await pool.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        proc.kill()
        proc.wait(10)
    # The server's pool processes noticed their parent died and exited by themselves.
    assert not wait_gone(grandchildren, 10)


def test_a_frozen_server_is_noticed_by_the_keepalive_within_its_bound(tmp_path: Path) -> None:
    """SIGSTOP keeps the server's socket open but answers nothing (no close frame, no pong):
    with ping_interval=0.2 and ping_timeout=0.4 every worker fails within about a second."""
    proc, url = _start_server_process(tmp_path)
    grandchildren: list[int] = []

    async def main() -> None:
        pool = RemotePoolClient(url, "echo", 2, 1, token=TOKEN, ping_interval=0.2, ping_timeout=0.4)
        await pool.start()
        try:
            grandchildren.extend(pool.get_process_ids())
            await pool.send(0, "sleep", 30)
            await asyncio.sleep(0.2)
            loop = asyncio.get_running_loop()
            start = loop.time()
            os.kill(proc.pid, signal.SIGSTOP)
            failures = []
            for _ in range(2):
                with pytest.raises(WorkerCrashed, match="connection to the remote pool server .* was lost") as info:
                    await pool.recv(timeout=10)
                failures.append(info.value)
            assert loop.time() - start < 3.0  # default keepalive (5 s + 10 s) would take ~15 s
            assert sorted(f.worker_id for f in failures) == [0, 1]
            with pytest.raises(WorkerCrashed, match="is gone"):
                await pool.send(0, "who", None)
        finally:
            await asyncio.wait_for(pool.close(timeout=1), 10)

    try:
        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        proc.kill()  # also ends a stopped process
        proc.wait(10)
    assert not wait_gone(grandchildren, 10)


def test_request_shutdown_stops_serve(tmp_path: Path) -> None:
    proc, url = _start_server_process(tmp_path)

    async def main() -> None:
        client = RemotePoolClient(url, token=TOKEN)
        await client.request_shutdown()
        await client.close()

    try:
        asyncio.run(asyncio.wait_for(main(), 30))
        assert proc.wait(15) == 0
    finally:
        proc.kill()


def test_thread_pool_type_and_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    sys.path.insert(0, str(Path(__file__).parents[1] / "rpc"))
    from test_remote_security import _self_signed_cert

    cert, key = _self_signed_cert(tmp_path)

    async def main() -> None:
        srv = RemotePoolServer(token=TOKEN, certfile=str(cert), keyfile=str(key))
        srv.register_worker("echo", _workers.echo_worker)
        async with srv.serve_background("127.0.0.1", 0) as running:
            assert running.url.startswith("wss://")
            async with RemotePoolClient(running.url, "echo", 3, token=TOKEN, cafile=str(cert),
                                        pool_type="thread") as pool:
                for wid in range(3):
                    await pool.send(wid, "who", wid)
                replies = [await pool.recv(timeout=10) for _ in range(3)]
                assert {m.data[1] for m in replies} == {os.getpid()}  # threads of the server (this process)
            with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
                await RemotePoolClient(running.url, "echo", token=TOKEN).start()

    asyncio.run(asyncio.wait_for(main(), 60))
