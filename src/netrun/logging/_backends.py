"""Logging back-ends: write epoch logs and net actions to files, and read them back.

* :class:`JsonlEpochLogger` — an ``on_epoch_end`` callback appending one JSON line per
  :class:`~netrun.net.epoch_log.EpochLog` (its ``to_dict()``);
* :class:`JsonlNetActionLogger` — an ``on_net_actions`` callback appending one JSON line
  per :class:`~netrun.net.action_log.NetActionLog`;
* :class:`SqliteLogger` — both, into the tables ``epoch_logs`` and ``net_action_logs`` of
  one SQLite file (``epoch_handler`` / ``net_action_handler``).

Each has a loader giving back the records (``from_dict(to_dict())`` equal to what was
written, except values of ``user_fields`` or action details that JSON cannot hold, which
are written as their ``str()``). The loggers are thread-safe (callbacks may come from the
net's loop thread while the program reads) and usable as context managers; a logger used
after ``close()`` raises :class:`~netrun.logging.errors.LoggerClosedError`.

    with JsonlEpochLogger("epochs.jsonl") as log_epochs:
        net.on_epoch_end(log_epochs)
        net.start()
    records = JsonlEpochLogger.load("epochs.jsonl")
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, TypeVar

from netrun.logging.errors import LogFileError, LoggerClosedError
from netrun.net.action_log import NetActionLog
from netrun.net.epoch_log import EpochLog

__all__ = ["JsonlEpochLogger", "JsonlNetActionLogger", "SqliteLogger"]

T = TypeVar("T")
_encode = json.JSONEncoder(default=str, ensure_ascii=False).encode


class _PathOrInstance:
    """``Logger.load(path)`` on the class, ``logger.load()`` (its own file) on an instance."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, instance: Any, owner: type) -> Callable[..., Any]:
        func = self.func
        if instance is None:
            return lambda path, **kw: func(owner, path, **kw)
        return lambda path=None, **kw: func(owner, instance.path if path is None else path, **kw)


def _read_jsonl(path: Any, parse: Callable[[dict], T], kind: str) -> list[T]:
    file = Path(path)
    if not file.exists():
        raise LogFileError(f"{kind} log file {str(file)!r} does not exist; check the path (it is "
                           f"created by the first record written)")
    out: list[T] = []
    with open(file, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                out.append(parse(data))
            except (ValueError, TypeError, KeyError) as error:
                raise LogFileError(f"{str(file)!r} line {number} is not a {kind} record ({error}); "
                                   f"the file must hold one JSON object per line as written by the "
                                   f"{kind} logger") from error
    return out


class _JsonlWriter:
    """Appends JSON lines to a file (opened on first write, flushed after each batch)."""

    def __init__(self, path: Any, kind: str, append: bool) -> None:
        if not isinstance(path, (str, Path)):
            raise TypeError(f"{kind} logger needs a file path (str or Path), got {type(path).__name__}")
        self.path = Path(path)
        self._kind = kind
        self._append = append
        self._fh: Any = None
        self._lock = threading.Lock()
        self._closed = False

    def write(self, lines: Iterable[str]) -> None:
        with self._lock:
            if self._closed:
                raise LoggerClosedError(f"The {self._kind} logger of {str(self.path)!r} was closed; "
                                        f"remove it from the net (or make a new logger) before running on")
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "a" if self._append else "w", encoding="utf-8")
            self._fh.write("".join(line + "\n" for line in lines))  # whole lines in one write
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._fh is not None:
                self._fh.close()
                self._fh = None


class JsonlEpochLogger:
    """An ``on_epoch_end`` callback writing each :class:`EpochLog` as a JSON line.

    ``append=False`` starts a fresh file (the default adds to an existing one).
    ``include_net_actions=False`` leaves out each record's ``net_actions`` (about six
    actions with their events per epoch: most of a line's size and of the logger's cost).
    """

    def __init__(self, path: str | Path, *, append: bool = True, include_net_actions: bool = True) -> None:
        self._writer = _JsonlWriter(path, "epoch", append)
        self.path = self._writer.path
        self.include_net_actions = include_net_actions

    def __call__(self, node_name: str, epoch_id: str, epoch_log: EpochLog) -> None:
        if not isinstance(epoch_log, EpochLog):
            raise TypeError(f"JsonlEpochLogger is an on_epoch_end callback (node_name, epoch_id, "
                            f"EpochLog); got {type(epoch_log).__name__} for epoch {epoch_id!r}")
        self._writer.write((_encode(_epoch_dict(epoch_log, self.include_net_actions)),))

    def log(self, epoch_log: EpochLog) -> None:
        """Write one record directly."""
        self(epoch_log.node_name, epoch_log.epoch_id, epoch_log)

    @_PathOrInstance
    def load(cls, path: str | Path) -> list[EpochLog]:
        """The records of a file, oldest first (``LogFileError`` naming a bad line)."""
        return _read_jsonl(path, EpochLog.from_dict, "epoch")

    def close(self) -> None:
        """Close the file (later records raise ``LoggerClosedError``)."""
        self._writer.close()

    def __enter__(self) -> "JsonlEpochLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JsonlEpochLogger({str(self.path)!r})"


class JsonlNetActionLogger:
    """An ``on_net_actions`` callback writing each :class:`NetActionLog` as a JSON line."""

    def __init__(self, path: str | Path, *, append: bool = True) -> None:
        self._writer = _JsonlWriter(path, "net action", append)
        self.path = self._writer.path

    def __call__(self, actions: list[NetActionLog]) -> None:
        lines = []
        for action in actions:
            if not isinstance(action, NetActionLog):
                raise TypeError(f"JsonlNetActionLogger is an on_net_actions callback (a list of "
                                f"NetActionLog); got an item of type {type(action).__name__}")
            lines.append(_encode(action.to_dict()))
        if lines:
            self._writer.write(lines)

    @_PathOrInstance
    def load(cls, path: str | Path) -> list[NetActionLog]:
        """The records of a file, oldest first (``LogFileError`` naming a bad line)."""
        return _read_jsonl(path, NetActionLog.from_dict, "net action")

    def close(self) -> None:
        """Close the file (later records raise ``LoggerClosedError``)."""
        self._writer.close()

    def __enter__(self) -> "JsonlNetActionLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"JsonlNetActionLogger({str(self.path)!r})"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS epoch_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    epoch_id TEXT NOT NULL,
    node_name TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ended_at TEXT,
    duration_ms REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS epoch_logs_node ON epoch_logs (node_name);
CREATE INDEX IF NOT EXISTS epoch_logs_epoch ON epoch_logs (epoch_id);
CREATE TABLE IF NOT EXISTS net_action_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT NOT NULL,
    action_kind TEXT NOT NULL,
    epoch_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS net_action_logs_epoch ON net_action_logs (epoch_id);
"""


class SqliteLogger:
    """Epoch logs and net actions in one SQLite database (``":memory:"`` works too).

    ``net.on_epoch_end(logger.epoch_handler)`` and ``net.on_net_actions(logger.net_action_handler)``
    write; :meth:`load_epoch_logs` / :meth:`load_net_action_logs` read back (optionally one
    node / outcome / epoch). Tables: ``epoch_logs`` (``epoch_id``, ``node_name``, ``outcome``,
    ``ended_at``, ``duration_ms`` and the full record as JSON in ``data``) and
    ``net_action_logs`` (``timestamp``, ``action_kind``, ``epoch_id``, ``data``);
    ``include_net_actions=False`` stores epoch logs without their ``net_actions``. One
    connection shared by all threads behind a lock; every handler call is one transaction.
    """

    def __init__(self, path: str | Path, *, include_net_actions: bool = True) -> None:
        if not isinstance(path, (str, Path)):
            raise TypeError(f"SqliteLogger needs a database path (str or Path), got {type(path).__name__}")
        self.include_net_actions = include_net_actions
        self.path = path if path == ":memory:" else Path(path)
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db: Optional[sqlite3.Connection] = sqlite3.connect(str(self.path), check_same_thread=False)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as error:
            raise LogFileError(f"{str(self.path)!r} cannot be used as a SQLite log database: {error}; "
                               f"give the path of a new file or of a database made by SqliteLogger") from error
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise LoggerClosedError(f"SqliteLogger({str(self.path)!r}) was closed; remove its handlers "
                                    f"from the net (or open a new SqliteLogger) before running on")
        return self._db

    # -- writing ----------------------------------------------------------------------
    def epoch_handler(self, node_name: str, epoch_id: str, epoch_log: EpochLog) -> None:
        """``on_epoch_end`` callback: store one :class:`EpochLog`."""
        if not isinstance(epoch_log, EpochLog):
            raise TypeError(f"SqliteLogger.epoch_handler is an on_epoch_end callback (node_name, "
                            f"epoch_id, EpochLog); got {type(epoch_log).__name__} for epoch {epoch_id!r}")
        data = _epoch_dict(epoch_log, self.include_net_actions)
        row = (epoch_log.epoch_id, epoch_log.node_name, epoch_log.outcome, data["ended_at"],
               epoch_log.duration_ms, _encode(data))
        with self._lock:
            db = self._conn()
            with db:
                db.execute("INSERT INTO epoch_logs (epoch_id, node_name, outcome, ended_at, duration_ms, data) "
                           "VALUES (?, ?, ?, ?, ?, ?)", row)

    def net_action_handler(self, actions: list[NetActionLog]) -> None:
        """``on_net_actions`` callback: store a batch of :class:`NetActionLog`."""
        rows = []
        for action in actions:
            if not isinstance(action, NetActionLog):
                raise TypeError(f"SqliteLogger.net_action_handler is an on_net_actions callback (a "
                                f"list of NetActionLog); got an item of type {type(action).__name__}")
            data = action.to_dict()
            rows.append((data["timestamp"], action.action_kind, action.epoch_id, _encode(data)))
        if not rows:
            return
        with self._lock:
            db = self._conn()
            with db:
                db.executemany("INSERT INTO net_action_logs (timestamp, action_kind, epoch_id, data) "
                               "VALUES (?, ?, ?, ?)", rows)

    # -- reading ----------------------------------------------------------------------
    def load_epoch_logs(self, node_name: Optional[str] = None, *, outcome: Optional[str] = None,
                        epoch_id: Optional[str] = None) -> list[EpochLog]:
        """Stored epoch logs in the order written, optionally of one node / outcome / epoch."""
        where, args = _filters((("node_name", node_name), ("outcome", outcome), ("epoch_id", epoch_id)))
        return self._load(f"SELECT id, data FROM epoch_logs{where} ORDER BY id", args, EpochLog.from_dict,
                          "epoch_logs")

    def load_net_action_logs(self, epoch_id: Optional[str] = None, *,
                             action_kind: Optional[str] = None) -> list[NetActionLog]:
        """Stored net actions in the order written, optionally of one epoch / action kind."""
        where, args = _filters((("epoch_id", epoch_id), ("action_kind", action_kind)))
        return self._load(f"SELECT id, data FROM net_action_logs{where} ORDER BY id", args,
                          NetActionLog.from_dict, "net_action_logs")

    def _load(self, sql: str, args: list, parse: Callable[[dict], T], table: str) -> list[T]:
        with self._lock:
            rows = self._conn().execute(sql, args).fetchall()
        out = []
        for row_id, data in rows:
            try:
                out.append(parse(json.loads(data)))
            except (ValueError, TypeError, KeyError) as error:
                raise LogFileError(f"{str(self.path)!r} table {table} row {row_id} is not a valid record "
                                   f"({error})") from error
        return out

    # -- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        """Close the database (later calls raise ``LoggerClosedError``; closing twice is fine)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> "SqliteLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteLogger({str(self.path)!r})"


def _epoch_dict(epoch_log: EpochLog, include_net_actions: bool) -> dict[str, Any]:
    if include_net_actions or not epoch_log.net_actions:
        return epoch_log.to_dict()
    actions, epoch_log.net_actions = epoch_log.net_actions, []
    try:
        return epoch_log.to_dict()
    finally:
        epoch_log.net_actions = actions


def _filters(pairs: Iterable[tuple[str, Optional[str]]]) -> tuple[str, list]:
    clauses, args = [], []
    for column, value in pairs:
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(str(value))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args
