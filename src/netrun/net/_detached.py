"""``net.execute_node``'s helpers: choosing the input salvo condition for given input
values, and the throw-away context of an execution *outside* the net.

:func:`pick_salvo_condition` evaluates each input salvo condition's term (in declaration
order) against the counts of the given inputs, with the engine's public term API, and
returns the first one satisfied, or raises ``SalvoConditionNotMetError`` naming the node, the
counts and the conditions.

:class:`DetachedContext` offers the context API (``create_packet``, ``consume_packet``,
``load_output_port``, ``send_output_salvo``, ``cancel_epoch``) without an engine: packets
are local IDs, sent salvos are collected as ``{out_port: [values]}``. Port types are
checked as in the net (input on consume, output on load). :class:`AsyncDetachedContext`
is the same for ``async`` node functions (every method awaitable).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from netrun.errors import (
    ContextMisuseError,
    EpochCancelled,
    OutputPortNotFoundError,
    PacketTypeMismatch,
    SalvoConditionNotFoundError,
    SalvoConditionNotMetError,
)
from netrun.net.packets import PacketRef, packet_id_of

__all__ = ["AsyncDetachedContext", "DetachedContext", "pick_salvo_condition", "term_holds"]

_ids = itertools.count(1)


def _capacity(port: Any) -> int | None:
    spec = getattr(port, "slots_spec", None)
    return getattr(spec, "capacity", None)


def term_holds(term: Any, counts: dict[str, int], ports: dict[str, Any]) -> bool:
    """Whether a ``SalvoConditionTerm`` holds for the given packet counts per port."""
    kind = term.kind
    if kind == "True":
        return True
    if kind == "False":
        return False
    if kind == "And":
        return all(term_holds(t, counts, ports) for t in term.get_terms())
    if kind == "Or":
        return any(term_holds(t, counts, ports) for t in term.get_terms())
    if kind == "Not":
        return not term_holds(term.get_inner(), counts, ports)
    name = term.get_port_name()
    n = counts.get(name, 0)
    state = term.get_port_state()
    numeric = getattr(state, "kind", None)
    if isinstance(numeric, str) and hasattr(state, "value"):
        k = state.value
        key = numeric.lower()
        return {"equals": n == k, "lessthan": n < k, "greaterthan": n > k,
                "equalsorlessthan": n <= k, "equalsorgreaterthan": n >= k}.get(key.replace("_", ""), False)
    text = repr(state).rsplit(".", 1)[-1].lower().replace("_", "")
    cap = _capacity(ports.get(name))
    if text == "empty":
        return n == 0
    if text == "nonempty":
        return n > 0
    if text == "full":
        return cap is not None and n >= cap
    if text == "nonfull":
        return cap is None or n < cap
    raise ValueError(f"unknown port state {state!r} in a salvo condition term")


def pick_salvo_condition(graph_node: Any, counts: dict[str, int]) -> str:
    """The first input salvo condition of ``graph_node`` satisfied by ``counts``."""
    conditions = graph_node.in_salvo_conditions
    ports = graph_node.in_ports
    for name, cond in conditions.items():
        if term_holds(cond.term, counts, ports):
            return name
    shown = ", ".join(f"{p}={n}" for p, n in counts.items()) or "no packets"
    raise SalvoConditionNotMetError(
        f"No input salvo condition of node '{graph_node.name}' is satisfied by the given inputs "
        f"({shown}); its conditions are: {', '.join(conditions) or 'none'}. Give values for the "
        f"ports a condition needs, e.g. execute_node('{graph_node.name}', {{port: [value]}})"
    )


class DetachedContext:
    """The context of an execution outside the net (see the module docstring)."""

    def __init__(self, node: Any, epoch_id: str, inputs: dict[str, list[Any]],
                 out_conditions: dict[str, Any]) -> None:
        self._node = node
        self.epoch_id = epoch_id
        self.node_name = node.name
        self.retry_count = 0
        self.retry_timestamps: list = []
        self.retry_exceptions: list = []
        self.packet_values: dict[str, Any] = {}
        self._values: dict[str, Any] = {}
        self._port_of: dict[str, str] = {}
        self._loaded: dict[str, list[str]] = {}
        self._out_conditions = out_conditions
        self.outputs: dict[str, list[Any]] = {}
        self.packets: dict[str, list[PacketRef]] = {}
        for port, values in inputs.items():
            for value in values:
                pid = self._new_id()
                self._values[pid] = value
                self._port_of[pid] = port
                self.packets.setdefault(port, []).append(PacketRef(pid))

    @property
    def _net(self) -> None:
        return None

    def _new_id(self) -> str:
        return f"outside-{self.node_name}-{next(_ids)}"

    def create_packet(self, value: Any) -> PacketRef:
        pid = self._new_id()
        self._values[pid] = value
        return PacketRef(pid)

    def create_packet_from_value_func(self, func: Callable[[], Any]) -> PacketRef:
        if not callable(func):
            raise TypeError(f"create_packet_from_value_func needs a callable, got {type(func).__name__}")
        return self.create_packet(_Lazy(func))

    def consume_packet(self, packet: Any) -> Any:
        pid = packet_id_of(packet)
        port = self._port_of.pop(pid, None)
        if port is None:
            raise ContextMisuseError(
                f"Packet {pid} is not an unconsumed input packet of node '{self.node_name}' "
                f"(executed outside the net); consume each packet of `packets` once")
        value = self._values.pop(pid)
        if isinstance(value, _Lazy):
            value = value.func()
        spec = self._node.in_types.get(port)
        if spec is not None and not spec.check(value):
            raise PacketTypeMismatch(pid, spec.get_expected_type_str(), type(value).__name__, port,
                                     node_name=self.node_name, port_kind="input")
        self.packet_values[pid] = value
        return value

    def load_output_port(self, port_name: str, packet: Any) -> None:
        if port_name not in self._node.out_ports:
            raise OutputPortNotFoundError(
                f"Node '{self.node_name}' has no output port '{port_name}'; its output ports "
                f"are: {', '.join(self._node.out_ports) or 'none'}")
        pid = packet_id_of(packet)
        if pid not in self._values:
            raise ContextMisuseError(f"Packet {pid} was not created by this execution of node "
                                     f"'{self.node_name}'; load packets made with ctx.create_packet")
        spec = self._node.out_types.get(port_name)
        value = self._values[pid]
        if spec is not None and not isinstance(value, _Lazy) and not spec.check(value):
            raise PacketTypeMismatch(pid, spec.get_expected_type_str(), type(value).__name__,
                                     port_name, node_name=self.node_name, port_kind="output")
        self._loaded.setdefault(port_name, []).append(pid)

    def send_output_salvo(self, salvo_condition_name: str) -> None:
        cond = self._out_conditions.get(salvo_condition_name)
        if cond is None:
            raise SalvoConditionNotFoundError(
                f"Node '{self.node_name}' has no output salvo condition '{salvo_condition_name}'; "
                f"its output salvo conditions are: {', '.join(self._out_conditions) or 'none'}")
        for port in list(cond.ports):
            for pid in self._loaded.pop(port, ()):
                value = self._values.pop(pid)
                if isinstance(value, _Lazy):
                    value = value.func()
                self.outputs.setdefault(port, []).append(value)

    def cancel_epoch(self) -> None:
        raise EpochCancelled(self.node_name, self.epoch_id)

    def print(self, *args: Any, **kwargs: Any) -> None:
        print(*args, **kwargs)


class AsyncDetachedContext(DetachedContext):
    """:class:`DetachedContext` whose methods are awaitable (for ``async`` node functions)."""

    async def create_packet(self, value: Any) -> PacketRef:  # type: ignore[override]
        return DetachedContext.create_packet(self, value)

    async def create_packet_from_value_func(self, func: Callable[[], Any]) -> PacketRef:  # type: ignore[override]
        return DetachedContext.create_packet_from_value_func(self, func)

    async def consume_packet(self, packet: Any) -> Any:  # type: ignore[override]
        pid = packet_id_of(packet)
        value = self._values.get(pid)
        if isinstance(value, _Lazy):
            result = value.func()
            if hasattr(result, "__await__"):
                result = await result
            self._values[pid] = result
        return DetachedContext.consume_packet(self, packet)

    async def load_output_port(self, port_name: str, packet: Any) -> None:  # type: ignore[override]
        DetachedContext.load_output_port(self, port_name, packet)

    async def send_output_salvo(self, salvo_condition_name: str) -> None:  # type: ignore[override]
        DetachedContext.send_output_salvo(self, salvo_condition_name)

    async def cancel_epoch(self) -> None:  # type: ignore[override]
        DetachedContext.cancel_epoch(self)


class _Lazy:
    __slots__ = ("func",)

    def __init__(self, func: Callable[[], Any]) -> None:
        self.func = func
