"""A source -> double -> sink pipeline run by ``netrun.net.Net``.

    Source ──> Double ──> Sink ──> (output queue "Sink::out")

Shows: building a graph, registering node functions (sync and async), starting a source
node with ``inject_source_epoch``, feeding data with ``inject_data``, running until the net
is blocked, reading the output queue, and the captured ``print`` output of a node.

Run: ``.venv/bin/python examples/runtime_pipeline.py``
"""

from __future__ import annotations

from netrun_sim import (
    Edge,
    Graph,
    MaxSalvos,
    Node,
    PacketCount,
    Port,
    PortRef,
    PortState,
    PortType,
    SalvoCondition,
    SalvoConditionTerm,
)

from netrun.net import Net


def make_node(name: str, has_input: bool = True) -> Node:
    send = SalvoCondition(MaxSalvos.infinite(), "out", SalvoConditionTerm.port("out", PortState.non_empty()))
    if not has_input:
        return Node(name, {}, {"out": Port()}, {}, {"send": send})
    take_one = SalvoCondition(MaxSalvos.finite(1), {"in": PacketCount.count(1)},
                              SalvoConditionTerm.port("in", PortState.non_empty()))
    return Node(name, {"in": Port()}, {"out": Port()}, {"default": take_one}, {"send": send})


def link(a: str, b: str) -> Edge:
    return Edge(PortRef(a, PortType.Output, "out"), PortRef(b, PortType.Input, "in"))


def source(ctx, packets):
    # a source node has no inputs: each injected epoch produces three values
    for value in (1, 2, 3):
        ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


async def double(ctx, packets):
    # async node: every ctx method is awaited
    value = await ctx.consume_packet(packets["in"][0])
    print(f"doubling {value}")
    await ctx.load_output_port("out", await ctx.create_packet(2 * value))
    await ctx.send_output_salvo("send")


def sink(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def main() -> list:
    graph = Graph([make_node("Source", has_input=False), make_node("Double"), make_node("Sink")],
                  [link("Source", "Double"), link("Double", "Sink")])
    with Net(graph) as net:
        net.set_node_exec("Source", source)
        net.set_node_exec("Double", double)
        net.set_node_exec("Sink", sink)
        net.set_input_port_type("Double", "in", int)

        net.inject_source_epoch("Source")     # run the source once
        net.inject_data("Double", "in", [10])  # and feed Double directly too
        net.start()                            # until blocked

        results = net.flush_output_queue("Sink::out")
        print("results:", results)
        for entry in net.get_node_log("Double"):
            print(f"  Double printed {entry.message!r} at {entry.timestamp:%H:%M:%S.%f}")
    return results


if __name__ == "__main__":
    main()
