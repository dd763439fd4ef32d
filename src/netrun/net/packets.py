"""Packet handles given to node functions.

A node function receives its input salvo as ``{port: [PacketRef, ...]}``. A
:class:`PacketRef` *is* the packet's ID string (a ``str`` subclass, so it can be used
anywhere an ID is expected, compared with IDs and used as a dict key) and also offers the
engine ``Packet``'s ``id`` and ``location`` attributes. It costs no engine call to make.
"""

from __future__ import annotations

from typing import Any

from netrun.net._current import current_attempt

__all__ = ["PacketRef", "packet_id_of"]


class PacketRef(str):
    """A packet of the net, as its ID string with ``.id`` and ``.location`` attributes."""

    __slots__ = ()

    @property
    def id(self) -> str:
        """The packet ID (a 26-character ULID string)."""
        return str.__str__(self)

    @property
    def location(self) -> Any:
        """The packet's current engine ``PacketLocation`` (only inside a node function;
        elsewhere use ``net.get_packet(packet_id).location``)."""
        attempt = current_attempt.get()
        resolver = getattr(attempt, "locate", None)
        if resolver is None:
            from netrun.errors import ContextMisuseError

            raise ContextMisuseError(
                f"PacketRef({self.id}).location is only available while a node function "
                f"runs; use net.get_packet('{self.id}').location instead"
            )
        return resolver(self.id)

    def __repr__(self) -> str:
        return f"PacketRef({str.__repr__(self)})"


def packet_id_of(packet: Any) -> str:
    """The ID string of a PacketRef, an engine Packet or a plain ID string."""
    if type(packet) is PacketRef or type(packet) is str:
        return packet  # type: ignore[return-value]
    if isinstance(packet, str):
        return str(packet)
    pid = getattr(packet, "id", None)
    if isinstance(pid, str):
        return pid
    raise TypeError(
        f"Expected a packet (the objects in the `packets` argument, a packet created with "
        f"ctx.create_packet, or a packet ID string), got {type(packet).__name__}"
    )
