"""``NetActionLog`` / ``NetEventLog``: the engine actions of a net, as plain records.

Every change to a net's packets and epochs is an engine action (``RunStep``,
``StartEpoch``, ``ConsumePacket``, ``CreatePacket``, ``LoadPacketIntoOutputPort``,
``SendOutputSalvo``, ``FinishEpoch``, ...) that produced engine events. A
:class:`NetActionLog` is one such action with its events, what ``net.on_net_actions``
callbacks receive (a list per step or propagation round), what ``net.net_action_log``
retains and what ``EpochLog.net_actions`` holds for one epoch.

Cost: nothing is recorded unless something wants the records. While it is wanted, an
:class:`ActionRecorder` takes the engine's recorder slot (shared with the event history,
which it forwards to) and stores one raw tuple per action; the log objects are built from
those tuples only when a batch is handed out (:meth:`ActionRecorder.take_batch`) or an
epoch ends (:meth:`ActionRecorder.take_epoch`).

Vocabulary (a deliberate choice): ``action_kind`` is the engine action's name as the event
history writes it (``"StartEpoch"``, not 0.5.0's ``"NetAction.start_epoch"``), and event
``detail`` uses the history's field names, so the two records of one run read alike.
``action_detail`` carries the action's arguments plus ``node_name`` when the action belongs
to an epoch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from netrun.net.history import _action_payload, event_to_data

__all__ = ["NetActionLog", "NetEventLog", "ActionRecorder"]

_utc = timezone.utc
_new = object.__new__
_now = time.time


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


def _parse_time(value: Any, what: str) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{what} must be an ISO-8601 timestamp (as to_dict() writes it), got {value!r}")


def _require(data: Any, keys: tuple[str, ...], what: str) -> None:
    if not isinstance(data, dict):
        raise TypeError(f"{what}.from_dict needs a dict (as to_dict() returns), got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"{what}.from_dict: missing key(s) {', '.join(missing)} in {data!r}; "
                         f"pass a dict made by {what}.to_dict()")


@dataclass
class NetEventLog:
    """One engine event: when (``timestamp``), what (``kind``, e.g. ``"PacketMoved"``) and
    its fields (``detail``, e.g. ``{"packet_id": ..., "from": {...}, "to": {...}}``)."""

    timestamp: datetime
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamp as ISO text)."""
        return {"timestamp": _iso(self.timestamp), "kind": self.kind, "detail": dict(self.detail)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NetEventLog":
        """Inverse of :meth:`to_dict`."""
        _require(data, ("timestamp", "kind"), "NetEventLog")
        return cls(_parse_time(data["timestamp"], "NetEventLog.timestamp"), data["kind"],
                   dict(data.get("detail") or {}))


class NetActionLog:
    """One engine action with the events it produced.

    ``timestamp`` (when it was done), ``action_kind`` (e.g. ``"SendOutputSalvo"``),
    ``action_detail`` (its arguments and the epoch's ``node_name``), ``events`` (a list of
    :class:`NetEventLog`) and ``epoch_id`` (the epoch it acted on; ``None`` for steps,
    injections and packets outside the net).

    Records made by the runtime are filled in lazily: ``action_kind`` and ``epoch_id`` at
    once, the timestamp, detail and events on first access, so a callback that only looks
    at the kinds costs little. Compare with ``==``; ``to_dict`` / ``from_dict`` round-trip.
    """

    __slots__ = ("action_kind", "epoch_id", "_timestamp", "_detail", "_events", "_raw")

    def __init__(self, timestamp: datetime, action_kind: str, action_detail: Optional[dict[str, Any]] = None,
                 events: Optional[list[NetEventLog]] = None, epoch_id: Optional[str] = None) -> None:
        self.action_kind = action_kind
        self.epoch_id = epoch_id
        self._timestamp = timestamp
        self._detail = dict(action_detail) if action_detail is not None else {}
        self._events = list(events) if events is not None else []
        self._raw: Any = None

    @classmethod
    def _of_record(cls, record: tuple, node_name: Optional[str]) -> "NetActionLog":
        log = _new(cls)
        log.action_kind = record[1]
        log.epoch_id = record[4]
        log._raw = (record, node_name)
        return log

    def _fill(self) -> None:
        (wall, name, args, events, _eid, node), node_name = self._raw
        stamp = datetime.fromtimestamp(wall, tz=_utc)
        detail = _action_payload(name, args)
        for key, value in detail.items():
            if isinstance(value, str) and type(value) is not str:  # PacketRef and other str kinds
                detail[key] = str(value)
        node = node or node_name
        if node is not None:
            detail["node_name"] = node
        logs = []
        for event in events or ():
            ts = event.timestamp
            logs.append(NetEventLog(datetime.fromtimestamp(ts / 1000, tz=_utc) if ts else stamp, event.kind,
                                    event_to_data(event)))
        self._timestamp, self._detail, self._events = stamp, detail, logs
        self._raw = None

    @property
    def timestamp(self) -> datetime:
        if self._raw is not None:
            self._fill()
        return self._timestamp

    @timestamp.setter
    def timestamp(self, value: datetime) -> None:
        if self._raw is not None:
            self._fill()
        self._timestamp = value

    @property
    def action_detail(self) -> dict[str, Any]:
        if self._raw is not None:
            self._fill()
        return self._detail

    @action_detail.setter
    def action_detail(self, value: dict[str, Any]) -> None:
        if self._raw is not None:
            self._fill()
        self._detail = value

    @property
    def events(self) -> list[NetEventLog]:
        if self._raw is not None:
            self._fill()
        return self._events

    @events.setter
    def events(self, value: list[NetEventLog]) -> None:
        if self._raw is not None:
            self._fill()
        self._events = value

    def event_kinds(self) -> list[str]:
        """The kinds of the action's events (without building the event records)."""
        if self._raw is not None:
            return [e.kind for e in self._raw[0][3] or ()]
        return [e.kind for e in self._events]

    def _key(self) -> tuple:
        return (self.timestamp, self.action_kind, self.action_detail, self.events, self.epoch_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NetActionLog):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"NetActionLog(timestamp={self.timestamp!r}, action_kind={self.action_kind!r}, "
                f"action_detail={self.action_detail!r}, events={self.events!r}, epoch_id={self.epoch_id!r})")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamps as ISO text, events as dicts)."""
        if self._raw is not None:  # straight from the raw record (no intermediate objects)
            return _raw_to_dict(*self._raw)
        return {
            "timestamp": _iso(self.timestamp),
            "action_kind": self.action_kind,
            "action_detail": dict(self.action_detail),
            "events": [e.to_dict() for e in self.events],
            "epoch_id": self.epoch_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NetActionLog":
        """Inverse of :meth:`to_dict`."""
        _require(data, ("timestamp", "action_kind"), "NetActionLog")
        return cls(
            timestamp=_parse_time(data["timestamp"], "NetActionLog.timestamp"),  # type: ignore[arg-type]
            action_kind=data["action_kind"],
            action_detail=dict(data.get("action_detail") or {}),
            events=[e if isinstance(e, NetEventLog) else NetEventLog.from_dict(e)
                    for e in data.get("events") or ()],
            epoch_id=data.get("epoch_id"),
        )


# Actions whose first argument is the epoch they act on, and those whose epoch is read from
# their first event's packet location.
_EPOCH_ARG = frozenset({"StartEpoch", "FinishEpoch", "CancelEpoch", "SendOutputSalvo", "CreatePacket"})
_EPOCH_FROM_EVENT = frozenset({"ConsumePacket", "LoadPacketIntoOutputPort", "DestroyPacket"})


def _event_epoch(event: Any) -> Optional[str]:
    location = event.location if event.kind != "PacketMoved" else event.to_location
    if location is None:
        return None
    kind = location.kind
    return location.epoch_id if kind == "Node" or kind == "OutputPort" else None


class ActionRecorder:
    """The engine's action recorder while action logs are wanted (see module docs).

    ``history``: the event history to forward every action to (or ``None``);
    ``node_of(epoch_id)``: the node of a live epoch; ``batching``: keep every action for
    :meth:`take_batch`; ``per_epoch``: keep each epoch's actions for :meth:`take_epoch` (only
    of the nodes in ``epoch_nodes`` unless it is ``None``).
    The engine calls :meth:`record_engine_action` with its lock held; the take methods
    are called with the same lock (``lock``) so worker threads cannot interleave.
    """

    __slots__ = ("history", "node_of", "lock", "batching", "per_epoch", "epoch_nodes", "_batch", "_epochs")

    def __init__(self, history: Any, node_of: Callable[[str], Optional[str]], lock: Any) -> None:
        self.history = history
        self.node_of = node_of
        self.lock = lock
        self.batching = False
        self.per_epoch = False
        self.epoch_nodes: Optional[frozenset] = None  # per-epoch records for these nodes only (None: all)
        self._batch: list[tuple] = []
        self._epochs: dict[str, list[tuple]] = {}

    # -- recording (engine lock held) -------------------------------------------------
    def record_engine_action(self, name: str, args: Any, events: Optional[list]) -> None:
        history = self.history
        if history is not None:
            history.record_engine_action(name, args, events)
        eid = None
        if name in _EPOCH_ARG:
            eid = args[0] if args else None
        elif events and name in _EPOCH_FROM_EVENT:
            eid = _event_epoch(events[0])
        batching = self.batching
        # the node is looked up only where it is needed later: a batch handed out after the
        # epoch ended, or a per-node filter (per-epoch records get it from take_epoch)
        node = self.node_of(eid) if eid is not None and (batching or self.epoch_nodes is not None) else None
        record = (_now(), name, args, events, eid, node)
        if batching:
            self._batch.append(record)
        if eid is not None and self.per_epoch and (self.epoch_nodes is None or node in self.epoch_nodes):
            records = self._epochs.get(eid)
            if records is None:
                self._epochs[eid] = [record]
            else:
                records.append(record)

    # -- handing out ------------------------------------------------------------------
    def has_batch(self) -> bool:
        """Whether actions were recorded since the last :meth:`take_batch`."""
        return bool(self._batch)

    def take_batch(self) -> list[NetActionLog]:
        """The actions recorded since the last call, as logs (oldest first)."""
        with self.lock:
            batch, self._batch = self._batch, []
        return [_to_log(r) for r in batch]

    def take_epoch(self, epoch_id: str, node_name: Optional[str] = None) -> list[NetActionLog]:
        """The actions of one epoch (and forget them); ``node_name`` fills in the node for
        actions recorded after the epoch left the runtime's index."""
        with self.lock:
            records = self._epochs.pop(epoch_id, None)
        if not records:
            return []
        return [_to_log(r, node_name) for r in records]

    def forget_epochs(self) -> None:
        """Drop every per-epoch record (per-epoch recording was switched off)."""
        with self.lock:
            self._epochs.clear()


_ms_iso: dict[int, str] = {}


def _iso_ms(ms: int) -> str:
    """ISO text of an engine event timestamp (milliseconds), cached: events of one
    millisecond share it."""
    text = _ms_iso.get(ms)
    if text is None:
        if len(_ms_iso) > 4096:
            _ms_iso.clear()
        text = _ms_iso[ms] = datetime.fromtimestamp(ms / 1000, tz=_utc).isoformat()
    return text


def _raw_to_dict(record: tuple, node_name: Optional[str]) -> dict[str, Any]:
    wall, name, args, events, eid, node = record
    stamp = datetime.fromtimestamp(wall, tz=_utc).isoformat()
    detail = _action_payload(name, args)
    for key, value in detail.items():
        if isinstance(value, str) and type(value) is not str:
            detail[key] = str(value)
    node = node or node_name
    if node is not None:
        detail["node_name"] = node
    return {
        "timestamp": stamp,
        "action_kind": name,
        "action_detail": detail,
        "events": [{"timestamp": _iso_ms(e.timestamp) if e.timestamp else stamp, "kind": e.kind,
                    "detail": event_to_data(e)} for e in events or ()],
        "epoch_id": eid,
    }


def _to_log(record: tuple, node_name: Optional[str] = None) -> NetActionLog:
    return NetActionLog._of_record(record, node_name)


def count_flow(actions: list[NetActionLog]) -> tuple[int, int, int]:
    """``(out_salvo_count, orphaned_packet_count, destroyed_packet_count)`` of one epoch's
    actions."""
    sent = orphaned = destroyed = 0
    for action in actions:
        if action.action_kind == "SendOutputSalvo":
            sent += 1
        for kind in action.event_kinds():
            if kind == "PacketOrphaned":
                orphaned += 1
            elif kind == "PacketDestroyed":
                destroyed += 1
    return sent, orphaned, destroyed
