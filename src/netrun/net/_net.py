"""``netrun.net._net``: the published 0.5.0 runtime's module path of ``Net`` and the types
around it, mapped onto this runtime (one implementation; these are the same objects).

0.5.0 names without a counterpart here: ``NodeExecutionResult``, ``NetProtocolKeys`` and the
``NetFuncPreprocessor`` helpers (this runtime has no pre-shipping preprocessor: contexts
talk to the net live, and process/remote workers send back recorded actions).
``NetCacheAPI`` is :class:`netrun.storage.cache.EpochCache`, what ``net.cache`` returns.
"""

from __future__ import annotations

from netrun.errors import EpochCancelled, EpochError, MaxEpochsExceeded, PacketTypeMismatch
from netrun.net.action_log import NetActionLog, NetEventLog
from netrun.net.context import NodeExecutionContext, NodeFailureContext
from netrun.net.deferred import DeferredActionQueue
from netrun.net.epoch_log import EpochLog
from netrun.net.log_query import NetLogQuery
from netrun.net.net import Net
from netrun.net.output_queues import ConsumedOutputPacket
from netrun.storage.cache import EpochCache as NetCacheAPI

__all__ = [
    "Net", "NetCacheAPI", "NetLogQuery", "NodeExecutionContext", "NodeFailureContext",
    "ConsumedOutputPacket", "DeferredActionQueue", "EpochCancelled", "EpochError",
    "MaxEpochsExceeded", "PacketTypeMismatch", "EpochLog", "NetActionLog", "NetEventLog",
]
