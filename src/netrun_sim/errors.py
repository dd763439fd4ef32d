"""The engine's exception classes (the published hierarchy, plus documented additions).

Every engine error derives from :class:`NetrunError` (a plain ``Exception``) and carries
one message argument, exactly as in netrun-sim 0.2.0. Additions that change no published
behaviour:

* :class:`GraphValidationError` is *raised* (the published engine panics instead) by
  ``Graph(...)`` on a duplicate node name and by ``NetSim(graph)`` on an invalid graph; it
  carries ``.errors`` (the ``GraphValidationErrorInfo`` list, empty for duplicates).
* :class:`RequestUnconnectedPortError` raised by a step carries ``.events``: the events of
  that step, which the published engine loses (reference section 11.4).
* ``PacketNotInNodeError`` (alias of :class:`PacketNotInAnyNodeError`) and
  :class:`UnconnectedOutputPortError` (never raised) exist for 0.1.x code.
"""

from __future__ import annotations

__all__ = [
    "NetrunError",
    "PacketNotFoundError",
    "EpochNotFoundError",
    "EpochNotRunningError",
    "EpochNotStartableError",
    "CannotFinishNonEmptyEpochError",
    "UnsentOutputSalvoError",
    "PacketNotInAnyNodeError",
    "OutputPortNotFoundError",
    "OutputPortFullError",
    "SalvoConditionNotFoundError",
    "SalvoConditionNotMetError",
    "MaxSalvosExceededError",
    "NodeNotFoundError",
    "PacketNotAtInputPortError",
    "InputPortNotFoundError",
    "InputPortFullError",
    "CannotMovePacketFromRunningEpochError",
    "CannotMovePacketIntoRunningEpochError",
    "EdgeNotFoundError",
    "GraphValidationError",
    "RequestCycleDetectedError",
    "RequestUnconnectedPortError",
    "RequestNodeNotFoundError",
    "UndoError",
    "UndoStateMismatchError",
    "UndoNotFoundError",
    "UndoNotUndoableError",
    "UndoInternalError",
    "PacketNotInNodeError",
    "UnconnectedOutputPortError",
]


class NetrunError(Exception):
    """Base class of every error the engine raises."""


class PacketNotFoundError(NetrunError):
    """``Packet not found: {id}``: no packet with that ID is in the net."""


class EpochNotFoundError(NetrunError):
    """``Epoch not found: {id}``: no live epoch has that ID (finished/cancelled ones are gone)."""


class EpochNotRunningError(NetrunError):
    """``Epoch not running: {id}``: the action needs a Running epoch (call start_epoch first)."""


class EpochNotStartableError(NetrunError):
    """``Epoch not startable: {id}``: only a Startable epoch can be started."""


class CannotFinishNonEmptyEpochError(NetrunError):
    """The epoch still holds packets: consume, destroy or load them before finishing."""


class UnsentOutputSalvoError(NetrunError):
    """An output port of the epoch still holds packets: send them before finishing."""


class PacketNotInAnyNodeError(NetrunError):
    """The packet is not inside an epoch (``Node`` location), so it cannot be loaded."""


class OutputPortNotFoundError(NetrunError):
    """The epoch's node has no output port of that name."""


class OutputPortFullError(NetrunError):
    """The epoch's output port is at capacity: send a salvo first."""


class SalvoConditionNotFoundError(NetrunError):
    """The epoch's node has no output salvo condition of that name."""


class SalvoConditionNotMetError(NetrunError):
    """The output salvo condition's term is false for the epoch's output ports."""


class MaxSalvosExceededError(NetrunError):
    """The epoch already sent ``max_salvos`` salvos with that condition."""


class NodeNotFoundError(NetrunError):
    """No node of that name exists in the graph."""


class PacketNotAtInputPortError(NetrunError):
    """A salvo names a packet that is not waiting at the stated input port."""


class InputPortNotFoundError(NetrunError):
    """The node has no input port of that name."""


class InputPortFullError(NetrunError):
    """The input port is at capacity."""


class CannotMovePacketFromRunningEpochError(NetrunError):
    """Packets inside a Running epoch move only through load/send, not transport."""


class CannotMovePacketIntoRunningEpochError(NetrunError):
    """A Running epoch's locations cannot receive transported packets."""


class EdgeNotFoundError(NetrunError):
    """The edge is not part of the graph."""


class GraphValidationError(NetrunError):
    """The graph is invalid. ``errors`` lists every problem found (``GraphValidationErrorInfo``)."""

    def __init__(self, message: str, errors: list | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors) if errors is not None else []


class RequestCycleDetectedError(NetrunError):
    """Defined for compatibility; the request cascade never reports cycles."""


class RequestUnconnectedPortError(NetrunError):
    """The request cascade reached an input port with no incoming edge.

    When raised by a step, ``events`` holds the events that step emitted before failing
    (its state changes stay applied, as in the published engine).
    """

    def __init__(self, message: str, events: list | None = None) -> None:
        super().__init__(message)
        self.events = list(events) if events is not None else []


class RequestNodeNotFoundError(NetrunError):
    """``create_request`` names a node that is not in the graph."""


class UndoError(NetrunError):
    """Base class of undo failures. A failed undo changes nothing."""


class UndoStateMismatchError(UndoError):
    """The net is not in the state the events describe (for example undone out of turn)."""


class UndoNotFoundError(UndoError):
    """A packet or epoch the events refer to no longer exists."""


class UndoNotUndoableError(UndoError):
    """Defined for compatibility; never raised."""


class UndoInternalError(UndoError):
    """Defined for compatibility; never raised."""


class UnconnectedOutputPortError(NetrunError):
    """0.1.x compatibility name; never raised (unconnected ports orphan their packets)."""


PacketNotInNodeError = PacketNotInAnyNodeError


class SnapshotError(NetrunError, ValueError):
    """A state snapshot is malformed, of an unknown format version, or made for another graph
    (extension; raised by ``NetSim.from_snapshot``). Not exported by the package namespace."""
