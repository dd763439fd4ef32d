"""Event history: every engine action and event, with traceability, as JSONL.

The runtime records each engine action together with the events it produced, cheaply: a
raw tuple per action. :class:`HistoryEntry` objects (and JSON lines) are built only when
someone reads the history or when a chunk is written to the file, so recording costs little
on the hot path. Entry IDs are ``"<prefix>-<n>"`` (the prefix is random per history, so
IDs stay unique when several runs append to one file); each event carries the ``action_id``
of the action that caused it.

JSONL format (one :meth:`HistoryEntry.to_dict` per line)::

    {"id": "3f9a1c-1", "timestamp": "...", "type": "action", "action": "RunStep", "data": {}}
    {"id": "3f9a1c-2", "timestamp": "...", "type": "event", "event": "PacketMoved",
     "action_id": "3f9a1c-1", "data": {"packet_id": "...", "from": {...}, "to": {...}, ...}}
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

__all__ = ["EventHistory", "HistoryEntry"]

# Which event properties are meaningful per event kind (the engine returns None for others).
_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "PacketCreated": ("packet_id",),
    "PacketConsumed": ("packet_id", "location"),
    "PacketDestroyed": ("packet_id", "location"),
    "EpochCreated": ("epoch_id",),
    "EpochStarted": ("epoch_id",),
    "EpochFinished": ("epoch_id", "epoch"),
    "EpochCancelled": ("epoch_id", "epoch"),
    "PacketMoved": ("packet_id", "from_location", "to_location", "from_index"),
    "InputSalvoTriggered": ("epoch_id", "salvo_condition"),
    "OutputSalvoTriggered": ("epoch_id", "salvo_condition"),
    "PacketOrphaned": ("packet_id", "epoch_id", "node_name", "orphaned_port_name", "salvo_condition"),
    "RequestCreated": ("node_name", "label", "request_source"),
    "RequestCascadeResolved": ("source_nodes", "label"),
    "RequestEpochCreated": ("epoch_id", "node_name", "label"),
}
_RENAME = {"from_location": "from", "to_location": "to", "orphaned_port_name": "port"}

# Names of the raw arguments the runtime records per engine action.
_ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "CreatePacket": ("epoch_id",),
    "ConsumePacket": ("packet_id",),
    "DestroyPacket": ("packet_id",),
    "LoadPacketIntoOutputPort": ("packet_id", "port_name"),
    "SendOutputSalvo": ("epoch_id", "salvo_condition"),
    "TransportPacketToLocation": ("packet_id", "destination"),
    "StartEpoch": ("epoch_id",),
    "FinishEpoch": ("epoch_id",),
    "CancelEpoch": ("epoch_id",),
    "CreateEpoch": ("node_name", "salvo_condition", "packets"),
    "UndoAction": ("action",),
}


def location_to_dict(location: Any) -> dict[str, Any]:
    """A ``PacketLocation`` as plain data."""
    kind = location.kind
    out: dict[str, Any] = {"kind": kind}
    if kind == "InputPort":
        out["node"] = location.node_name
        out["port"] = location.port_name
    elif kind == "OutputPort":
        out["epoch_id"] = location.epoch_id
        out["port"] = location.port_name
    elif kind == "Node":
        out["epoch_id"] = location.epoch_id
    elif kind == "Edge":
        out["edge"] = str(location.get_edge())
    return out


def event_to_data(event: Any) -> dict[str, Any]:
    """The meaningful fields of an engine ``NetEvent`` as plain data."""
    data: dict[str, Any] = {}
    for name in _EVENT_FIELDS.get(event.kind, ()):
        value = getattr(event, name)
        if value is None:
            continue
        if name in ("location", "from_location", "to_location"):
            value = location_to_dict(value)
        elif name == "epoch":
            value = {"node_name": value.node_name, "salvo_condition": value.in_salvo.salvo_condition}
            name = "epoch_info"
        data[_RENAME.get(name, name)] = value
    return data


def _action_payload(name: str, data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return dict(data)
    if not data:
        return {}
    names = _ACTION_FIELDS.get(name, ())
    if len(names) == len(data):
        return {k: v for k, v in zip(names, data) if v is not None}
    return {"args": list(data)}


class _IsoCache:
    """ISO-8601 texts of timestamps, computed once per distinct value."""

    __slots__ = ("_wall", "_wall_text", "_ms", "_ms_text")

    def __init__(self) -> None:
        self._wall = self._ms = None
        self._wall_text = self._ms_text = ""

    def wall(self, value: float) -> str:
        if value != self._wall:
            self._wall = value
            self._wall_text = datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
        return self._wall_text

    def millis(self, value: int) -> str:
        if value != self._ms:
            self._ms = value
            self._ms_text = datetime.fromtimestamp(value / 1000, tz=timezone.utc).isoformat()
        return self._ms_text


@dataclass
class HistoryEntry:
    """One recorded action or event; ``entry_type`` is ``"action"`` or ``"event"``."""

    id: str
    timestamp: datetime
    entry_type: str
    action_type: Optional[str] = None
    event_type: Optional[str] = None
    action_id: Optional[str] = None
    data: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (optional keys only when set)."""
        out: dict[str, Any] = {
            "id": self.id,
            "timestamp": self.timestamp.isoformat(),
            "type": self.entry_type,
        }
        if self.action_type is not None:
            out["action"] = self.action_type
        if self.event_type is not None:
            out["event"] = self.event_type
        if self.action_id is not None:
            out["action_id"] = self.action_id
        if self.data:
            out["data"] = self.data
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HistoryEntry":
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=data["id"],
            timestamp=datetime.fromisoformat(data["timestamp"]),
            entry_type=data["type"],
            action_type=data.get("action"),
            event_type=data.get("event"),
            action_id=data.get("action_id"),
            data=dict(data.get("data") or {}),
        )


class EventHistory:
    """Bounded in-memory history with chunked appends to a JSONL file.

    ``max_size`` bounds the entries kept in memory (``None`` = unbounded, ``0`` = none, file
    only); ``chunk_size`` entries are buffered before each append to ``file_path``;
    ``flush_on_pause`` makes the runtime flush whenever the net pauses or becomes blocked.
    """

    def __init__(
        self,
        max_size: Optional[int] = None,
        file_path: Optional[str | Path] = None,
        chunk_size: int = 100,
        flush_on_pause: bool = True,
    ) -> None:
        if max_size is not None and max_size < 0:
            raise ValueError(f"history max_size must be >= 0 or None, got {max_size}")
        if chunk_size < 1:
            raise ValueError(f"history chunk_size must be >= 1, got {chunk_size}")
        self._max = max_size
        self._file = Path(file_path) if file_path is not None else None
        if self._file is not None:
            self._file.parent.mkdir(parents=True, exist_ok=True)
        self._chunk = chunk_size
        self._flush_on_pause = flush_on_pause
        self._prefix = secrets.token_hex(3)
        self._lock = threading.Lock()
        self._seq = 0
        # raw records: (seq, wall_time, kind, name, data, events, action_id, entry_count)
        self._memory: deque[tuple] = deque()
        self._memory_entries = 0
        self._pending: list[tuple] = []
        self._pending_entries = 0
        self._current_action: Optional[str] = None
        # trimmed in batches of about half the size (at least 256 entries): readers never
        # see more than max_size entries, and recording stays cheap
        self._trim_at = (max_size + max(256, max_size // 2)) if max_size else 0
        self._encoder = json.JSONEncoder(default=str)

    # -- properties -------------------------------------------------------------------
    @property
    def file_path(self) -> Optional[Path]:
        return self._file

    @property
    def flush_on_pause(self) -> bool:
        return self._flush_on_pause

    @property
    def max_size(self) -> Optional[int]:
        return self._max

    @property
    def chunk_size(self) -> int:
        return self._chunk

    def __len__(self) -> int:
        if self._max is None:
            return self._memory_entries
        return min(self._memory_entries, self._max)

    # -- recording --------------------------------------------------------------------
    def _add(self, record: tuple, entries: int) -> None:
        # Called with the lock held. The last field of a record is its entry count.
        if self._max != 0:
            self._memory.append(record)
            self._memory_entries += entries
            if self._max is not None and self._memory_entries > self._trim_at:
                self._trim()
        if self._file is not None:
            self._pending.append(record)
            self._pending_entries += entries
            if self._pending_entries >= self._chunk:
                self._write_pending()

    def _trim(self) -> None:
        # Trimming in batches (memory may exceed max_size by half between trims) keeps
        # recording cheap; readers still see at most max_size entries.
        memory = self._memory
        limit = self._max
        while memory and self._memory_entries - memory[0][7] >= limit:
            self._memory_entries -= memory.popleft()[7]

    def record_engine_action(self, name: str, data: Any, events: Optional[list]) -> None:
        """Record one engine action and its events (used by the runtime; cheap).

        Callers hold the engine lock, which serialises these calls; only trimming and file
        writes, which other methods also do, take the history's own lock.
        """
        entries = 1 + len(events) if events else 1
        seq = self._seq
        self._seq = seq + entries
        record = (seq, time.time(), "action", name, data, events, None, entries)
        if self._max != 0:
            self._memory.append(record)
            self._memory_entries += entries
            if self._max is not None and self._memory_entries > self._trim_at:
                with self._lock:
                    self._trim()
        if self._file is not None:
            self._pending.append(record)
            self._pending_entries += entries
            if self._pending_entries >= self._chunk:
                with self._lock:
                    self._write_pending()

    def record_action(self, action_type: str, data: Optional[Dict[str, Any]] = None) -> str:
        """Record an action by hand; it becomes the current action for later events."""
        with self._lock:
            seq = self._seq
            self._seq += 1
            self._add((seq, time.time(), "action", action_type, dict(data or {}), None, None, 1), 1)
            self._current_action = f"{self._prefix}-{seq}"
            return self._current_action

    def record_event(
        self, event_type: str, data: Optional[Dict[str, Any]] = None, action_id: Optional[str] = None
    ) -> str:
        """Record an event by hand, linked to ``action_id`` or the current action."""
        with self._lock:
            seq = self._seq
            self._seq += 1
            link = action_id if action_id is not None else self._current_action
            self._add((seq, time.time(), "event", event_type, dict(data or {}), None, link, 1), 1)
            return f"{self._prefix}-{seq}"

    # -- materialising ----------------------------------------------------------------
    def _entries_from(self, record: tuple) -> Iterable[HistoryEntry]:
        seq, wall, kind, name, data, events, link, _ = record
        prefix = self._prefix
        stamp = datetime.fromtimestamp(wall, tz=timezone.utc)
        entry_id = f"{prefix}-{seq}"
        if kind == "event":
            yield HistoryEntry(entry_id, stamp, "event", event_type=name, action_id=link,
                               data=dict(data) if data else {})
            return
        yield HistoryEntry(entry_id, stamp, "action", action_type=name, data=_action_payload(name, data))
        for i, event in enumerate(events or ()):
            ts = getattr(event, "timestamp", None)
            ev_stamp = datetime.fromtimestamp(ts / 1000, tz=timezone.utc) if ts else stamp
            yield HistoryEntry(f"{prefix}-{seq + 1 + i}", ev_stamp, "event", event_type=event.kind,
                               action_id=entry_id, data=event_to_data(event))

    def get_entries(self, entry_type: Optional[str] = None, limit: Optional[int] = None) -> List[HistoryEntry]:
        """Entries in memory, oldest first; optionally of one type and only the last ``limit``."""
        with self._lock:
            records = list(self._memory)
        entries = [e for r in records for e in self._entries_from(r)]
        if self._max is not None and len(entries) > self._max:
            entries = entries[len(entries) - self._max:]
        if entry_type is not None:
            entries = [e for e in entries if e.entry_type == entry_type]
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return entries

    def get_actions(self, limit: Optional[int] = None) -> List[HistoryEntry]:
        """Action entries."""
        return self.get_entries("action", limit)

    def get_events(self, limit: Optional[int] = None) -> List[HistoryEntry]:
        """Event entries."""
        return self.get_entries("event", limit)

    def get_events_for_action(self, action_id: str) -> List[HistoryEntry]:
        """Events caused by one action."""
        return [e for e in self.get_entries("event") if e.action_id == action_id]

    # -- file -------------------------------------------------------------------------
    def _write_pending(self) -> None:
        # Called with the lock held. Builds the JSON lines straight from the raw records
        # (the same content as HistoryEntry.to_dict, without the intermediate objects).
        if not self._pending or self._file is None:
            return
        records, self._pending = self._pending, []
        self._pending_entries = 0
        dumps = self._encoder.encode
        iso = _IsoCache()
        prefix = self._prefix
        lines = []
        for seq, wall, kind, name, data, events, link, _ in records:
            entry: dict[str, Any] = {"id": f"{prefix}-{seq}", "timestamp": iso.wall(wall), "type": kind}
            if kind == "event":
                entry["event"] = name
                if link is not None:
                    entry["action_id"] = link
                if data:
                    entry["data"] = data
                lines.append(dumps(entry))
                continue
            entry["action"] = name
            payload = _action_payload(name, data)
            if payload:
                entry["data"] = payload
            lines.append(dumps(entry))
            action_id = entry["id"]
            for i, event in enumerate(events or ()):
                ts = event.timestamp
                line: dict[str, Any] = {"id": f"{prefix}-{seq + 1 + i}",
                                        "timestamp": iso.millis(ts) if ts else entry["timestamp"],
                                        "type": "event", "event": event.kind, "action_id": action_id}
                ev_data = event_to_data(event)
                if ev_data:
                    line["data"] = ev_data
                lines.append(dumps(line))
        with open(self._file, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

    def flush(self) -> None:
        """Append buffered entries to the file (no-op without a file)."""
        with self._lock:
            self._write_pending()

    def clear(self) -> None:
        """Empty memory and buffer, and delete the file."""
        with self._lock:
            self._memory.clear()
            self._memory_entries = 0
            self._pending.clear()
            self._pending_entries = 0
            if self._file is not None and self._file.exists():
                self._file.unlink()

    @staticmethod
    def load_file(path: str | Path) -> List[HistoryEntry]:
        """Read a history JSONL file back into entries."""
        with open(path, encoding="utf-8") as fh:
            return [HistoryEntry.from_dict(json.loads(line)) for line in fh if line.strip()]
