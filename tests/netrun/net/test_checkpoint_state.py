"""Checkpoints keep retry counters and the dead-letter queue; the original runtime's
packet-location helpers (PacketState, get_all_packet_states, restore_packets_to_net)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time

import pytest
from netrun_sim import Graph, NetAction, NetSim, PacketLocation

from netrun import Net
from netrun.checkpoint import (
    PacketState,
    RestoredException,
    deserialize_packet_location,
    get_all_packet_states,
    load_checkpoint_state,
    restore_packets_to_net,
    serialize_packet_location,
)
from netrun.net.output_queues import OutputQueues

NODES = textwrap.dedent("""\
    import threading

    SEEN = []
    GATE = threading.Event()

    class Unpicklable(Exception):
        def __init__(self, msg):
            super().__init__(msg)
            self.lock = threading.Lock()

    def flaky(ctx, packets):
        SEEN.append((ctx.retry_count, [str(e) for e in ctx.retry_exceptions]))
        if ctx.retry_count == 0:
            raise ValueError("first attempt fails")
        if not GATE.wait(10):
            raise TimeoutError("the test never opened the gate")
        for p in packets["in"]:
            ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(p) + 1))
        ctx.send_output_salvo("send")

    def always_fails(ctx, packets):
        for p in packets["in"]:
            ctx.consume_packet(p)
        raise Unpicklable("broken for good")
""")

NET = textwrap.dedent("""\
    [net]
    on_error = "continue"

    [net.thread_pools.work]
    size = 1

    [nodes.Flaky]
    in_ports = ["in"]
    out_ports = ["out"]
    exec_node_func = "statenodes.flaky"
    [nodes.Flaky.in_salvo_conditions.go]
    when = "nonempty(in)"
    [nodes.Flaky.out_salvo_conditions.send]
    when = "nonempty(out)"
    [nodes.Flaky.options]
    pool = "work"
    retries = 1
    retry_wait = 0.05
    defer_net_actions = true

    [nodes.Bad]
    in_ports = ["in"]
    out_ports = ["out"]
    exec_node_func = "statenodes.always_fails"
    [nodes.Bad.in_salvo_conditions.go]
    when = "nonempty(in)"
    [nodes.Bad.out_salvo_conditions.send]
    when = "nonempty(out)"
""")


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "statenodes.py").write_text(NODES)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("statenodes", None)


@pytest.fixture
def nets():
    made = []
    yield made
    for net in made:
        try:
            net.stop()
        except Exception:
            pass


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _capture_on_loop(net, target):
    """A live capture on the net's loop, as a periodic checkpoint takes it."""
    from netrun.net._periodic_checkpoint import capture_checkpoint

    async def capture():
        return capture_checkpoint(net, live=True)

    payload = asyncio.run_coroutine_threadsafe(capture(), net._loop_thread.loop).result(10)
    payload.write(target)
    return payload


def test_retry_counters_and_dead_letters_survive_a_checkpoint(project, nets):
    import statenodes

    net = Net.from_toml(NET)
    nets.append(net)
    net.inject_data("Bad", "in", [7])
    net.run_step()
    assert len(net.dead_letter_queue) == 1
    net.inject_data("Flaky", "in", [1])
    net.start(threaded=True)
    _wait(lambda: len(statenodes.SEEN) == 2)  # attempt 0 failed, attempt 1 waits at the gate
    payload = _capture_on_loop(net, project / "ckpt")
    assert payload.in_flight == 1
    statenodes.GATE.set()
    assert net.wait_until_blocked(10)
    assert net.flush_output_queue("Flaky::out") == [2]

    loaded = load_checkpoint_state(project / "ckpt")
    assert loaded.metadata.dead_letter_count == 1 and loaded.metadata.in_flight_epochs == 1
    [epoch] = [e for e in loaded.net_state["epochs"] if e["node_name"] == "Flaky"]
    assert epoch["attempt"] == 1 and len(epoch["retry_timestamps"]) == 1

    restored = Net.load_checkpoint(project / "ckpt")
    nets.append(restored)
    [letter] = restored.dead_letter_queue.get_all()
    assert letter.node_name == "Bad" and list(letter.packet_values.values()) == [7]
    # the exception could not be pickled: its type name and message are kept
    assert isinstance(letter.exception, RestoredException)
    assert letter.exception.original_type == "Unpicklable" and "broken for good" in str(letter.exception)
    assert restored.get_startable_epochs() == [epoch["epoch_id"]]
    restored.start()
    # the in-flight epoch runs again as attempt 1 (not a fresh attempt 0) and knows why
    # attempt 0 failed
    assert statenodes.SEEN[-1] == (1, ["first attempt fails"])
    assert restored.flush_output_queue("Flaky::out") == [2]


def test_output_queue_restore_checks_names():
    queues = OutputQueues([("A", "out")])
    queues.restore({"A::out": [(5, "p1", "e1", 0.0)]})
    assert queues.flush("A::out") == [5]
    with pytest.raises(KeyError, match="output queue 'B::out' does not exist"):
        queues.restore({"A::out": [(6, "p2", "e2", 0.0)], "B::out": [(1, "p", "e", 0.0)]})
    assert queues.size("A::out") == 0  # nothing added when a name is wrong


def _graph():
    from _net_graphs import edge, node

    link = edge("A", "B")
    return Graph([node("A"), node("B", outs=())], [link]), link


def test_packet_states_round_trip_into_a_fresh_engine():
    graph, edge = _graph()
    sim = NetSim(graph)
    ids = []
    for where in (PacketLocation.input_port("B", "in"), PacketLocation.edge(edge), None):
        resp, _ = sim.do_action(NetAction.create_packet(None))
        pid = str(resp.packet_id)
        if where is not None:
            sim.do_action(NetAction.transport_packet_to_location(pid, where))
        ids.append(pid)
    states = get_all_packet_states(sim, [*ids, "not-a-packet"], graph)
    assert [s.location_kind for s in states] == ["input_port", "edge", "outside_net"]
    assert states[1].location_data == {"source_node": "A", "source_port": "out", "target_node": "B",
                                       "target_port": "in"}
    assert [PacketState.from_dict(s.to_dict()) for s in states] == states

    fresh = NetSim(graph)
    mapping = restore_packets_to_net(fresh, states, graph)
    assert set(mapping) == set(ids) and not set(mapping.values()) & set(ids)
    assert [str(p) for p in fresh.get_packets_at_location(PacketLocation.input_port("B", "in"))] == [mapping[ids[0]]]
    assert [str(p) for p in fresh.get_packets_at_location(PacketLocation.edge(edge))] == [mapping[ids[1]]]


def test_packets_of_a_startable_epoch_are_reported_at_their_input_port():
    graph, _ = _graph()
    sim = NetSim(graph)
    resp, _ = sim.do_action(NetAction.create_packet(None))
    pid = str(resp.packet_id)
    sim.do_action(NetAction.transport_packet_to_location(pid, PacketLocation.input_port("A", "in")))
    sim.run_until_blocked()
    assert sim.get_packet(pid).location.kind == "Node"
    [state] = get_all_packet_states(sim, [pid], graph)
    assert (state.location_kind, state.location_data) == ("input_port", {"node_name": "A", "port_name": "in"})
    assert serialize_packet_location(sim.get_packet(pid).location).location_kind == "node"


def test_bad_packet_states_raise_value_errors():
    graph, _ = _graph()
    with pytest.raises(ValueError, match="unknown location kind 'moon'"):
        deserialize_packet_location(PacketState("p", "moon"), graph)
    with pytest.raises(ValueError, match="no edge B.out -> A.in"):
        deserialize_packet_location(PacketState("p", "edge", {"source_node": "B", "source_port": "out",
                                                              "target_node": "A", "target_port": "in"}), graph)
    with pytest.raises(ValueError, match="lacks 'port_name'"):
        deserialize_packet_location(PacketState("p", "input_port", {"node_name": "A"}), graph)
    missing = PacketState("p1", "node", {"epoch_id": "01J0000000000000000000000A"})
    with pytest.raises(ValueError, match="packet 'p1'.*epoch 01J0000000000000000000000A does not exist"):
        restore_packets_to_net(NetSim(graph), [missing], graph)


def inc(ctx, packets):
    for p in packets["in"]:
        ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(p) + 1))
    ctx.send_output_salvo("send")


def test_an_engine_epoch_the_runtime_had_not_indexed_is_resumed(tmp_path, make_net):
    from _net_graphs import pipeline

    from netrun.checkpoint import save_checkpoint_state

    net = make_net(pipeline("A"))
    net.set_node_exec("A", inc)
    net.inject_data("A", "in", [1, 2])
    net.run_step(start_epochs=False)
    net.save_checkpoint(tmp_path / "ckpt")
    loaded = load_checkpoint_state(tmp_path / "ckpt")
    assert len(loaded.net_state["epochs"]) == 2
    # as if captured while an epoch was on its way from the engine to the runtime's index
    dropped = loaded.net_state["epochs"].pop()
    with pytest.raises(TypeError, match=r"the third argument is a dict, but in the original form it is the "
                       r"list of PacketState records; pass a net state \(engine snapshot and epochs\) as net_state="):
        save_checkpoint_state(tmp_path / "ckpt2", loaded.net_definition_toml, loaded.net_state,
                              loaded.packet_values)
    save_checkpoint_state(tmp_path / "ckpt2", loaded.net_definition_toml, packet_values=loaded.packet_values,
                          net_state=loaded.net_state, output_queues=loaded.output_queues)
    restored = Net.load_checkpoint(tmp_path / "ckpt2")
    try:
        assert dropped["epoch_id"] in restored.get_startable_epochs()
        restored.start()
        assert sorted(restored.flush_output_queue("A::out")) == [2, 3]
    finally:
        restored.stop()
