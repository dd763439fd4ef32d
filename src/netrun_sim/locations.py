"""Packet locations: the public ``PacketLocation`` and the engine's internal location keys.

Inside the engine a location is a hashable tuple (its *key*):

* ``("X",)`` outside the net, ``("E", edge)`` on an edge,
* ``("I", node, port)`` at an input port,
* ``("N", epoch_id)`` inside an epoch, ``("O", epoch_id, port)`` in an epoch's output port.

``PacketLocation`` objects wrap a key and are built only at the API boundary. Unlike the
published engine (identity equality), ``PacketLocation`` compares and hashes **by value**,
a deliberate extension that changes no documented behaviour.
"""

from __future__ import annotations

from ._args import as_instance, as_str, no_constructor
from ._ids import parse_id, _TO_B32
from ._quoting import rust_debug
from .ports import Edge

__all__ = ["PacketLocation", "OUTSIDE", "location_of", "debug_key", "key_to_data", "key_from_data"]

OUTSIDE = ("X",)
_KIND = {"X": "OutsideNet", "E": "Edge", "I": "InputPort", "N": "Node", "O": "OutputPort"}


class PacketLocation:
    """Where a packet is. Build with ``node(epoch_id)``, ``input_port(node, port)``,
    ``output_port(epoch_id, port)``, ``edge(edge)`` or ``outside_net()``.

    >>> PacketLocation.input_port("B", "in")
    PacketLocation.input_port("B", "in")
    """

    __slots__ = ("_key",)

    def __new__(cls, *args, **kwargs):
        raise no_constructor(cls)

    @staticmethod
    def node(epoch_id) -> "PacketLocation":
        """Inside epoch ``epoch_id`` (str or ULID; parsed now)."""
        return location_of(("N", parse_id(epoch_id)))

    @staticmethod
    def input_port(node_name: str, port_name: str) -> "PacketLocation":
        """At input port ``port_name`` of node ``node_name``."""
        return location_of(("I", as_str(node_name, "node_name"), as_str(port_name, "port_name")))

    @staticmethod
    def output_port(epoch_id, port_name: str) -> "PacketLocation":
        """In output port ``port_name`` of epoch ``epoch_id``."""
        eid = parse_id(epoch_id)
        return location_of(("O", eid, as_str(port_name, "port_name")))

    @staticmethod
    def edge(edge: Edge) -> "PacketLocation":
        """On ``edge``."""
        if type(edge) is not Edge:
            as_instance(edge, Edge, "edge")
        return location_of(("E", edge))

    @staticmethod
    def outside_net() -> "PacketLocation":
        """Outside the net."""
        return location_of(OUTSIDE)

    @property
    def kind(self) -> str:
        """``"Node"``, ``"InputPort"``, ``"OutputPort"``, ``"Edge"`` or ``"OutsideNet"``."""
        return _KIND[self._key[0]]

    @property
    def node_name(self):
        """The node of an InputPort location, else None."""
        key = self._key
        return key[1] if key[0] == "I" else None

    @property
    def port_name(self):
        """The port of an InputPort/OutputPort location, else None."""
        key = self._key
        return key[2] if key[0] in ("I", "O") else None

    @property
    def epoch_id(self):
        """The epoch ID (canonical str) of a Node/OutputPort location, else None."""
        key = self._key
        return key[1] if key[0] in ("N", "O") else None

    def get_edge(self):
        """The ``Edge`` of an Edge location, else None."""
        key = self._key
        return key[1] if key[0] == "E" else None

    def __eq__(self, other):
        if type(other) is not PacketLocation:
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        key = self._key
        tag = key[0]
        if tag == "I":
            return f"PacketLocation.input_port({rust_debug(key[1])}, {rust_debug(key[2])})"
        if tag == "N":
            return f"PacketLocation.node('{key[1]}')"
        if tag == "O":
            return f"PacketLocation.output_port('{key[1]}', {rust_debug(key[2])})"
        if tag == "E":
            return f"PacketLocation.edge({key[1]})"
        return "PacketLocation.outside_net()"

    def __reduce__(self):
        return (location_of, (self._key,))


_new = object.__new__


def location_of(key: tuple) -> PacketLocation:
    """Wrap an internal location key in a new ``PacketLocation``."""
    loc = _new(PacketLocation)
    loc._key = key
    return loc


def _debug_ulid(eid: str) -> str:
    return f"Ulid({int(eid.translate(_TO_B32), 32)})"


def _debug_portref(ref) -> str:
    return (
        f"PortRef {{ node_name: {rust_debug(ref._node)}, port_type: {ref._type._name}, "
        f"port_name: {rust_debug(ref._port)} }}"
    )


def debug_key(key: tuple) -> str:
    """Render a location key as the published engine's Rust ``{:?}`` output (undo messages)."""
    tag = key[0]
    if tag == "I":
        return f"InputPort({rust_debug(key[1])}, {rust_debug(key[2])})"
    if tag == "N":
        return f"Node({_debug_ulid(key[1])})"
    if tag == "O":
        return f"OutputPort({_debug_ulid(key[1])}, {rust_debug(key[2])})"
    if tag == "E":
        edge = key[1]
        return f"Edge(Edge {{ source: {_debug_portref(edge._source)}, target: {_debug_portref(edge._target)} }})"
    return "OutsideNet"


def _ref_data(ref) -> list:
    return [ref._node, ref._type._value, ref._port]


def key_to_data(key: tuple) -> list:
    """A JSON-able form of a location key (used by snapshots and ``to_dict``)."""
    tag = key[0]
    if tag == "E":
        edge = key[1]
        return ["E", _ref_data(edge._source), _ref_data(edge._target)]
    return list(key)


def key_from_data(data) -> tuple:
    """Inverse of :func:`key_to_data`; raises ``ValueError`` on malformed data."""
    from .enums import PortType
    from .ports import PortRef

    try:
        tag = data[0]
        if tag == "X" and len(data) == 1:
            return OUTSIDE
        if tag == "E" and len(data) == 3:
            refs = []
            for node, ptype, port in (data[1], data[2]):
                refs.append(PortRef(node, PortType._variants[ptype], port))
            return ("E", Edge(refs[0], refs[1]))
        if tag == "I" and len(data) == 3:
            return ("I", as_str(data[1], "node_name"), as_str(data[2], "port_name"))
        if tag == "N" and len(data) == 2:
            return ("N", parse_id(data[1]))
        if tag == "O" and len(data) == 3:
            return ("O", parse_id(data[1]), as_str(data[2], "port_name"))
    except (TypeError, IndexError, ValueError) as exc:
        raise ValueError(f"malformed packet location data {data!r}: {exc}") from None
    raise ValueError(
        f"malformed packet location data {data!r}: expected ['X'], ['E', src, tgt], "
        "['I', node, port], ['N', epoch_id] or ['O', epoch_id, port]"
    )
