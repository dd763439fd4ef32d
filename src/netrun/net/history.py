"""Event history: every engine action and event, with traceability, as JSONL.

The runtime records each engine action together with the events it produced, cheaply: one
compact tuple of plain values per action on the history's *tape* (the engine's fast lane
writes them; the events themselves are rebuilt from the tuple when read).
:class:`HistoryEntry` objects (and JSON lines) are built only when someone reads the history
or when a chunk is written to the file, so recording costs little on the hot path. Entry IDs are ``"<prefix>-<n>"`` (the prefix is random per history, so
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
from operator import itemgetter
from typing import Any, Dict, Iterable, List, Optional

try:  # the project's own engine: records written by its fast lane's recording form
    from netrun_sim._fastlane import tape_action
except ImportError:  # pragma: no cover - the published engine: only "act" records occur
    tape_action = None

__all__ = ["EventHistory", "HistoryEntry"]

_entry_count = itemgetter(1)  # entries of a tape record: the action and its events

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
    """ISO-8601 text of the last timestamp (in seconds), computed once per distinct value."""

    __slots__ = ("_value", "_text")

    def __init__(self) -> None:
        self._value: Optional[float] = None
        self._text = ""

    def text(self, seconds: float) -> str:
        if seconds != self._value:
            self._value = seconds
            self._text = datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
        return self._text


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

    Recording: the engine adapter appends one compact tuple per engine action to
    :attr:`tape` (``netrun_sim``'s fast-lane tape format, see ``netrun_sim._fastlane``), and
    :meth:`record_engine_action` / :meth:`record_action` / :meth:`record_event` append theirs
    to the same list, so the order of the tape is the order of the history. The tape is
    *sealed* (numbered and moved to memory and to the file buffer) when it grows past
    :attr:`seal_every` tuples, and whenever someone reads, flushes or records by hand.
    Entries and JSON lines are built from the tuples only when read or written. Writes to
    the file therefore happen at seals: once ``chunk_size`` entries are buffered, the next
    seal appends them all.
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
        #: unsealed records, appended by the engine adapter (never rebound: emptied in place)
        self.tape: list[tuple] = []
        #: seal once the tape holds this many records (each is at least one entry)
        every = max(64, min(max_size // 2 if max_size else 1024, 1024))
        self.seal_every = min(every, chunk_size) if self._file is not None else every
        self._seq = 0  # number of the first entry of the tape
        # sealed segments: (first entry number, records, entry count)
        self._memory: deque[tuple] = deque()
        self._memory_entries = 0
        self._pending: list[tuple] = []
        self._pending_entries = 0
        self._current_action: Optional[str] = None
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
        with self._lock:
            self._seal()
            if self._max is None:
                return self._memory_entries
            return min(self._memory_entries, self._max)

    # -- recording --------------------------------------------------------------------
    def seal(self) -> None:
        """Number the records on the tape and move them to memory and the file buffer
        (writing the buffer once it holds a chunk). Called by the engine's lane when the
        tape is full, and by every reader."""
        with self._lock:
            self._seal()

    def _seal(self) -> tuple[int, list]:
        # Called with the lock held. The lane may append concurrently (under the engine
        # lock, not this one): only the records copied here are removed from the front.
        # Returns the first sequence number of the sealed records and the records.
        tape = self.tape
        if not tape:
            return self._seq, []
        records = tape[:]
        del tape[:len(records)]
        entries = sum(map(_entry_count, records))
        segment = (self._seq, records, entries)
        self._seq += entries
        if self._max != 0:
            memory = self._memory
            memory.append(segment)
            self._memory_entries += entries
            limit = self._max
            if limit is not None:  # keep the newest segments that hold at least max_size entries
                while self._memory_entries - memory[0][2] >= limit:
                    self._memory_entries -= memory.popleft()[2]
        if self._file is not None:
            self._pending.append(segment)
            self._pending_entries += entries
            if self._pending_entries >= self._chunk:
                self._write_pending()
        return segment[0], records

    def record_engine_action(self, name: str, data: Any, events: Optional[list]) -> None:
        """Record one engine action and its events (used by the runtime; cheap).

        Callers hold the engine lock, which serialises these calls with the engine's lane.
        """
        tape = self.tape
        tape.append(("act", 1 + len(events) if events else 1, time.time_ns(), name, data, events))
        if len(tape) >= self.seal_every:
            self.seal()

    def _record_by_hand(self, kind: str, name: str, data: Optional[Dict[str, Any]], link: Optional[str]) -> str:
        record = ("hand", 1, time.time_ns(), kind, name, dict(data or {}), link)
        with self._lock:
            # the engine's lane may append between any two steps here (it holds the engine
            # lock, not this one), so the ID is read from where the record was sealed
            self.tape.append(record)
            start, records = self._seal()
            for earlier in records:
                if earlier is record:
                    break
                start += _entry_count(earlier)
            return f"{self._prefix}-{start}"

    def record_action(self, action_type: str, data: Optional[Dict[str, Any]] = None) -> str:
        """Record an action by hand; it becomes the current action for later events."""
        self._current_action = self._record_by_hand("action", action_type, data, None)
        return self._current_action

    def record_event(
        self, event_type: str, data: Optional[Dict[str, Any]] = None, action_id: Optional[str] = None
    ) -> str:
        """Record an event by hand, linked to ``action_id`` or the current action."""
        link = action_id if action_id is not None else self._current_action
        return self._record_by_hand("event", event_type, data, link)

    # -- materialising ----------------------------------------------------------------
    def _rows(self, segments: Iterable[tuple]) -> Iterable[tuple]:
        """``(entry_id, seconds, type, name, action_id, data)`` of every entry of the
        segments, in order (``data`` is a fresh dict)."""
        prefix = self._prefix
        for seq, records, _ in segments:
            for record in records:
                code = record[0]
                entry_id = f"{prefix}-{seq}"
                wall = record[2] / 1e9
                if code == "hand":
                    yield entry_id, wall, record[3], record[4], record[6], dict(record[5])
                    seq += 1
                    continue
                if code == "act":
                    name, args, events = record[3], record[4], record[5]
                else:
                    name, args, events = tape_action(record)
                yield entry_id, wall, "action", name, None, _action_payload(name, args)
                for i, event in enumerate(events or ()):
                    ts = getattr(event, "timestamp", None)
                    yield (f"{prefix}-{seq + 1 + i}", ts / 1000 if ts else wall, "event", event.kind,
                           entry_id, event_to_data(event))
                seq += record[1]

    def get_entries(self, entry_type: Optional[str] = None, limit: Optional[int] = None) -> List[HistoryEntry]:
        """Entries in memory, oldest first; optionally of one type and only the last ``limit``."""
        with self._lock:
            self._seal()
            segments = list(self._memory)
        stamps: dict[float, datetime] = {}
        entries = []
        for entry_id, seconds, kind, name, link, data in self._rows(segments):
            stamp = stamps.get(seconds)
            if stamp is None:
                stamp = stamps[seconds] = datetime.fromtimestamp(seconds, tz=timezone.utc)
            if kind == "action":
                entries.append(HistoryEntry(entry_id, stamp, kind, action_type=name, data=data))
            else:
                entries.append(HistoryEntry(entry_id, stamp, kind, event_type=name, action_id=link, data=data))
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
        # Called with the lock held. Builds the JSON lines straight from the records
        # (the same content as HistoryEntry.to_dict, without the intermediate objects).
        if not self._pending or self._file is None:
            return
        segments, self._pending = self._pending, []
        self._pending_entries = 0
        dumps = self._encoder.encode
        iso = _IsoCache()
        lines = []
        for entry_id, seconds, kind, name, link, data in self._rows(segments):
            entry: dict[str, Any] = {"id": entry_id, "timestamp": iso.text(seconds), "type": kind,
                                     kind: name}
            if link is not None:
                entry["action_id"] = link
            if data:
                entry["data"] = data
            lines.append(dumps(entry))
        with open(self._file, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")

    def flush(self) -> None:
        """Append buffered entries to the file (no-op without a file)."""
        with self._lock:
            self._seal()
            self._write_pending()

    def clear(self) -> None:
        """Empty memory and buffer, and delete the file."""
        with self._lock:
            del self.tape[:]
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
