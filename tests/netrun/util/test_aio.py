"""``netrun._util.aio``: per-thread loops and running coroutines from sync code."""

from __future__ import annotations

import asyncio
import gc
import threading
import warnings

from netrun._util.aio import run_coroutine_blocking, thread_loop


def _in_thread(fn):
    out: list = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return out[0]


def test_a_threads_loop_is_persistent_and_closed_when_the_thread_ends():
    loops = _in_thread(lambda: (thread_loop(), thread_loop()))
    assert loops[0] is loops[1]
    assert loops[0].is_closed()  # closed as the thread ended, not left to the collector


def test_no_unclosed_loop_warning_when_thread_loops_are_collected():
    def use() -> asyncio.AbstractEventLoop:
        loop = thread_loop()
        loop.run_until_complete(asyncio.sleep(0))
        return loop

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(5):
            _in_thread(use)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_run_coroutine_blocking_in_a_thread_and_on_a_running_loop():
    async def forty_two() -> int:
        await asyncio.sleep(0)
        return 42

    assert _in_thread(lambda: run_coroutine_blocking(forty_two())) == 42

    async def inside_a_loop() -> int:  # the loop is busy: the helper loop thread runs it
        return run_coroutine_blocking(forty_two())

    assert asyncio.run(inside_a_loop()) == 42
