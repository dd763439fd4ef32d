"""Running a coroutine to completion from synchronous code, without ``asyncio.run`` per call.

A synchronous node function may read a packet whose value function is ``async``. In a
worker thread (no loop running there) the coroutine runs on that thread's persistent loop;
on a thread whose loop is busy running the node itself, it runs on one shared helper loop
thread and the caller blocks until it is done.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine

_local = threading.local()
_helper_lock = threading.Lock()
_helper: tuple[asyncio.AbstractEventLoop, threading.Thread] | None = None


class _ThreadLoop:
    """Holds a thread's private loop and closes it when the thread ends.

    A thread's ``threading.local`` data is dropped when the thread exits; this holder is
    referenced from there only, so it goes at once and closes the loop with it. (A loop left
    to the garbage collector is part of reference cycles: collected later, its sockets may
    be finalized before it, and its own finalizer then fails on a closed self-pipe.)"""

    __slots__ = ("loop",)

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        loop = self.loop
        if not loop.is_closed() and not loop.is_running():
            loop.close()


def thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's private, persistent event loop (created on first use, closed when the
    thread ends)."""
    holder = getattr(_local, "holder", None)
    if holder is None or holder.loop.is_closed():
        holder = _local.holder = _ThreadLoop()
    return holder.loop


def _helper_loop() -> asyncio.AbstractEventLoop:
    global _helper
    with _helper_lock:
        if _helper is None or not _helper[1].is_alive():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="netrun-coroutine-helper", daemon=True
            )
            thread.start()
            _helper = (loop, thread)
        return _helper[0]


def run_coroutine_blocking(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to completion and return its result, from synchronous code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return thread_loop().run_until_complete(coro)
    future = asyncio.run_coroutine_threadsafe(coro, _helper_loop())
    return future.result()


def on_loop_thread(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the caller runs on ``loop``'s thread, inside the running ``loop``."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
