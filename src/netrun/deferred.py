"""Original module path of the deferred-action types."""

from netrun.net.deferred import DeferredAction, DeferredActionQueue, DeferredActionType, DeferredPacket

__all__ = ["DeferredAction", "DeferredActionQueue", "DeferredActionType", "DeferredPacket"]
