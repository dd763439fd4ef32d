"""Shared fixtures: a background event loop per module (so pools can be shared across
tests) and a check that no child process outlives the test module."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest


class LoopRunner:
    """An event loop on a background thread; ``run(coro)`` waits for the result (bounded)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_rest(), 10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def runner() -> Iterator[LoopRunner]:
    r = LoopRunner()
    yield r
    r.close()


def _children() -> set[int]:
    procs = psutil.Process().children(recursive=True)
    out = set()
    for p in procs:
        try:
            if "resource_tracker" in " ".join(p.cmdline()):
                continue
        except psutil.Error:
            continue
        out.add(p.pid)
    return out


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def wait_gone(pids: set[int] | list[int], timeout: float = 10.0) -> set[int]:
    """Wait until none of ``pids`` runs any more; return those still alive."""
    deadline = time.monotonic() + timeout
    alive = {p for p in pids if p is not None}
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if _running(p)}
        if alive:
            time.sleep(0.05)
    return alive


@pytest.fixture(scope="module", autouse=True)
def no_orphan_processes() -> Iterator[None]:
    before = _children()
    yield
    left = wait_gone(_children() - before)
    assert not left, f"child processes outlived the tests: {left}"
