"""The synchronous facade's event loop, and SIGINT handling.

The synchronous methods of ``Net`` never call ``asyncio.run`` per call (that breaks pools
and anything else bound to a loop, as the published 0.5.0 runtime shows). Instead each
``Net`` owns one private event loop running in a dedicated daemon thread for its whole
lifetime (:class:`LoopThread`); a sync call submits a coroutine to it and waits. This also
works when the caller is itself inside a running event loop (e.g. a notebook).

:class:`SigintPause` turns the first SIGINT during a blocking sync call (or while a
background run is active) into a clean pause: running epochs finish, no new ones start,
the call returns with the net ``PAUSED``. A second SIGINT raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import signal
import threading
from typing import Any, Callable, Coroutine, Optional

from netrun.errors import NetStateError

__all__ = ["LoopThread", "SigintPause"]


class LoopThread:
    """A private event loop in a daemon thread, started on first use."""

    def __init__(self, name: str = "netrun-loop") -> None:
        self._name = name
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    try:
                        loop.run_forever()
                    finally:
                        # Closed by close() (also when close() ran on this very thread, e.g.
                        # a Net collected here): close the loop now, so it is never left for
                        # the garbage collector to close half-torn-down.
                        with self._lock:
                            abandoned = self._loop is not loop
                        if abandoned and not loop.is_closed():
                            _close_loop(loop)

                thread = threading.Thread(target=run, name=self._name, daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    @property
    def is_running(self) -> bool:
        return self._loop is not None and not self._loop.is_closed()

    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        """Schedule ``coro`` on the loop; returns a concurrent future."""
        if self.in_loop_thread():
            coro.close()
            raise NetStateError(
                "A synchronous Net method was called from inside the net's own event loop "
                "(e.g. from a node function); use the async_* methods there, or net.pause()"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, Any], timeout: Optional[float] = None) -> Any:
        """Run ``coro`` on the loop and wait for its result."""
        return self.submit(coro).result(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the loop and join its thread (idempotent)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or loop.is_closed():
            return
        if thread is not None and thread is threading.current_thread():
            loop.call_soon(loop.stop)
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(timeout)
        except Exception:
            pass
        loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            thread.join(timeout)
        if not loop.is_running():
            loop.close()


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on a stopped loop, let it finish, and close the loop."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()


class SigintPause:
    """Install a SIGINT handler that pauses a net (only from the main thread).

    Use as a context manager around a blocking sync call, or ``install()``/``restore()``
    around a background run. Outside the main thread it does nothing (Python only delivers
    signals to the main thread).
    """

    def __init__(self, request_pause: Callable[[], None], is_active: Callable[[], bool]) -> None:
        self._request_pause = request_pause
        self._is_active = is_active
        self._previous: Any = None
        self._installed = False
        self._hits = 0

    def _handler(self, signum: int, frame: Any) -> None:
        if self._is_active() and self._hits == 0:
            self._hits += 1
            self._request_pause()
            return
        previous = self._previous
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    def install(self) -> None:
        if self._installed or threading.current_thread() is not threading.main_thread():
            return
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except (ValueError, OSError):  # not in the main interpreter / unsupported
            return
        self._installed = True
        self._hits = 0

    def restore(self) -> None:
        if not self._installed or threading.current_thread() is not threading.main_thread():
            return
        try:
            if signal.getsignal(signal.SIGINT) == self._handler:
                signal.signal(signal.SIGINT, self._previous if self._previous is not None else signal.default_int_handler)
        finally:
            self._installed = False

    def __enter__(self) -> "SigintPause":
        self.install()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.restore()
