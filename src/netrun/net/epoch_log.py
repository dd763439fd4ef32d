"""``EpochLog``: the record of one ended epoch, handed to ``on_epoch_end`` callbacks.

Field names and the ``to_dict`` layout follow the published 0.5.0 runtime:

* identity: ``epoch_id``, ``node_name``, ``timestamp`` (when the record was made);
* timing: ``created_at``, ``started_at``, ``ended_at``, ``duration_ms`` (start to end),
  ``queue_time_ms`` (creation to start);
* outcome: ``outcome`` (see :class:`EpochOutcome`), ``error``, ``error_type``,
  ``error_traceback`` (set for ``"error"``);
* execution: ``pool_id``, ``worker_id``, ``retry_count``, ``was_cache_hit``,
  ``was_file_storage_hit``;
* flow: ``in_salvo_ports``, ``in_salvo_packet_count``, ``out_salvo_count``,
  ``orphaned_packet_count``, ``destroyed_packet_count`` (the last three ``None`` when the
  net does not record epoch actions: ``net.epoch_log_net_actions = False``);
* ``factory`` (the node factory's import path, for nodes made by one);
* logs: ``node_log_entries`` (the ``ctx.log`` entries: ``{"timestamp", "message",
  "level", "fields"}``), ``user_fields`` (all their fields merged, later entries winning),
  ``net_actions`` (the epoch's :class:`~netrun.net.action_log.NetActionLog` records) and
  ``logs`` (every log line of the epoch as ``(datetime, text)``: prints, ``ctx.log`` lines
  formatted ``"message | k=v"``, failure notes).

``from_dict(to_dict())`` gives back an equal record. The runtime builds records only when
something consumes them (``on_epoch_end`` callbacks, ``retain_epoch_logs``, ``run_step``
collection), so plain runs pay nothing.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field, fields as dc_fields
from datetime import datetime, timezone
from typing import Any, Optional

from netrun.net.action_log import NetActionLog, count_flow

__all__ = ["EpochLog", "EpochOutcome", "build_epoch_log"]

_utc = timezone.utc
_TIME_FIELDS = ("timestamp", "created_at", "started_at", "ended_at")


class EpochOutcome:
    """The ``outcome`` values of an :class:`EpochLog`."""

    SUCCESS = "success"
    ERROR = "error"
    CANCELLED = "cancelled"
    CACHE_HIT = "cache_hit"
    FILE_STORAGE_HIT = "file_storage_hit"

    ALL = (SUCCESS, ERROR, CANCELLED, CACHE_HIT, FILE_STORAGE_HIT)


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


def _time(value: Any, what: str) -> Optional[datetime]:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"EpochLog.from_dict: {what} must be an ISO-8601 timestamp, got {value!r}")


@dataclass
class EpochLog:
    """What happened in one epoch (see the module docstring for the fields)."""

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
    out_salvo_count: Optional[int] = 0
    orphaned_packet_count: Optional[int] = 0
    destroyed_packet_count: Optional[int] = 0
    factory: Optional[str] = None
    node_log_entries: list[dict[str, Any]] = field(default_factory=list)
    user_fields: dict[str, Any] = field(default_factory=dict)
    net_actions: list[NetActionLog] = field(default_factory=list)
    logs: list[tuple[datetime, str]] = field(default_factory=list)

    @property
    def was_cancelled(self) -> bool:
        """Whether the epoch was cancelled (by ``ctx.cancel_epoch()``)."""
        return self.outcome == EpochOutcome.CANCELLED

    @property
    def succeeded(self) -> bool:
        """Whether the epoch produced its outputs (ran, or was served from a cache)."""
        return self.outcome in (EpochOutcome.SUCCESS, EpochOutcome.CACHE_HIT, EpochOutcome.FILE_STORAGE_HIT)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: datetimes as ISO text, ``logs`` as ``{"timestamp", "message"}``
        dicts, ``net_actions`` as dicts (the 0.5.0 layout)."""
        entries = []
        for e in self.node_log_entries:
            stamp = e.get("timestamp")
            entries.append({**e, "timestamp": stamp.isoformat() if isinstance(stamp, datetime) else stamp,
                            "fields": dict(e.get("fields") or {})})
        return {
            "epoch_id": self.epoch_id, "node_name": self.node_name,
            "timestamp": _iso(self.timestamp), "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at), "ended_at": _iso(self.ended_at),
            "duration_ms": self.duration_ms, "queue_time_ms": self.queue_time_ms,
            "outcome": self.outcome, "error": self.error, "error_type": self.error_type,
            "error_traceback": self.error_traceback, "pool_id": self.pool_id, "worker_id": self.worker_id,
            "retry_count": self.retry_count, "was_cache_hit": self.was_cache_hit,
            "was_file_storage_hit": self.was_file_storage_hit, "in_salvo_ports": list(self.in_salvo_ports),
            "in_salvo_packet_count": self.in_salvo_packet_count, "out_salvo_count": self.out_salvo_count,
            "orphaned_packet_count": self.orphaned_packet_count,
            "destroyed_packet_count": self.destroyed_packet_count, "factory": self.factory,
            "node_log_entries": entries, "user_fields": dict(self.user_fields),
            "net_actions": [a.to_dict() if isinstance(a, NetActionLog) else dict(a) for a in self.net_actions],
            "logs": [{"timestamp": _iso(t), "message": text} for t, text in self.logs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EpochLog":
        """Inverse of :meth:`to_dict` (also reads 0.5.0 records and ``[time, text]`` log
        pairs). Unknown keys are ignored; a missing ``epoch_id``/``node_name`` or an unknown
        ``outcome`` raises ``ValueError``."""
        if not isinstance(data, dict):
            raise TypeError(f"EpochLog.from_dict needs a dict (as to_dict() returns), got {type(data).__name__}")
        missing = [k for k in ("epoch_id", "node_name") if data.get(k) is None]
        if missing:
            raise ValueError(f"EpochLog.from_dict: missing {', '.join(missing)}; pass a dict made by "
                             f"EpochLog.to_dict()")
        outcome = data.get("outcome", EpochOutcome.SUCCESS)
        if outcome not in EpochOutcome.ALL:
            raise ValueError(f"EpochLog.from_dict: unknown outcome {outcome!r} for epoch {data['epoch_id']}; "
                             f"expected one of {', '.join(EpochOutcome.ALL)}")
        known = {f.name for f in dc_fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in _TIME_FIELDS:
            values[key] = _time(values.get(key), key)
        values["node_log_entries"] = [
            {**e, "timestamp": _time(e.get("timestamp"), "node_log_entries[].timestamp"),
             "fields": dict(e.get("fields") or {})}
            for e in values.get("node_log_entries") or ()]
        values["net_actions"] = [a if isinstance(a, NetActionLog) else NetActionLog.from_dict(a)
                                 for a in values.get("net_actions") or ()]
        logs = []
        for item in values.get("logs") or ():
            if isinstance(item, dict):
                stamp, text = item.get("timestamp"), item.get("message", "")
            else:
                stamp, text = item
            logs.append((_time(stamp, "logs[].timestamp"), text))
        values["logs"] = logs
        for key in ("in_salvo_ports",):
            values[key] = list(values.get(key) or ())
        values["user_fields"] = dict(values.get("user_fields") or {})
        return cls(**values)


def build_epoch_log(core: Any, run: Any, outcome: str, exc: Optional[BaseException]) -> EpochLog:
    """The :class:`EpochLog` of an epoch that has just ended (called by the scheduler)."""
    now_wall = time.time()
    now_mono = time.monotonic()
    started = run.started
    ended = datetime.fromtimestamp(now_wall, tz=_utc)
    node = run.node
    name = node.name
    entries = node.log.get_entries(epoch_id=run.id) if node.log is not None else []
    structured: list[dict[str, Any]] = []
    user_fields: dict[str, Any] = {}
    for entry in entries:
        entry_fields = entry.fields
        if entry_fields is not None:
            message = entry.message
            structured.append({"timestamp": entry.timestamp, "message": message.message,
                               "level": entry.level, "fields": dict(entry_fields)})
            user_fields.update(entry_fields)
    observe = getattr(core, "observe", None)
    actions = observe.epoch_actions(run.id, name) if observe is not None else None
    if actions is None:  # not recorded (net.epoch_log_net_actions = False): unknown
        actions, sent, orphaned, destroyed = [], None, None, None
    else:
        sent, orphaned, destroyed = count_flow(actions)
    executor = run.executor
    pool = getattr(executor, "name", None)
    if executor is not None and getattr(executor, "kind", None) == "main":
        worker: Optional[int] = 0
    else:
        worker = run.worker_index
    failed = exc is not None and outcome == EpochOutcome.ERROR
    log = EpochLog(
        epoch_id=run.id, node_name=name, timestamp=ended,
        created_at=datetime.fromtimestamp(now_wall - (now_mono - run.created), tz=_utc),
        started_at=datetime.fromtimestamp(now_wall - (now_mono - started), tz=_utc) if started else None,
        ended_at=ended,
        duration_ms=(now_mono - started) * 1000 if started else None,
        queue_time_ms=(started - run.created) * 1000 if started else None,
        outcome=outcome,
        error=str(exc) if failed else None,
        error_type=type(exc).__name__ if failed else None,
        error_traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) if failed else None,
        pool_id=pool, worker_id=worker, retry_count=run.attempt,
        was_cache_hit=outcome == EpochOutcome.CACHE_HIT,
        was_file_storage_hit=outcome == EpochOutcome.FILE_STORAGE_HIT,
        in_salvo_ports=sorted({p for p, _ in run.pairs}), in_salvo_packet_count=len(run.pairs),
        out_salvo_count=sent, orphaned_packet_count=orphaned, destroyed_packet_count=destroyed,
        factory=_factory_of(core, node),
        node_log_entries=structured, user_fields=user_fields, net_actions=actions,
        logs=[(e.timestamp, str(e.message)) for e in entries],
    )
    if observe is not None:
        observe.ended.add(run.id, name, pool, worker, outcome)
    return log


def _factory_of(core: Any, node: Any) -> Optional[str]:
    """The node factory's import path, looked up once in the net's definition (a net built
    from a config); ``""`` on the record means "none"."""
    factory = getattr(node, "factory", None)
    if factory is None:
        factory = ""
        definition = getattr(getattr(core, "net", None), "_definition", None)
        for spec in getattr(getattr(definition, "graph", None), "nodes", None) or ():
            if getattr(spec, "name", None) == node.name and getattr(spec, "factory", None):
                made_by = spec.factory
                factory = made_by if isinstance(made_by, str) else \
                    f"{getattr(made_by, '__module__', '')}.{getattr(made_by, '__qualname__', made_by)}"
                break
        try:
            node.factory = factory
        except AttributeError:
            pass
    return factory or None
