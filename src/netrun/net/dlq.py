"""The dead-letter queue: epochs that failed for good, with their packets and values.

When an epoch fails after all its retries (and its node has ``dead_letter_queue=True``),
the runtime cancels it in the engine and records a :class:`DeadLetterEntry` holding the
input packets **and their values** (values consumed in the last attempt, and the values of
input packets it had not consumed yet), so nothing is lost.

Modes: ``"memory"`` (kept in a list), ``"file"`` (kept in memory *and* appended to a JSONL
file, one entry per line), or ``"callback"`` (handed to a function, nothing kept).
"""

from __future__ import annotations

import json
import threading
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, List, Optional

from netrun.errors import NodeConfigError

__all__ = ["DeadLetterEntry", "DeadLetterQueue"]

DLQ_FILE_NAME = "dead_letters.jsonl"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return {"__repr__": repr(value), "__type__": type(value).__name__}


@dataclass
class DeadLetterEntry:
    """One epoch that failed for good.

    ``input_packets`` maps each input port to its packet IDs; ``packet_values`` maps packet
    IDs to values: those consumed in the last attempt and those never consumed.
    ``retry_count`` is the number of attempts minus one.
    """

    epoch_id: str
    node_name: str
    exception: BaseException
    retry_count: int
    retry_timestamps: List[datetime]
    retry_exceptions: List[BaseException]
    input_packets: dict
    packet_values: dict
    timestamp: datetime
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (exceptions as type and message; values as JSON or their repr)."""
        return {
            "epoch_id": self.epoch_id,
            "node_name": self.node_name,
            "exception": {"type": type(self.exception).__name__, "message": str(self.exception)},
            "retry_count": self.retry_count,
            "retry_timestamps": [t.isoformat() for t in self.retry_timestamps],
            "retry_exceptions": [
                {"type": type(e).__name__, "message": str(e)} for e in self.retry_exceptions
            ],
            "input_packets": {p: list(ids) for p, ids in self.input_packets.items()},
            "packet_values": {pid: _jsonable(v) for pid, v in self.packet_values.items()},
            "timestamp": self.timestamp.isoformat(),
            **({"extra": _jsonable(self.extra)} if self.extra else {}),
        }


class DeadLetterQueue:
    """Where failed epochs go. ``net.dead_letter_queue``.

    >>> dlq = DeadLetterQueue()          # memory mode
    >>> dlq.get_all()
    []
    """

    def __init__(
        self,
        mode: str = "memory",
        file_path: Optional[str | Path] = None,
        callback: Optional[Callable[[DeadLetterEntry], Any]] = None,
    ) -> None:
        if callable(mode) and callback is None:
            mode, callback = "callback", mode  # a callable may be passed as the mode itself
        if mode not in ("memory", "file", "callback"):
            raise NodeConfigError(
                f"dead_letter_queue must be 'memory', 'file', 'callback' or a callable, got {mode!r}"
            )
        if mode == "file" and file_path is None:
            raise NodeConfigError(
                "dead_letter_queue='file' needs dead_letter_path (a .jsonl file or a folder)"
            )
        if mode == "callback" and not callable(callback):
            raise NodeConfigError(
                "dead_letter_queue='callback' needs dead_letter_callback=<function(entry)>"
            )
        self._mode = mode
        self._callback = callback
        self._entries: list[DeadLetterEntry] = []
        self._lock = threading.Lock()
        self._file: Optional[Path] = None
        if mode == "file":
            path = Path(file_path)  # type: ignore[arg-type]
            if path.is_dir() or str(file_path).endswith(("/", "\\")) or not path.suffix:
                path.mkdir(parents=True, exist_ok=True)
                path = path / DLQ_FILE_NAME
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path

    @property
    def mode(self) -> str:
        """``"memory"``, ``"file"`` or ``"callback"``."""
        return self._mode

    @property
    def file_path(self) -> Optional[Path]:
        """The JSONL file in file mode."""
        return self._file

    def add(self, entry: DeadLetterEntry) -> Any:
        """Record an entry (callback mode: call the callback; its result is returned so an
        async callback's coroutine can be awaited by the runtime)."""
        if self._mode == "callback":
            return self._callback(entry)  # type: ignore[misc]
        with self._lock:
            self._entries.append(entry)
            if self._file is not None:
                try:
                    with open(self._file, "a", encoding="utf-8") as fh:
                        fh.write(json.dumps(entry.to_dict()) + "\n")
                except OSError as exc:
                    warnings.warn(
                        f"Could not append to the dead-letter file {self._file}: {exc}; the "
                        f"entry for epoch {entry.epoch_id} is kept in memory only",
                        RuntimeWarning,
                        stacklevel=2,
                    )
        return None

    def restore(self, entries: List[DeadLetterEntry]) -> None:
        """Put back entries saved in a checkpoint (memory and file modes keep them in memory;
        they are not appended to the file again, which already holds them; callback mode
        keeps nothing, so nothing was saved)."""
        if self._mode == "callback":
            return
        with self._lock:
            self._entries.extend(entries)

    def get_all(self) -> List[DeadLetterEntry]:
        """All kept entries (a copy)."""
        with self._lock:
            return list(self._entries)

    def get_by_node(self, node_name: str) -> List[DeadLetterEntry]:
        """Kept entries of one node."""
        with self._lock:
            return [e for e in self._entries if e.node_name == node_name]

    def clear(self) -> None:
        """Empty the queue (file mode: also delete the file)."""
        with self._lock:
            self._entries.clear()
            if self._file is not None and self._file.exists():
                self._file.unlink()

    def __len__(self) -> int:
        return len(self._entries)
