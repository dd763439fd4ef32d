"""Dependency edges and requests: automatic triggers, ``net.request``, labels,
de-duplication, and the errors for requests that cannot be resolved."""

from __future__ import annotations

import pytest
from _signal_nets import NetBuilder, condition, doubler, edge, emitter, node, recorder

from netrun.config.nodes import DependencyRequestConfig
from netrun.errors import NodeNotFoundError, RequestError


@pytest.fixture
def build():
    builder = NetBuilder()
    yield builder
    builder.close()


def source_to_sink(build, calls, *, triggers=(), extra_nodes=(), extra_edges=()):
    """S (source) -dependency-> B -> queue B::out."""
    dependency = DependencyRequestConfig(triggers=list(triggers)) if triggers is not None else None
    return build([node("S", (), ["out"]), node("B", ["in"], ["out"], dependency=dependency), *extra_nodes],
                 [edge("S", "out", "B", "in", dependency=True), *extra_edges],
                 {"S": emitter(list(range(100)), calls), "B": doubler()})


def test_dependency_edges_reach_the_engine_graph(build):
    net = source_to_sink(build, [])
    [dep] = net.graph.dependency_edges()
    assert (dep.source.node_name, dep.target.node_name) == ("S", "B")
    assert net.graph.nodes()["B"].dependency_request_config is not None


def test_on_startup_request_fires_the_source_once(build):
    """A dependency target gets on_startup requests by default: its source fires through a
    request (no run_on_init, no inject_source_epoch)."""
    calls = []
    net = build([node("S", (), ["out"]), node("B", ["in"], ["out"])],
                [edge("S", "out", "B", "in", dependency=True)],
                {"S": emitter([5, 6], calls), "B": doubler()})
    net.start()
    assert net.flush_output_queue("B::out") == [10]
    net.start()  # once per net
    assert len(calls) == 1


def test_request_makes_the_source_run(build):
    calls = []
    net = source_to_sink(build, calls)
    net.start()
    assert calls == []
    events = net.request("B")
    assert [e.kind for e in events] == ["RequestCreated"]
    net.start()
    assert net.flush_output_queue("B::out") == [0]
    assert len(calls) == 1


def test_requests_with_the_same_label_are_merged(build):
    calls = []
    net = source_to_sink(build, calls)
    net.request("B")
    net.request("B")
    net.request("B", label="other")
    net.start()
    assert len(calls) == 2  # "main" twice -> one epoch; "other" -> one more
    assert net.flush_output_queue("B::out") == [0, 2]


def test_request_cascades_through_intermediate_nodes(build):
    calls = []
    net = build([node("S", (), ["out"]), node("M", ["in"], ["out"]), node("B", ["in"], ["out"])],
                [edge("S", "out", "M", "in"), edge("M", "out", "B", "in", dependency=True)],
                {"S": emitter([1, 2], calls), "M": doubler(), "B": doubler()})
    net.start()  # B's on_startup request walks back through M to S
    assert net.flush_output_queue("B::out") == [4]
    net.request("B")
    net.start()
    assert net.flush_output_queue("B::out") == [8] and len(calls) == 2


def test_on_no_salvo_triggered_request(build):
    """B needs ``in`` (from S, a dependency) and ``cfg`` (injected). Data on cfg alone does
    not fire B, so B requests input; S fires and B runs."""
    calls, seen = [], []

    def join(ctx, packets):
        seen.append((ctx.consume_packet(packets["in"][0]), ctx.consume_packet(packets["cfg"][0])))

    net = build([node("S", (), ["out"]),
                 node("B", ["in", "cfg"], (), dependency=DependencyRequestConfig(triggers=["on_no_salvo_triggered"]))],
                [edge("S", "out", "B", "in", dependency=True)],
                {"S": emitter([7, 8, 9], calls), "B": join})
    net.start()
    assert calls == []  # no startup trigger
    net.inject_data("B", "cfg", ["x"])
    net.start()
    assert seen == [(7, "x")] and len(calls) == 1


def test_request_to_a_node_without_dependency_edge(build):
    net = build([node("S", (), ["out"]), node("B", ["in"], ["out"])], [edge("S", "out", "B", "in")],
                {"S": emitter([1]), "B": doubler()})
    with pytest.raises(RequestError, match=r"Node 'B' cannot request input: no dependency edge leads into "
                                           r"it. Mark an edge into it as a dependency") as info:
        net.request("B")
    assert isinstance(info.value, ValueError)
    with pytest.raises(NodeNotFoundError, match="Node not found: 'Nope'"):
        net.request("Nope")
    with pytest.raises(TypeError, match="A request label must be a str, got int 3"):
        net.request("B", label=3)


def test_request_walk_reaching_an_unconnected_port(build):
    """M has a connected and an unconnected input: the engine would fail the whole step;
    here net.request (and, for automatic triggers, Net construction) says why."""
    nodes = [node("S", (), ["out"]), node("M", ["in", "side"], ["out"]), node("B", ["in"], ["out"])]
    edges = [edge("S", "out", "M", "in"), edge("M", "out", "B", "in", dependency=True)]
    message = (r"A request of node 'B' walks back to input port 'side' of node 'M', which has no edge, "
               r"so the request cannot reach a source node")
    with pytest.raises(RequestError, match=message):
        build(nodes, edges)  # B requests on startup by default
    nodes[2] = node("B", ["in"], ["out"], dependency=DependencyRequestConfig(triggers=[]))
    net = build(nodes, edges)
    with pytest.raises(RequestError, match=message):
        net.request("B")


def test_request_epochs_run_on_a_disabled_source_only_when_enabled(build):
    seen = []
    net = build([node("S", (), ["out"], controls=["enable", "disable"]), node("B", ["in"], ())],
                [edge("S", "out", "B", "in", dependency=True)],
                {"S": emitter([3]), "B": recorder(seen)})
    net.send_control("S", "disable")
    net.start()
    assert seen == [] and len(net.get_startable_epochs_by_node("S")) == 1
    net.send_control("S", "enable")
    net.start()
    assert seen == [("in", 3)]


def test_requests_are_recorded_in_the_history(build):
    calls = []
    dependency = DependencyRequestConfig(triggers=[])
    net = build([node("S", (), ["out"]), node("B", ["in"], ["out"], dependency=dependency)],
                [edge("S", "out", "B", "in", dependency=True)],
                {"S": emitter([1], calls), "B": doubler()}, history_max_size=1000)
    net.request("B", label="audit")
    net.start()
    assert len(calls) == 1
    history = net.event_history
    [request] = [a for a in history.get_actions() if a.action_type == "CreateRequest"]
    events = [e.event_type for e in history.get_events_for_action(request.id)]
    assert events == ["RequestCreated"]
    assert "RequestEpochCreated" in [e.event_type for e in history.get_events()]


def test_on_no_salvo_triggered_requests_again_for_leftover_input(build):
    """Two items wait at B; each B epoch needs one settings packet. After B's first epoch
    ends its request token is back, and the runtime lets the engine request again (the
    engine alone would stop with 'y' waiting)."""
    from netrun.config.salvo import (
        MaxSalvosFiniteConfig,
        PacketCountNConfig,
        SalvoConditionConfig,
        SalvoConditionTermAndConfig,
    )

    calls, seen = [], []

    def join(ctx, packets):
        seen.append((ctx.consume_packet(packets["in"][0]), ctx.consume_packet(packets["cfg"][0])))

    both = SalvoConditionConfig(
        max_salvos=MaxSalvosFiniteConfig(max=1),
        ports={"in": PacketCountNConfig(count=1), "cfg": PacketCountNConfig(count=1)},
        term=SalvoConditionTermAndConfig(terms=[condition("in").term, condition("cfg").term]))
    b = node("B", ["in", "cfg"], (), dependency=DependencyRequestConfig(triggers=["on_no_salvo_triggered"]))
    b = b.model_copy(update={"in_salvo_conditions": {"default": both}})
    net = build([node("S", (), ["out"]), b], [edge("S", "out", "B", "in", dependency=True)],
                {"S": emitter([7, 8, 9], calls), "B": join})
    net.inject_data("B", "cfg", ["x", "y"])
    net.start()
    assert seen == [(7, "x"), (8, "y")] and len(calls) == 2
    net.start()  # nothing left waiting: no more requests
    assert len(calls) == 2
