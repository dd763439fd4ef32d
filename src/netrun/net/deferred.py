"""Deferred net actions: packet operations buffered during an attempt, committed on success.

With ``defer_net_actions=True`` a node's packet operations (create, consume, load, send)
are recorded in a :class:`DeferredActionQueue` instead of reaching the engine. When the exec
function returns normally the runtime replays the queue against the engine as one
all-or-nothing commit; when it fails the queue is dropped (and kept in the failure record),
so a retry starts from a clean state. Packets created meanwhile are :class:`DeferredPacket`
stand-ins that receive their real ID at commit.

The same queue carries the effects of a node that ran in another process.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Optional

from netrun.errors import DeferredPacketIdAccessError

__all__ = ["DeferredPacket", "DeferredAction", "DeferredActionType", "DeferredActionQueue"]


class DeferredPacket:
    """Stand-in for a packet created in a deferred attempt; resolved in place on commit.

    ``id`` and ``location`` raise :class:`~netrun.errors.DeferredPacketIdAccessError`
    until the epoch commits; ``deferred_id`` is always available.
    """

    __slots__ = ("_deferred_id", "_value", "_value_func", "_packet_id", "_locate")

    def __init__(self, deferred_id: str, value: Any = None, value_func: Optional[Callable[[], Any]] = None) -> None:
        self._deferred_id = deferred_id
        self._value = value
        self._value_func = value_func
        self._packet_id: Optional[str] = None
        self._locate: Optional[Callable[[str], Any]] = None

    @property
    def deferred_id(self) -> str:
        """The temporary ID (``"deferred-<n>"``), unique within one attempt."""
        return self._deferred_id

    @property
    def is_resolved(self) -> bool:
        """Whether the epoch committed and the packet has its real ID."""
        return self._packet_id is not None

    @property
    def id(self) -> str:
        """The real packet ID (only after commit)."""
        if self._packet_id is None:
            raise DeferredPacketIdAccessError(self._deferred_id)
        return self._packet_id

    @property
    def location(self) -> Any:
        """The packet's engine location (only after commit)."""
        if self._packet_id is None or self._locate is None:
            raise DeferredPacketIdAccessError(self._deferred_id)
        return self._locate(self._packet_id)

    @property
    def value(self) -> Any:
        """The direct value given at creation (``None`` for a value-function packet)."""
        return self._value

    @property
    def value_func(self) -> Optional[Callable[[], Any]]:
        """The value function given at creation, if any."""
        return self._value_func

    def _resolve(self, packet_id: str, locate: Optional[Callable[[str], Any]] = None) -> None:
        self._packet_id = packet_id
        self._locate = locate

    def __getstate__(self) -> tuple[Any, ...]:
        return (self._deferred_id, self._value, self._value_func, self._packet_id)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._deferred_id, self._value, self._value_func, self._packet_id = state
        self._locate = None

    def __repr__(self) -> str:
        if self._packet_id is not None:
            return f"DeferredPacket(resolved={self._packet_id})"
        return f"DeferredPacket(deferred_id={self._deferred_id})"


class DeferredActionType(enum.Enum):
    """Kind of a buffered operation."""

    CREATE_PACKET = "create_packet"
    CREATE_PACKET_FROM_FUNC = "create_packet_from_func"
    CONSUME_PACKET = "consume_packet"
    LOAD_OUTPUT_PORT = "load_output_port"
    SEND_OUTPUT_SALVO = "send_output_salvo"


@dataclass
class DeferredAction:
    """One buffered operation; only the fields relevant to its type are set."""

    action_type: DeferredActionType
    value: Any = None
    value_func: Optional[Callable[[], Any]] = None
    deferred_packet: Optional[DeferredPacket] = None
    packet: Any = None
    consumed_value: Any = None
    port_name: Optional[str] = None
    salvo_condition_name: Optional[str] = None


class DeferredActionQueue:
    """Ordered buffer of :class:`DeferredAction` for one attempt."""

    __slots__ = ("_actions", "_consumed", "_counter")

    def __init__(self) -> None:
        self._actions: list[DeferredAction] = []
        self._consumed: dict[str, Any] = {}
        self._counter = 0

    def create_packet(self, value: Any) -> DeferredPacket:
        """Buffer a packet creation with a direct value; returns the stand-in."""
        self._counter += 1
        packet = DeferredPacket(f"deferred-{self._counter}", value=value)
        self._actions.append(DeferredAction(DeferredActionType.CREATE_PACKET, value=value,
                                            deferred_packet=packet))
        return packet

    def create_packet_from_func(self, func: Callable[[], Any]) -> DeferredPacket:
        """Buffer a packet creation with a value function; returns the stand-in."""
        self._counter += 1
        packet = DeferredPacket(f"deferred-{self._counter}", value_func=func)
        self._actions.append(DeferredAction(DeferredActionType.CREATE_PACKET_FROM_FUNC,
                                            value_func=func, deferred_packet=packet))
        return packet

    def consume_packet(self, packet: Any, value: Any) -> None:
        """Buffer a consumption and remember the value read."""
        key = packet.deferred_id if isinstance(packet, DeferredPacket) else str(packet)
        self._consumed[key] = value
        self._actions.append(DeferredAction(DeferredActionType.CONSUME_PACKET, packet=packet,
                                            consumed_value=value))

    def load_output_port(self, port_name: str, packet: Any) -> None:
        """Buffer loading a packet into an output port."""
        self._actions.append(DeferredAction(DeferredActionType.LOAD_OUTPUT_PORT, packet=packet,
                                            port_name=port_name))

    def send_output_salvo(self, salvo_condition_name: str) -> None:
        """Buffer sending an output salvo."""
        self._actions.append(DeferredAction(DeferredActionType.SEND_OUTPUT_SALVO,
                                            salvo_condition_name=salvo_condition_name))

    @property
    def actions(self) -> list[DeferredAction]:
        """Buffered actions, in order."""
        return list(self._actions)

    @property
    def consumed_values(self) -> dict[str, Any]:
        """Values read by consumptions, by packet ID (or deferred ID)."""
        return dict(self._consumed)

    def is_consumed(self, key: str) -> bool:
        """Whether a packet (ID or deferred ID) was consumed in this queue."""
        return key in self._consumed

    def clear(self) -> None:
        """Empty the queue and reset the deferred-ID counter."""
        self._actions.clear()
        self._consumed.clear()
        self._counter = 0

    def __len__(self) -> int:
        return len(self._actions)
