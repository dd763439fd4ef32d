"""Ports and edges: ``PortRef``, ``Edge`` (value types) and ``Port`` (capacity)."""

from __future__ import annotations

from ._args import as_instance, as_str
from .enums import PortSlotSpec, PortSlotSpecFinite, PortType

__all__ = ["PortRef", "Edge", "Port", "EdgeRef"]

_INPUT = PortType.Input  # type: ignore[attr-defined]
_OUTPUT = PortType.Output  # type: ignore[attr-defined]


class PortRef:
    """A port of a node: ``PortRef(node_name, PortType.Input|Output, port_name)``.

    Frozen, compared and hashed by value. ``str(ref)`` is ``node.in.port`` / ``node.out.port``.

    >>> str(PortRef("A", PortType.Output, "out"))
    'A.out.out'
    """

    __slots__ = ("_node", "_type", "_port", "_hash")

    def __init__(self, node_name: str, port_type: PortType, port_name: str) -> None:
        node_name = as_str(node_name, "node_name")
        if not isinstance(port_type, PortType):
            as_instance(port_type, PortType, "port_type")
        port_name = as_str(port_name, "port_name")
        object.__setattr__(self, "_node", node_name)
        object.__setattr__(self, "_type", port_type)
        object.__setattr__(self, "_port", port_name)
        object.__setattr__(self, "_hash", hash((node_name, port_type._value, port_name)))

    @classmethod
    def _of(cls, node_name: str, is_output: bool, port_name: str) -> "PortRef":
        obj = object.__new__(cls)
        ptype = _OUTPUT if is_output else _INPUT
        object.__setattr__(obj, "_node", node_name)
        object.__setattr__(obj, "_type", ptype)
        object.__setattr__(obj, "_port", port_name)
        object.__setattr__(obj, "_hash", hash((node_name, ptype._value, port_name)))
        return obj

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'PortRef' objects is not writable")

    @property
    def node_name(self) -> str:
        """The node's name."""
        return self._node

    @property
    def port_type(self) -> PortType:
        """``PortType.Input`` or ``PortType.Output``."""
        return self._type

    @property
    def port_name(self) -> str:
        """The port's name."""
        return self._port

    @property
    def _is_output(self) -> bool:
        return self._type._value == 1

    def __eq__(self, other):
        if type(other) is not PortRef:
            return NotImplemented
        return (
            self._hash == other._hash
            and self._node == other._node
            and self._type._value == other._type._value
            and self._port == other._port
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"PortRef('{self._node}', {self._type._name}, '{self._port}')"

    def __str__(self) -> str:
        side = "out" if self._type._value == 1 else "in"
        return f"{self._node}.{side}.{self._port}"

    def __reduce__(self):
        return (PortRef, (self._node, self._type, self._port))


class Edge:
    """A connection from an output port to an input port; also a FIFO packet location.

    Frozen, compared and hashed by value. ``str(edge)`` is ``A.out.o -> B.in.i``. Port
    types are not checked here; ``Graph.validate()`` does that.
    """

    __slots__ = ("_source", "_target", "_hash")

    def __init__(self, source: PortRef, target: PortRef) -> None:
        if type(source) is not PortRef:
            as_instance(source, PortRef, "source")
        if type(target) is not PortRef:
            as_instance(target, PortRef, "target")
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_hash", hash((source._hash, target._hash)))

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'Edge' objects is not writable")

    @property
    def source(self) -> PortRef:
        """The output port the edge leaves."""
        return self._source

    @property
    def target(self) -> PortRef:
        """The input port the edge enters."""
        return self._target

    def __eq__(self, other):
        if type(other) is not Edge:
            return NotImplemented
        return self._hash == other._hash and self._source == other._source and self._target == other._target

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Edge({self._source}, {self._target})"

    def __str__(self) -> str:
        return f"{self._source} -> {self._target}"

    def __reduce__(self):
        return (Edge, (self._source, self._target))


EdgeRef = Edge  # 0.1.x name


class Port:
    """A port's capacity: ``Port()`` / ``Port(PortSlotSpec.Infinite)`` or
    ``Port(PortSlotSpec.finite(n))``.

    As in the published engine, the bare variant ``PortSlotSpec.Finite`` means infinite.
    """

    __slots__ = ("_cap",)

    def __init__(self, slots_spec=None) -> None:
        if slots_spec is None or isinstance(slots_spec, PortSlotSpec):
            cap = None
        elif type(slots_spec) is PortSlotSpecFinite:
            cap = slots_spec._n
        else:
            raise TypeError("Expected PortSlotSpec or PortSlotSpecFinite")
        object.__setattr__(self, "_cap", cap)

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'Port' objects is not writable")

    @property
    def slots_spec(self):
        """``PortSlotSpec.Infinite`` or a new ``PortSlotSpecFinite``."""
        if self._cap is None:
            return PortSlotSpec.Infinite  # type: ignore[attr-defined]
        return PortSlotSpec.finite(self._cap)

    def __repr__(self) -> str:
        return f"Port({self.slots_spec!r})"

    def __reduce__(self):
        return (Port, (self.slots_spec,))
