"""Alias of the package, for code importing from ``netrun_sim.netrun_sim`` (the published
engine's compiled submodule). Its ``__all__`` lists all 58 public names."""

from . import (  # noqa: F401
    DependencyRequestConfig,
    DependencyRequestTrigger,
    OrphanedPacketInfo,
    RequestCycleDetectedError,
    RequestNodeNotFoundError,
    RequestUnconnectedPortError,
    UndoError,
    UndoInternalError,
    UndoNotFoundError,
    UndoNotUndoableError,
    UndoStateMismatchError,
)
from . import *  # noqa: F401,F403
from . import __all__ as _package_all

__all__ = [
    *_package_all,
    "DependencyRequestConfig",
    "DependencyRequestTrigger",
    "OrphanedPacketInfo",
    "RequestCycleDetectedError",
    "RequestUnconnectedPortError",
    "RequestNodeNotFoundError",
    "UndoError",
    "UndoStateMismatchError",
    "UndoNotFoundError",
    "UndoNotUndoableError",
    "UndoInternalError",
]
