"""netrun.errors: hierarchy, constructor signatures and attributes, messages, pickling."""

from __future__ import annotations

import pickle

import netrun_sim
import pytest

import netrun.errors as errors
from netrun.errors import (
    ContextMisuseError,
    DeferredPacketIdAccessError,
    EpochCancelled,
    EpochError,
    EpochIncompleteError,
    EpochTimeout,
    NetNotPausedError,
    NetrunError,
    NetrunRuntimeError,
    NetStateError,
    NodeConfigError,
    NodeExecutionFailed,
    NodeLifecycleError,
    OutputQueueNotFoundError,
    PacketTypeMismatch,
    PacketValueNotPicklable,
    ValueFunctionFailed,
)


def test_runtime_base_is_an_engine_error():
    assert NetrunError is netrun_sim.NetrunError
    assert issubclass(NetrunRuntimeError, NetrunError)
    for cls in (PacketTypeMismatch, ValueFunctionFailed, NodeExecutionFailed, EpochTimeout,
                EpochCancelled, EpochError, NetNotPausedError, DeferredPacketIdAccessError,
                EpochIncompleteError):
        assert issubclass(cls, NetrunRuntimeError)


def test_builtin_compatible_bases():
    assert issubclass(NetStateError, RuntimeError)
    assert issubclass(NodeConfigError, ValueError)
    assert issubclass(ContextMisuseError, RuntimeError)
    assert issubclass(PacketValueNotPicklable, ValueError)
    assert issubclass(OutputQueueNotFoundError, KeyError)
    assert str(OutputQueueNotFoundError("no queue 'x'")) == "no queue 'x'"


def test_engine_errors_are_reexported():
    for name in ("NodeNotFoundError", "InputPortNotFoundError", "PacketNotFoundError",
                 "SalvoConditionNotMetError", "UnsentOutputSalvoError"):
        assert getattr(errors, name) is getattr(netrun_sim, name)
    assert issubclass(errors.PacketNotInNodeError, NetrunError)
    assert issubclass(errors.UnconnectedOutputPortError, NetrunError)


def test_original_signatures_and_attributes():
    e = PacketTypeMismatch("P1", "instance of int", "str", "in")
    assert (e.packet_id, e.expected_type, e.actual_type, e.port_name) == ("P1", "instance of int", "str", "in")
    assert "Packet P1 on input port 'in': expected instance of int, got str" in str(e)
    cause = ZeroDivisionError("div")
    e = ValueFunctionFailed("P1", cause)
    assert e.original_exception is cause and e.__cause__ is cause and "ZeroDivisionError: div" in str(e)
    e = NodeExecutionFailed("N", "E1", cause)
    assert (e.node_name, e.epoch_id, e.original_exception) == ("N", "E1", cause)
    e = EpochTimeout("N", "E1", 2.5)
    assert e.timeout_seconds == 2.5 and "timeout of 2.5 s" in str(e) and "set_node_config('N', timeout=" in str(e)
    e = EpochCancelled("N", "E1")
    assert (e.node_name, e.epoch_id) == ("N", "E1")
    e = NetNotPausedError("save_checkpoint")
    assert e.operation == "save_checkpoint" and "call net.pause()" in str(e)
    e = DeferredPacketIdAccessError()
    assert "defer_net_actions=True" in str(e)
    e = EpochError("boom", node_name="N", epoch_id="E1", pool_id="io", worker_id=2, retry_count=1)
    assert str(e) == "Epoch failed on node 'N' (pool='io', worker=2, retries=1): boom"
    e = NodeLifecycleError("N", "stop", OSError("x"))
    assert "The stop function of node 'N' failed: OSError: x" in str(e)


@pytest.mark.parametrize("error", [
    PacketTypeMismatch("P", "int", "str", "in", node_name="N", port_kind="output"),
    ValueFunctionFailed("P", KeyError("k"), node_name="N"),
    NodeExecutionFailed("N", "E", ValueError("v"), attempts=3),
    EpochTimeout("N", "E", 1.0),
    EpochCancelled("N", "E"),
    EpochError("m", node_name="N", epoch_id="E"),
    NetNotPausedError("op"),
    DeferredPacketIdAccessError("deferred-1"),
    PacketValueNotPicklable("the value", TypeError("t")),
    NodeLifecycleError("N", "start", OSError("o")),
    NetStateError("state"),
    EpochIncompleteError("incomplete"),
])
def test_errors_survive_pickling(error):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error)
    assert again.__dict__.keys() >= {k for k in error.__dict__ if k != "_init_args"}
