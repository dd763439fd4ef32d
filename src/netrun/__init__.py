"""netrun: a flow-based dataflow runtime for Python.

Describe a program as a graph of nodes with named input and output ports, connect them
with edges, and let packets flow::

    from netrun import Net, Graph, Node, Edge, PortRef, PortType

The front door offers the names of the original implementation of PROJECT_SPEC (``Net``,
``NetState``, the contexts, deferred actions, DLQ, history, port types, the DSL helpers,
factories, checkpoints) plus the engine's types re-exported unchanged (``netrun.Graph is
netrun_sim.Graph``). Names are imported on first use, so ``import netrun`` stays cheap.

Naming note: ``netrun.NodeConfig`` is the original's per-node *options* dataclass (the
keywords of ``Net.set_node_config``); the pydantic node *definition* model of net files is
``netrun.config.NodeConfig`` (also ``netrun.core.NodeConfig``, as in the published 0.5.0).
"""

from __future__ import annotations

import importlib
from typing import Any

from netrun_sim import *  # noqa: F401,F403  (engine types and errors)
from netrun_sim import PacketNotInNodeError, UnconnectedOutputPortError  # noqa: F401  (0.1.x names)
from netrun_sim import __all__ as _engine_all

from netrun.errors import (
    DeferredPacketIdAccessError,
    EpochCancelled,
    EpochError,
    EpochTimeout,
    NetNotPausedError,
    NetrunError,
    NetrunRuntimeError,
    NodeExecutionFailed,
    PacketTypeMismatch,
    ValueFunctionFailed,
)

__version__ = "0.1.0"

# name -> module that defines it (imported lazily by __getattr__)
_LAZY: dict[str, str] = {}


def _register(module: str, names: str) -> None:
    for name in names.split():
        _LAZY[name] = module


_register("netrun.net", """
    Net NetState BackgroundNetRunner NodeConfig NodeOptions NodeExecFuncs PoolInitMode
    NodeExecutionContext AsyncNodeExecutionContext NodeFailureContext
    DeferredPacket DeferredAction DeferredActionType DeferredActionQueue
    DeadLetterQueue DeadLetterEntry EventHistory HistoryEntry
    NodeLogEntry NodeLog NodeLogManager StdoutCapture capture_stdout
    PortTypeSpec PortTypeRegistry check_value_type
    PoolType PoolConfig WorkerState ManagedPool PoolManager
    EpochLog EpochOutcome ConsumedOutputPacket PacketRef PacketValueStore StoredValue
""")
_register("netrun.dsl", """
    ExpressionParseError parse_salvo_condition_expr NetDSLConfig parse_toml_string parse_toml_file
    net_config_to_toml save_toml_file resolve_import_path get_import_path
""")
_register("netrun.factories", """
    NodeFactory NodeFactoryResult FactoryError FactoryNotFoundError InvalidFactoryError
    load_factory create_node_from_factory is_json_serializable validate_factory_args
""")
_register("netrun.checkpoint", """
    CheckpointMetadata LoadedCheckpoint save_checkpoint_state load_checkpoint_state PacketState
    serialize_packet_location deserialize_packet_location get_all_packet_states restore_packets_to_net
""")

_SUBMODULES = frozenset("""
    checkpoint config context deferred dlq dsl errors factories history net pools port_types storage
    core cli tools rpc pool execution execution_manager node_factories packets ui logging
""".split())


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"netrun.{name}")
    raise AttributeError(f"module 'netrun' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)


__all__ = [
    *_engine_all,
    "PacketNotInNodeError", "UnconnectedOutputPortError",
    "NetrunRuntimeError", "PacketTypeMismatch", "ValueFunctionFailed", "NodeExecutionFailed",
    "EpochTimeout", "EpochCancelled", "EpochError", "NetNotPausedError", "DeferredPacketIdAccessError",
    *_LAZY,
    "__version__",
]
