"""The front door: the original implementation's public names, the engine's types, lazy imports."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import netrun
import netrun_sim

ORIGINAL_NAMES = """
Net NetState BackgroundNetRunner NodeConfig NodeExecFuncs NodeExecutionContext NodeFailureContext
DeferredPacket DeferredAction DeferredActionType DeferredActionQueue PacketValueStore StoredValue
DeadLetterQueue DeadLetterEntry PoolType PoolConfig PoolInitMode WorkerState ManagedPool PoolManager
NetrunRuntimeError PacketTypeMismatch ValueFunctionFailed NodeExecutionFailed EpochTimeout EpochCancelled
NetNotPausedError DeferredPacketIdAccessError HistoryEntry EventHistory NodeLogEntry NodeLog NodeLogManager
StdoutCapture capture_stdout PortTypeSpec PortTypeRegistry check_value_type ExpressionParseError
parse_salvo_condition_expr NetDSLConfig parse_toml_string parse_toml_file net_config_to_toml save_toml_file
resolve_import_path get_import_path NodeFactory NodeFactoryResult FactoryError FactoryNotFoundError
InvalidFactoryError load_factory create_node_from_factory is_json_serializable validate_factory_args
Graph Node Edge Port PortType PortRef PortSlotSpec PortState PacketCount SalvoCondition SalvoConditionTerm
MaxSalvos Packet PacketLocation Epoch EpochState Salvo NetAction NetActionResponseData NetEvent NetSim
NetrunError GraphValidationError NodeNotFoundError EdgeNotFoundError InputPortNotFoundError
OutputPortNotFoundError SalvoConditionNotFoundError PacketNotFoundError EpochNotFoundError
EpochNotStartableError EpochNotRunningError CannotFinishNonEmptyEpochError
CannotMovePacketFromRunningEpochError CannotMovePacketIntoRunningEpochError PacketNotInNodeError
PacketNotAtInputPortError InputPortFullError OutputPortFullError SalvoConditionNotMetError
UnconnectedOutputPortError MaxSalvosExceededError UnsentOutputSalvoError
""".split()

SUBMODULES = "config context deferred dlq dsl errors factories history net pools port_types storage".split()


def test_every_original_name_is_importable_from_netrun():
    missing = [name for name in ORIGINAL_NAMES if not hasattr(netrun, name)]
    assert missing == []


def test_engine_types_are_the_engines_own_objects():
    for name in netrun_sim.__all__:
        assert getattr(netrun, name) is getattr(netrun_sim, name), name
    assert netrun.PacketNotInNodeError is netrun_sim.PacketNotInAnyNodeError


def test_runtime_errors_share_the_engine_base():
    assert netrun.NetrunError is netrun_sim.NetrunError
    for name in ("PacketTypeMismatch", "ValueFunctionFailed", "NodeExecutionFailed", "EpochTimeout",
                 "EpochCancelled", "NetNotPausedError", "DeferredPacketIdAccessError"):
        cls = getattr(netrun, name)
        assert issubclass(cls, netrun.NetrunRuntimeError) and issubclass(cls, netrun.NetrunError)


def test_submodules_and_star_import():
    for name in SUBMODULES:
        assert getattr(netrun, name).__name__ == f"netrun.{name}"
    namespace: dict = {}
    exec("from netrun import *", namespace)
    assert {"Net", "NodeConfig", "Graph", "parse_toml_string"} <= set(namespace)
    assert netrun.NodeConfig is netrun.net.NodeConfig  # options dataclass (original's meaning)
    assert netrun.config.NodeConfig is not netrun.NodeConfig  # pydantic node definition


def test_unknown_attribute_is_a_clear_attribute_error():
    try:
        netrun.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert str(exc) == "module 'netrun' has no attribute 'NoSuchThing'"
    else:
        raise AssertionError("expected AttributeError")


def test_import_is_lazy_and_cheap():
    code = "import sys, netrun; print('pydantic' in sys.modules, 'netrun.net' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_published_config_module_path():
    from netrun.net import config as net_config

    import netrun.config

    assert net_config.NetConfig is netrun.config.NetConfig
    assert net_config.NodeConfig is netrun.config.NodeConfig
    assert set(netrun.config.__all__) <= set(dir(net_config))


# The published 0.5.0 runtime's import surface (reference study §1.3)
PEER_CORE = ["Net", "TargetInputSalvo", "EnvVar", "NetConfig", "NodeConfig", "NodeExecutionConfig",
             "PoolConfig", "PortConfig", "EdgeConfig", "GraphConfig", "SalvoConditionConfig",
             "SalvoConditionTermConfig", "MaxSalvosFiniteConfig", "PacketCountAllConfig",
             "PortStateNonEmptyConfig", "OutputQueueConfig"]


def test_peer_core_module_has_its_sixteen_names():
    import netrun.config
    import netrun.core as core

    assert sorted(core.__all__) == sorted(PEER_CORE)
    assert core.NodeConfig is netrun.config.NodeConfig and core.PoolConfig is netrun.config.PoolConfig
    from netrun.net import Net

    assert core.Net is Net


def test_peer_net_module_offers_the_config_models_too():
    import netrun.net as net
    from netrun.net.options import NodeConfig as RuntimeNodeConfig

    for name in PEER_CORE:
        assert hasattr(net, name), name
    assert net.NodeConfig is RuntimeNodeConfig  # PROJECT_SPEC's meaning wins in netrun.net


def test_peer_private_module_paths():
    from netrun._iutils._base import get_timestamp_utc
    from netrun._iutils.hashing import HashMethod, hash as peer_hash
    from netrun._iutils.pickling import PicklingMethod, pickle_data, unpickle_data
    from netrun._iutils.var_ref import EnvVar, VarRef
    from netrun.cli._app import app_main
    from netrun.cli import main
    from netrun.net._net import EpochError, EpochLog, Net, NetActionLog, NetCacheAPI, NetLogQuery

    assert get_timestamp_utc().tzinfo is not None
    assert peer_hash({"b": 1, "a": {1, 2}}) == peer_hash({"a": {2, 1}, "b": 1})
    assert peer_hash(b"abc", HashMethod.sha256) == hashlib.sha256(b"abc").hexdigest()
    assert unpickle_data(pickle_data({"x": 1}, PicklingMethod.pickle), PicklingMethod.pickle) == {"x": 1}
    assert EnvVar is VarRef and app_main is main
    assert all(obj is not None for obj in (EpochError, EpochLog, Net, NetActionLog, NetCacheAPI, NetLogQuery))


def test_observability_records_are_importable_where_users_look():
    import netrun.errors
    import netrun.logging
    import netrun.net
    from netrun.net.action_log import NetActionLog, NetEventLog
    from netrun.net.epoch_log import EpochLog
    from netrun.net.log_query import EpochLogNotFoundError, NetLogQuery

    for module in (netrun.net, netrun.logging):
        for cls in (EpochLog, NetActionLog, NetEventLog, NetLogQuery, EpochLogNotFoundError):
            assert getattr(module, cls.__name__) is cls, (module.__name__, cls.__name__)
            assert cls.__name__ in module.__all__
    assert netrun.errors.EpochLogNotFoundError is EpochLogNotFoundError
    assert "EpochLogNotFoundError" in netrun.errors.__all__
    assert issubclass(EpochLogNotFoundError, netrun.errors.NetrunRuntimeError)
    assert issubclass(EpochLogNotFoundError, KeyError)
    assert str(EpochLogNotFoundError("Epoch 'x' is unknown")) == "Epoch 'x' is unknown"
