"""``NetEvent``: the record of one elementary change, with enough data to undo it.

Each event kind is a small private subclass of :class:`NetEvent` holding raw fields (ID
strings, internal location keys, epoch snapshot tuples); ``PacketLocation`` and ``Epoch``
objects are built only when a property is read, and every read builds a new one. A
property that does not apply to the event's kind returns None, as in the published engine.
``to_dict``/``from_dict`` give a JSON-able form for persisting undo logs.
"""

from __future__ import annotations

from operator import attrgetter

from ._args import no_constructor
from ._ids import parse_id
from ._quoting import rust_debug
from .locations import key_from_data, key_to_data, location_of
from .records import epoch_of

__all__ = ["NetEvent", "EVENT_CLASSES", "snapshot_to_data", "snapshot_from_data"]

_new = object.__new__


def _none(self):
    return None


class NetEvent:
    """One elementary change of the net. Read ``kind``, ``timestamp`` (ms) and the
    kind-specific properties (see the reference, section 7)."""

    __slots__ = ("_ts",)
    _kind = ""

    def __new__(cls, *args, **kwargs):
        raise no_constructor(NetEvent)

    # C-level getters (no Python frame per read): ``kind`` is read for every event a
    # runtime dispatches on; both stay read-only properties
    kind = property(
        attrgetter("_kind"), doc='The event kind, e.g. ``"PacketMoved"`` (see the reference, section 7).'
    )
    timestamp = property(attrgetter("_ts"), doc="UTC milliseconds since the Unix epoch (read once per action).")

    packet_id = property(_none)
    epoch_id = property(_none)
    epoch = property(_none)
    from_location = property(_none)
    to_location = property(_none)
    from_index = property(_none)
    location = property(_none)
    salvo_condition = property(_none)
    node_name = property(_none)
    label = property(_none)
    source_nodes = property(_none)
    request_source = property(_none)
    orphaned_port_name = property(_none)

    def __repr__(self) -> str:
        return f"NetEvent.{self._kind}(ts={self._ts}, {self._repr_fields()})"

    def _repr_fields(self) -> str:  # pragma: no cover - every kind overrides it
        return ""

    def to_dict(self) -> dict:
        """A JSON-able dict: ``{"kind": ..., "timestamp": ..., <fields>}``."""
        data = {"kind": self._kind, "timestamp": self._ts}
        data.update(self._data())
        return data

    def _data(self) -> dict:  # pragma: no cover - every kind overrides it
        return {}

    @staticmethod
    def from_dict(data: dict) -> "NetEvent":
        """Rebuild an event from :meth:`to_dict` output; ``ValueError`` on malformed data."""
        cls = EVENT_CLASSES.get(data.get("kind")) if isinstance(data, dict) else None
        if cls is None:
            raise ValueError(f"not a NetEvent dict: {data!r}; expected a 'kind' among {sorted(EVENT_CLASSES)}")
        try:
            return cls._from_data(data)
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"malformed {data.get('kind')} event dict {data!r}: {exc!r}") from None

    def __reduce__(self):
        return (NetEvent.from_dict, (self.to_dict(),))


def _prop(cls, slot: str):
    return property(getattr(cls, slot).__get__)


# --------------------------------------------------------------------------- packet events
class _PacketCreated(NetEvent):
    __slots__ = ("_pid",)
    _kind = "PacketCreated"

    def _repr_fields(self):
        return f"packet_id='{self._pid}'"

    def _data(self):
        return {"packet_id": self._pid}

    @classmethod
    def _from_data(cls, d):
        return packet_created(d["timestamp"], parse_id(d["packet_id"]))


_PacketCreated.packet_id = _prop(_PacketCreated, "_pid")


def packet_created(ts: int, pid: str) -> NetEvent:
    """Build a ``PacketCreated`` event."""
    e = _new(_PacketCreated)
    e._ts = ts
    e._pid = pid
    return e


class _PacketRemoved(NetEvent):
    __slots__ = ("_pid", "_loc")

    @property
    def location(self):
        return location_of(self._loc)

    def _repr_fields(self):
        return f"packet_id='{self._pid}', location={location_of(self._loc)!r}"

    def _data(self):
        return {"packet_id": self._pid, "location": key_to_data(self._loc)}

    @classmethod
    def _from_data(cls, d):
        e = _new(cls)
        e._ts = d["timestamp"]
        e._pid = parse_id(d["packet_id"])
        e._loc = key_from_data(d["location"])
        return e


_PacketRemoved.packet_id = _prop(_PacketRemoved, "_pid")


class _PacketConsumed(_PacketRemoved):
    __slots__ = ()
    _kind = "PacketConsumed"


class _PacketDestroyed(_PacketRemoved):
    __slots__ = ()
    _kind = "PacketDestroyed"


def packet_removed(cls, ts: int, pid: str, key: tuple) -> NetEvent:
    """Build a ``PacketConsumed``/``PacketDestroyed`` event (``cls``)."""
    e = _new(cls)
    e._ts = ts
    e._pid = pid
    e._loc = key
    return e


class _PacketMoved(NetEvent):
    __slots__ = ("_pid", "_from", "_to", "_idx")
    _kind = "PacketMoved"

    @property
    def from_location(self):
        return location_of(self._from)

    @property
    def to_location(self):
        return location_of(self._to)

    def _repr_fields(self):
        return (
            f"packet_id='{self._pid}', from={location_of(self._from)!r}, "
            f"to={location_of(self._to)!r}, from_index={self._idx}"
        )

    def _data(self):
        return {
            "packet_id": self._pid,
            "from_location": key_to_data(self._from),
            "to_location": key_to_data(self._to),
            "from_index": self._idx,
        }

    @classmethod
    def _from_data(cls, d):
        return packet_moved(
            d["timestamp"],
            parse_id(d["packet_id"]),
            key_from_data(d["from_location"]),
            key_from_data(d["to_location"]),
            int(d["from_index"]),
        )


_PacketMoved.packet_id = _prop(_PacketMoved, "_pid")
_PacketMoved.from_index = _prop(_PacketMoved, "_idx")


def packet_moved(ts: int, pid: str, frm: tuple, to: tuple, idx: int) -> NetEvent:
    """Build a ``PacketMoved`` event."""
    e = _new(_PacketMoved)
    e._ts = ts
    e._pid = pid
    e._from = frm
    e._to = to
    e._idx = idx
    return e


class _PacketOrphaned(NetEvent):
    __slots__ = ("_pid", "_eid", "_node", "_port", "_cond")
    _kind = "PacketOrphaned"

    def _repr_fields(self):
        return (
            f"packet_id='{self._pid}', epoch_id='{self._eid}', node={rust_debug(self._node)}, "
            f"port={rust_debug(self._port)}, condition={rust_debug(self._cond)}"
        )

    def _data(self):
        return {
            "packet_id": self._pid,
            "epoch_id": self._eid,
            "node_name": self._node,
            "orphaned_port_name": self._port,
            "salvo_condition": self._cond,
        }

    @classmethod
    def _from_data(cls, d):
        return packet_orphaned(
            d["timestamp"],
            parse_id(d["packet_id"]),
            parse_id(d["epoch_id"]),
            str(d["node_name"]),
            str(d["orphaned_port_name"]),
            str(d["salvo_condition"]),
        )


for _name, _slot in (
    ("packet_id", "_pid"),
    ("epoch_id", "_eid"),
    ("node_name", "_node"),
    ("orphaned_port_name", "_port"),
    ("salvo_condition", "_cond"),
):
    setattr(_PacketOrphaned, _name, _prop(_PacketOrphaned, _slot))


def packet_orphaned(ts: int, pid: str, eid: str, node: str, port: str, cond: str) -> NetEvent:
    """Build a ``PacketOrphaned`` event."""
    e = _new(_PacketOrphaned)
    e._ts = ts
    e._pid = pid
    e._eid = eid
    e._node = node
    e._port = port
    e._cond = cond
    return e


# ---------------------------------------------------------------------------- epoch events
class _EpochIdEvent(NetEvent):
    __slots__ = ("_eid",)

    def _repr_fields(self):
        return f"epoch_id='{self._eid}'"

    def _data(self):
        return {"epoch_id": self._eid}

    @classmethod
    def _from_data(cls, d):
        return epoch_id_event(cls, d["timestamp"], parse_id(d["epoch_id"]))


_EpochIdEvent.epoch_id = _prop(_EpochIdEvent, "_eid")


class _EpochCreated(_EpochIdEvent):
    __slots__ = ()
    _kind = "EpochCreated"


class _EpochStarted(_EpochIdEvent):
    __slots__ = ()
    _kind = "EpochStarted"


def epoch_id_event(cls, ts: int, eid: str) -> NetEvent:
    """Build an ``EpochCreated``/``EpochStarted`` event (``cls``)."""
    e = _new(cls)
    e._ts = ts
    e._eid = eid
    return e


class _EpochSnapshotEvent(NetEvent):
    __slots__ = ("_snap",)

    @property
    def epoch(self):
        return epoch_of(self._snap)

    @property
    def epoch_id(self):
        return self._snap[0]

    def _repr_fields(self):
        return f"epoch={epoch_of(self._snap)!r}"

    def _data(self):
        return {"epoch": snapshot_to_data(self._snap)}

    @classmethod
    def _from_data(cls, d):
        return epoch_snapshot_event(cls, d["timestamp"], snapshot_from_data(d["epoch"]))


class _EpochFinished(_EpochSnapshotEvent):
    __slots__ = ()
    _kind = "EpochFinished"


class _EpochCancelled(_EpochSnapshotEvent):
    __slots__ = ()
    _kind = "EpochCancelled"


def epoch_snapshot_event(cls, ts: int, snap: tuple) -> NetEvent:
    """Build an ``EpochFinished``/``EpochCancelled`` event (``cls``) holding a snapshot tuple."""
    e = _new(cls)
    e._ts = ts
    e._snap = snap
    return e


class _SalvoTriggered(NetEvent):
    __slots__ = ("_eid", "_cond")

    def _repr_fields(self):
        return f"epoch_id='{self._eid}', condition={rust_debug(self._cond)}"

    def _data(self):
        return {"epoch_id": self._eid, "salvo_condition": self._cond}

    @classmethod
    def _from_data(cls, d):
        return salvo_triggered(cls, d["timestamp"], parse_id(d["epoch_id"]), str(d["salvo_condition"]))


_SalvoTriggered.epoch_id = _prop(_SalvoTriggered, "_eid")
_SalvoTriggered.salvo_condition = _prop(_SalvoTriggered, "_cond")


class _InputSalvoTriggered(_SalvoTriggered):
    __slots__ = ()
    _kind = "InputSalvoTriggered"


class _OutputSalvoTriggered(_SalvoTriggered):
    __slots__ = ()
    _kind = "OutputSalvoTriggered"


def salvo_triggered(cls, ts: int, eid: str, cond: str) -> NetEvent:
    """Build an ``InputSalvoTriggered``/``OutputSalvoTriggered`` event (``cls``)."""
    e = _new(cls)
    e._ts = ts
    e._eid = eid
    e._cond = cond
    return e


# -------------------------------------------------------------------------- request events
class _RequestCreated(NetEvent):
    __slots__ = ("_node", "_label", "_source")
    _kind = "RequestCreated"

    def _repr_fields(self):
        return f"node={rust_debug(self._node)}, label={rust_debug(self._label)}, source={rust_debug(self._source)}"

    def _data(self):
        return {"node_name": self._node, "label": self._label, "request_source": self._source}

    @classmethod
    def _from_data(cls, d):
        source = d["request_source"]
        if source not in ("External", "OnStartup", "OnNoSalvoTriggered"):
            raise KeyError("request_source")
        return request_created(d["timestamp"], str(d["node_name"]), str(d["label"]), source)


_RequestCreated.node_name = _prop(_RequestCreated, "_node")
_RequestCreated.label = _prop(_RequestCreated, "_label")
_RequestCreated.request_source = _prop(_RequestCreated, "_source")


def request_created(ts: int, node: str, label: str, source: str) -> NetEvent:
    """Build a ``RequestCreated`` event."""
    e = _new(_RequestCreated)
    e._ts = ts
    e._node = node
    e._label = label
    e._source = source
    return e


class _RequestCascadeResolved(NetEvent):
    __slots__ = ("_sources", "_label")
    _kind = "RequestCascadeResolved"

    @property
    def source_nodes(self):
        return list(self._sources)

    def _repr_fields(self):
        nodes = ", ".join(rust_debug(n) for n in self._sources)
        return f"source_nodes=[{nodes}], label={rust_debug(self._label)}"

    def _data(self):
        return {"source_nodes": list(self._sources), "label": self._label}

    @classmethod
    def _from_data(cls, d):
        return cascade_resolved(d["timestamp"], tuple(str(n) for n in d["source_nodes"]), str(d["label"]))


_RequestCascadeResolved.label = _prop(_RequestCascadeResolved, "_label")


def cascade_resolved(ts: int, sources: tuple, label: str) -> NetEvent:
    """Build a ``RequestCascadeResolved`` event."""
    e = _new(_RequestCascadeResolved)
    e._ts = ts
    e._sources = sources
    e._label = label
    return e


class _RequestEpochCreated(NetEvent):
    __slots__ = ("_eid", "_node", "_label")
    _kind = "RequestEpochCreated"

    def _repr_fields(self):
        return f"epoch_id='{self._eid}', source_node={rust_debug(self._node)}, label={rust_debug(self._label)}"

    def _data(self):
        return {"epoch_id": self._eid, "node_name": self._node, "label": self._label}

    @classmethod
    def _from_data(cls, d):
        return request_epoch_created(d["timestamp"], parse_id(d["epoch_id"]), str(d["node_name"]), str(d["label"]))


_RequestEpochCreated.epoch_id = _prop(_RequestEpochCreated, "_eid")
_RequestEpochCreated.node_name = _prop(_RequestEpochCreated, "_node")
_RequestEpochCreated.label = _prop(_RequestEpochCreated, "_label")


def request_epoch_created(ts: int, eid: str, node: str, label: str) -> NetEvent:
    """Build a ``RequestEpochCreated`` event."""
    e = _new(_RequestEpochCreated)
    e._ts = ts
    e._eid = eid
    e._node = node
    e._label = label
    return e


for _cls in (
    _PacketCreated,
    _PacketRemoved,
    _PacketConsumed,
    _PacketDestroyed,
    _PacketMoved,
    _PacketOrphaned,
    _EpochIdEvent,
    _EpochCreated,
    _EpochStarted,
    _EpochSnapshotEvent,
    _EpochFinished,
    _EpochCancelled,
    _SalvoTriggered,
    _InputSalvoTriggered,
    _OutputSalvoTriggered,
    _RequestCreated,
    _RequestCascadeResolved,
    _RequestEpochCreated,
):
    # type(event).__name__ is "NetEvent", as with the published engine
    _cls.__qualname__ = f"NetEvent[{_cls._kind or _cls.__name__.lstrip('_')}]"
    _cls.__name__ = "NetEvent"

EVENT_CLASSES = {
    cls._kind: cls
    for cls in (
        _PacketCreated,
        _PacketConsumed,
        _PacketDestroyed,
        _PacketMoved,
        _PacketOrphaned,
        _EpochCreated,
        _EpochStarted,
        _EpochFinished,
        _EpochCancelled,
        _InputSalvoTriggered,
        _OutputSalvoTriggered,
        _RequestCreated,
        _RequestCascadeResolved,
        _RequestEpochCreated,
    )
}

PacketCreated = _PacketCreated
PacketConsumed = _PacketConsumed
PacketDestroyed = _PacketDestroyed
PacketMoved = _PacketMoved
PacketOrphaned = _PacketOrphaned
EpochCreated = _EpochCreated
EpochStarted = _EpochStarted
EpochFinished = _EpochFinished
EpochCancelled = _EpochCancelled
InputSalvoTriggered = _InputSalvoTriggered
OutputSalvoTriggered = _OutputSalvoTriggered
RequestCreated = _RequestCreated
RequestCascadeResolved = _RequestCascadeResolved
RequestEpochCreated = _RequestEpochCreated


# ------------------------------------------------------------------ epoch snapshot (de)coding
def _salvo_data(raw: tuple) -> list:
    return [raw[0], [list(p) for p in raw[1]]]


def _salvo_from(data) -> tuple:
    return (str(data[0]), tuple((str(p), parse_id(i)) for p, i in data[1]))


def snapshot_to_data(snap: tuple) -> dict:
    """JSON-able form of an internal epoch snapshot tuple."""
    return {
        "id": snap[0],
        "node_name": snap[1],
        "state": snap[2],
        "in_salvo": _salvo_data(snap[3]),
        "out_salvos": [_salvo_data(s) for s in snap[4]],
        "orphaned_packets": [list(o) for o in snap[5]],
    }


def snapshot_from_data(data: dict) -> tuple:
    """Inverse of :func:`snapshot_to_data`."""
    state = int(data["state"])
    if state not in (0, 1, 2):
        raise KeyError("state")
    return (
        parse_id(data["id"]),
        str(data["node_name"]),
        state,
        _salvo_from(data["in_salvo"]),
        tuple(_salvo_from(s) for s in data["out_salvos"]),
        tuple((parse_id(o[0]), str(o[1]), str(o[2])) for o in data["orphaned_packets"]),
    )
