"""``run_to_targets``: only nodes upstream of the targets run, target epochs are reported
(not executed) exactly once, and bad targets are rejected with a clear error."""

from __future__ import annotations

import asyncio

import pytest
from _signal_nets import NetBuilder, condition, doubler, edge, node, recorder

from netrun.errors import NetStateError, TargetNotFoundError
from netrun.net import Net
from netrun.net._targets import TargetInputSalvo


@pytest.fixture
def build():
    builder = NetBuilder()
    yield builder
    builder.close()


def pipeline(build, seen_t=None, seen_x=None):
    """A -> T -> Z, plus an unrelated node X; A and T fire once per packet."""
    return build([node("A", ["in"], ["out"], per_packet=True), node("T", ["in"], ["out"], per_packet=True),
                  node("Z", ["in"], ()), node("X", ["in"], ["out"])],
                 [edge("A", "out", "T", "in"), edge("T", "out", "Z", "in")],
                 {"A": doubler(), "T": recorder(seen_t if seen_t is not None else []),
                  "Z": recorder([]), "X": recorder(seen_x if seen_x is not None else [])})


def test_runs_only_upstream_and_reports_each_target_epoch_once(build):
    """Regression: 0.5.0 returned 5 salvos for 3 target epochs (duplicates)."""
    seen_t, seen_x = [], []
    net = pipeline(build, seen_t, seen_x)
    net.inject_data("A", "in", [1, 2, 3])
    net.inject_data("X", "in", ["unrelated"])
    salvos = net.run_to_targets(["T"])
    assert [type(s) for s in salvos] == [TargetInputSalvo] * 3
    assert sorted(s.packets["in"][0] for s in salvos) == [2, 4, 6]
    assert len({s.epoch_id for s in salvos}) == 3
    assert {(s.node_name, s.salvo_condition) for s in salvos} == {("T", "default")}
    assert seen_t == [] and seen_x == []  # the target and unrelated nodes did not run
    assert sorted(net.get_startable_epochs_by_node("T")) == sorted(s.epoch_id for s in salvos)
    assert net.run_to_targets("T") == []  # reported once over the net's life
    net.inject_data("A", "in", [4])
    [new] = net.run_to_targets("T")
    assert new.packets == {"in": [8]}
    net.start()  # the held nodes run afterwards, the target epochs included
    assert sorted(v for _, v in seen_t) == [2, 4, 6, 8] and seen_x == [("in", "unrelated")]


def test_target_with_salvo_condition(build):
    seen = []
    t = node("T", ["a", "b"], ())
    t = t.model_copy(update={"in_salvo_conditions": {"on_a": condition("a"), "on_b": condition("b")}})
    net = build([node("A", ["in"], ["out"]), node("B", ["in"], ["out"]), t],
                [edge("A", "out", "T", "a"), edge("B", "out", "T", "b")],
                {"A": doubler(), "B": doubler(), "T": recorder(seen)})
    net.inject_data("A", "in", [1])
    net.inject_data("B", "in", [10])
    [salvo] = net.run_to_targets([("T", "on_b")])
    assert (salvo.salvo_condition, salvo.packets) == ("on_b", {"b": [20]})
    [other] = net.run_to_targets("T")  # the on_a epoch was not reported yet
    assert other.packets == {"a": [2]}


def test_hold_restores_the_enabled_state(build):
    net = build([node("A", ["in"], ["out"], controls=["disable", "enable"]), node("T", ["in"], ()),
                 node("X", ["in"], ())],
                [edge("A", "out", "T", "in")], {"A": doubler(), "T": recorder([]), "X": recorder([])})
    core = net._core
    core.nodes["X"].enabled = False
    net.inject_data("A", "in", [1])
    assert len(net.run_to_targets("T")) == 1
    assert [core.nodes[n].enabled for n in ("A", "T", "X")] == [True, True, False]
    assert core.target_holds is None


def test_async_form(build):
    net = pipeline(build)
    net.inject_data("A", "in", [5])

    async def main():
        return await net.async_run_to_targets(["T"])

    [salvo] = asyncio.run(main())
    assert salvo.packets == {"in": [10]}


def test_max_iterations_bound(build):
    net = pipeline(build)
    net.inject_data("A", "in", [1, 2, 3])
    with pytest.warns(RuntimeWarning, match=r"run_to_targets stopped after max_iterations=1 steps with work "
                                            r"left upstream of \['Z'\]"):
        net.run_to_targets("Z", max_iterations=1)


def test_unknown_target_node(build):
    net = pipeline(build)
    with pytest.raises(TargetNotFoundError) as info:
        net.run_to_targets(["Nope"])
    assert str(info.value) == "Target node 'Nope' does not exist; the graph's nodes are: A, T, X, Z"
    assert isinstance(info.value, KeyError)


def test_unknown_target_condition(build):
    net = pipeline(build)
    with pytest.raises(TargetNotFoundError, match=r"Target \('T', 'other'\): node 'T' has no input salvo "
                                                  r"condition 'other'; its input salvo conditions are: default"):
        net.run_to_targets([("T", "other")])


@pytest.mark.parametrize("targets, error, message", [
    ([], ValueError, r"run_to_targets needs at least one target"),
    ([3], TypeError, r"A target is a node name or a \(node name, salvo condition\) pair, got 3"),
    ([("T", "default", "x")], TypeError, r"got \('T', 'default', 'x'\)"),
])
def test_malformed_targets(build, targets, error, message):
    net = pipeline(build)
    with pytest.raises(error, match=message):
        net.run_to_targets(targets)


def test_bad_max_iterations(build):
    net = pipeline(build)
    with pytest.raises(ValueError, match=r"max_iterations must be an int >= 1, got 0"):
        net.run_to_targets("T", max_iterations=0)


def test_not_while_running(build):
    net = pipeline(build)
    net.start(threaded=True)
    try:
        with pytest.raises(NetStateError, match=r"Cannot run to targets while the net is running; call net.pause\(\) first"):
            net.run_to_targets("T")
    finally:
        net.pause()


def test_works_on_a_graph_built_net():
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

    def cond(port):
        return SalvoCondition(MaxSalvos.finite(1), {port: PacketCount.all()},
                              SalvoConditionTerm.port(port, PortState.non_empty()))

    nodes = [Node("A", {"in": Port()}, {"out": Port()}, {"go": cond("in")}, {"send": SalvoCondition(
        MaxSalvos.finite(1), {"out": PacketCount.all()}, SalvoConditionTerm.true_())}),
             Node("T", {"in": Port()}, {}, {"go": cond("in")}, {})]
    graph = Graph(nodes, [Edge(PortRef("A", PortType.Output, "out"), PortRef("T", PortType.Input, "in"))])
    net = Net(graph, handle_sigint=False)
    try:
        def a(ctx, packets):
            for p in packets["in"]:
                ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(p) + 1))
            ctx.send_output_salvo("send")

        net.set_node_exec("A", a)
        net.inject_data("A", "in", [1])
        [salvo] = net.run_to_targets("T")
        assert (salvo.node_name, salvo.salvo_condition, salvo.packets) == ("T", "go", {"in": [2]})
    finally:
        net.stop()


def test_targets_at_different_depths_are_each_reported_once(build):
    """Regression: on 0.5.0 this net gave 7 salvos for 3 target epochs (T1's epochs were
    collected again on every iteration while the longer branch to T2 was still running)."""
    nodes = [node("A", ["in"], ["out"], per_packet=True), node("T1", ["in"], (), per_packet=True),
             node("B", ["in"], ["out"], per_packet=True), node("B2", ["in"], ["out"], per_packet=True),
             node("B3", ["in"], ["out"], per_packet=True), node("T2", ["in"], (), per_packet=True)]
    edges = [edge("A", "out", "T1", "in"), edge("B", "out", "B2", "in"), edge("B2", "out", "B3", "in"),
             edge("B3", "out", "T2", "in")]
    net = build(nodes, edges, {"A": doubler(), "B": doubler(), "B2": doubler(), "B3": doubler()})
    net.inject_data("A", "in", [1, 2])
    net.inject_data("B", "in", [3])
    salvos = net.run_to_targets(["T1", "T2"])
    assert len(salvos) == 3 and len({s.epoch_id for s in salvos}) == 3
    assert sorted((s.node_name, s.packets["in"][0]) for s in salvos) == [("T1", 2), ("T1", 4), ("T2", 24)]


def test_awaitable_in_a_net_opened_with_async_with(build):
    """0.5.0 code: ``async with Net(...)`` then ``await net.run_to_targets(...)``."""
    net = pipeline(build)

    async def main():
        async with net:
            net.inject_data("A", "in", [1, 2])
            return await net.run_to_targets(["T"])

    salvos = asyncio.run(main())
    assert sorted(s.packets["in"][0] for s in salvos) == [2, 4]


def test_disable_node_during_a_hold_sticks_after_it(build):
    """``disable_node`` on a node that ``run_to_targets`` holds back is remembered: the node
    stays disabled when the hold ends (it used to be overwritten by the saved state)."""
    seen_x = []
    net = pipeline(build, seen_x=seen_x)
    original = net._core.nodes["A"].exec_func

    def a_disabling_x(ctx, packets):
        net.disable_node("X")  # X is held (not upstream of T) while this runs
        assert net.is_node_enabled("X") is False
        return original(ctx, packets)

    net._core.nodes["A"].exec_func = a_disabling_x
    net.inject_data("A", "in", [1])
    net.inject_data("X", "in", ["waits"])
    assert len(net.run_to_targets("T")) == 1
    assert net.is_node_enabled("X") is False
    net.start()
    assert seen_x == []  # still disabled
    net.enable_node("X")
    net.start()
    assert seen_x == [("in", "waits")]


def test_run_on_init_nodes_outside_the_targets_still_run_later():
    """A first run_to_targets fires only the run_on_init nodes that feed the targets; the
    others wait (they were lost before: the hold made them look disabled) and run with the
    next full run. A run_on_init node disabled in the config stays unrun."""
    from _config_nets import config, double, edge as cedge, fn, sink, source

    def other() -> int:
        return 99

    cfg = config([fn("source", source, run_on_init=True), fn("other", other, run_on_init=True),
                  fn("off", other, run_on_init=True, enabled=False),
                  fn("double", double), fn("sink", sink)],
                 [cedge("source", "double"), cedge("double", "sink")])
    net = Net(cfg, handle_sigint=False)
    try:
        [salvo] = net.run_to_targets("sink")
        assert salvo.packets == {"x": [10]} and net.flush_all_output_queues() == {}
        net.run_until_blocked()
        assert net.flush_all_output_queues() == {"other::out": [99], "sink::out": [10]}
        assert net.get_startable_epochs() == []
    finally:
        net.stop()
