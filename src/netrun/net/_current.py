"""The attempt running in this thread / asyncio task (a ``ContextVar``).

Set by the runtime around every call of a node function, so that the injected ``print``
knows which node log to write to and ``PacketRef.location`` can ask the engine.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Optional

__all__ = ["current_attempt"]

current_attempt: ContextVar[Optional[Any]] = ContextVar("netrun_current_attempt", default=None)
