"""``BackgroundNetRunner``: the handle of a run started with ``net.start(threaded=True)``.

The run happens on the net's private event loop thread and keeps going (idle, not
polling) until it is paused or stopped, picking up work injected later. The runner's
control methods are the net's own (``net.wait_until_blocked()`` works just as well).
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, Optional

from netrun.errors import NetStateError

__all__ = ["BackgroundNetRunner"]


class BackgroundNetRunner:
    """Controls a background run of a ``Net``.

    >>> runner = net.start(threaded=True)          # doctest: +SKIP
    >>> runner.wait_until_blocked(timeout=5)       # doctest: +SKIP
    True
    >>> runner.stop()                              # doctest: +SKIP
    """

    def __init__(self, net: Any, mode: str = "background") -> None:
        self._net = net
        self._mode = mode
        self._future: Optional[concurrent.futures.Future] = None

    def start(self) -> None:
        """Start the run (done for you by ``net.start(threaded=True)``)."""
        if self._future is not None and not self._future.done():
            raise NetStateError("This background runner is already running; call stop() first")
        self._future = self._net._start_background(self._mode)

    @property
    def is_running(self) -> bool:
        """Whether the background run is still in progress."""
        return self._future is not None and not self._future.done()

    def wait_until_blocked(self, timeout: Optional[float] = None) -> bool:
        """Block until the net is blocked (nothing running, nothing startable) or the run
        ended; ``False`` on timeout. Re-raises an error that ended the run (e.g.
        ``NodeExecutionFailed`` under ``on_error="raise"``)."""
        return self._net.wait_until_blocked(timeout)

    def poll(self) -> bool:
        """Non-blocking: whether the net is currently blocked (or the run has ended)."""
        return self._net.poll()

    def pause(self) -> None:
        """Let running epochs finish and start no new ones; ends the background run."""
        self._net.pause()

    def stop(self) -> None:
        """End the background run (running epochs finish first). The net stays usable;
        ``net.stop()`` stops the net itself."""
        self._net.pause()

    def get_exception(self) -> Optional[BaseException]:
        """The exception that ended the run, if any."""
        fut = self._future
        if fut is None or not fut.done() or fut.cancelled():
            return None
        return fut.exception()

    def result(self, timeout: Optional[float] = None) -> Any:
        """Wait for the run to end and return its result (re-raising its error)."""
        if self._future is None:
            return None
        return self._future.result(timeout)
