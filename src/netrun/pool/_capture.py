"""Capturing ``print`` output per job, line by line, with the time each line was written.

``sys.stdout`` and ``sys.stderr`` are replaced (once, idempotently) by routing streams.
A write goes to the *sink* of the current context (a ``ContextVar``: per thread, and per
asyncio task), or, when no sink is set, to the stream's fallback: the original stream in
the main process, or the process-wide buffer that a worker process ships to its parent.

Each line is stamped with the UTC time of the write that *started* it, so a line printed
in pieces (``print("a", end=""); ...; print("b")``) keeps the time it began. Text written
by C code straight to file descriptor 1/2 is not seen (it never passes through
``sys.stdout``).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import NamedTuple

__all__ = ["LineCapture", "OutputLine", "capture_output", "install_routing_streams"]


class OutputLine(NamedTuple):
    """One captured line: when it was written, whether it went to stderr, and its text."""

    timestamp: datetime
    is_stderr: bool
    text: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


class LineCapture:
    """Collects writes into complete :class:`OutputLine` s (thread-safe).

    ``on_line`` (optional) is called with each completed line; the line is kept as well
    when ``keep`` is true (default: keep only when there is no ``on_line``).
    """

    __slots__ = ("_keep", "_lock", "_on_line", "_partial", "lines")

    def __init__(self, on_line: Callable[[OutputLine], None] | None = None, keep: bool | None = None) -> None:
        self.lines: list[OutputLine] = []
        # per stream: (time the partial line started, its text so far)
        self._partial: list[tuple[datetime, str] | None] = [None, None]
        self._lock = threading.Lock()
        self._on_line = on_line
        self._keep = on_line is None if keep is None else keep

    def write(self, is_stderr: bool, text: str) -> None:
        if not text:
            return
        now = _now()
        with self._lock:
            idx = 1 if is_stderr else 0
            pending = self._partial[idx]
            parts = text.split("\n")
            if pending is not None:
                started, head = pending
                parts[0] = head + parts[0]
            else:
                started = now
            for i, part in enumerate(parts[:-1]):
                self._emit(OutputLine(started if i == 0 else now, is_stderr, part))
            tail = parts[-1]
            self._partial[idx] = (started if len(parts) == 1 else now, tail) if tail else None

    def _emit(self, line: OutputLine) -> None:
        if self._keep:
            self.lines.append(line)
        if self._on_line is not None:
            self._on_line(line)

    def finish(self) -> list[OutputLine]:
        """Complete any unterminated line and return (and clear) the collected lines."""
        with self._lock:
            for idx in (0, 1):
                pending = self._partial[idx]
                if pending is not None:
                    self._emit(OutputLine(pending[0], bool(idx), pending[1]))
                    self._partial[idx] = None
            lines, self.lines = self.lines, []
        return lines

    def take(self) -> list[OutputLine]:
        """Return (and clear) the complete lines so far, leaving a partial line pending."""
        with self._lock:
            lines, self.lines = self.lines, []
        return lines


_current_sink: contextvars.ContextVar[LineCapture | None] = contextvars.ContextVar(
    "netrun_output_sink", default=None
)


class _RoutingStream(io.TextIOBase):
    """A text stream that writes to the current context's sink, else to its fallback."""

    def __init__(self, is_stderr: bool, fallback: object) -> None:
        self._is_stderr = is_stderr
        self.fallback = fallback

    def write(self, text: str) -> int:
        sink = _current_sink.get()
        if sink is not None:
            sink.write(self._is_stderr, text)
        else:
            self.fallback.write(text)  # type: ignore[attr-defined]
        return len(text)

    def flush(self) -> None:
        if _current_sink.get() is None:
            flush = getattr(self.fallback, "flush", None)
            if flush is not None:
                flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        if _current_sink.get() is not None:
            return False
        isatty = getattr(self.fallback, "isatty", None)
        return bool(isatty()) if isatty is not None else False

    def __getattr__(self, name: str) -> object:
        # ``buffer``, ``reconfigure``, ``errors``... are the fallback's (writes through them
        # bypass the capture).
        return getattr(self.fallback, name)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.fallback, "encoding", None) or "utf-8"

    def fileno(self) -> int:
        return self.fallback.fileno()  # type: ignore[attr-defined]


_install_lock = threading.Lock()


def install_routing_streams(
    stdout_fallback: object | None = None, stderr_fallback: object | None = None
) -> None:
    """Make ``sys.stdout``/``sys.stderr`` routing streams (kept if already installed).

    Without explicit fallbacks, whatever ``sys.stdout``/``sys.stderr`` are now remain the
    destination of writes made outside any capture.
    """
    with _install_lock:
        for name, is_err, fallback in (("stdout", False, stdout_fallback), ("stderr", True, stderr_fallback)):
            current = getattr(sys, name)
            if isinstance(current, _RoutingStream):
                if fallback is not None:
                    current.fallback = fallback
                continue
            setattr(sys, name, _RoutingStream(is_err, fallback if fallback is not None else current))


def _ensure_installed() -> None:
    if not isinstance(sys.stdout, _RoutingStream) or not isinstance(sys.stderr, _RoutingStream):
        install_routing_streams()


@contextlib.contextmanager
def capture_output(on_line: Callable[[OutputLine], None] | None = None) -> Iterator[LineCapture]:
    """Capture what this thread/task prints inside the block (nested captures stack).

    ``on_line`` is also called with each line as soon as it is complete.

    >>> with capture_output() as cap:
    ...     print("hello")
    >>> [line.text for line in cap.finish()]
    ['hello']
    """
    _ensure_installed()
    capture = LineCapture(on_line, keep=True)
    token = _current_sink.set(capture)
    try:
        yield capture
    finally:
        _current_sink.reset(token)


def current_sink() -> LineCapture | None:
    return _current_sink.get()
