"""Errors raised by the netrun runtime.

The engine's errors (``netrun_sim``) are re-exported unchanged, so ``except
netrun.PacketNotFoundError`` catches what the engine raises. ``NetrunError`` *is* the
engine's base class (as in the original implementation), and every runtime error derives
from :class:`NetrunRuntimeError`, itself a ``NetrunError``: so ``except NetrunError`` catches
both the engine's and the runtime's errors, as PROJECT_SPEC asks of its common base.
"""

from __future__ import annotations

from netrun_sim import *  # noqa: F401,F403  (the engine's error classes)
from netrun_sim import NetrunError

__all__ = ["NetrunError", "NetrunRuntimeError"]


class NetrunRuntimeError(NetrunError):
    """Base class of every error raised by the runtime (as opposed to the engine)."""
