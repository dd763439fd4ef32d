"""Errors raised by the netrun runtime.

The engine's errors (``netrun_sim``) are re-exported unchanged, so ``except
netrun.PacketNotFoundError`` catches what the engine raises. ``NetrunError`` *is* the
engine's base class (as in the original implementation), and every runtime error derives
from :class:`NetrunRuntimeError`, itself a ``NetrunError``: so ``except NetrunError`` catches
both the engine's and the runtime's errors, as PROJECT_SPEC asks of its common base.

Constructor signatures and attributes follow the original implementation
(``PacketTypeMismatch(packet_id, expected_type, actual_type, port_name=None)`` and so on);
the runtime adds keyword-only context (``node_name`` ...) so that every message names the
node, port or epoch involved *and* says what to do about it.

Some runtime errors also derive from the built-in exception the original raised in the same
situation (``ValueError`` for bad options, ``RuntimeError`` for lifecycle misuse, ``KeyError``
for unknown names), so existing ``except ValueError`` code keeps working.
"""

from __future__ import annotations

from typing import Any

import netrun_sim as _engine
from netrun_sim import *  # noqa: F401,F403  (the engine's error classes)
from netrun_sim import NetrunError

__all__ = [
    "NetrunError",
    "NetrunRuntimeError",
    "PacketTypeMismatch",
    "ValueFunctionFailed",
    "NodeExecutionFailed",
    "EpochTimeout",
    "EpochCancelled",
    "EpochError",
    "NetNotPausedError",
    "DeferredPacketIdAccessError",
    "NetStateError",
    "NodeConfigError",
    "ContextMisuseError",
    "PacketValueNotPicklable",
    "NodeLifecycleError",
    "EpochIncompleteError",
    "OutputQueueNotFoundError",
    "PacketNotInNodeError",
    "UnconnectedOutputPortError",
    # the published runtime's surface (controls, requests, targets, max_epochs, queues)
    "ControlError",
    "UnknownControlTypeError",
    "ControlValueError",
    "ControlPortNotFoundError",
    "ControlFailed",
    "EpochCancelledByControl",
    "RequestError",
    "TargetNotFoundError",
    "MaxEpochsExceeded",
    "UndeclaredOutputError",
    "EpochLogNotFoundError",
]

# Old engine names the original runtime exported; the current engine renamed or dropped them.
PacketNotInNodeError = getattr(_engine, "PacketNotInNodeError", None) or getattr(
    _engine, "PacketNotInAnyNodeError", None
)
if PacketNotInNodeError is None:  # pragma: no cover - only with a bare placeholder engine

    class PacketNotInNodeError(NetrunError):  # type: ignore[no-redef]
        """A packet was expected inside an epoch but is not (old engine name)."""


UnconnectedOutputPortError = getattr(_engine, "UnconnectedOutputPortError", None)
if UnconnectedOutputPortError is None:

    class UnconnectedOutputPortError(NetrunError):  # type: ignore[no-redef]
        """Old engine name kept for compatibility; the engine no longer raises it (packets
        sent through an unconnected output port are orphaned, and the runtime routes them to
        the port's output queue)."""


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _rebuild(cls: type, args: tuple, kwargs: dict, state: dict) -> BaseException:
    error = cls(*args, **kwargs)
    error.__dict__.update(state)
    return error


class NetrunRuntimeError(NetrunError):
    """Base class of every error raised by the runtime (as opposed to the engine).

    Errors with richer constructors remember their arguments so that they survive pickling
    (they travel back from worker processes).
    """

    _init_args: tuple = ((), {})

    def __reduce__(self) -> Any:
        args, kwargs = self._init_args
        if not args and not kwargs:
            return super().__reduce__()
        state = {k: v for k, v in self.__dict__.items() if k != "_init_args"}
        return (_rebuild, (type(self), args, kwargs, state))


class PacketTypeMismatch(NetrunRuntimeError):
    """A packet value does not match the type declared for its port.

    Raised by ``ctx.consume_packet`` (input port) and ``ctx.load_output_port`` (output port).
    Inside a node it counts as an ordinary failure of the attempt (retries, DLQ, ``on_error``).
    """

    def __init__(
        self,
        packet_id: object,
        expected_type: str,
        actual_type: str,
        port_name: str | None = None,
        *,
        node_name: str | None = None,
        port_kind: str = "input",
    ) -> None:
        self._init_args = ((packet_id, expected_type, actual_type, port_name), {"node_name": node_name, "port_kind": port_kind})
        self.packet_id = packet_id
        self.expected_type = expected_type
        self.actual_type = actual_type
        self.port_name = port_name
        self.node_name = node_name
        self.port_kind = port_kind
        where = f"{port_kind} port '{port_name}'" if port_name else f"an {port_kind} port"
        if node_name:
            where += f" of node '{node_name}'"
        setter = "set_input_port_type" if port_kind == "input" else "set_output_port_type"
        super().__init__(
            f"Packet {packet_id} on {where}: expected {expected_type}, got {actual_type}. "
            f"Send a value of the declared type, or change the port's type "
            f"(net.{setter}(...) or the port's `type` in the net definition)."
        )


class ValueFunctionFailed(NetrunRuntimeError):
    """A packet's value function raised while its value was being read."""

    def __init__(
        self, packet_id: object, original_exception: BaseException, *, node_name: str | None = None
    ) -> None:
        self._init_args = ((packet_id, original_exception), {"node_name": node_name})
        self.packet_id = packet_id
        self.original_exception = original_exception
        self.node_name = node_name
        by = f" (read by node '{node_name}')" if node_name else ""
        super().__init__(
            f"The value function of packet {packet_id} failed{by}: "
            f"{_describe(original_exception)}. Value functions must be pure and idempotent; "
            f"fix the function given to ctx.create_packet_from_value_func."
        )
        self.__cause__ = original_exception


class NodeExecutionFailed(NetrunRuntimeError):
    """An epoch failed for good (after all its retries) under ``on_error="raise"``."""

    def __init__(
        self,
        node_name: str,
        epoch_id: object,
        original_exception: BaseException,
        *,
        attempts: int | None = None,
    ) -> None:
        self._init_args = ((node_name, epoch_id, original_exception), {"attempts": attempts})
        self.node_name = node_name
        self.epoch_id = epoch_id
        self.original_exception = original_exception
        self.attempts = attempts
        tries = f" after {attempts} attempt(s)" if attempts else ""
        super().__init__(
            f"Node '{node_name}' failed in epoch {epoch_id}{tries}: "
            f"{_describe(original_exception)}. Its input packets are in "
            f"net.dead_letter_queue (unless dead_letter_queue=False for the node); fix the "
            f"node, or set retries / on_error='continue'."
        )
        self.__cause__ = original_exception


class EpochTimeout(NetrunRuntimeError):
    """An epoch ran longer than its node's ``timeout`` (wall clock, from the epoch start)."""

    def __init__(self, node_name: str, epoch_id: object, timeout_seconds: float) -> None:
        self._init_args = ((node_name, epoch_id, timeout_seconds), {})
        self.node_name = node_name
        self.epoch_id = epoch_id
        self.timeout_seconds = timeout_seconds
        super().__init__(
            f"Epoch {epoch_id} of node '{node_name}' exceeded its timeout of "
            f"{timeout_seconds:g} s. Raise it with net.set_node_config('{node_name}', "
            f"timeout=...) or make the node faster."
        )


class EpochCancelled(NetrunRuntimeError):
    """Raised by ``ctx.cancel_epoch()``; the runtime cancels the epoch in the engine."""

    def __init__(self, node_name: str, epoch_id: object) -> None:
        self._init_args = ((node_name, epoch_id), {})
        self.node_name = node_name
        self.epoch_id = epoch_id
        super().__init__(f"Epoch {epoch_id} of node '{node_name}' was cancelled by the node.")


class EpochError(NetrunRuntimeError):
    """An epoch failed; wraps the cause (used by the config-driven front door)."""

    def __init__(
        self,
        message: str,
        *,
        node_name: str,
        epoch_id: object,
        pool_id: str | None = None,
        worker_id: int | None = None,
        retry_count: int = 0,
    ) -> None:
        self._init_args = ((message,), {"node_name": node_name, "epoch_id": epoch_id, "pool_id": pool_id, "worker_id": worker_id, "retry_count": retry_count})
        self.message = message
        self.node_name = node_name
        self.epoch_id = epoch_id
        self.pool_id = pool_id
        self.worker_id = worker_id
        self.retry_count = retry_count
        super().__init__(
            f"Epoch failed on node '{node_name}' (pool={pool_id!r}, worker={worker_id}, "
            f"retries={retry_count}): {message}"
        )


class NetNotPausedError(NetrunRuntimeError):
    """An operation (such as saving a checkpoint) needs a paused net."""

    def __init__(self, operation: str) -> None:
        self._init_args = ((operation,), {})
        self.operation = operation
        super().__init__(
            f"Operation '{operation}' requires the net to be paused: call net.pause() "
            f"(or let net.start() return) first, so that no epoch is running."
        )


class DeferredPacketIdAccessError(NetrunRuntimeError):
    """The ``id``/``location`` of a ``DeferredPacket`` was read before its epoch committed."""

    def __init__(self, deferred_id: str | None = None) -> None:
        self._init_args = ((deferred_id,), {})
        self.deferred_id = deferred_id
        which = f" {deferred_id}" if deferred_id else ""
        super().__init__(
            f"DeferredPacket{which} has no packet id yet: with defer_net_actions=True, "
            f"packets get their ids when the epoch's actions are committed, after the exec "
            f"function returns successfully. Use the DeferredPacket object itself inside the "
            f"epoch (load_output_port accepts it), and read .id after the epoch."
        )


class NetStateError(NetrunRuntimeError, RuntimeError):
    """A method was called in a lifecycle state that does not allow it (e.g. a stopped net)."""


class NodeConfigError(NetrunRuntimeError, ValueError):
    """A node option, net option or node function is invalid."""


class ContextMisuseError(NetrunRuntimeError, RuntimeError):
    """A ``NodeExecutionContext`` was used in a way it does not allow (after its epoch ended,
    with a packet of another epoch, without ``await`` in an async node, ...)."""


class PacketValueNotPicklable(NetrunRuntimeError, ValueError):
    """A value (or function) that must travel to another process cannot be pickled."""

    def __init__(self, what: str, original_exception: BaseException) -> None:
        self._init_args = ((what, original_exception), {})
        self.what = what
        self.original_exception = original_exception
        super().__init__(
            f"{what} cannot be pickled ({_describe(original_exception)}), but it must travel "
            f"to a worker process. Use picklable values (plain data, module-level functions), "
            f"or run the node on the main loop or a thread pool instead of a process pool."
        )
        self.__cause__ = original_exception


class NodeLifecycleError(NetrunRuntimeError):
    """A node's start or stop function raised."""

    def __init__(self, node_name: str, phase: str, original_exception: BaseException) -> None:
        self._init_args = ((node_name, phase, original_exception), {})
        self.node_name = node_name
        self.phase = phase
        self.original_exception = original_exception
        super().__init__(
            f"The {phase} function of node '{node_name}' failed: "
            f"{_describe(original_exception)}. Fix it, or remove it with "
            f"net.set_node_exec('{node_name}', ..., {phase}_node_func=None)."
        )
        self.__cause__ = original_exception


class EpochIncompleteError(NetrunRuntimeError):
    """A node returned, but its epoch cannot finish: an input packet was not consumed, or
    a loaded output packet was not sent. The message says which and how to fix it."""


class OutputQueueNotFoundError(NetrunRuntimeError, KeyError):
    """An output queue name (``"node::port"``) is unknown."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


# -- signals, controls, dependency requests, targets (netrun.net._controls / _requests / _targets)
class _KeyErrorText:
    """``str()`` of a ``KeyError`` subclass without the quotes ``KeyError`` adds."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ControlError(NetrunRuntimeError):
    """Base class of the errors about node controls (``net.send_control`` and applying a
    control packet that arrived on a ``__control_<type>__`` port)."""


class UnknownControlTypeError(ControlError, ValueError):
    """``send_control`` was given a control type that does not exist."""


class ControlValueError(ControlError, TypeError):
    """A control value is missing, present where the control takes none, or of the wrong type."""


class ControlPortNotFoundError(_KeyErrorText, ControlError, KeyError):
    """The node has no ``__control_<type>__`` input port for the control sent to it."""


class ControlFailed(ControlError):
    """Applying a control to a node failed (e.g. ``cancel_epoch`` with an unknown epoch ID)."""


class EpochCancelledByControl(EpochCancelled):
    """An epoch ended by a ``cancel_epoch`` / ``cancel_all_epochs`` control."""

    def __init__(self, node_name: str, epoch_id: object, control: str = "cancel_epoch") -> None:
        super().__init__(node_name, epoch_id)
        self._init_args = ((node_name, epoch_id, control), {})
        self.control = control
        self.args = (f"Epoch {epoch_id} of node '{node_name}' was cancelled by a {control!r} control.",)


class RequestError(NetrunRuntimeError, ValueError):
    """A dependency request cannot be made: the node has no dependency edge into it, or the
    request's backward walk reaches an input port without an edge."""


class TargetNotFoundError(_KeyErrorText, NetrunRuntimeError, KeyError):
    """A ``run_to_targets`` target names a node, or a node's salvo condition, that does not exist."""


# -- the config front door (netrun.net._compat_api / _compat_policy)
class MaxEpochsExceeded(NetrunRuntimeError):
    """A node already ran ``max_epochs`` epochs; a further epoch was cancelled (its input
    packets go to the dead-letter queue). Reported wrapped in :class:`EpochError`."""

    def __init__(self, node_name: str, max_epochs: int, epoch_id: object = None) -> None:
        self._init_args = ((node_name, max_epochs, epoch_id), {})
        self.node_name = node_name
        self.max_epochs = max_epochs
        self.epoch_id = epoch_id
        which = f" (epoch {epoch_id})" if epoch_id is not None else ""
        super().__init__(
            f"Node '{node_name}' reached its max_epochs={max_epochs}; a further epoch{which} was "
            f"cancelled and its input packets are in net.dead_letter_queue. Raise max_epochs "
            f"(node execution_config or net-level max_epochs; -1 = unlimited) or reset the count "
            f"with a reset_epoch_count control."
        )


class UndeclaredOutputError(NetrunRuntimeError, RuntimeError):
    """With ``error_on_undeclared_output = true``, a node sent packets through an output port
    that has no edge and no output queue."""

    def __init__(self, node_name: str, port_name: str, epoch_id: object = None) -> None:
        self._init_args = ((node_name, port_name, epoch_id), {})
        self.node_name = node_name
        self.port_name = port_name
        self.epoch_id = epoch_id
        super().__init__(
            f"Node '{node_name}' (epoch {epoch_id}) sent packets through output port "
            f"'{port_name}', which has no edge and no output queue. Declare a queue for it "
            f"(output_queues = {{ name = {{ ports = [[\"{node_name}\", \"{port_name}\"]] }} }}), "
            f"connect it, or set error_on_undeclared_output = false to drop such packets."
        )


# -- observability (netrun.net.log_query)
class EpochLogNotFoundError(_KeyErrorText, NetrunRuntimeError, KeyError):
    """``net.logs`` was asked about an epoch the net has no record of (never created, or
    ended so long ago that its bounded index forgot it and it wrote no log line)."""
