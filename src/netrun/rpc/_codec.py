"""Turning messages into bytes for transports that cross a process or a network.

Plain ``pickle`` first (fast, C-implemented); ``cloudpickle`` when plain pickle refuses
(lambdas, local functions, classes defined in ``__main__`` of a notebook). The result of
either is read back with ``pickle.loads`` (cloudpickle only has to be importable there).
"""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle

from netrun.rpc.base import MessageNotSerializable

_PROTOCOL = pickle.HIGHEST_PROTOCOL


def dumps(obj: Any, what: str = "message") -> bytes:
    """Serialize ``obj``; raise :class:`MessageNotSerializable` naming ``what`` on failure."""
    try:
        return pickle.dumps(obj, _PROTOCOL)
    except Exception:
        pass
    try:
        return cloudpickle.dumps(obj, _PROTOCOL)
    except Exception as exc:
        raise MessageNotSerializable(
            f"{what} cannot be pickled ({type(exc).__name__}: {exc}); only picklable values "
            "can cross a process or network boundary: send plain data, or use a thread/main pool"
        ) from exc


loads = pickle.loads
