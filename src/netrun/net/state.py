"""The lifecycle state of a :class:`~netrun.net.Net`."""

from __future__ import annotations

import enum

__all__ = ["NetState"]


class NetState(enum.Enum):
    """Lifecycle of a net, read through ``net.state``.

    * ``CREATED``: built, never run.
    * ``RUNNING``: a run (``run_step``, ``start``, a background run) is in progress.
    * ``PAUSED``: no run in progress. Every run method resumes from here; a run that ends
      because the net is blocked, because ``pause()`` (or SIGINT) asked it to, or because an
      epoch failed under ``on_error="pause"``/``"raise"`` leaves the net ``PAUSED``.
    * ``STOPPED``: ``stop()`` was called: stop functions ran, pools are shut down. Final.
    """

    CREATED = 1
    RUNNING = 2
    PAUSED = 3
    STOPPED = 4
