"""``EpochLog``: the record of one finished epoch handed to ``on_epoch_end`` callbacks.

Field names follow the published 0.5.0 runtime. The runtime builds one only when an
``on_epoch_end`` callback is registered, so plain runs pay nothing for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Optional

__all__ = ["EpochLog", "EpochOutcome"]


class EpochOutcome:
    """The ``outcome`` values of an :class:`EpochLog`."""

    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"
    CACHE_HIT = "cache_hit"
    FILE_STORAGE_HIT = "file_storage_hit"


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


@dataclass
class EpochLog:
    """What happened in one epoch: identity, timing, outcome, where it ran, flow, output."""

    epoch_id: str
    node_name: str
    timestamp: Optional[datetime] = None
    created_at: Optional[datetime] = None
    started_at: Optional[datetime] = None
    ended_at: Optional[datetime] = None
    duration_ms: Optional[float] = None
    queue_time_ms: Optional[float] = None
    outcome: str = EpochOutcome.SUCCESS
    error: Optional[str] = None
    error_type: Optional[str] = None
    error_traceback: Optional[str] = None
    pool_id: Optional[str] = None
    worker_id: Optional[int] = None
    retry_count: int = 0
    was_cache_hit: bool = False
    was_file_storage_hit: bool = False
    in_salvo_ports: list[str] = field(default_factory=list)
    in_salvo_packet_count: int = 0
    out_salvo_count: int = 0
    orphaned_packet_count: int = 0
    destroyed_packet_count: int = 0
    factory: Optional[str] = None
    node_log_entries: list[dict[str, Any]] = field(default_factory=list)
    user_fields: dict[str, Any] = field(default_factory=dict)
    net_actions: list[dict[str, Any]] = field(default_factory=list)
    logs: list[tuple[datetime, str]] = field(default_factory=list)

    @property
    def was_cancelled(self) -> bool:
        """Whether the epoch was cancelled (by ``ctx.cancel_epoch()``)."""
        return self.outcome == EpochOutcome.CANCELLED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (datetimes as ISO text)."""
        data = asdict(self)
        for key in ("timestamp", "created_at", "started_at", "ended_at"):
            data[key] = _iso(getattr(self, key))
        data["logs"] = [[_iso(t), text] for t, text in self.logs]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EpochLog":
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        for key in ("timestamp", "created_at", "started_at", "ended_at"):
            if values.get(key) is not None:
                values[key] = datetime.fromisoformat(values[key])
        values["logs"] = [(datetime.fromisoformat(t), text) for t, text in values.get("logs", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})
