"""The Pool contract, identical for the event-loop, thread and process pools."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _workers

from netrun.pool import (
    MultiprocessPool,
    PoolAlreadyStarted,
    PoolNotStarted,
    PoolStartupFailed,
    SingleWorkerPool,
    ThreadPool,
    WorkerCrashed,
    WorkerException,
)
from netrun.rpc import RecvTimeout


def make(kind: str, **kw: Any) -> Any:
    if kind == "main":
        return SingleWorkerPool(_workers.async_echo_worker, **kw)
    if kind == "thread":
        return ThreadPool(_workers.echo_worker, 3, **kw)
    return MultiprocessPool(_workers.echo_worker, 2, 2, **kw)


KINDS = ["main", "thread", "process"]


@pytest.fixture(scope="module", params=KINDS)
def shared(request: Any, runner: Any) -> Any:
    """One started pool per kind, shared by the tests that leave it healthy."""
    pool = make(request.param)
    runner.run(pool.start())
    yield request.param, pool
    runner.run(pool.close())


def test_round_trip_tags_every_reply_with_its_worker(shared: Any, runner: Any) -> None:
    kind, pool = shared

    async def main() -> None:
        for wid in range(pool.num_workers):
            await pool.send(wid, "hello", wid * 10)
        got = sorted([(m.worker_id, m.key, m.data[2]) for m in [await pool.recv(timeout=10) for _ in range(pool.num_workers)]])
        assert got == [(w, "hello", w * 10) for w in range(pool.num_workers)]
        await pool.broadcast("all", "x")
        msgs = [await pool.recv(timeout=10) for _ in range(pool.num_workers)]
        assert sorted(m.worker_id for m in msgs) == list(range(pool.num_workers))

    runner.run(main())


def test_recv_timeout_and_try_recv(shared: Any, runner: Any) -> None:
    kind, pool = shared

    async def main() -> None:
        with pytest.raises(RecvTimeout, match="within 0.05 s"):
            await pool.recv(timeout=0.05)
        assert await pool.try_recv() is None
        assert await pool.recv_batch(timeout=0.01) if False else True

    runner.run(main())


def test_bad_worker_id_is_a_clear_error(shared: Any, runner: Any) -> None:
    kind, pool = shared

    async def main() -> None:
        with pytest.raises(ValueError, match=rf"worker_id 99 is not a worker .* valid ids are 0..{pool.num_workers - 1}"):
            await pool.send(99, "hello", 1)

    runner.run(main())


def test_worker_function_exception_is_reported_and_worker_replaced(shared: Any, runner: Any) -> None:
    kind, pool = shared

    async def main() -> None:
        await pool.send(0, "raise", "boom")
        with pytest.raises(WorkerException, match="worker function of worker 0 raised ValueError: asked to fail: boom. It was restarted") as info:
            await pool.recv(timeout=30)
        assert info.value.worker_id == 0
        await pool.send(0, "hello", "again")
        msg = await pool.recv(timeout=30)
        assert (msg.worker_id, msg.key, msg.data[2]) == (0, "hello", "again")

    runner.run(main())


def test_worker_function_returning_early_is_a_crash(shared: Any, runner: Any) -> None:
    kind, pool = shared

    async def main() -> None:
        await pool.send(0, "return", None)
        with pytest.raises(WorkerCrashed, match="returned while the pool was running"):
            await pool.recv(timeout=30)
        await pool.send(0, "hello", 1)
        assert (await pool.recv(timeout=30)).data[2] == 1

    runner.run(main())


def test_restart_worker_discards_unreceived_sends_then_serves_again(shared: Any, runner: Any) -> None:
    kind, pool = shared

    async def main() -> None:
        await pool.restart_worker(0, "test restart")
        await pool.send(0, "lost", 1)  # before the failure was received: discarded
        with pytest.raises(WorkerCrashed, match="test restart") as info:
            await pool.recv(timeout=30)
        assert info.value.details["requested"] is True and info.value.details["restarted"] is True
        # Process pools restart the whole process: its sibling worker is reported too.
        if kind == "process":
            with pytest.raises(WorkerCrashed):
                await pool.recv(timeout=30)
        await pool.send(0, "kept", 2)
        msg = await pool.recv(timeout=30)
        assert (msg.key, msg.data[2]) == ("kept", 2)
        with pytest.raises(RecvTimeout):
            await pool.recv(timeout=0.2)

    runner.run(main())


@pytest.mark.parametrize("kind", KINDS)
def test_lifecycle_errors(kind: str) -> None:
    async def main() -> None:
        pool = make(kind)
        with pytest.raises(PoolNotStarted, match="was not started; call `await pool.start\\(\\)` first"):
            await pool.send(0, "x", 1)
        async with pool:
            assert pool.is_running
            with pytest.raises(PoolAlreadyStarted, match="already running"):
                await pool.start()
        assert not pool.is_running
        with pytest.raises(PoolNotStarted, match="was closed"):
            await pool.send(0, "x", 1)
        with pytest.raises(PoolNotStarted, match="was closed"):
            await pool.recv(timeout=1)
        await pool.close()  # idempotent

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_startup_per_worker_and_global(kind: str) -> None:
    async def main() -> None:
        _workers.STARTUP_CALLS.clear()
        async with make(kind, worker_startup=_workers.record_startup) as pool:
            for wid in range(pool.num_workers):
                await pool.send(wid, "startup", None)
            replies = [await pool.recv(timeout=10) for _ in range(pool.num_workers)]
        if kind == "thread":
            assert sorted(replies[0].data[2]) == [0, 1, 2]
        else:  # each process saw the start-up of its own two threads
            by_pid: dict[int, list[int]] = {}
            for m in replies:
                by_pid[m.data[1]] = sorted(m.data[2])
            assert sorted(by_pid.values()) == [[0, 1], [2, 3]]
        _workers.STARTUP_CALLS.clear()
        async with make(kind, worker_startup=_workers.record_startup, init_mode="global") as pool:
            await pool.send(0, "startup", None)
            assert (await pool.recv(timeout=10)).data[2] == [None]

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.parametrize("kind", ["main", "thread", "process"])
def test_failing_startup_raises_naming_function_and_worker(kind: str) -> None:
    async def main() -> None:
        pool = make(kind, worker_startup=_workers.failing_startup)
        with pytest.raises(PoolStartupFailed, match=r"_workers.failing_startup raised RuntimeError: no database for worker 0"):
            await pool.start()
        assert not pool.is_running

    asyncio.run(asyncio.wait_for(main(), 60))


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_close_lets_workers_finish_what_was_sent(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "done.txt"

    async def main() -> None:
        pool = make(kind)
        await pool.start()
        for _ in range(3):
            await pool.send(0, "sleep", 0.05)
            await pool.send(0, "append_file", str(target))
        await pool.close(timeout=10)

    asyncio.run(asyncio.wait_for(main(), 60))
    assert target.read_text().splitlines() == ["0", "0", "0"]


def test_thread_close_with_zero_timeout_abandons_stuck_thread_at_once() -> None:
    async def main() -> float:
        pool = ThreadPool(_workers.echo_worker, 1)
        await pool.start()
        await pool.send(0, "sleep", 3)
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await pool.close(timeout=0)
        return loop.time() - start

    assert asyncio.run(main()) < 0.5


def test_output_capture_routes_by_context_and_leaves_other_writes_alone(capsys: pytest.CaptureFixture[str]) -> None:
    import contextlib as _contextlib
    import threading as _threading

    from netrun.pool._capture import capture_output

    results: dict[str, list[str]] = {}

    def job(name: str) -> None:
        with capture_output() as cap:
            print(f"{name} line 1")
            print(f"{name} part", end="")
            print(" done", file=sys.stdout)
            print(f"{name} err", file=sys.stderr)
        results[name] = [f"{'E' if line.is_stderr else 'O'}:{line.text}" for line in cap.finish()]

    threads = [_threading.Thread(target=job, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("outside any job")
    assert results == {n: [f"O:{n} line 1", f"O:{n} part done", f"E:{n} err"] for n in ("a", "b")}
    assert "outside any job" in capsys.readouterr().out
    assert sys.stdout.encoding  # attributes of the real stream stay reachable
    with _contextlib.suppress(AttributeError):
        sys.stdout.buffer  # noqa: B018
