"""Live monitoring of a running ``Net``: aggregated state, sent in batches at a fixed rate.

:class:`NetMonitor` watches a net through its public hooks only: ``net.on_epoch_start`` /
``net.on_epoch_end`` callbacks (counters, running epochs, each node's recent
:class:`~netrun.net.EpochLog` records), ``net.get_packets_at_port`` and
``net.get_startable_epochs_by_node`` (packets waiting at ports and epochs queued per node,
sampled once per batch), ``net.dead_letter_queue`` and ``net.inject_data`` (re-injecting dead
letters). Callbacks only bump counters under a lock, so a net running 10,000 epochs/s pays a
few microseconds per epoch; the expensive part (sampling ports, building JSON) happens once
per batch, every ``interval`` seconds (0.15 s by default), however fast the net runs.

Every batch is the *complete* current picture, so a subscriber that misses one (a slow
browser whose queue was full) loses nothing but a frame::

    {"type": "batch", "seq": 12, "time": 1718000000.1, "status": "running", "error": None,
     "counters": {"epochs_started", "epochs_finished", "epochs_failed", "epochs_cancelled",
                  "running", "queued", "retries", "dlq", "epochs_per_second"},
     "nodes": {"A": {"state": "running"|"idle"|"failed", "running", "queued", "started",
                     "finished", "failed", "cancelled", "last_error"}},
     "ports": {"A": {"in": {"x": {"waiting": 3, "capacity": 10}}}},
     "edges": {"A.out->B.x": {"waiting": 3, "capacity": 10}},
     "events": [{"kind": "epoch_failed", "node", "epoch_id", "error", "time"}],
     "dropped_events": 0}

``edges[...].waiting`` counts the packets waiting at the edge's target port (the runtime
moves packets off an edge as soon as the port has room, so that is where they wait).

To watch a net from the editor (``netrun ui``, *Attach*), serve its monitor over a WebSocket::

    net = Net(graph, ...)
    with serve_monitor(net, port=8766) as server:   # ws://127.0.0.1:8766
        net.start()

The WebSocket protocol: the server sends batch messages; a client may send requests
``{"id": 1, "op": "node_detail", "node": "A"}`` / ``{"id": 2, "op": "dead_letters"}`` /
``{"id": 3, "op": "reinject", "epoch_id": "..."}`` and gets
``{"type": "reply", "id": 1, "ok": true, "result": ...}`` (or ``"ok": false, "error": ...``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from typing import Any, Callable, Optional

from netrun.ui.errors import MonitorError

__all__ = ["DEFAULT_INTERVAL", "MonitorServer", "NetMonitor", "serve_monitor"]

#: Seconds between two batches.
DEFAULT_INTERVAL = 0.15
_MAX_EVENTS_PER_BATCH = 50


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return {"__repr__": repr(value)[:500], "__type__": type(value).__name__}


def _capacity(port: Any) -> Optional[int]:
    return getattr(port.slots_spec, "capacity", None)


class _NodeStats:
    __slots__ = ("running", "started", "finished", "failed", "cancelled", "last_outcome", "last_error", "recent")

    def __init__(self, recent: int) -> None:
        self.running: set[str] = set()
        self.started = 0
        self.finished = 0
        self.failed = 0
        self.cancelled = 0
        self.last_outcome: Optional[str] = None
        self.last_error: Optional[str] = None
        self.recent: deque[Any] = deque(maxlen=recent)


class NetMonitor:
    """Aggregates a net's activity and hands out batches (see the module docstring).

    >>> monitor = NetMonitor(net)                # doctest: +SKIP
    >>> monitor.attach()                         # register the net callbacks
    >>> remove = monitor.subscribe(print)        # called with each batch
    >>> await monitor.run()                      # tick until cancelled (or monitor.start())

    ``recent_epochs`` is how many :class:`EpochLog` records are kept per node for
    :meth:`node_detail`.
    """

    def __init__(self, net: Any, *, interval: float = DEFAULT_INTERVAL, recent_epochs: int = 20) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        self.net = net
        self.interval = float(interval)
        self._lock = threading.Lock()
        self._nodes: dict[str, _NodeStats] = {}
        self._recent_epochs = recent_epochs
        self._retries = 0
        self._events: list[dict[str, Any]] = []
        self._dropped_events = 0
        self._removers: list[Callable[[], None]] = []
        self._subscribers: list[Callable[[dict[str, Any]], Any]] = []
        self._reinjected: set[str] = set()
        self._seq = 0
        self._last_finished = 0
        self._last_started = 0
        self._last_time = time.monotonic()
        self._status: Optional[str] = None
        self._error: Optional[str] = None
        self._task: Optional[asyncio.Task] = None
        graph = net.graph
        self._in_ports = {name: {p: _capacity(port) for p, port in node.in_ports.items()}
                          for name, node in graph.nodes().items()}
        for name in self._in_ports:
            self._nodes[name] = _NodeStats(recent_epochs)
        self._edges = []
        for edge in graph.edges():
            key = (f"{edge.source.node_name}.{edge.source.port_name}->"
                   f"{edge.target.node_name}.{edge.target.port_name}")
            self._edges.append((key, edge.target.node_name, edge.target.port_name))

    # -- hooks ---------------------------------------------------------------------------

    def attach(self) -> "NetMonitor":
        """Register the epoch callbacks on the net (idempotent). Returns ``self``."""
        if not self._removers:
            # the monitor never shows EpochLog.net_actions: do not make the net record them
            self._removers = [self.net.on_epoch_start(self._on_start),
                              self.net.on_epoch_end(self._on_end, net_actions=False)]
        return self

    def detach(self) -> None:
        """Remove the callbacks from the net."""
        for remove in self._removers:
            remove()
        self._removers = []

    def _stats(self, node: str) -> _NodeStats:
        stats = self._nodes.get(node)
        if stats is None:
            stats = self._nodes[node] = _NodeStats(self._recent_epochs)
        return stats

    def _on_start(self, node: str, epoch_id: str) -> None:
        with self._lock:
            stats = self._stats(node)
            stats.started += 1
            stats.running.add(epoch_id)

    def _on_end(self, node: str, epoch_id: str, record: Any) -> None:
        outcome = getattr(record, "outcome", "success")
        with self._lock:
            stats = self._stats(node)
            stats.running.discard(epoch_id)
            stats.recent.append(record)
            stats.last_outcome = outcome
            self._retries += getattr(record, "retry_count", 0) or 0
            if outcome == "error":
                stats.failed += 1
                stats.last_error = f"{record.error_type}: {record.error}"
                self._event({"kind": "epoch_failed", "node": node, "epoch_id": epoch_id,
                             "error": stats.last_error})
            elif outcome == "cancelled":
                stats.cancelled += 1
            else:
                stats.finished += 1

    def _event(self, event: dict[str, Any]) -> None:
        if len(self._events) >= _MAX_EVENTS_PER_BATCH:
            self._dropped_events += 1
            return
        event["time"] = time.time()
        self._events.append(event)

    def set_status(self, status: Optional[str], error: Optional[str] = None) -> None:
        """Override the status shown (``"finished"``, ``"failed"``, ``"stopped"``...);
        ``None`` goes back to the net's own state."""
        self._status = status
        self._error = error

    # -- batches -------------------------------------------------------------------------

    def _net_status(self, busy: bool) -> str:
        if self._status is not None:
            return self._status
        state = getattr(getattr(self.net, "state", None), "name", "CREATED")
        if state == "RUNNING":
            return "running" if busy else "idle"
        return {"CREATED": "idle", "PAUSED": "paused", "STOPPED": "stopped"}.get(state, state.lower())

    def _sample_queued(self) -> dict[str, int]:
        queued = {}
        for node in self._in_ports:
            try:
                queued[node] = len(self.net.get_startable_epochs_by_node(node))
            except Exception:  # noqa: BLE001 - a stopped net has nothing queued
                queued[node] = 0
        return queued

    def _sample_ports(self) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
        ports: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        for node, in_ports in self._in_ports.items():
            side = {}
            for port, capacity in in_ports.items():
                try:
                    waiting = len(self.net.get_packets_at_port(node, port))
                except Exception:  # noqa: BLE001 - a stopped net has no packets to show
                    waiting = 0
                side[port] = {"waiting": waiting, "capacity": capacity}
            ports[node] = {"in": side}
        return ports

    def snapshot(self) -> dict[str, Any]:
        """The current batch message (takes the events gathered since the last one)."""
        ports = self._sample_ports()
        queued = self._sample_queued()
        now = time.monotonic()
        with self._lock:
            self._seq += 1
            events, self._events = self._events, []
            dropped, self._dropped_events = self._dropped_events, 0
            nodes = {}
            totals = {"epochs_started": 0, "epochs_finished": 0, "epochs_failed": 0, "epochs_cancelled": 0,
                      "running": 0, "queued": 0}
            for name, s in self._nodes.items():
                running = len(s.running)
                state = "running" if running else ("failed" if s.last_outcome == "error" else "idle")
                waiting = queued.get(name, 0)
                nodes[name] = {"state": state, "running": running, "queued": waiting, "started": s.started,
                               "finished": s.finished, "failed": s.failed, "cancelled": s.cancelled,
                               "last_error": s.last_error}
                totals["queued"] += waiting
                totals["epochs_started"] += s.started
                totals["epochs_finished"] += s.finished
                totals["epochs_failed"] += s.failed
                totals["epochs_cancelled"] += s.cancelled
                totals["running"] += running
            retries = self._retries
        elapsed = max(now - self._last_time, 1e-9)
        rate = (totals["epochs_finished"] - self._last_finished) / elapsed
        busy = totals["running"] > 0 or totals["epochs_started"] != self._last_started
        self._last_finished, self._last_started, self._last_time = (
            totals["epochs_finished"], totals["epochs_started"], now)
        edges = {key: dict(ports.get(node, {}).get("in", {}).get(port, {"waiting": 0, "capacity": None}))
                 for key, node, port in self._edges}
        return {
            "type": "batch",
            "seq": self._seq,
            "time": time.time(),
            "status": self._net_status(busy),
            "error": self._error,
            "counters": {**totals, "retries": retries, "dlq": len(self.net.dead_letter_queue),
                         "epochs_per_second": round(rate)},
            "nodes": nodes,
            "ports": ports,
            "edges": edges,
            "events": events,
            "dropped_events": dropped,
        }

    def subscribe(self, callback: Callable[[dict[str, Any]], Any]) -> Callable[[], None]:
        """Call ``callback(batch)`` for every batch :meth:`run` produces; returns a remover."""
        self._subscribers.append(callback)

        def remove() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return remove

    def publish(self) -> dict[str, Any]:
        """Build one batch and hand it to every subscriber (a failing subscriber is dropped
        from this batch only). Returns the batch."""
        batch = self.snapshot()
        for callback in list(self._subscribers):
            try:
                callback(batch)
            except Exception:  # noqa: BLE001 - one broken consumer must not stop the others
                continue
        return batch

    async def run(self) -> None:
        """Publish a batch every ``interval`` seconds until cancelled (then one last batch)."""
        try:
            while True:
                await asyncio.sleep(self.interval)
                self.publish()
        finally:
            self.publish()

    def start(self) -> asyncio.Task:
        """Run :meth:`run` as a task of the running event loop (``await monitor.stop()``)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="netrun-monitor")
        return self._task

    async def stop(self) -> None:
        """Stop the task started by :meth:`start` (a final batch is still published)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    # -- requests ------------------------------------------------------------------------

    def node_detail(self, node: str, limit: int = 20) -> dict[str, Any]:
        """A node's state and its most recent epochs (newest first) with their logs,
        captured stdout (``logs``) and errors (``error``, ``error_traceback``)."""
        with self._lock:
            stats = self._nodes.get(node)
            records = list(stats.recent)[-limit:] if stats is not None else None
        if records is None:
            known = ", ".join(sorted(self._nodes)) or "none"
            raise MonitorError(f"node {node!r} is not in the monitored net; nodes: {known}", node=node)
        epochs = []
        for record in reversed(records):
            data = record.to_dict() if hasattr(record, "to_dict") else dict(record)
            data.pop("net_actions", None)
            # the monitor's own layout: logs as [time, text] pairs (EpochLog.to_dict() writes
            # the 0.5.0 {"timestamp", "message"} dicts)
            data["logs"] = [[e["timestamp"], e["message"]] if isinstance(e, dict) else e
                            for e in data.get("logs") or ()]
            epochs.append(_jsonable_dict(data))
        return {"node": node, "epochs": epochs}

    def dead_letters(self) -> list[dict[str, Any]]:
        """The dead-letter queue: each entry's ``to_dict()`` plus ``inputs`` ({port: [values]})
        and whether it was re-injected from here."""
        out = []
        for entry in self.net.dead_letter_queue.get_all():
            data = entry.to_dict()
            data["inputs"] = {port: [_jsonable(entry.packet_values.get(pid)) for pid in ids]
                              for port, ids in entry.input_packets.items()}
            data["reinjected"] = entry.epoch_id in self._reinjected
            out.append(data)
        return out

    def reinject(self, epoch_id: str) -> int:
        """Put the input values of a dead-lettered epoch back on its node's input ports
        (``net.inject_data``); returns the number of packets. An entry is re-injected once."""
        entries = [e for e in self.net.dead_letter_queue.get_all() if e.epoch_id == epoch_id]
        if not entries:
            raise MonitorError(f"no dead-letter entry for epoch {epoch_id!r}; refresh the list", epoch_id=epoch_id)
        entry = entries[0]
        if epoch_id in self._reinjected:
            raise MonitorError(f"the dead letter of epoch {epoch_id} was already re-injected", epoch_id=epoch_id)
        missing = [pid for ids in entry.input_packets.values() for pid in ids if pid not in entry.packet_values]
        if missing:
            raise MonitorError(
                f"dead letter of epoch {epoch_id} has no value for packet(s) {', '.join(missing)}; "
                "nothing was re-injected", epoch_id=epoch_id)
        count = 0
        for port, ids in entry.input_packets.items():
            if ids:
                self.net.inject_data(entry.node_name, port, [entry.packet_values[pid] for pid in ids])
                count += len(ids)
        self._reinjected.add(epoch_id)
        return count

    async def handle_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one protocol request (``node_detail``, ``dead_letters``, ``reinject``)."""
        rid = request.get("id")
        op = request.get("op")
        try:
            if op == "node_detail":
                result: Any = self.node_detail(str(request.get("node")))
            elif op == "dead_letters":
                result = self.dead_letters()
            elif op == "reinject":
                result = {"packets": self.reinject(str(request.get("epoch_id")))}
            else:
                raise MonitorError(f"unknown monitor request {op!r}; use node_detail, dead_letters or reinject")
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the client
            return {"type": "reply", "id": rid, "ok": False, "error": str(exc)}
        return {"type": "reply", "id": rid, "ok": True, "result": result}


def _jsonable_dict(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in data.items()}


class MonitorServer:
    """A WebSocket endpoint serving a :class:`NetMonitor` (protocol in the module docstring).

    Use it in a running event loop (``async with MonitorServer(net) as server``) or from
    synchronous code (``with MonitorServer(net) as server``: it then runs on its own thread).
    Binds to 127.0.0.1 by default; ``port=0`` picks a free port (see :attr:`url`).
    """

    def __init__(self, net: Any, host: str = "127.0.0.1", port: int = 0, *,
                 interval: float = DEFAULT_INTERVAL, monitor: Optional[NetMonitor] = None) -> None:
        self.monitor = monitor or NetMonitor(net, interval=interval)
        self.host = host
        self.port = port
        self._server: Any = None
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop_event: Optional[asyncio.Event] = None

    @property
    def url(self) -> str:
        """``ws://host:port`` of the running server."""
        return f"ws://{self.host}:{self.port}"

    async def _handler(self, connection: Any) -> None:
        queue: asyncio.Queue = asyncio.Queue(maxsize=2)

        def push(batch: dict[str, Any]) -> None:
            if queue.full():  # a batch is the whole picture: dropping an old one loses nothing
                queue.get_nowait()
            queue.put_nowait(batch)

        push(self.monitor.snapshot())
        remove = self.monitor.subscribe(push)

        async def send_batches() -> None:
            while True:
                await connection.send(json.dumps(await queue.get()))

        sender = asyncio.get_running_loop().create_task(send_batches())
        try:
            async for raw in connection:
                try:
                    request = json.loads(raw)
                except ValueError:
                    await connection.send(json.dumps({"type": "reply", "id": None, "ok": False,
                                                      "error": "requests must be JSON objects"}))
                    continue
                reply = await self.monitor.handle_request(request if isinstance(request, dict) else {})
                await connection.send(json.dumps(reply))
        except Exception:  # noqa: BLE001 - a dropped client ends its handler quietly
            pass
        finally:
            remove()
            sender.cancel()
            try:
                await sender
            except BaseException:  # noqa: BLE001 - the sender ends with the connection
                pass

    async def async_start(self) -> "MonitorServer":
        """Start serving on the running loop."""
        from websockets.asyncio.server import serve

        self.monitor.attach()
        self._server = await serve(self._handler, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self.monitor.start()
        return self

    async def async_stop(self) -> None:
        """Stop serving and detach from the net."""
        await self.monitor.stop()
        self.monitor.detach()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> "MonitorServer":
        return await self.async_start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.async_stop()

    def start(self, timeout: float = 10.0) -> "MonitorServer":
        """Serve from a background thread with its own event loop (for synchronous code);
        does nothing if it is already serving that way."""
        if self._thread is not None and self._thread.is_alive():
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            self._stop_event = asyncio.Event()
            try:
                await self.async_start()
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await self._stop_event.wait()
            finally:
                await self.async_stop()

        def target() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(main())
            finally:
                loop.close()

        self._thread = threading.Thread(target=target, name="netrun-monitor-server", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise MonitorError(f"the monitor server did not start within {timeout} s")
        if failure:
            raise MonitorError(f"the monitor server could not start on {self.host}:{self.port}: {failure[0]}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop a server started with :meth:`start`."""
        loop, event, thread = self._loop, self._stop_event, self._thread
        if loop is None or event is None or thread is None:
            return
        loop.call_soon_threadsafe(event.set)
        thread.join(timeout)
        self._thread = self._loop = self._stop_event = None

    def __enter__(self) -> "MonitorServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_monitor(net: Any, host: str = "127.0.0.1", port: int = 0, *,
                  interval: float = DEFAULT_INTERVAL) -> MonitorServer:
    """Serve ``net``'s monitor over a WebSocket from a background thread; returns the
    started :class:`MonitorServer` (``server.url``, ``server.stop()``; or use ``with``)."""
    return MonitorServer(net, host, port, interval=interval).start()
