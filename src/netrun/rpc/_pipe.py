"""One end of a duplex ``multiprocessing`` pipe: locked writes and a background reader.

Writes go straight to the pipe from the calling thread (no feeder thread), so once
``send`` returns the bytes are in the kernel and survive the sender's death; a reader that
sees end-of-file has therefore seen everything the dead peer sent. The reader thread polls
with a short timeout only so that :meth:`PipeEnd.stop` is noticed; messages are delivered
as soon as they arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from netrun.rpc import _codec
from netrun.rpc.base import ChannelBroken, ChannelClosed

_POLL_INTERVAL = 0.2


class PipeEnd:
    """Locked writer plus optional reader thread over one ``Connection``.

    ``on_message(obj)`` is called on the reader thread for each decoded object;
    ``on_end(reason)`` once, when the pipe reaches end-of-file or fails (not after
    :meth:`stop`). A message that cannot be unpickled is reported through
    ``on_undecodable(exc)`` and reading continues.
    """

    def __init__(
        self,
        conn: Connection,
        name: str,
        on_message: Callable[[Any], None] | None = None,
        on_end: Callable[[str], None] | None = None,
        on_undecodable: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.conn = conn
        self.name = name
        self._on_message = on_message
        self._on_end = on_end
        self._on_undecodable = on_undecodable
        self._write_lock = threading.Lock()
        self._stopped = False
        self._closed = False
        self._broken: str | None = None
        self._reader: threading.Thread | None = None

    # -- writing ------------------------------------------------------------------------
    def send(self, obj: Any, what: str = "message") -> None:
        """Pickle and write ``obj``; :class:`MessageNotSerializable` leaves the pipe intact."""
        self.send_bytes(_codec.dumps(obj, what))

    def send_bytes(self, payload: bytes) -> None:
        with self._write_lock:
            if self._closed:
                if self._broken is not None:
                    raise ChannelBroken(f"{self.name} broke: {self._broken}")
                raise ChannelClosed(f"{self.name} is closed")
            try:
                self.conn.send_bytes(payload)
            except (OSError, EOFError, ValueError) as exc:
                self._broken = f"the peer went away ({type(exc).__name__}: {exc})"
                raise ChannelBroken(f"{self.name} broke: {self._broken}") from exc

    # -- reading ------------------------------------------------------------------------
    def start_reader(self, thread_name: str) -> None:
        self._reader = threading.Thread(target=self._read_loop, name=thread_name, daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        conn = self.conn
        on_message = self._on_message
        reason: str | None = None
        try:
            while not self._stopped:
                try:
                    if not conn.poll(_POLL_INTERVAL):
                        continue
                    payload = conn.recv_bytes()
                except (EOFError, OSError) as exc:
                    if not self._stopped:
                        reason = (
                            "the peer process exited or closed the pipe without a clean "
                            f"shutdown ({type(exc).__name__})"
                        )
                    break
                try:
                    obj = _codec.loads(payload)
                except Exception as exc:  # a class the reader cannot import, a bad pickle...
                    if self._on_undecodable is not None:
                        self._on_undecodable(exc)
                    continue
                if on_message is not None:
                    on_message(obj)
        finally:
            self._close_conn(reason)
            if reason is not None and self._on_end is not None:
                self._on_end(reason)

    # -- shutting down --------------------------------------------------------------------
    def stop(self) -> None:
        """Stop reading and writing; the reader thread closes the connection on its way out."""
        self._stopped = True
        if self._reader is None:
            self._close_conn(None)

    def join(self, timeout: float | None = None) -> None:
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout)

    def _close_conn(self, reason: str | None) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            if reason is not None:
                self._broken = reason
            try:
                self.conn.close()
            except OSError:
                pass
