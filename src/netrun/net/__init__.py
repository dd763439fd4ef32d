"""The ``Net`` runtime: scheduler, contexts, retries, dead-letter queue, history, logs,
port types and pools.

``from netrun.net import Net, NetState`` is the original implementation's module path; the
engine's types are importable from here too (as they were).

Coming from the published netrun 0.5.0 runtime (``Net(NetConfig)``), the same operations on
a ``Net(graph)``:

==========================================  ==============================================
0.5.0                                       here
==========================================  ==============================================
``net.inject_data(node, port, values)``     ``net.inject_data(node, port, values)``
``await net.run_until_blocked()``           ``net.start()`` / ``await net.async_start()``
                                            (also ``net.run_until_blocked()``)
``net.run_until_blocked_sync()``            ``net.start()`` (one loop for the net's life)
``await net.run_step()``                    ``net.run_step()`` / ``await net.async_run_step()``
``await net.start_background()``            ``net.start(threaded=True)``
``net.pause()`` / ``await wait_until_...``  ``net.pause()``, ``net.wait_until_blocked()``
``flush_output_queue("node::port")``        same (queues for unconnected output ports)
``flush_all_output_queues()``               same
``await get_output(...)``, ``try_get_...``  ``get_output(..., timeout=)`` (blocking),
                                            ``await async_get_output(...)``, ``try_get_output``
``on_epoch_start(cb, node=)`` / ``..end``   same (sync or async; returns a remover)
``run_on_init`` source node                 ``net.inject_source_epoch("Source")``
``net.send_control(node, type, value)``     same (applied before waiting data, each one)
``net.request(node, label="main")``         same (dependency edges, engine requests)
``await net.run_to_targets(targets)``       ``net.run_to_targets(targets)`` /
                                            ``await net.async_run_to_targets(targets)``
``NodeExecutionConfig`` fields              ``net.set_node_config(node, ...)``
``net.dead_letter_queue`` (list of dicts)   ``net.dead_letter_queue.get_all()`` (entries)
==========================================  ==============================================
"""

from netrun_sim import *  # noqa: F401,F403  (the original netrun.net re-exported the engine types)

from netrun.net.context import AsyncNodeExecutionContext, NodeExecutionContext, NodeFailureContext
from netrun.net.deferred import DeferredAction, DeferredActionQueue, DeferredActionType, DeferredPacket
from netrun.net.dlq import DeadLetterEntry, DeadLetterQueue
from netrun.net.action_log import NetActionLog, NetEventLog
from netrun.net.epoch_log import EpochLog, EpochOutcome
from netrun.net.log_query import EpochLogNotFoundError, NetLogQuery
from netrun.net.history import EventHistory, HistoryEntry
from netrun.net.logs import NodeLog, NodeLogEntry, NodeLogManager, StdoutCapture, capture_stdout
from netrun.net.net import Net
from netrun.net.options import NodeConfig, NodeExecFuncs, NodeOptions, PoolInitMode
from netrun.net.output_queues import ConsumedOutputPacket
from netrun.net.packets import PacketRef
from netrun.net.pools import (
    ManagedPool,
    PoolConfig,
    PoolManager,
    PoolType,
    WorkerState,
    run_in_process_with_event_loop,
    validate_picklable,
)
from netrun.net.port_types import PortTypeRegistry, PortTypeSpec, check_value_type
from netrun.net.runner import BackgroundNetRunner
from netrun.net.state import NetState
from netrun.net._targets import TargetInputSalvo
# 0.5.0's netrun.net also offers the config models (all but NodeConfig / PoolConfig, whose
# names here stay PROJECT_SPEC's runtime classes; netrun.core has the 0.5.0 meaning)
from netrun.config import (  # noqa: E402
    EdgeConfig,
    EnvVar,
    GraphConfig,
    MaxSalvosFiniteConfig,
    NetConfig,
    NodeExecutionConfig,
    OutputQueueConfig,
    PacketCountAllConfig,
    PortConfig,
    PortStateNonEmptyConfig,
    SalvoConditionConfig,
    SalvoConditionTermConfig,
)
from netrun.storage.values import PacketValueStore, StoredValue

__all__ = [
    "NetConfig", "NodeExecutionConfig", "PortConfig", "EdgeConfig", "GraphConfig", "SalvoConditionConfig",
    "SalvoConditionTermConfig", "MaxSalvosFiniteConfig", "PacketCountAllConfig", "PortStateNonEmptyConfig",
    "OutputQueueConfig", "EnvVar",
    "Net", "NetState", "BackgroundNetRunner",
    "NodeConfig", "NodeOptions", "NodeExecFuncs", "PoolInitMode",
    "NodeExecutionContext", "AsyncNodeExecutionContext", "NodeFailureContext",
    "DeferredPacket", "DeferredAction", "DeferredActionType", "DeferredActionQueue",
    "DeadLetterQueue", "DeadLetterEntry",
    "EventHistory", "HistoryEntry",
    "NodeLog", "NodeLogEntry", "NodeLogManager", "StdoutCapture", "capture_stdout",
    "PortTypeSpec", "PortTypeRegistry", "check_value_type",
    "PoolManager", "ManagedPool", "PoolConfig", "PoolType", "WorkerState",
    "validate_picklable", "run_in_process_with_event_loop",
    "EpochLog", "EpochOutcome", "ConsumedOutputPacket", "PacketRef",
    "NetActionLog", "NetEventLog", "NetLogQuery", "EpochLogNotFoundError",
    "PacketValueStore", "StoredValue",
    "TargetInputSalvo",
]
