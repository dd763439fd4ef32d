"""Output queues: where packets leaving the net through unconnected output ports end up.

A packet sent through an output port that has no edge leaves the net (the engine orphans
it). The runtime then takes it out of the engine and puts its value in the port's output
queue, named ``"node::port"`` (the published 0.5.0 convention). Read them with
``net.flush_output_queue("sink::out")``, ``net.get_output(...)`` (blocking, with timeout),
``net.try_get_output(...)`` or ``net.flush_all_output_queues()``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Optional

from netrun.errors import OutputQueueNotFoundError
from netrun.storage.values import PacketValueStore, StoredValue

__all__ = ["ConsumedOutputPacket", "OutputQueues", "queue_name_for"]


def queue_name_for(node_name: str, port_name: str) -> str:
    """The automatic output-queue name of an output port: ``"node::port"``."""
    return f"{node_name}::{port_name}"


@dataclass
class ConsumedOutputPacket:
    """A value read from an output queue, with where it came from."""

    packet_id: str
    value: Any
    from_node: str
    from_port: str
    queue_name: str
    timestamp: datetime
    epoch_id: Optional[str]


class OutputQueues:
    """All output queues of a net (thread-safe; readers may block with a timeout)."""

    def __init__(self, ports: Iterable[tuple[str, str]] = (), names: Optional[dict[tuple[str, str], str]] = None) -> None:
        self._by_port: dict[tuple[str, str], str] = {}
        self._queues: dict[str, deque] = {}
        self._origin: dict[str, tuple[str, str]] = {}
        for node, port in ports:
            self.add(node, port, (names or {}).get((node, port)))
        self._cond = threading.Condition()
        self._sync_waiters = 0
        self._async_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future, str]] = []

    def add(self, node_name: str, port_name: str, queue_name: Optional[str] = None) -> str:
        """Create the queue of an output port (default name ``"node::port"``)."""
        name = queue_name or queue_name_for(node_name, port_name)
        self._by_port[(node_name, port_name)] = name
        self._queues.setdefault(name, deque())
        self._origin[name] = (node_name, port_name)
        return name

    def queue_of(self, node_name: str, port_name: str) -> Optional[str]:
        """The queue of an output port, or ``None`` if the port has none."""
        return self._by_port.get((node_name, port_name))

    @property
    def names(self) -> list[str]:
        """All queue names."""
        return list(self._queues)

    def resolve(self, queue_name: Optional[str] = None, node: Optional[str] = None,
                port: Optional[str] = None) -> str:
        """A queue name from either a name or a node and port (clear errors otherwise)."""
        if queue_name is None:
            if node is None or port is None:
                raise TypeError("Give an output queue name ('node::port'), or both node= and port=")
            queue_name = self._by_port.get((node, port)) or queue_name_for(node, port)
        if queue_name not in self._queues:
            known = ", ".join(sorted(self._queues)) or "none"
            raise OutputQueueNotFoundError(
                f"No output queue named {queue_name!r}. Output queues exist for unconnected "
                f"output ports and are named 'node::port'; known queues: {known}"
            )
        return queue_name

    # -- writing ----------------------------------------------------------------------
    def put(self, queue_name: str, packet_id: str, value: Any, epoch_id: Optional[str]) -> None:
        """Append a value (called by the runtime)."""
        self._queues[queue_name].append((value, packet_id, epoch_id, time.time()))
        if self._sync_waiters:
            with self._cond:
                self._cond.notify_all()
        if self._async_waiters:
            self._wake_async(queue_name)

    def _wake_async(self, queue_name: str) -> None:
        with self._cond:
            waiters = [w for w in self._async_waiters if w[2] == queue_name]
            self._async_waiters = [w for w in self._async_waiters if w[2] != queue_name]
        for loop, fut, _ in waiters:
            loop.call_soon_threadsafe(_set_if_pending, fut)

    # -- reading ----------------------------------------------------------------------
    def _item(self, name: str, raw: tuple, include_metadata: bool) -> Any:
        value = raw[0]
        if type(value) is StoredValue:  # a lazy value: computed when read
            value = PacketValueStore.resolve_entry(raw[1], value)
        if not include_metadata:
            return value
        node, port = self._origin[name]
        _, pid, epoch_id, wall = raw
        return ConsumedOutputPacket(pid, value, node, port, name,
                                    datetime.fromtimestamp(wall, tz=timezone.utc), epoch_id)

    def try_get(self, queue_name: str, include_metadata: bool = False) -> Any:
        """The oldest value of a queue, or ``None`` when it is empty."""
        try:
            raw = self._queues[queue_name].popleft()
        except IndexError:
            return None
        return self._item(queue_name, raw, include_metadata)

    def get(self, queue_name: str, timeout: Optional[float] = None, include_metadata: bool = False) -> Any:
        """The oldest value, waiting up to ``timeout`` seconds (``TimeoutError`` after)."""
        queue = self._queues[queue_name]
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._sync_waiters += 1  # before checking, so a concurrent put() notifies us
            try:
                while not queue:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(
                            f"No value arrived in output queue {queue_name!r} within {timeout} s"
                        )
                    self._cond.wait(remaining)
                raw = queue.popleft()
            finally:
                self._sync_waiters -= 1
        return self._item(queue_name, raw, include_metadata)

    async def async_get(self, queue_name: str, timeout: Optional[float] = None,
                        include_metadata: bool = False) -> Any:
        """Async form of :meth:`get`."""
        queue = self._queues[queue_name]
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            try:
                return self._item(queue_name, queue.popleft(), include_metadata)
            except IndexError:
                pass
            fut = loop.create_future()
            waiter = (loop, fut, queue_name)
            with self._cond:
                self._async_waiters.append(waiter)  # before re-checking (see put())
            if queue:
                with self._cond:
                    if waiter in self._async_waiters:
                        self._async_waiters.remove(waiter)
                continue
            remaining = None if deadline is None else deadline - loop.time()
            try:
                await asyncio.wait_for(fut, remaining)
            except asyncio.TimeoutError:
                with self._cond:
                    if waiter in self._async_waiters:
                        self._async_waiters.remove(waiter)
                raise TimeoutError(
                    f"No value arrived in output queue {queue_name!r} within {timeout} s"
                ) from None

    def flush(self, queue_name: str, include_metadata: bool = False) -> list[Any]:
        """Drain one queue into a list (oldest first)."""
        queue = self._queues[queue_name]
        out = []
        while True:
            try:
                raw = queue.popleft()
            except IndexError:
                break
            out.append(self._item(queue_name, raw, include_metadata))
        return out

    def flush_all(self, include_metadata: bool = False) -> dict[str, list[Any]]:
        """Drain every non-empty queue: ``{queue_name: [values]}``."""
        return {name: self.flush(name, include_metadata) for name in self._queues if self._queues[name]}

    def size(self, queue_name: str) -> int:
        """Number of values waiting in a queue."""
        return len(self._queues[queue_name])

    def snapshot(self) -> dict[str, list[tuple]]:
        """Raw queue contents (for checkpoints): ``{name: [(value, packet_id, epoch_id,
        wall_time)]}``."""
        return {name: list(q) for name, q in self._queues.items()}

    def restore(self, snapshot: dict[str, Iterable[Any]]) -> None:
        """Append the raw entries of a :meth:`snapshot` (from a checkpoint) to the queues,
        oldest first, waking readers. Every queue named must exist (``KeyError`` naming the
        first unknown one, before anything is added)."""
        unknown = [name for name in snapshot if name not in self._queues]
        if unknown:
            raise KeyError(f"output queue {unknown[0]!r} does not exist (queues: {', '.join(self._queues) or 'none'})")
        for name, items in snapshot.items():
            entries = [tuple(item) for item in items]
            if not entries:
                continue
            self._queues[name].extend(entries)
            if self._sync_waiters:
                with self._cond:
                    self._cond.notify_all()
            if self._async_waiters:
                self._wake_async(name)


def _set_if_pending(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)
