"""Running a ``Net``: the async methods, and the sync facade over them.

Every sync method is a thin wrapper that runs the matching coroutine on the net's private
event loop thread (see ``_loop.py``); the async methods run the same coroutine on the
caller's loop. Both drive the one scheduler.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Optional

from netrun.errors import NetStateError
from netrun.net._loop import LoopThread, SigintPause
from netrun.net.runner import BackgroundNetRunner
from netrun.net.state import NetState

__all__ = ["RunMethods"]


class RunMethods:
    """Mixin of :class:`~netrun.net.Net` with every run/pause/stop method."""

    _core: Any
    _loop_thread: LoopThread
    _sigint: Optional[SigintPause]
    _background: Optional[concurrent.futures.Future]

    # ------------------------------------------------------------------ plumbing
    def _sync(self, coro: Any, *, sigint: bool = True) -> Any:
        if self._sigint is not None and sigint:
            with self._sigint:
                return self._loop_thread.run(coro)
        return self._loop_thread.run(coro)

    def _run_sync(self, mode: str) -> Any:
        core = self._core
        if self._loop_thread.in_loop_thread():
            raise NetStateError(
                "A synchronous run method was called from inside the net's own event loop "
                "(e.g. from a node function); this would deadlock"
            )
        core.claim()
        try:
            return self._sync(core.drive(mode, claimed=True))
        except BaseException:
            if core.driving and not self._loop_thread.is_running:
                core.driving = False
            raise

    def _start_background(self, mode: str) -> concurrent.futures.Future:
        core = self._core
        if core.state is NetState.STOPPED:
            raise NetStateError("The net is stopped and cannot run again; build a new Net")
        if self._background is not None and not self._background.done():
            raise NetStateError(
                "The net is already running in the background; wait with "
                "net.wait_until_blocked() or call net.pause() first"
            )
        core.claim()
        try:
            future = self._loop_thread.submit(core.drive(mode, claimed=True))
        except BaseException:
            core.driving = False
            raise
        self._background = future
        if self._sigint is not None:
            self._sigint.install()
        return future

    def _background_done(self) -> None:
        future = self._background
        if future is not None and not future.done() and not self._core.driving:
            try:  # the run has just ended; collect its outcome
                future.result(5.0)
            except Exception:
                pass
        if future is not None and future.done():
            self._background = None
            if self._sigint is not None:
                self._sigint.restore()
            error = future.exception()
            if error is not None:
                raise error

    # ------------------------------------------------------------------ sync API
    def run_step(self, start_epochs: bool = True, threaded: bool = False) -> Any:
        """Let the engine run until blocked, start the epochs that are ready, and wait for
        them (and their retries) to end. Returns whether any epoch was started.

        ``start_epochs=False`` only moves packets (creating startable epochs) and returns
        ``False``. ``threaded=True`` does the step in the background and returns a
        :class:`BackgroundNetRunner` at once.
        """
        if not start_epochs:
            return self._sync(self.async_run_step(False), sigint=False)
        if threaded:
            runner = BackgroundNetRunner(self, "step")
            runner.start()
            return runner
        return self._run_sync("step")

    def start(self, threaded: bool = False) -> Optional[BackgroundNetRunner]:
        """Run until the net is blocked (nothing running, nothing startable), then return
        with the net ``PAUSED`` (call again to resume, e.g. after injecting more data).

        ``threaded=True`` runs in the background and returns a :class:`BackgroundNetRunner`
        at once; that run keeps going (idle) until ``pause()``/``stop()``, picking up work
        injected later. SIGINT pauses the run cleanly.
        """
        if threaded:
            runner = BackgroundNetRunner(self, "background")
            runner.start()
            return runner
        self._run_sync("until_blocked")
        return None

    def run_until_blocked(self) -> None:
        """Same as :meth:`start` (the published 0.5.0 name)."""
        self.start()

    def wait_until_blocked(self, timeout: Optional[float] = None) -> bool:
        """Block until a background run finds the net blocked (or ends); ``False`` on
        timeout. Re-raises an error that ended the background run."""
        core = self._core
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = 0.2 if remaining is None else min(0.2, remaining)
            if core.idle.wait(step):  # short slices keep SIGINT responsive
                break
            if remaining is not None and remaining <= step:
                return core.idle.is_set()
        self._background_done()
        return True

    def poll(self) -> bool:
        """Non-blocking: ``True`` when the net is blocked or not running. Re-raises an error
        that ended a background run."""
        idle = self._core.idle.is_set()
        if idle:
            self._background_done()
        return idle

    def pause(self) -> None:
        """Finish running epochs, start no new ones; the net becomes ``PAUSED``. Blocks until
        running epochs have finished (called from inside a node it only requests)."""
        core = self._core
        core.request_pause()
        if self._loop_thread.in_loop_thread() or threading.current_thread() in _worker_threads(core):
            return
        future = self._background
        if future is not None:
            try:
                future.result()
            finally:
                self._background_done_quietly()
        elif core.driving:
            core.idle.wait()
        if core.state is NetState.RUNNING:
            core.state = NetState.PAUSED
        elif core.state is NetState.CREATED:
            core.state = NetState.PAUSED
        if core.history is not None and core.flush_history_on_pause:
            core.history.flush()

    def _background_done_quietly(self) -> None:
        self._background = None
        if self._sigint is not None:
            self._sigint.restore()

    def stop(self) -> None:
        """Stop the net for good: running epochs finish, stop functions run, pools shut
        down, the private loop thread ends. The net is ``STOPPED`` afterwards."""
        core = self._core
        if core.state is NetState.STOPPED:
            return
        core.request_pause()
        _begin_pool_stop(core)
        future = self._background
        if future is not None:
            try:
                future.result()
            except Exception:
                pass
            self._background_done_quietly()
        self._loop_thread.run(core.shutdown())
        self._loop_thread.close()

    def close(self) -> None:
        """Same as :meth:`stop`."""
        self.stop()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ async API
    async def async_run_step(self, start_epochs: bool = True) -> bool:
        """Async form of :meth:`run_step` (runs on the caller's event loop)."""
        core = self._core
        if not start_epochs:
            if core.driving:
                raise NetStateError("Cannot step the engine while the net is running; pause it first")
            if core.state is NetState.STOPPED:
                raise NetStateError("The net is stopped and cannot run again; build a new Net")
            core.advance()
            return False
        return await core.drive("step")

    async def async_start(self) -> None:
        """Async form of :meth:`start` (run until blocked)."""
        if self._sigint is not None and threading.current_thread() is threading.main_thread():
            with self._sigint:
                await self._core.drive("until_blocked")
        else:
            await self._core.drive("until_blocked")

    async def async_run_until_blocked(self) -> None:
        """Same as :meth:`async_start`."""
        await self.async_start()

    async def async_wait_until_blocked(self, timeout: Optional[float] = None) -> bool:
        """Async form of :meth:`wait_until_blocked`."""
        done = await self._core.wait_idle(timeout)
        if done:
            self._background_done()
        return done

    async def async_pause(self) -> None:
        """Async form of :meth:`pause`."""
        core = self._core
        core.request_pause()
        if core.driving:
            await core.wait_idle()
        if self._background is not None:
            self._background_done_quietly()
        if core.state in (NetState.RUNNING, NetState.CREATED):
            core.state = NetState.PAUSED
        if core.history is not None and core.flush_history_on_pause:
            core.history.flush()

    async def async_stop(self) -> None:
        """Async form of :meth:`stop`."""
        core = self._core
        if core.state is NetState.STOPPED:
            return
        _begin_pool_stop(core)
        await self.async_pause()
        await core.shutdown()
        self._loop_thread.close()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.async_stop()


def _begin_pool_stop(core: Any) -> None:
    """Out-of-process pools drain or cancel their epochs per their ``on_stop`` setting."""
    if any(not e.in_process for e in core.executors.values()):
        from netrun.net._pool_executor import begin_stop

        begin_stop(core)


def _worker_threads(core: Any) -> set:
    threads = set()
    for executor in core.executors.values():
        for worker in getattr(executor, "_workers", ()):
            if worker.thread is not None:
                threads.add(worker.thread)
    return threads
