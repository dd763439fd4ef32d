"""Enumerations of the engine and their numeric companions.

The simple enums (``PortType``, ``PortState``, ``PacketCount``, ``MaxSalvos``,
``PortSlotSpec``, ``EpochState``, ``DependencyRequestTrigger``) behave like the published
PyO3 enums: variants are class attributes, the class cannot be instantiated, ``==``
compares by variant or with the variant's integer index, ``int(x)`` gives the index,
``repr``/``str`` is ``"Class.Variant"``, there is no ordering, and only ``PortType`` is
hashable. Variants are singletons here, but compare them with ``==`` as with the published
engine. (Unlike the published engine they can be pickled, which changes nothing else.)

The numeric companions (``PacketCountN``, ``MaxSalvosFinite``, ``PortSlotSpecFinite``,
``PortStateNumeric``) are built only by the static constructors, e.g.
``PacketCount.count(2)``; they compare by identity, like the published ones.
"""

from __future__ import annotations

from ._args import as_u64

__all__ = [
    "PortType",
    "PortState",
    "PortStateNumeric",
    "PacketCount",
    "PacketCountN",
    "MaxSalvos",
    "MaxSalvosFinite",
    "PortSlotSpec",
    "PortSlotSpecFinite",
    "EpochState",
    "DependencyRequestTrigger",
]


def _variant_of(cls, name: str):
    return getattr(cls, name)


class _SimpleEnum:
    """Shared behaviour of the simple enums."""

    __slots__ = ("_value", "_name")
    _variants: tuple = ()

    def __new__(cls, *args, **kwargs):
        raise TypeError(f"No constructor defined for {cls.__name__}")

    @classmethod
    def _make(cls, value: int, name: str):
        obj = object.__new__(cls)
        object.__setattr__(obj, "_value", value)
        object.__setattr__(obj, "_name", name)
        setattr(cls, name, obj)
        cls._variants = cls._variants + (obj,)
        return obj

    def __setattr__(self, name, value):
        raise AttributeError(f"'{type(self).__name__}' object attribute '{name}' is read-only")

    def __eq__(self, other):
        if type(other) is type(self):
            return self._value == other._value
        if isinstance(other, int):
            return self._value == other
        return NotImplemented

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]  # unhashable, like the published enums

    def __int__(self) -> int:
        return self._value

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self._name}"

    __str__ = __repr__

    def __reduce__(self):
        return (_variant_of, (type(self), self._name))


class _Companion:
    """Shared behaviour of the numeric companions: immutable, identity equality."""

    __slots__ = ()

    def __new__(cls, *args, **kwargs):
        raise TypeError(f"No constructor defined for {cls.__name__}")

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of '{type(self).__name__}' objects is not writable")

    @classmethod
    def _build(cls, **fields):
        obj = object.__new__(cls)
        for key, value in fields.items():
            object.__setattr__(obj, key, value)
        return obj


class PortType(_SimpleEnum):
    """Which side of a node a port is on: ``PortType.Input`` or ``PortType.Output``."""

    __slots__ = ()

    def __hash__(self) -> int:  # PortType is the one hashable enum
        return self._value


PortType._make(0, "Input")
PortType._make(1, "Output")


class PortStateNumeric(_Companion):
    """A count comparison for a port term, e.g. ``PortState.equals(3)``."""

    __slots__ = ("_kind", "_n")

    @property
    def kind(self) -> str:
        """One of ``equals``, ``less_than``, ``greater_than``, ``equals_or_less_than``,
        ``equals_or_greater_than``."""
        return self._kind

    @property
    def value(self) -> int:
        """The number compared against."""
        return self._n

    def __repr__(self) -> str:
        return f"PortState.{self._kind}({self._n})"

    def __reduce__(self):
        return (getattr(PortState, self._kind), (self._n,))


class PortState(_SimpleEnum):
    """The state a port term tests: ``Empty``, ``Full``, ``NonEmpty``, ``NonFull``, or a
    numeric comparison built with ``equals(n)``, ``less_than(n)``, ``greater_than(n)``,
    ``equals_or_less_than(n)``, ``equals_or_greater_than(n)``."""

    __slots__ = ()

    @staticmethod
    def empty() -> "PortState":
        """``PortState.Empty``: the port holds no packet."""
        return PortState.Empty  # type: ignore[attr-defined]

    @staticmethod
    def full() -> "PortState":
        """``PortState.Full``: a finite port is at capacity (never true for infinite ports)."""
        return PortState.Full  # type: ignore[attr-defined]

    @staticmethod
    def non_empty() -> "PortState":
        """``PortState.NonEmpty``: the port holds at least one packet."""
        return PortState.NonEmpty  # type: ignore[attr-defined]

    @staticmethod
    def non_full() -> "PortState":
        """``PortState.NonFull``: below capacity (always true for infinite ports)."""
        return PortState.NonFull  # type: ignore[attr-defined]

    @staticmethod
    def equals(n: int) -> PortStateNumeric:
        """The port holds exactly ``n`` packets."""
        return PortStateNumeric._build(_kind="equals", _n=as_u64(n))

    @staticmethod
    def less_than(n: int) -> PortStateNumeric:
        """The port holds fewer than ``n`` packets."""
        return PortStateNumeric._build(_kind="less_than", _n=as_u64(n))

    @staticmethod
    def greater_than(n: int) -> PortStateNumeric:
        """The port holds more than ``n`` packets."""
        return PortStateNumeric._build(_kind="greater_than", _n=as_u64(n))

    @staticmethod
    def equals_or_less_than(n: int) -> PortStateNumeric:
        """The port holds at most ``n`` packets."""
        return PortStateNumeric._build(_kind="equals_or_less_than", _n=as_u64(n))

    @staticmethod
    def equals_or_greater_than(n: int) -> PortStateNumeric:
        """The port holds at least ``n`` packets."""
        return PortStateNumeric._build(_kind="equals_or_greater_than", _n=as_u64(n))


for _i, _n in enumerate(("Empty", "Full", "NonEmpty", "NonFull")):
    PortState._make(_i, _n)


class PacketCountN(_Companion):
    """Take at most ``count`` packets from a port (``PacketCount.count(n)``)."""

    __slots__ = ("_n",)

    @property
    def count(self) -> int:
        """The maximum number of packets taken."""
        return self._n

    def __repr__(self) -> str:
        return f"PacketCount.count({self._n})"

    def __reduce__(self):
        return (PacketCount.count, (self._n,))


class PacketCount(_SimpleEnum):
    """How many packets a salvo takes from a port: ``PacketCount.All`` or ``count(n)``."""

    __slots__ = ()

    @staticmethod
    def all() -> "PacketCount":
        """``PacketCount.All``: take every packet present."""
        return PacketCount.All  # type: ignore[attr-defined]

    @staticmethod
    def count(n: int) -> PacketCountN:
        """Take at most ``n`` packets (oldest first)."""
        return PacketCountN._build(_n=as_u64(n))


PacketCount._make(0, "All")


class MaxSalvosFinite(_Companion):
    """At most ``max`` salvos per epoch for a condition (``MaxSalvos.finite(n)``)."""

    __slots__ = ("_n",)

    @property
    def max(self) -> int:
        """The maximum number of salvos."""
        return self._n

    def __repr__(self) -> str:
        return f"MaxSalvos.finite({self._n})"

    def __reduce__(self):
        return (MaxSalvos.finite, (self._n,))


class MaxSalvos(_SimpleEnum):
    """How many salvos a condition may send per epoch: ``Infinite`` or ``finite(n)``."""

    __slots__ = ()

    @staticmethod
    def infinite() -> "MaxSalvos":
        """``MaxSalvos.Infinite``: no limit."""
        return MaxSalvos.Infinite  # type: ignore[attr-defined]

    @staticmethod
    def finite(n: int) -> MaxSalvosFinite:
        """At most ``n`` salvos per epoch (input conditions must use ``finite(1)``)."""
        return MaxSalvosFinite._build(_n=as_u64(n))


MaxSalvos._make(0, "Infinite")


class PortSlotSpecFinite(_Companion):
    """A port holding at most ``capacity`` packets (``PortSlotSpec.finite(n)``)."""

    __slots__ = ("_n",)

    @property
    def capacity(self) -> int:
        """The port's capacity."""
        return self._n

    def __repr__(self) -> str:
        return f"PortSlotSpec.finite({self._n})"

    def __reduce__(self):
        return (PortSlotSpec.finite, (self._n,))


class PortSlotSpec(_SimpleEnum):
    """Port capacity: ``PortSlotSpec.Infinite`` or ``PortSlotSpec.finite(n)``.

    The bare variant ``PortSlotSpec.Finite`` carries no number; as in the published engine a
    ``Port(PortSlotSpec.Finite)`` is infinite.
    """

    __slots__ = ()

    @staticmethod
    def infinite() -> "PortSlotSpec":
        """``PortSlotSpec.Infinite``: an unbounded port."""
        return PortSlotSpec.Infinite  # type: ignore[attr-defined]

    @staticmethod
    def finite(n: int) -> PortSlotSpecFinite:
        """A port holding at most ``n`` packets."""
        return PortSlotSpecFinite._build(_n=as_u64(n))


PortSlotSpec._make(0, "Infinite")
PortSlotSpec._make(1, "Finite")


class EpochState(_SimpleEnum):
    """``Startable`` → ``Running`` → ``Finished`` (the last only in ``finish_epoch``'s result)."""

    __slots__ = ()


for _i, _n in enumerate(("Startable", "Running", "Finished")):
    EpochState._make(_i, _n)


class DependencyRequestTrigger(_SimpleEnum):
    """When a node asks its sources for input: ``OnStartup`` or ``OnNoSalvoTriggered``."""

    __slots__ = ()

    @staticmethod
    def on_startup() -> "DependencyRequestTrigger":
        """``OnStartup``: one request on the net's first step."""
        return DependencyRequestTrigger.OnStartup  # type: ignore[attr-defined]

    @staticmethod
    def on_no_salvo_triggered() -> "DependencyRequestTrigger":
        """``OnNoSalvoTriggered``: a request when input waits but no condition fires."""
        return DependencyRequestTrigger.OnNoSalvoTriggered  # type: ignore[attr-defined]


DependencyRequestTrigger._make(0, "OnStartup")
DependencyRequestTrigger._make(1, "OnNoSalvoTriggered")

del _i, _n

EPOCH_STATES = EpochState._variants
