"""Node factory: broadcast (fan-out). Every input packet is sent to every output port.

An output port feeds one edge, so fan-out goes through a broadcast node:
``factory = "netrun.node_factories.broadcast"``, ``factory_args = { num_outputs = 3 }``.

Arguments: ``num_inputs`` (default 1), ``num_outputs`` (default 2), or explicit port names
``in_ports`` / ``out_ports``; ``copy_mode``: ``"none"`` (the same object goes to every
output), ``"shallow"`` (``copy.copy`` per output) or ``"deep"`` (``copy.deepcopy``).

Ports ``in_0 … in_{N-1}`` and ``out_0 … out_{M-1}``. Each input port has its own input
condition taking one packet (``trigger`` with one input, ``trigger_<port>`` otherwise), so
inputs are independent; one output salvo ``send`` per epoch.
"""

from __future__ import annotations

import copy
from enum import Enum
from typing import Any, Callable

from netrun.config.errors import InvalidFactoryError
from netrun.config.nodes import NodeConfig
from netrun.config.ports import PortConfig
from netrun.config.salvo import (
    MaxSalvosFiniteConfig,
    PacketCountAllConfig,
    PacketCountNConfig,
    PortStateNonEmptyConfig,
    SalvoConditionConfig,
    SalvoConditionTermPortConfig,
    SalvoConditionTermTrueConfig,
)

__all__ = ["CopyMode", "get_node_config", "get_node_funcs", "get_node_spec"]

_factory_desc = "Fan-out: each input packet is copied to every output port."


class CopyMode(str, Enum):
    """How the value is duplicated for each output."""

    NONE = "none"
    SHALLOW = "shallow"
    DEEP = "deep"


def _copy_mode(value: Any) -> CopyMode:
    try:
        return CopyMode(value.value if isinstance(value, CopyMode) else str(value).lower())
    except ValueError:
        raise InvalidFactoryError(f"broadcast: unknown copy_mode {value!r}", value=value,
                                  expected="one of: none, shallow, deep") from None


def _names(names: Any, count: Any, prefix: str, arg: str) -> list[str]:
    if names is not None:
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) and n for n in names):
            raise InvalidFactoryError(f"broadcast: {arg} must be a non-empty list of port names", value=names,
                                      expected='e.g. ["left", "right"]')
        if len(set(names)) != len(names):
            raise InvalidFactoryError(f"broadcast: {arg} lists a port twice", value=names, expected="unique names")
        return list(names)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InvalidFactoryError(f"broadcast: num_{prefix}puts must be a positive integer", value=count,
                                  expected="an integer >= 1")
    return [f"{prefix}_{i}" for i in range(count)]


def _ports(num_inputs: Any, num_outputs: Any, in_ports: Any, out_ports: Any) -> tuple[list[str], list[str]]:
    return (_names(in_ports, num_inputs, "in", "in_ports"), _names(out_ports, num_outputs, "out", "out_ports"))


def get_node_config(_net_config: Any = None, *, num_inputs: int = 1, num_outputs: int = 2,
                    copy_mode: str | CopyMode = "none", in_ports: list[str] | None = None,
                    out_ports: list[str] | None = None) -> NodeConfig:
    """The broadcast node's ports and salvo conditions."""
    _copy_mode(copy_mode)
    ins, outs = _ports(num_inputs, num_outputs, in_ports, out_ports)
    conditions = {}
    for port in ins:
        name = "trigger" if len(ins) == 1 else f"trigger_{port}"
        conditions[name] = SalvoConditionConfig(
            max_salvos=MaxSalvosFiniteConfig(max=1), ports={port: PacketCountNConfig(count=1)},
            term=SalvoConditionTermPortConfig(port_name=port, state=PortStateNonEmptyConfig()))
    return NodeConfig(
        name="broadcast",
        description=f"Copies each input packet to {len(outs)} outputs",
        in_ports={p: PortConfig() for p in ins},
        out_ports={p: PortConfig() for p in outs},
        in_salvo_conditions=conditions,
        out_salvo_conditions={"send": SalvoConditionConfig(
            max_salvos=MaxSalvosFiniteConfig(max=1), ports={p: PacketCountAllConfig() for p in outs},
            term=SalvoConditionTermTrueConfig())},
        extra={"ui": {"shape": "triangle-left"}},
    )


def get_node_spec(*, num_inputs: int = 1, num_outputs: int = 2, copy_mode: str | CopyMode = "none",
                  in_ports: list[str] | None = None, out_ports: list[str] | None = None) -> dict[str, Any]:
    """``netrun_sim.Node`` keyword arguments (PROJECT_SPEC protocol)."""
    from netrun.config.factory import node_config_to_spec

    return node_config_to_spec(get_node_config(num_inputs=num_inputs, num_outputs=num_outputs,
                                               copy_mode=copy_mode, in_ports=in_ports, out_ports=out_ports))


def get_node_funcs(_net_config: Any = None, *, num_inputs: int = 1, num_outputs: int = 2,
                   copy_mode: str | CopyMode = "none", in_ports: list[str] | None = None,
                   out_ports: list[str] | None = None) -> tuple[Callable[..., Any], None, None, None]:
    """``(exec_node_func, None, None, None)``."""
    mode = _copy_mode(copy_mode)
    ins, outs = _ports(num_inputs, num_outputs, in_ports, out_ports)
    duplicate = {CopyMode.NONE: lambda v: v, CopyMode.SHALLOW: copy.copy, CopyMode.DEEP: copy.deepcopy}[mode]

    def exec_broadcast(ctx: Any, packets: dict[str, list[Any]]) -> None:
        values = [ctx.consume_packet(p) for port in ins for p in packets.get(port, ())]
        for value in values:
            for port in outs:
                ctx.load_output_port(port, ctx.create_packet(duplicate(value)))
        if values:
            ctx.send_output_salvo("send")

    return exec_broadcast, None, None, None
