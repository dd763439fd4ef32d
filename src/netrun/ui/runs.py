"""What the editor's monitor shows: a net run inside the backend, or a net elsewhere.

* :class:`EditorRun` builds a ``Net`` from the open config, injects the values the user
  gave, runs it in the background (``net.start(threaded=True)``: the run keeps going idle,
  so re-injected dead letters are picked up) and watches it with a
  :class:`~netrun.ui.monitor.NetMonitor` ticking on the server's event loop.
* :class:`RemoteMonitor` connects to a net serving its monitor
  (:func:`netrun.ui.monitor.serve_monitor`) and relays its batches and requests.
* :class:`MonitorHub` holds the current source (at most one) and fans its batches out to
  the browsers connected to ``/ws/monitor``; a slow browser only ever misses whole frames.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import warnings
from typing import Any, Callable, Optional

from netrun.config import NetConfig
from netrun.ui._netbuild import net_from_config
from netrun.ui.errors import MonitorError, RunError
from netrun.ui.monitor import DEFAULT_INTERVAL, NetMonitor

__all__ = ["EditorRun", "MonitorHub", "RemoteMonitor"]

Publish = Callable[[dict[str, Any]], None]
_REQUEST_TIMEOUT = 10.0


class EditorRun:
    """One run of the open net inside the backend."""

    kind = "run"

    def __init__(self, cfg: NetConfig, inject: list[dict[str, Any]], *, label: str,
                 interval: float = DEFAULT_INTERVAL) -> None:
        self.cfg = cfg
        self.inject = inject
        self.label = label
        self.interval = interval
        self.net: Any = None
        self.monitor: Optional[NetMonitor] = None
        self._runner: Any = None
        self._watch: Optional[asyncio.Task] = None
        self._stopped = False

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label}

    def _check_injections(self) -> None:
        graph = self.net.graph.nodes()
        for item in self.inject:
            node, port = item.get("node"), item.get("port")
            if node not in graph:
                raise RunError(f"cannot inject into node {node!r}: the net has no such node; nodes: "
                               f"{', '.join(sorted(graph))}", status=422)
            if port not in graph[node].in_ports:
                raise RunError(f"cannot inject into {node}.{port}: node {node!r} has no input port {port!r}; "
                               f"its input ports: {', '.join(graph[node].in_ports) or 'none'}", status=422)
            if not isinstance(item.get("values"), list):
                raise RunError(f"values for {node}.{port} must be a list (one packet per value)", status=422)

    async def start(self, publish: Publish) -> None:
        """Build, inject, run in the background and start monitoring."""
        self.net, run_on_init = await asyncio.to_thread(net_from_config, self.cfg)
        try:
            self._check_injections()
        except RunError:
            await asyncio.to_thread(self.net.stop)
            raise
        self.monitor = NetMonitor(self.net, interval=self.interval).attach()
        self.monitor.subscribe(publish)
        for item in self.inject:
            self.net.inject_data(item["node"], item["port"], item["values"])
        for node in run_on_init:
            self.net.inject_source_epoch(node)
        self._runner = self.net.start(threaded=True)
        self.monitor.start()
        self._watch = asyncio.get_running_loop().create_task(self._watch_runner())

    async def _watch_runner(self) -> None:
        # The background run ends when the net pauses (on_error="pause") or raises; say so.
        while not self._stopped:
            runner = self._runner
            if runner is not None and not runner.is_running and self.monitor is not None:
                error = runner.get_exception()
                if error is not None:
                    self.monitor.set_status("failed", f"{type(error).__name__}: {error}")
                else:
                    self.monitor.set_status("paused")
            await asyncio.sleep(self.interval)

    def _resume(self) -> None:
        if self._runner is not None and not self._runner.is_running and not self._stopped:
            self.monitor.set_status(None)
            self._runner = self.net.start(threaded=True)

    async def stop(self, timeout: float = 30.0) -> None:
        """Stop the net (running epochs finish) and the monitor. A net whose epochs do not
        finish within ``timeout`` seconds is left to finish on its own thread; the editor
        moves on (the warning names the run)."""
        self._stopped = True
        if self._watch is not None:
            self._watch.cancel()
        if self.net is not None:
            try:
                await asyncio.wait_for(asyncio.to_thread(self.net.stop), timeout)
            except asyncio.TimeoutError:
                warnings.warn(f"{self.label}: running epochs did not finish within {timeout:g} s of Stop; "
                              "they keep running in the background", RuntimeWarning, stacklevel=2)
        if self.monitor is not None:
            self.monitor.set_status("stopped")
            await self.monitor.stop()
            self.monitor.detach()

    async def request(self, op: str, **args: Any) -> Any:
        if self.monitor is None:
            raise MonitorError("the run has not started yet")
        if op == "node_detail":
            return self.monitor.node_detail(args["node"])
        if op == "dead_letters":
            return self.monitor.dead_letters()
        if op == "reinject":
            count = self.monitor.reinject(args["epoch_id"])
            self._resume()
            return {"packets": count}
        raise MonitorError(f"unknown monitor request {op!r}")


class RemoteMonitor:
    """A net elsewhere that serves its monitor over a WebSocket."""

    kind = "remote"

    def __init__(self, url: str) -> None:
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise MonitorError(f"monitor URL {url!r} must start with ws:// or wss:// "
                               "(the address printed by serve_monitor)", status=422)
        self.url = url
        self._conn: Any = None
        self._reader: Optional[asyncio.Task] = None
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._last: Optional[dict[str, Any]] = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": f"attached to {self.url}", "url": self.url}

    async def start(self, publish: Publish) -> None:
        from websockets.asyncio.client import connect

        try:
            self._conn = await connect(self.url, open_timeout=5, max_size=2**24)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is reported the same way
            raise MonitorError(f"cannot attach to {self.url}: {exc}; is the net serving its monitor "
                               "there (netrun.ui.monitor.serve_monitor)?", url=self.url) from exc
        self._reader = asyncio.get_running_loop().create_task(self._read(publish))

    async def _read(self, publish: Publish) -> None:
        try:
            async for raw in self._conn:
                message = json.loads(raw)
                if message.get("type") == "reply":
                    future = self._pending.pop(message.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif message.get("type") == "batch":
                    self._last = message
                    publish(message)
        except Exception:  # noqa: BLE001 - a lost connection ends the relay; the status says so
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(MonitorError(f"the connection to {self.url} was lost"))
            self._pending.clear()
            if self._last is not None:
                publish({**self._last, "status": "disconnected", "error": f"connection to {self.url} closed"})

    async def stop(self) -> None:
        if self._conn is not None:
            await self._conn.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._reader.cancel()

    async def request(self, op: str, **args: Any) -> Any:
        if self._conn is None or self._reader is None or self._reader.done():
            raise MonitorError(f"not connected to {self.url}; attach again")
        rid = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        await self._conn.send(json.dumps({"id": rid, "op": op, **args}))
        try:
            reply = await asyncio.wait_for(future, _REQUEST_TIMEOUT)
        except asyncio.TimeoutError:
            self._pending.pop(rid, None)
            raise MonitorError(f"{self.url} did not answer {op!r} within {_REQUEST_TIMEOUT:g} s") from None
        if not reply.get("ok"):
            raise MonitorError(f"{self.url}: {reply.get('error')}")
        return reply.get("result")


class MonitorHub:
    """The current monitor source and the browsers watching it."""

    def __init__(self, queue_size: int = 4) -> None:
        self.source: Any = None
        self._browsers: set[asyncio.Queue] = set()
        self._last: Optional[dict[str, Any]] = None
        self._queue_size = queue_size
        self._lock = asyncio.Lock()

    def describe(self) -> dict[str, Any]:
        """``{"kind": "none"|"run"|"remote", "label", "status"}``."""
        if self.source is None:
            return {"kind": "none", "label": "", "status": "idle"}
        return {**self.source.describe(), "status": (self._last or {}).get("status", "starting")}

    def _send(self, queue: asyncio.Queue, message: dict[str, Any]) -> None:
        if queue.full():
            queue.get_nowait()  # drop the oldest frame; the next batch is complete anyway
        queue.put_nowait(message)

    def publish(self, batch: dict[str, Any]) -> None:
        """Hand a batch to every browser."""
        self._last = batch
        for queue in list(self._browsers):
            self._send(queue, batch)

    def _announce(self) -> None:
        message = {"type": "source", "source": self.describe()}
        for queue in list(self._browsers):
            self._send(queue, message)

    def connect(self) -> asyncio.Queue:
        """A queue of messages for one browser (starting with the source and last batch)."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=self._queue_size)
        queue.put_nowait({"type": "source", "source": self.describe()})
        if self.source is not None and self._last is not None:
            queue.put_nowait(self._last)
        self._browsers.add(queue)
        return queue

    def disconnect(self, queue: asyncio.Queue) -> None:
        self._browsers.discard(queue)

    async def set_source(self, source: Any) -> None:
        """Stop the current source and start ``source`` (``None``: nothing)."""
        async with self._lock:
            old, self.source = self.source, None
            if old is not None:
                await old.stop()
            self._last = None
            if source is not None:
                await source.start(self.publish)
                self.source = source
            self._announce()

    async def request(self, op: str, **args: Any) -> Any:
        """Ask the current source (``node_detail``, ``dead_letters``, ``reinject``)."""
        if self.source is None:
            raise MonitorError("nothing is being monitored; run the net or attach to one first", status=409)
        return await self.source.request(op, **args)

    @property
    def running(self) -> bool:
        """Whether the current source reports a running net."""
        return self.source is not None and (self._last or {}).get("status") in ("running", "starting", None)

    async def close(self) -> None:
        await self.set_source(None)
