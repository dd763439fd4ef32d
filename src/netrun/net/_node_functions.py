"""Node start / stop functions and the net's final shutdown (a mixin of the scheduler).

``ensure_started`` starts the pools and runs each node's start (init) function once per net
lifetime (on every worker of a pool with ``pool_init_mode="per_worker"``, else once on the
loop); ``shutdown`` lets running epochs finish, runs the stop functions the same way and
closes every pool. A failing start function raises ``NodeLifecycleError``; a failing stop
function is logged and warned about (shutdown goes on).
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Callable

from netrun._util.aio import run_coroutine_blocking
from netrun.errors import NodeLifecycleError
from netrun.net._records import NodeRuntime
from netrun.net.state import NetState

__all__ = ["NodeFunctionsMixin"]


class NodeFunctionsMixin:
    """Start / stop functions of the :class:`~netrun.net._scheduler.Scheduler`."""

    async def ensure_started(self) -> None:
        """Start pools and run start functions not run yet (once per net lifetime)."""
        if self.controls is not None:
            self.controls.reclaim()  # control epochs re-queued as data (checkpoint, set_node_exec)
        for executor in self.executors.values():
            await executor.start(self)
        per_pool: dict[str, list[NodeRuntime]] = {}
        fresh = [n for n in self.nodes.values() if not n.started_funcs] if self.signals is not None else None
        for node in self.nodes.values():
            if self.controls is not None and node.name in self.controls.closed:
                continue  # closed by a close_node control, until an init_node control
            if node.started_funcs or (node.compat is not None and node.compat.init_pending):
                continue  # (a defer_init node starts before its first epoch)
            node.started_funcs = True
            if node.start_func is None or self._per_worker(node, per_pool):
                continue
            await self.call_lifecycle(node, node.start_func, "start")
        for pool, nodes in per_pool.items():
            await self.executors[pool].init_nodes(self, nodes)
        if fresh:
            self.signals.node_event([n for n in fresh if n.started_funcs], "node_initialized")
        self.started = True
        if self.on_started is not None:  # run_on_init nodes (config front door)
            self.on_started()

    def _per_worker(self, node: NodeRuntime, per_pool: dict[str, list[NodeRuntime]]) -> bool:
        """Queue ``node`` in ``per_pool`` for each of its pools when its start/stop
        functions run once per worker (``pool_init_mode="per_worker"``); whether it did."""
        pooled = [e for e in node.executors if e is not self.main]
        if not pooled or node.config.pool_init_mode != "per_worker":
            return False
        for executor in pooled:
            per_pool.setdefault(executor.name, []).append(node)
        return True

    async def call_lifecycle(self, node: NodeRuntime, func: Callable[..., Any], phase: str) -> None:
        try:
            result = func(self.net)
            if asyncio.iscoroutine(result) or hasattr(result, "__await__"):
                await result
        except Exception as exc:
            if phase == "start":
                node.started_funcs = False
                raise NodeLifecycleError(node.name, phase, exc) from exc
            self.report_lifecycle_error(node, phase, exc)

    def call_lifecycle_blocking(self, node: NodeRuntime, func: Callable[..., Any]) -> None:
        """Call a start/stop function from a worker thread (async ones run to completion)."""
        result = func(self.net)
        if asyncio.iscoroutine(result):
            run_coroutine_blocking(result)

    def report_lifecycle_error(self, node: NodeRuntime, phase: str, exc: BaseException) -> None:
        error = NodeLifecycleError(node.name, phase, exc)
        node.log.add(str(error), level="error")
        warnings.warn(str(error), RuntimeWarning, stacklevel=2)

    async def shutdown(self) -> None:
        """Stop: let running epochs finish, run stop functions, close pools. Final."""
        if self.state is NetState.STOPPED:
            return
        self.request_pause()
        if self.driving:  # a run on another thread or loop: let it wind down first
            await self.wait_idle()
        if self.started:
            per_pool: dict[str, list[NodeRuntime]] = {}
            for node in self.nodes.values():
                if node.stop_func is None or not node.started_funcs or self._per_worker(node, per_pool):
                    continue
                await self.call_lifecycle(node, node.stop_func, "stop")
            for pool, nodes in per_pool.items():
                await self.executors[pool].stop_nodes(self, nodes)
            if self.signals is not None:
                self.signals.node_event([n for n in self.nodes.values() if n.started_funcs], "node_closed")
        for executor in self.executors.values():
            await executor.close(self)
        if self.history is not None:
            self.history.flush()
        self.state = NetState.STOPPED
        self._set_idle()

