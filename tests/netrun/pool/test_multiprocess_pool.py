"""MultiprocessPool specifics: layout, output capture, killed processes, no orphans."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _workers
from conftest import wait_gone

from netrun.pool import MultiprocessPool, PoolError, WorkerCrashed
from netrun.rpc import MessageNotSerializable, RecvTimeout

OUTPUT: list[tuple[int, list[Any]]] = []


@pytest.fixture(scope="module")
def pool(runner: Any) -> Any:
    p = MultiprocessPool(_workers.echo_worker, 2, 2, on_output=lambda idx, lines: OUTPUT.append((idx, lines)))
    runner.run(p.start())
    yield p
    pids = p.get_process_ids()
    runner.run(p.close())
    assert not wait_gone(pids), "pool processes outlived close()"


def test_n_processes_times_m_threads_layout(pool: Any, runner: Any) -> None:
    async def main() -> None:
        for wid in range(4):
            await pool.send(wid, "who", None)
        replies = {m.worker_id: m.data[1] for m in [await pool.recv(timeout=10) for _ in range(4)]}
        pids = pool.get_process_ids()
        assert replies == {0: pids[0], 1: pids[0], 2: pids[1], 3: pids[1]}
        assert pids[0] != pids[1] and os.getpid() not in pids
        assert (pool.num_workers, pool.num_processes, pool.threads_per_process) == (4, 2, 2)

    runner.run(main())


def test_output_captured_per_line_with_write_time_stdout_and_stderr(pool: Any, runner: Any) -> None:
    async def main() -> None:
        OUTPUT.clear()
        await pool.flush_all_stdout()
        await pool.send(3, "print", ["first", "second"])
        await pool.recv(timeout=10)
        lines = await pool.flush_stdout(1)
        assert [(line.is_stderr, line.text) for line in lines] == [
            (False, "first"), (False, "second"), (True, "to stderr"), (False, "partial line")
        ]
        # Each line carries the time it was *written*: 50 ms apart, and the partial line
        # keeps the time its first piece was written (200 ms before it was completed).
        assert lines[1].timestamp - lines[0].timestamp >= timedelta(milliseconds=45)
        assert lines[0].timestamp.tzinfo is not None
        assert await pool.flush_stdout(1) == []  # flushing clears
        assert await pool.flush_stdout(0) == []  # other process printed nothing
        # on_output saw the same lines (delivered on the event loop).
        await asyncio.sleep(0.3)
        seen = [line.text for idx, batch in OUTPUT if idx == 1 for line in batch]
        assert seen == ["first", "second", "to stderr", "partial line"]
        with pytest.raises(ValueError, match="process_idx 5 is not a process of MultiprocessPool \\(0..1\\)"):
            await pool.flush_stdout(5)

    runner.run(main())


def test_unpicklable_message_fails_in_the_caller(pool: Any, runner: Any) -> None:
    async def main() -> None:
        with pytest.raises(MessageNotSerializable, match="message 'hello' cannot be pickled"):
            await pool.send(0, "hello", threading.Lock())
        await pool.send(0, "hello", lambda: 1)  # cloudpickle carries lambdas
        assert (await pool.recv(timeout=10)).key == "hello"

    runner.run(main())


def test_killed_process_is_reported_at_once_and_replaced(pool: Any, runner: Any) -> None:
    async def main() -> None:
        old = pool.get_process_ids()
        await pool.send(2, "sleep", 30)  # busy when killed
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        start = loop.time()
        os.kill(old[1], signal.SIGKILL)
        crashed = []
        for _ in range(2):
            with pytest.raises(WorkerCrashed) as info:
                await pool.recv(timeout=10)
            crashed.append(info.value)
        assert loop.time() - start < 2.0
        assert sorted(e.worker_id for e in crashed) == [2, 3]
        assert f"process {old[1]}, killed by SIGKILL" in str(crashed[0])
        assert "A replacement worker was started" in str(crashed[0])
        assert crashed[0].details["exitcode"] == -signal.SIGKILL and crashed[0].details["restarted"] is True
        # The other process was not disturbed, the replacement serves the same worker ids.
        for wid in range(4):
            await pool.send(wid, "after", wid)
        replies = {m.worker_id: m.data[1] for m in [await pool.recv(timeout=30) for _ in range(4)]}
        new = pool.get_process_ids()
        assert new[0] == old[0] and new[1] not in (None, old[1])
        assert replies == {0: new[0], 1: new[0], 2: new[1], 3: new[1]}
        assert not wait_gone([old[1]], 5)
        with pytest.raises(RecvTimeout):
            await pool.recv(timeout=0.1)

    runner.run(main())


def test_unpicklable_worker_function_is_refused_at_start() -> None:
    lock = threading.Lock()

    def worker(channel: Any, wid: int) -> None:
        with lock:
            pass

    async def main() -> None:
        pool = MultiprocessPool(worker, 1)
        with pytest.raises(PoolError, match="cannot send its worker function .*worker.* it cannot be pickled"):
            await pool.start()

    asyncio.run(main())


def test_fork_start_method_is_refused() -> None:
    with pytest.raises(ValueError, match="mp_context='fork' is not supported: use 'spawn' or 'forkserver'"):
        MultiprocessPool(_workers.echo_worker, 1, mp_context="fork")
    with pytest.raises(ValueError, match="num_processes >= 1"):
        MultiprocessPool(_workers.echo_worker, 0)


def test_close_with_zero_timeout_kills_busy_processes(tmp_path: Path) -> None:
    async def main() -> list[int | None]:
        p = MultiprocessPool(_workers.echo_worker, 1)
        await p.start()
        await p.send(0, "sleep", 30)
        await asyncio.sleep(0.1)
        pids = p.get_process_ids()
        loop = asyncio.get_running_loop()
        start = loop.time()
        await p.close(timeout=0)
        assert loop.time() - start < 2
        return pids

    pids = asyncio.run(main())
    assert not wait_gone(pids, 5)


def test_interpreter_exit_without_close_leaves_no_process(tmp_path: Path) -> None:
    """A program that forgets close(): its pool processes do not outlive it."""
    import subprocess

    pid_file = tmp_path / "pids"
    script = f"""
import asyncio, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import _workers
from netrun.pool import MultiprocessPool

async def main():
    pool = MultiprocessPool(_workers.echo_worker, 2)
    await pool.start()
    open({str(pid_file)!r}, "w").write(" ".join(map(str, pool.get_process_ids())))

if __name__ == "__main__":
    asyncio.run(main())
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2
    assert not wait_gone(pids, 10)
