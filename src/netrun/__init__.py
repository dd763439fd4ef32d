"""netrun: a flow-based dataflow runtime for Python.

The engine's types are re-exported unchanged (``netrun.Graph is netrun_sim.Graph``), so a net
can be described and run without importing ``netrun_sim`` directly.
"""

from __future__ import annotations

from netrun_sim import *  # noqa: F401,F403
from netrun_sim import __all__ as _engine_all

from netrun.errors import NetrunError, NetrunRuntimeError

__version__ = "0.1.0"

__all__ = [*_engine_all, "NetrunRuntimeError", "__version__"]
