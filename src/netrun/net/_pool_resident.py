"""Packet values that stay in a Dask cluster between two epochs of the same Dask pool.

When node ``A`` runs on a Dask pool and an output port of ``A`` leads only to nodes that run
on that same pool (and nowhere else), the values ``A`` loads onto that port are *resident*:

* on the Dask worker, the node runner keeps them out of the result it sends back (the job
  returns ``(result_bytes, {deferred_id: value})``, see ``ExecutionManager.submit(...,
  split_result=True)``): the net receives a :class:`ClusterValue` placeholder per packet,
  stored as the packet's *value function*, which holds the Dask future of the job;
* an epoch of the same pool that consumes such a packet gets the future as its argument,
  so Dask hands the value over inside the cluster (on the same worker: no copy at all); its
  successful result does not send the consumed value back either;
* anything outside the cluster that needs the value (``net.get_packet`` value queries, a
  checkpoint, the dead-letter queue, a node on another pool after a configuration change)
  calls the value function, which fetches that one value (``pick_resident`` on the cluster)
  and keeps it; when the pool closes (``Net.stop()``) every resident value still waiting in
  the net is fetched first, so nothing is lost with the cluster.

Limits (documented choices): a read *on the net's event loop thread* (a main-pool function,
a value query made from a callback) cannot wait for the cluster, whose client runs on that
same loop; with the embedded thread cluster (the default: ``processes=False``, no
``address``) the value is read straight from the in-process worker's memory instead, so
residency is on by default only there. For worker processes or a remote scheduler it is
off unless the pool sets ``keep_values=True``; such a read then raises
:class:`~netrun.execution.ExecutionError` naming the packet and the fix. Failed attempts
send their values back as before (the dead-letter queue needs them here), and consumed
resident values are not kept in the net's consumed-value storage.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["ClusterValue", "ResidentInput", "resident_ports", "split_worker_result"]

_FETCH_TIMEOUT = 60.0  # seconds a value query off the loop waits for the cluster


class ResidentInput:
    """Marks an input entry ``(ResidentInput, envelope_future, key)`` whose value is in the
    cluster; Dask replaces the future by the producing job's envelope on the worker."""

    @staticmethod
    def value(entry: tuple) -> Any:
        envelope, key = entry[1], entry[2]
        return envelope[3][1][key]

    @staticmethod
    def is_one(entry: Any) -> bool:
        return type(entry) is tuple and len(entry) == 3 and entry[0] is ResidentInput


class ClusterValue:
    """A packet value held by a Dask pool (the packet's value function); see the module
    docstring. Pickled, it travels as the value itself (fetched first)."""

    __slots__ = ("_have", "_value", "executor", "future", "key")

    def __init__(self, key: str) -> None:
        self.key = key
        self.future: Any = None
        self.executor: Any = None
        self._value: Any = None
        self._have = False

    def __getstate__(self) -> Any:
        if self.future is None and not self._have:  # the worker's placeholder
            return {"key": self.key}
        return {"key": self.key, "value": self()}

    def __setstate__(self, state: dict) -> None:
        self.key = state["key"]
        self.future = self.executor = None
        self._have = "value" in state
        self._value = state.get("value")

    def bind(self, future: Any, executor: Any) -> None:
        self.future, self.executor = future, executor

    @property
    def resident(self) -> bool:
        """Whether the value is still only in the cluster."""
        return not self._have and self.future is not None

    def set(self, value: Any) -> None:
        self._value, self._have = value, True
        self.future = None  # the cluster may drop it once nothing else holds the job

    def __call__(self) -> Any:
        if self._have:
            return self._value
        executor = self.executor
        if executor is None or self.future is None:
            from netrun.execution import ExecutionError

            raise ExecutionError(f"the value {self.key!r} kept in a Dask cluster is not bound to a pool; "
                                 f"it cannot be read (this is a netrun bug: please report it)")
        loop = executor._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is loop:
            value = executor.read_resident_here(self)
        else:
            if loop is None or loop.is_closed():
                from netrun.execution import ExecutionError

                raise ExecutionError(f"the value {self.key!r} kept in Dask pool {executor.name!r} is gone: the "
                                     f"pool's event loop is closed")
            future = asyncio.run_coroutine_threadsafe(executor.fetch_resident(self), loop)
            value = future.result(_FETCH_TIMEOUT)
        self.set(value)
        return value


def resident_ports(core: Any, node: Any, executor: Any) -> frozenset:
    """The output ports of ``node`` whose edges all lead to nodes that run only on
    ``executor`` (values loaded there can stay in its cluster)."""
    targets: dict[str, list[str]] = {}
    for edge in core.engine.graph.edges():
        if edge.source.node_name == node.name:
            targets.setdefault(edge.source.port_name, []).append(edge.target.node_name)
    out = []
    for port, names in targets.items():
        if all(core.nodes[name].executors == [executor] for name in names):
            out.append(port)
    return frozenset(out)


def split_worker_result(result: Any, ports: frozenset, resident_inputs: set) -> tuple[Any, dict]:
    """On the worker, after a successful attempt: move the values loaded onto ``ports`` out
    of ``result`` (their creations become value-function creations of a
    :class:`ClusterValue` placeholder), and drop the consumed values that came from the
    cluster. Returns ``(result, {key: value})``."""
    from netrun.net.deferred import DeferredActionType, DeferredPacket

    create, create_func = DeferredActionType.CREATE_PACKET, DeferredActionType.CREATE_PACKET_FROM_FUNC
    load, consume = DeferredActionType.LOAD_OUTPUT_PORT, DeferredActionType.CONSUME_PACKET
    staying = {a.packet.deferred_id for a in result.actions
               if a.action_type is load and a.port_name in ports and isinstance(a.packet, DeferredPacket)}
    resident: dict[str, Any] = {}
    for action in result.actions:
        kind = action.action_type
        if kind is create and action.deferred_packet is not None and action.deferred_packet.deferred_id in staying:
            key = action.deferred_packet.deferred_id
            resident[key] = action.value
            placeholder = ClusterValue(key)
            action.action_type, action.value, action.value_func = create_func, None, placeholder
            packet = action.deferred_packet
            packet._value, packet._value_func = None, placeholder
        elif kind is consume and resident_inputs and _packet_key(action.packet) in resident_inputs:
            action.consumed_value = None
    if resident_inputs:
        result.consumed_values = {k: v for k, v in result.consumed_values.items() if k not in resident_inputs}
    return result, resident


def bind_result(result: Any, future: Any | None, executor: Any) -> None:
    """On the net: point the placeholders of a split result at the job's future."""
    from netrun.net.deferred import DeferredActionType

    create_func = DeferredActionType.CREATE_PACKET_FROM_FUNC
    for action in result.actions:
        if action.action_type is create_func and type(action.value_func) is ClusterValue:
            action.value_func.bind(future, executor)
            action.deferred_packet._value_func = action.value_func


def _packet_key(packet: Any) -> Any:
    from netrun.net.deferred import DeferredPacket

    return packet.deferred_id if isinstance(packet, DeferredPacket) else str(packet)
