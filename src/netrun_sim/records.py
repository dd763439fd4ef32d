"""Snapshot records returned by the engine: ``Packet``, ``Salvo``, ``Epoch``, ``OrphanedPacketInfo``.

All of them are read-only snapshots (public properties, private slots): they do not follow later changes of the net. Epoch
snapshots are stored internally as plain tuples
``(id, node_name, state, in_salvo, out_salvos, orphans)`` where a salvo is
``(condition, ((port, packet_id), ...))`` and an orphan is ``(packet_id, port, condition)``;
the public objects are built from them on demand.
"""

from __future__ import annotations

from ._args import as_sequence, as_str, cannot_convert, no_constructor
from ._ids import id_timestamp, to_ulid
from ._quoting import rust_debug
from .enums import EPOCH_STATES
from .locations import location_of

__all__ = ["Packet", "Salvo", "Epoch", "OrphanedPacketInfo", "salvo_of", "epoch_of"]

_new = object.__new__


class Packet:
    """A packet snapshot: ``id`` (canonical str), ``location`` and ``get_id()`` (a ULID)."""

    __slots__ = ("_id", "_key")

    def __new__(cls, *args, **kwargs):
        raise no_constructor(cls)

    @classmethod
    def _make(cls, pid: str, key: tuple) -> "Packet":
        obj = _new(cls)
        obj._id = pid
        obj._key = key
        return obj

    @property
    def id(self) -> str:
        """The canonical ID string."""
        return self._id

    @property
    def location(self):
        """Where the packet was when the snapshot was taken."""
        return location_of(self._key)

    def get_id(self):
        """The ID as a ``ulid.ULID``."""
        return to_ulid(self._id)

    def __repr__(self) -> str:
        return f"Packet(id='{self._id}', location={location_of(self._key)!r})"


class Salvo:
    """A group of packets entering or leaving an epoch together.

    ``Salvo(salvo_condition, [(port_name, packet_id), ...])``; each item must be a 2-tuple
    of str. IDs are checked when an action using the salvo runs.
    """

    __slots__ = ("_cond", "_packets")

    def __init__(self, salvo_condition: str, packets) -> None:
        cond = as_str(salvo_condition, "salvo_condition")
        items = []
        for item in as_sequence(packets, "packets"):
            if not isinstance(item, tuple):
                raise cannot_convert(item, "PyTuple", "packets")
            if len(item) != 2:
                raise ValueError(f"expected tuple of length 2, but got tuple of length {len(item)}")
            port, pid = item
            items.append((as_str(port, "packets"), as_str(pid, "packets")))
        self._cond = cond
        self._packets = tuple(items)

    @property
    def salvo_condition(self) -> str:
        """The name of the condition (any string for manual salvos)."""
        return self._cond

    @property
    def packets(self) -> list:
        """A new list of ``(port_name, packet_id)`` tuples."""
        return list(self._packets)

    def __repr__(self) -> str:
        items = ", ".join(f"({rust_debug(p)}, {rust_debug(i)})" for p, i in self._packets)
        return f"Salvo(salvo_condition={rust_debug(self._cond)}, packets=[{items}])"

    def __reduce__(self):
        return (Salvo, (self._cond, list(self._packets)))


def salvo_of(raw: tuple) -> Salvo:
    """Build a public ``Salvo`` from its internal ``(condition, packets)`` tuple."""
    obj = _new(Salvo)
    obj._cond = raw[0]
    obj._packets = raw[1]
    return obj


class OrphanedPacketInfo:
    """A packet an output salvo sent out of the net because its port has no edge."""

    __slots__ = ("_t",)

    def __new__(cls, *args, **kwargs):
        raise no_constructor(cls)

    @property
    def packet_id(self) -> str:
        """The orphaned packet."""
        return self._t[0]

    @property
    def from_port(self) -> str:
        """The output port it was sent from."""
        return self._t[1]

    @property
    def salvo_condition(self) -> str:
        """The output condition that sent it."""
        return self._t[2]

    def __repr__(self) -> str:
        pid, port, cond = self._t
        return (
            f"OrphanedPacketInfo(packet_id='{pid}', from_port={rust_debug(port)}, salvo_condition={rust_debug(cond)})"
        )


def _orphan_of(raw: tuple) -> OrphanedPacketInfo:
    obj = _new(OrphanedPacketInfo)
    obj._t = raw
    return obj


class Epoch:
    """A snapshot of one execution of a node.

    ``id``, ``node_name``, ``in_salvo``, ``out_salvos`` (send order), ``state`` and
    ``orphaned_packets``; ``get_id()`` gives a ULID and ``start_time()`` the millisecond
    timestamp inside it.
    """

    __slots__ = ("_s",)

    def __new__(cls, *args, **kwargs):
        raise no_constructor(cls)

    @property
    def id(self) -> str:
        """The canonical ID string."""
        return self._s[0]

    @property
    def node_name(self) -> str:
        """The node this epoch executes."""
        return self._s[1]

    @property
    def state(self):
        """``EpochState.Startable``, ``Running`` or ``Finished``."""
        return EPOCH_STATES[self._s[2]]

    @property
    def in_salvo(self) -> Salvo:
        """The salvo that created the epoch."""
        return salvo_of(self._s[3])

    @property
    def out_salvos(self) -> list:
        """The salvos sent so far, in send order."""
        return [salvo_of(s) for s in self._s[4]]

    @property
    def orphaned_packets(self) -> list:
        """Packets sent out of the net by unconnected output ports, in order."""
        return [_orphan_of(o) for o in self._s[5]]

    def get_id(self):
        """The ID as a ``ulid.ULID``."""
        return to_ulid(self._s[0])

    def start_time(self) -> int:
        """The millisecond timestamp stored in the epoch's ID."""
        return id_timestamp(self._s[0])

    def __repr__(self) -> str:
        s = self._s
        return f"Epoch(id='{s[0]}', node_name={rust_debug(s[1])}, state={EPOCH_STATES[s[2]]!r})"


def epoch_of(snap: tuple) -> Epoch:
    """Build a public ``Epoch`` from an internal snapshot tuple."""
    obj = _new(Epoch)
    obj._s = snap
    return obj
