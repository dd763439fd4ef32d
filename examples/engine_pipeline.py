"""A three-node pipeline driven by hand with the netrun_sim engine.

    source ──> double ──> sink

The engine only does bookkeeping: it knows where every packet is and which epochs
(node executions) exist. This script plays the part of a runtime: it injects packets,
runs steps, starts the epochs the engine creates, and for each ``double`` epoch consumes
the input packet, creates two output packets (the "doubled" value), loads them into the
output port and sends them on. The values themselves live in a plain dict here, keyed by
packet ID, because the engine never stores values.

Run it with ``python3 dev.py demo`` or ``.venv/bin/python examples/engine_pipeline.py``.
"""

from __future__ import annotations

from collections import Counter

from netrun_sim import (
    Edge,
    Graph,
    MaxSalvos,
    NetAction,
    NetSim,
    Node,
    PacketCount,
    PacketLocation,
    Port,
    PortRef,
    PortState,
    PortType,
    SalvoCondition,
    SalvoConditionTerm,
)

# -- the graph ------------------------------------------------------------------------------


def one_packet_starts_an_epoch(port: str) -> dict:
    """An input salvo condition: whenever ``port`` holds a packet, take it into a new epoch."""
    return {
        "one": SalvoCondition(
            MaxSalvos.finite(1),  # input conditions always use finite(1)
            {port: PacketCount.count(1)},
            SalvoConditionTerm.port(port, PortState.NonEmpty),
        )
    }


def send_everything(port: str) -> dict:
    """An output salvo condition: send all loaded packets of ``port`` at once."""
    return {"send": SalvoCondition(MaxSalvos.Infinite, port, SalvoConditionTerm.port(port, PortState.NonEmpty))}


def build_graph() -> tuple[Graph, Edge, Edge]:
    source = Node("source", out_ports={"out": Port()})
    double = Node(
        "double",
        in_ports={"in": Port()},
        out_ports={"out": Port()},
        in_salvo_conditions=one_packet_starts_an_epoch("in"),
        out_salvo_conditions=send_everything("out"),
    )
    sink = Node("sink", in_ports={"in": Port()}, in_salvo_conditions=one_packet_starts_an_epoch("in"))
    source_to_double = Edge(PortRef("source", PortType.Output, "out"), PortRef("double", PortType.Input, "in"))
    double_to_sink = Edge(PortRef("double", PortType.Output, "out"), PortRef("sink", PortType.Input, "in"))
    return Graph([source, double, sink], [source_to_double, double_to_sink]), source_to_double, double_to_sink


# -- a tiny runtime -------------------------------------------------------------------------


class Narrator:
    """Applies actions to the net and prints what each one did."""

    def __init__(self, net: NetSim) -> None:
        self.net = net
        self.short: dict[str, str] = {}
        self.packets = self.epochs = 0
        self.event_counts: Counter = Counter()
        self.actions = 0

    def name(self, ulid: str, epoch: bool = False) -> str:
        """A short stable name (p1, p2, ... / e1, e2, ...) for an ID, for readable output."""
        if ulid not in self.short:
            if epoch:
                self.epochs += 1
                self.short[ulid] = f"e{self.epochs}"
            else:
                self.packets += 1
                self.short[ulid] = f"p{self.packets}"
        return self.short[ulid]

    def describe(self, event) -> str:
        kind = event.kind
        if kind == "PacketMoved":
            src, dst = self.where(event.from_location), self.where(event.to_location)
            return f"packet {self.name(event.packet_id)} moved {src} -> {dst}"
        if kind in ("PacketCreated", "PacketConsumed", "PacketDestroyed"):
            return f"{kind[6:].lower()} packet {self.name(event.packet_id)}"
        if kind == "InputSalvoTriggered":
            return f"input salvo '{event.salvo_condition}' fired for epoch {self.name(event.epoch_id, True)}"
        if kind == "OutputSalvoTriggered":
            return f"output salvo '{event.salvo_condition}' sent by epoch {self.name(event.epoch_id, True)}"
        if kind in ("EpochCreated", "EpochStarted"):
            return f"epoch {self.name(event.epoch_id, True)} {kind[5:].lower()}"
        if kind == "EpochFinished":
            return f"epoch {self.name(event.epoch_id, True)} of '{event.epoch.node_name}' finished"
        return repr(event)

    def where(self, location) -> str:
        kind = location.kind
        if kind == "Edge":
            return f"edge[{location.get_edge()}]"
        if kind == "InputPort":
            return f"{location.node_name}.in.{location.port_name}"
        if kind == "Node":
            return f"epoch {self.name(location.epoch_id, True)}"
        if kind == "OutputPort":
            return f"epoch {self.name(location.epoch_id, True)}.out.{location.port_name}"
        return "outside"

    def do(self, action: NetAction, label: str):
        response, events = self.net.do_action(action)
        self.report(label, events)
        return response, events

    def step(self):
        progress, events = self.net.run_step()
        self.report(f"run_step (progress={progress})", events)
        return events

    def report(self, label: str, events: list) -> None:
        self.actions += 1
        print(f"{label}")
        for event in events:
            self.event_counts[event.kind] += 1
            print(f"    - {self.describe(event)}")


def main() -> None:
    graph, source_to_double, _double_to_sink = build_graph()
    problems = graph.validate()
    assert not problems, problems
    net = NetSim(graph)
    story = Narrator(net)
    values: dict[str, int] = {}  # the runtime's value store: packet id -> value

    print(f"{net!r}: source -> double -> sink\n")
    print("== inject three packets on the edge source -> double ==")
    for value in (1, 2, 3):
        response, _ = story.do(NetAction.create_packet(), f"create_packet()  (value {value})")
        pid = response.packet_id
        values[pid] = value
        story.do(
            NetAction.transport_packet_to_location(pid, PacketLocation.edge(source_to_double)),
            f"transport {story.name(pid)} onto the edge",
        )

    print("\n== drive the net until every packet reached the sink ==")
    results: list[int] = []
    while True:
        events = story.step()
        created = [e.epoch_id for e in events if e.kind == "EpochCreated"]
        if not created and net.is_blocked():
            break
        for eid in created:
            epoch = story.do(NetAction.start_epoch(eid), f"start_epoch({story.name(eid, True)})")[0].epoch
            inputs = [pid for _port, pid in epoch.in_salvo.packets]
            if epoch.node_name == "double":
                for pid in inputs:
                    value = values.pop(pid)
                    story.do(NetAction.consume_packet(pid), f"consume {story.name(pid)} (value {value})")
                    for _ in range(2):  # "double": every input becomes two outputs
                        out = story.do(NetAction.create_packet(eid), f"create output in {story.name(eid, True)}")[0]
                        values[out.packet_id] = value * 2
                        story.do(
                            NetAction.load_packet_into_output_port(out.packet_id, "out"),
                            f"load {story.name(out.packet_id)} into out (value {value * 2})",
                        )
                story.do(NetAction.send_output_salvo(eid, "send"), f"send_output_salvo({story.name(eid, True)}, 'send')")
            else:  # the sink collects the values
                for pid in inputs:
                    results.append(values.pop(pid))
                    story.do(NetAction.consume_packet(pid), f"consume {story.name(pid)} at the sink")
            story.do(NetAction.finish_epoch(eid), f"finish_epoch({story.name(eid, True)})")

    print("\n== summary ==")
    print(f"actions applied: {story.actions}")
    print("events by kind: " + ", ".join(f"{k}={v}" for k, v in sorted(story.event_counts.items())))
    print(f"values that reached the sink: {sorted(results)}")
    print(f"packets left in the net: {len(values)}; blocked: {net.is_blocked()}")
    assert sorted(results) == [2, 2, 4, 4, 6, 6], results


if __name__ == "__main__":
    main()
