"""ExecutionManager over remote pools (create_execution_manager_server + RemotePoolClient)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _jobs
from conftest import wait_gone

from netrun.execution import (
    ExecutionError,
    ExecutionManager,
    WorkerCrashed,
    WorkerTimeout,
    create_execution_manager_server,
)
from netrun.pool.remote import RemotePoolClient
from netrun.rpc import AuthenticationFailed

TOKEN = "exec-remote-token-0123456789"
SERVER_SCRIPT = Path(__file__).parents[1] / "pool" / "_remote_server.py"


def run(coro: Any, timeout: float = 90) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_remote_jobs_output_errors_and_time_limits() -> None:
    async def main() -> None:
        server = create_execution_manager_server(token=TOKEN)
        async with server.serve_background("127.0.0.1", 0) as running:
            cfg = {"url": running.url, "token": TOKEN, "num_processes": 1, "threads_per_process": 2}
            async with ExecutionManager({"r": (RemotePoolClient, cfg)}) as em:
                assert em.get_num_workers("r") == 2
                for name in ("add", "fail", "sleep", "pid"):
                    await em.send_function_to_pool("r", name, getattr(_jobs, name))
                job = await em.run("r", 1, "add", func_args=(2, 2))
                assert job.result == 4 and [l.text for l in job.print_buffer] == ["adding 2 and 2", "careful"]
                job = await em.run("r", 0, "fail", func_args=("remote no",))
                assert isinstance(job.exception, ValueError) and "remote no" in job.traceback
                jobs = await asyncio.gather(*(em.run_allocate(["r"], "least-busy", "add", func_args=(i, i)) for i in range(50)))
                assert [j.result for j in jobs] == [2 * i for i in range(50)]
                old = (await em.run("r", 0, "pid")).result
                with pytest.raises(WorkerTimeout, match="its remote process was killed and replaced"):
                    await em.run("r", 0, "sleep", func_args=(30,), timeout=0.3)
                assert (await em.run("r", 0, "pid", timeout=30)).result != old

    run(main())


def test_wrong_token_fails_the_manager_start() -> None:
    async def main() -> None:
        server = create_execution_manager_server(token=TOKEN)
        async with server.serve_background("127.0.0.1", 0) as running:
            em = ExecutionManager({"r": (RemotePoolClient, {"url": running.url, "token": "wrong-token-0123456789"})})
            with pytest.raises(AuthenticationFailed, match="wrong token"):
                await em.start()

    run(main())


def test_remote_server_that_disappears_fails_its_jobs(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, str(SERVER_SCRIPT), str(port_file), TOKEN, "execution"])
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.05)
        url = f"ws://127.0.0.1:{port_file.read_text()}"

        async def main() -> list[int]:
            async with ExecutionManager({"r": (RemotePoolClient, {"url": url, "token": TOKEN, "num_processes": 2})}) as em:
                with pytest.raises(ExecutionError, match="could not load function 'sleep': ModuleNotFoundError: "
                                   "No module named '_jobs'; .* send with by_value=True"):
                    await em.send_function_to_pool("r", "sleep", _jobs.sleep)
                # The server cannot import this test module: ship the code by value.
                await em.send_function_to_pool("r", "sleep", _jobs.sleep, by_value=True)
                pids = em.get_process_ids("r")
                jobs = [asyncio.create_task(em.run("r", w, "sleep", func_args=(30,))) for w in (0, 1)]
                await asyncio.sleep(0.3)
                loop = asyncio.get_running_loop()
                start = loop.time()
                proc.kill()
                for j in jobs:
                    with pytest.raises(WorkerCrashed, match="connection to the remote pool server .* was lost"):
                        await j
                assert loop.time() - start < 3
                with pytest.raises(WorkerCrashed, match="is gone"):
                    await em.run("r", 0, "sleep", func_args=(0,))
                return pids

        pids = run(main())
    finally:
        proc.kill()
        proc.wait(10)
    assert not wait_gone(pids, 10)
