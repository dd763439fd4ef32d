"""Small builders of config-driven nets for the signal, control, request and target tests."""

from __future__ import annotations

from typing import Any

from netrun.config import (
    EdgeConfig,
    GraphConfig,
    NetConfig,
    NodeConfig,
    NodeExecutionConfig,
    PortConfig,
)
from netrun.config.nodes import DependencyRequestConfig
from netrun.config.runtime import runtime_setup
from netrun.config.salvo import (
    MaxSalvosFiniteConfig,
    PacketCountAllConfig,
    PacketCountNConfig,
    PortStateNonEmptyConfig,
    SalvoConditionConfig,
    SalvoConditionTermPortConfig,
)
from netrun.net import Net


class NetBuilder:
    """``build(nodes, edges, funcs, **net_fields)`` -> a started-able ``Net``; stops them all."""

    def __init__(self) -> None:
        self.nets: list[Net] = []

    def __call__(self, nodes, edges=(), funcs: dict[str, Any] | None = None, **net_fields: Any) -> Net:
        cfg = NetConfig(graph=GraphConfig(nodes=list(nodes), edges=list(edges)), **net_fields)
        net = Net.from_setup(runtime_setup(cfg), handle_sigint=False)
        self.nets.append(net)
        for name, func in (funcs or {}).items():
            if isinstance(func, tuple):
                net.set_node_exec(name, *func)
            else:
                net.set_node_exec(name, func)
        return net

    def close(self) -> None:
        for net in self.nets:
            try:
                net.stop()
            except Exception:
                pass


def condition(port: str, count: int | None = None) -> SalvoConditionConfig:
    """Fire when ``port`` is non-empty, taking ``count`` packets (all when ``None``)."""
    return SalvoConditionConfig(
        max_salvos=MaxSalvosFiniteConfig(max=1),
        ports={port: PacketCountAllConfig() if count is None else PacketCountNConfig(count=count)},
        term=SalvoConditionTermPortConfig(port_name=port, state=PortStateNonEmptyConfig()))


def node(name: str, ins=(), outs=(), *, signals=None, controls=None, per_packet: bool = False,
         dependency: DependencyRequestConfig | None = None, **exec_fields: Any) -> NodeConfig:
    """A node; ``per_packet`` makes its one input port fire one epoch per packet."""
    fields = dict(exec_fields)
    if signals is not None:
        fields["signals"] = signals
    if controls is not None:
        fields["controls"] = controls
    extra: dict[str, Any] = {}
    if per_packet:
        extra["in_salvo_conditions"] = {"default": condition(ins[0], 1)}
    if dependency is not None:
        extra["dependency_request"] = dependency
    return NodeConfig(name=name, in_ports={p: PortConfig() for p in ins},
                      out_ports={p: PortConfig() for p in outs},
                      execution_config=NodeExecutionConfig(**fields) if fields else None, **extra)


def sink(name: str, ports) -> NodeConfig:
    """A node that fires on any one of its input ports (one condition per port)."""
    return NodeConfig(name=name, in_ports={p: PortConfig() for p in ports},
                      in_salvo_conditions={f"on_{p}": condition(p) for p in ports})


def edge(src: str, sport: str, dst: str, dport: str, dependency: bool = False) -> EdgeConfig:
    return EdgeConfig(source_node=src, source_port=sport, target_node=dst, target_port=dport,
                      dependency=dependency)


def doubler(log: list | None = None):
    """Consume every input packet of ``in``, send each value doubled on ``out`` (one salvo)."""
    def work(ctx, packets):
        if log is not None:
            log.append(ctx.epoch_id)
        for p in packets.get("in", ()):
            ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(p) * 2))
        ctx.send_output_salvo("default")
    return work


def recorder(seen: list):
    """Consume everything, appending ``(port, value)`` to ``seen``."""
    def record(ctx, packets):
        for port, refs in packets.items():
            for p in refs:
                seen.append((port, ctx.consume_packet(p)))
    return record


def emitter(values: list, calls: list | None = None):
    """A source: each epoch sends the next value of ``values`` on ``out``."""
    it = iter(values)

    def emit(ctx, packets):
        if calls is not None:
            calls.append(ctx.epoch_id)
        ctx.load_output_port("out", ctx.create_packet(next(it)))
        ctx.send_output_salvo("default")
    return emit


def double_all(ctx, packets):
    """A top-level (importable, so savable) form of :func:`doubler`."""
    doubler()(ctx, packets)
