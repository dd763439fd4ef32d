"""Node factory: join. Waits for a packet (or ``n`` packets) on each input and emits one dict.

``factory = "netrun.node_factories.join"``, ``factory_args = { ports = ["left", "right"] }``
or ``{ ports = { left = 1, batch = 3 } }`` (packets per port; default ``["a", "b"]``).

The epoch fires when every port holds its count; output port ``out`` receives
``{port: value}`` (a list of values for ports with a count above 1), sent by ``send``.
"""

from __future__ import annotations

from typing import Any, Callable

from netrun.config.errors import InvalidFactoryError
from netrun.config.nodes import NodeConfig
from netrun.config.ports import PortConfig
from netrun.config.salvo import (
    MaxSalvosFiniteConfig,
    PacketCountAllConfig,
    PacketCountNConfig,
    PortStateEqualsOrGreaterThanConfig,
    PortStateNonEmptyConfig,
    SalvoConditionConfig,
    SalvoConditionTermAndConfig,
    SalvoConditionTermPortConfig,
    SalvoConditionTermTrueConfig,
)

__all__ = ["get_node_config", "get_node_funcs", "get_node_spec"]

_factory_desc = "Join: waits for every input port and emits {port: value} on 'out'."
_DEFAULT_PORTS = ("a", "b")


def _counts(ports: Any) -> dict[str, int]:
    if isinstance(ports, dict):
        counts = dict(ports)
    elif isinstance(ports, (list, tuple)):
        counts = {p: 1 for p in ports}
        if len(counts) != len(ports):
            raise InvalidFactoryError("join: a port is listed twice", value=list(ports), expected="unique port names")
    else:
        raise InvalidFactoryError("join: ports must be a list of names or a table {name = count}", value=ports,
                                  expected='["a", "b"] or { a = 1, b = 2 }')
    if not counts:
        raise InvalidFactoryError("join: needs at least one port", value=ports, expected='e.g. ["a", "b"]')
    for name, n in counts.items():
        if not isinstance(name, str) or not name:
            raise InvalidFactoryError("join: port names must be non-empty strings", value=name)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise InvalidFactoryError(f"join: the count of port {name!r} must be a positive integer", value=n,
                                      expected="an integer >= 1")
    if "out" in counts:
        raise InvalidFactoryError("join: an input port cannot be called 'out' (the output port)", value="out")
    return counts


def get_node_config(_net_config: Any = None, *, ports: Any = _DEFAULT_PORTS) -> NodeConfig:
    """The join node's ports and salvo conditions."""
    counts = _counts(ports)
    terms = [
        SalvoConditionTermPortConfig(port_name=p, state=PortStateNonEmptyConfig()) if n == 1 else
        SalvoConditionTermPortConfig(port_name=p, state=PortStateEqualsOrGreaterThanConfig(value=n))
        for p, n in counts.items()
    ]
    return NodeConfig(
        name="join",
        description="Waits for " + ", ".join(f"{n}×{p}" if n > 1 else p for p, n in counts.items()),
        in_ports={p: PortConfig() for p in counts},
        out_ports={"out": PortConfig(port_type="dict")},
        in_salvo_conditions={"trigger": SalvoConditionConfig(
            max_salvos=MaxSalvosFiniteConfig(max=1),
            ports={p: PacketCountNConfig(count=n) for p, n in counts.items()},
            term=terms[0] if len(terms) == 1 else SalvoConditionTermAndConfig(terms=terms))},
        out_salvo_conditions={"send": SalvoConditionConfig(
            max_salvos=MaxSalvosFiniteConfig(max=1), ports={"out": PacketCountAllConfig()},
            term=SalvoConditionTermTrueConfig())},
    )


def get_node_spec(*, ports: Any = _DEFAULT_PORTS) -> dict[str, Any]:
    """``netrun_sim.Node`` keyword arguments (PROJECT_SPEC protocol)."""
    from netrun.config.factory import node_config_to_spec

    return node_config_to_spec(get_node_config(ports=ports))


def get_node_funcs(_net_config: Any = None, *, ports: Any = _DEFAULT_PORTS) -> tuple[Callable[..., Any], None, None, None]:
    """``(exec_node_func, None, None, None)``."""
    counts = _counts(ports)

    def exec_join(ctx: Any, packets: dict[str, list[Any]]) -> None:
        joined: dict[str, Any] = {}
        for port, n in counts.items():
            values = [ctx.consume_packet(p) for p in packets.get(port, ())]
            joined[port] = values if n > 1 else (values[0] if values else None)
        ctx.load_output_port("out", ctx.create_packet(joined))
        ctx.send_output_salvo("send")

    return exec_join, None, None, None
