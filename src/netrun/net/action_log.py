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


@dataclass
class NetActionLog:
    """One engine action with the events it produced.

    ``epoch_id`` is the epoch the action acted on (``None`` for steps, injections and
    packets outside the net); ``action_detail`` holds the action's arguments (and the
    epoch's ``node_name``).
    """

    timestamp: datetime
    action_kind: str
    action_detail: dict[str, Any] = field(default_factory=dict)
    events: list[NetEventLog] = field(default_factory=list)
    epoch_id: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamps as ISO text, events as dicts)."""
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
        node = self.node_of(eid) if eid is not None else None
        record = (time.time(), name, args, events, eid, node)
        if self.batching:
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


def _to_log(record: tuple, node_name: Optional[str] = None) -> NetActionLog:
    wall, name, args, events, eid, node = record
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
    return NetActionLog(stamp, name, detail, logs, eid)


def count_flow(actions: list[NetActionLog]) -> tuple[int, int, int]:
    """``(out_salvo_count, orphaned_packet_count, destroyed_packet_count)`` of one epoch's
    actions."""
    sent = orphaned = destroyed = 0
    for action in actions:
        if action.action_kind == "SendOutputSalvo":
            sent += 1
        for event in action.events:
            kind = event.kind
            if kind == "PacketOrphaned":
                orphaned += 1
            elif kind == "PacketDestroyed":
                destroyed += 1
    return sent, orphaned, destroyed
