"""Node logs and print capture.

Each node has a :class:`NodeLog` of :class:`NodeLogEntry` (message, timestamp, epoch, level).
Output of ``print`` inside node functions lands there (PROJECT_SPEC: capture is done by
injecting a custom ``print`` into the function's ``__globals__``):

* :func:`inject_print` puts :func:`netrun_print` into the module globals of a node function
  (once per module; a module that defines its own ``print`` is left alone).
* :func:`netrun_print` looks up the capture target of the *current* thread / asyncio task
  (a ``ContextVar`` the runtime sets around each attempt) and records the text with the time
  of the ``print`` call. Outside a node function, or for ``print(..., file=f)``, it is the
  builtin ``print``. Safe to call from many threads at once.

The original implementation's ``StdoutCapture`` / ``capture_stdout`` are kept: they activate
the same capture for a block of code (they no longer swap the process-wide ``sys.stdout``,
which captured other threads' output too).
"""

from __future__ import annotations

import builtins
import contextlib
import sys
import threading
from collections import deque
from time import time as _time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, List, Optional

from netrun._util.callables import function_globals
from netrun.net._current import current_attempt

__all__ = [
    "NodeLogEntry",
    "LogMessage",
    "NodeLog",
    "NodeLogManager",
    "StdoutCapture",
    "capture_stdout",
    "netrun_print",
    "inject_print",
]

_builtin_print = builtins.print


class LogMessage(str):
    """The text of a ``ctx.log(...)`` entry (``"message | k=v ..."``), carrying the
    structured parts: ``message`` (or ``None``), ``level`` and ``fields``. A ``str``, so it
    travels wherever a printed line does (node logs, worker-process print buffers)."""

    __slots__ = ("message", "level", "fields")

    def __new__(cls, message: Optional[str], level: str, fields: dict[str, Any]) -> "LogMessage":
        parts = [] if message is None else [str(message)]
        if fields:
            parts.append(" ".join(f"{k}={v}" for k, v in fields.items()))
        self = super().__new__(cls, " | ".join(parts))
        self.message = message
        self.level = level
        self.fields = fields
        return self

    def __reduce__(self) -> Any:
        return (LogMessage, (self.message, self.level, self.fields))


class NodeLogEntry:
    """One captured line (or log message) of a node. ``fields`` holds the fields of a
    structured ``ctx.log`` entry (``None`` for a printed line)."""

    __slots__ = ("message", "timestamp", "epoch_id", "level")

    def __init__(self, message: str, timestamp: Optional[datetime] = None,
                 epoch_id: Optional[str] = None, level: str = "info") -> None:
        self.message = message
        self.timestamp = timestamp if timestamp is not None else datetime.now(timezone.utc)
        self.epoch_id = epoch_id
        self.level = level

    @property
    def fields(self) -> Optional[dict[str, Any]]:
        message = self.message
        return message.fields if type(message) is LogMessage else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (with ``fields`` for a structured entry)."""
        out = {"message": str(self.message), "timestamp": self.timestamp.isoformat(),
               "epoch_id": self.epoch_id, "level": self.level}
        if type(self.message) is LogMessage:
            out["fields"] = dict(self.message.fields)
        return out

    def __repr__(self) -> str:
        return (f"NodeLogEntry(message={self.message!r}, timestamp={self.timestamp.isoformat()}, "
                f"epoch_id={self.epoch_id!r}, level={self.level!r})")


def _as_entry(record: tuple) -> NodeLogEntry:
    """A :class:`NodeLogEntry` from a stored ``(message, time, epoch_id, level)`` record
    (``time``: a ``datetime`` or seconds since the epoch)."""
    message, stamp, epoch_id, level = record
    if not isinstance(stamp, datetime):
        stamp = datetime.fromtimestamp(stamp, tz=timezone.utc)
    return NodeLogEntry(message, stamp, epoch_id, level)


class NodeLog:
    """Thread-safe log of one node, optionally bounded (oldest entries dropped).

    Entries are kept as plain ``(message, time, epoch_id, level)`` tuples (cheap to make
    and, unlike objects, not followed by the garbage collector); readers get
    :class:`NodeLogEntry` objects, built when read.
    """

    def __init__(self, node_name: str, max_entries: Optional[int] = None) -> None:
        self.node_name = node_name
        self.max_entries = max_entries
        self._entries: deque[tuple] = deque(maxlen=max_entries)
        self._lock = threading.Lock()
        # epoch -> absolute index of its first entry (entries ever appended = _count), so
        # one epoch's lines are found by scanning back from the end only as far as needed
        self._first: dict[str, int] = {}
        self._count = 0

    def add(self, message: str, epoch_id: Optional[str] = None, level: str = "info",
            timestamp: Optional[datetime | float] = None) -> None:
        """Append an entry (``timestamp``: a ``datetime`` or seconds since the epoch, default
        now; a :class:`LogMessage` brings its level)."""
        if type(message) is LogMessage and level == "info":
            level = message.level
        if self.max_entries == 0:
            return  # a log that keeps nothing
        record = (message, _time() if timestamp is None else timestamp, epoch_id, level)
        with self._lock:
            self._entries.append(record)
            first = self._first
            if epoch_id is not None and epoch_id not in first:
                first[epoch_id] = self._count
                if self.max_entries is not None and len(first) > 2 * self.max_entries + 1024:
                    self._forget_evicted()
            self._count += 1

    def _forget_evicted(self) -> None:
        # epochs whose first entry has left a bounded log are forgotten (lock held)
        base = self._count - len(self._entries)
        self._first = {eid: i for eid, i in self._first.items() if i >= base}

    def has_epoch(self, epoch_id: str) -> bool:
        """Whether the log holds entries of ``epoch_id``."""
        return str(epoch_id) in self._first

    def epoch_ids(self) -> list[str]:
        """The epochs that have entries in the log, in order of their first entry."""
        with self._lock:
            return list(self._first)

    def _epoch_entries(self, epoch_id: str) -> List[tuple]:
        # lock held: scan back from the newest entry to the epoch's first one
        start = self._first.get(epoch_id)
        if start is None:
            return []
        entries = self._entries
        span = self._count - max(start, self._count - len(entries))
        out = []
        for entry in reversed(entries):
            if span <= 0:
                break
            span -= 1
            if entry[2] == epoch_id:
                out.append(entry)
        out.reverse()
        return out

    def get_entries(self, epoch_id: Optional[str] = None, limit: Optional[int] = None) -> List[NodeLogEntry]:
        """Entries, oldest first; optionally one epoch's, optionally only the last ``limit``."""
        with self._lock:
            if epoch_id is not None:
                records = self._epoch_entries(str(epoch_id))
            else:
                records = list(self._entries)
        if limit is not None:
            records = records[-limit:] if limit > 0 else []
        return [_as_entry(r) for r in records]

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._entries.clear()
            self._first.clear()

    def __len__(self) -> int:
        return len(self._entries)


class NodeLogManager:
    """One :class:`NodeLog` per node (created on demand), plus an epoch → node index."""

    def __init__(self, max_entries_per_node: Optional[int] = None) -> None:
        self.max_entries_per_node = max_entries_per_node
        self._logs: dict[str, NodeLog] = {}
        self._lock = threading.Lock()
        self._epoch_nodes: dict[str, str] = {}

    def get_log(self, node_name: str) -> NodeLog:
        """The node's log (created if needed)."""
        log = self._logs.get(node_name)
        if log is None:
            with self._lock:
                log = self._logs.get(node_name)
                if log is None:
                    log = NodeLog(node_name, self.max_entries_per_node)
                    self._logs[node_name] = log
        return log

    def note_epoch(self, epoch_id: str, node_name: str) -> None:
        """Remember which node an epoch belongs to (for ``get_epoch_log(epoch_id)``)."""
        self._epoch_nodes[epoch_id] = node_name

    def node_of_epoch(self, epoch_id: str) -> Optional[str]:
        """The node of an epoch that logged something, if known."""
        epoch_id = str(epoch_id)
        node = self._epoch_nodes.get(epoch_id)
        if node is None:
            for name, log in list(self._logs.items()):
                if log.has_epoch(epoch_id):
                    return name
        return node

    def get_node_log(self, node_name: str, limit: Optional[int] = None) -> List[NodeLogEntry]:
        """A node's entries (``[]`` for a node that never logged)."""
        log = self._logs.get(node_name)
        return log.get_entries(limit=limit) if log is not None else []

    def get_epoch_log(self, node_name: str, epoch_id: str, limit: Optional[int] = None) -> List[NodeLogEntry]:
        """One epoch's entries in a node's log."""
        log = self._logs.get(node_name)
        return log.get_entries(epoch_id=epoch_id, limit=limit) if log is not None else []

    def node_names(self) -> list[str]:
        """Nodes that have a log."""
        return list(self._logs)

    def clear(self) -> None:
        """Empty every log."""
        for log in list(self._logs.values()):
            log.clear()
        self._epoch_nodes.clear()


# --------------------------------------------------------------------------------------
# print capture
# --------------------------------------------------------------------------------------
class PrintTarget:
    """The current attempt as seen by ``print`` and ``PacketRef.location``: where captured
    output goes (a node log tagged with the epoch, or a list of ``(timestamp, text)`` for
    attempts in another process; ``capture=False`` means the builtin ``print``), and how to
    find a packet's location."""

    __slots__ = ("log", "epoch_id", "echo", "sink", "manager", "capture", "locate")

    def __init__(self, log: Optional[NodeLog], epoch_id: Optional[str], echo: bool = False,
                 sink: Optional[list] = None, manager: Optional[NodeLogManager] = None,
                 capture: bool = True, locate: Optional[Callable[[str], Any]] = None) -> None:
        self.log = log
        self.epoch_id = epoch_id
        self.echo = echo
        self.sink = sink
        self.manager = manager
        self.capture = capture
        self.locate = locate

    @classmethod
    def for_node(cls, log: Optional[NodeLog], echo: bool, manager: Optional[NodeLogManager],
                 capture: bool, locate: Optional[Callable[[str], Any]]) -> type:
        """A subclass for one node's epochs: everything but ``epoch_id`` is a class
        attribute, so a target costs one object and one attribute per epoch
        (``target = object.__new__(cls); target.epoch_id = eid``). Used by the scheduler's
        express epochs, which make one target per epoch."""
        return type("NodePrintTarget", (cls,), {
            "__slots__": (), "log": log, "echo": echo, "sink": None, "manager": manager,
            "capture": capture, "locate": staticmethod(locate) if locate is not None else None,
        })

    def write(self, text: str) -> None:
        stamp = _time()
        for line in text.splitlines():
            if not line.strip():
                continue
            if self.sink is not None:
                self.sink.append((datetime.fromtimestamp(stamp, tz=timezone.utc), line))
            elif self.log is not None:  # (the log's own epoch index tells its node)
                self.log.add(line, self.epoch_id, "info", stamp)

    def write_entry(self, entry: LogMessage) -> None:
        """Record one structured ``ctx.log`` entry (captured whatever ``capture`` says)."""
        stamp = datetime.now(timezone.utc)
        if self.sink is not None:
            self.sink.append((stamp, entry))
        elif self.log is not None:
            self.log.add(entry, self.epoch_id, entry.level, stamp)
        else:  # a worker process: its stdout is what reaches the epoch log
            _builtin_print(entry, file=sys.stdout, flush=True)
            return
        if self.echo:
            _builtin_print(entry, file=sys.stdout)


current_print_target = current_attempt


def netrun_print(*args: Any, sep: Optional[str] = " ", end: Optional[str] = "\n",
                 file: Any = None, flush: bool = False) -> None:
    """Drop-in ``print`` that records into the running node's log (see module docs)."""
    target = current_attempt.get()
    if target is None or not target.capture or (file is not None and file is not sys.stdout):
        _builtin_print(*args, sep=sep, end=end, file=file, flush=flush)
        return
    text = (" " if sep is None else sep).join(map(str, args)) + ("\n" if end is None else end)
    target.write(text)
    if target.echo:
        _builtin_print(*args, sep=sep, end=end, file=sys.stdout, flush=flush)


netrun_print.__netrun_print__ = True  # type: ignore[attr-defined]


def inject_print(func: Callable[..., Any]) -> bool:
    """Inject :func:`netrun_print` as ``print`` into ``func``'s module globals.

    Returns ``True`` when capture will work for ``func``. A module that defines its own
    ``print`` is left alone (returns ``False``), as are callables without Python globals.
    """
    ok = False
    for g in function_globals(func):
        current = g.get("print")
        if current is None:
            g["print"] = netrun_print
            ok = True
        elif getattr(current, "__netrun_print__", False):
            ok = True
    return ok


class StdoutCapture:
    """Context manager: while active, ``print`` of functions with the injected ``print``
    (and of this block, if its module has it) goes to ``node_log``, tagged with ``epoch_id``."""

    def __init__(self, node_log: NodeLog, epoch_id: Optional[str], echo: bool = False) -> None:
        self._target = PrintTarget(node_log, epoch_id, echo)
        self._token: Any = None

    def __enter__(self) -> "StdoutCapture":
        self._token = current_print_target.set(self._target)
        return self

    def __exit__(self, *exc: Any) -> None:
        current_print_target.reset(self._token)


@contextlib.contextmanager
def capture_stdout(node_log: NodeLog, epoch_id: Optional[str], echo: bool = False) -> Iterator[StdoutCapture]:
    """``with capture_stdout(log, epoch_id): ...`` (yields the active :class:`StdoutCapture`)."""
    with StdoutCapture(node_log, epoch_id, echo) as cap:
        yield cap
