"""Controls: ``send_control`` checks, the nine control types, priority over data, each
waiting control applied on its own, and failures that are reported instead of lost."""

from __future__ import annotations

import asyncio
import threading

import pytest
from _signal_nets import NetBuilder, doubler, edge, emitter, node, recorder

from netrun.config.signals import CONTROL_TYPES
from netrun.errors import (
    ControlError,
    ControlFailed,
    ControlPortNotFoundError,
    ControlValueError,
    NodeNotFoundError,
    UnknownControlTypeError,
)

ALL = sorted(CONTROL_TYPES)


@pytest.fixture
def build():
    builder = NetBuilder()
    yield builder
    builder.close()


def worker_net(build, *, per_packet=True, log=None, **fields):
    return build([node("A", ["in"], ["out"], controls=ALL, per_packet=per_packet)], (),
                 {"A": doubler(log)}, **fields)


# ---------------------------------------------------------------------------- bad input
def test_unknown_control_type(build):
    net = worker_net(build)
    with pytest.raises(UnknownControlTypeError, match=r"Unknown control type 'pause' for node 'A'; "
                       r"the control types are: cancel_all_epochs, cancel_epoch, close_node") as info:
        net.send_control("A", "pause")
    assert isinstance(info.value, ValueError) and isinstance(info.value, ControlError)


def test_unknown_node(build):
    net = worker_net(build)
    with pytest.raises(NodeNotFoundError, match="Node not found: 'Z'"):
        net.send_control("Z", "disable")


def test_node_without_that_control_port(build):
    net = build([node("A", ["in"], ["out"], controls=["enable"])], (), {"A": doubler()})
    with pytest.raises(ControlPortNotFoundError) as info:
        net.send_control("A", "disable")
    assert str(info.value) == (
        "Node 'A' has no control port '__control_disable__' (its controls: enable); add 'disable' "
        "to the node's execution_config.controls (or the net's default_controls)")
    assert isinstance(info.value, KeyError)
    bare = build([node("B", ["in"], ["out"])], (), {"B": doubler()})
    with pytest.raises(ControlPortNotFoundError, match=r"its controls: none"):
        bare.send_control("B", "enable")


@pytest.mark.parametrize("control, value, message", [
    ("disable", 3, r"Control 'disable' \(port '__control_disable__' of node 'A'\) takes no value, got 3"),
    ("cancel_epoch", None, r"Control 'cancel_epoch' \(port '__control_cancel_epoch__' of node 'A'\) needs "
                           r"a value of type str; pass it"),
    ("set_epoch_count", "5", r"needs a value of type int, got str '5'"),
    ("set_epoch_count", True, r"needs a value of type int, got bool True"),
    ("set_epoch_count", -1, r"Control 'set_epoch_count' \(port '__control_set_epoch_count__' of node 'A'\) "
                            r"needs a count >= 0, got -1"),
])
def test_control_values_are_checked(build, control, value, message):
    net = worker_net(build)
    with pytest.raises(ControlValueError, match=message) as info:
        net.send_control("A", control, value)
    assert isinstance(info.value, TypeError)
    assert net.get_packets_at_port("A", f"__control_{control}__") == []


def test_send_control_on_a_stopped_net(build):
    from netrun.errors import NetStateError

    net = worker_net(build)
    net.stop()
    with pytest.raises(NetStateError, match="Cannot send a control: the net is stopped"):
        net.send_control("A", "disable")


# ---------------------------------------------------------------------------- priority
def test_disable_sent_before_data_is_applied_before_the_data_epochs(build):
    """Regression: 0.5.0 ran the data epochs first (controls had no priority)."""
    net = worker_net(build)
    net.send_control("A", "disable")
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    assert net.flush_output_queue("A::out") == []
    assert len(net.get_startable_epochs_by_node("A")) == 3
    net.send_control("A", "enable")
    net.start()
    assert net.flush_output_queue("A::out") == [2, 4, 6]


def test_disable_wins_over_data_that_waited_first(build):
    """A control and many data packets wait together: the control is applied before any data
    epoch starts, even when the data would need several engine batches."""
    net = worker_net(build)
    net.inject_data("A", "in", list(range(300)))
    net.send_control("A", "disable")
    net.start()
    assert net.flush_output_queue("A::out") == []
    assert len(net.get_startable_epochs_by_node("A")) == 300


def test_controls_sent_together_apply_in_send_order(build):
    net = worker_net(build)
    net.send_control("A", "disable")
    net.send_control("A", "enable")
    net.inject_data("A", "in", [1])
    net.start()
    assert net.flush_output_queue("A::out") == [2]
    net.send_control("A", "enable")
    net.send_control("A", "disable")
    net.inject_data("A", "in", [2])
    net.start()
    assert net.flush_output_queue("A::out") == []


def test_controls_work_on_a_node_without_exec_function(build):
    net = build([node("A", ["in"], ["out"], controls=["disable", "enable"])])
    net.send_control("A", "disable")
    net.start()
    assert net._core.nodes["A"].enabled is False
    assert net.get_startable_epochs() == []


# ---------------------------------------------------------------------------- start_epoch
def test_each_waiting_start_epoch_starts_one_epoch(build):
    """Regression: 0.5.0 merged three waiting start_epoch packets into one epoch."""
    calls = []
    net = build([node("S", (), ["out"], controls=["start_epoch"])], (), {"S": emitter([10, 20, 30], calls)})
    for _ in range(3):
        net.send_control("S", "start_epoch")
    net.start()
    assert len(calls) == 3
    assert net.flush_output_queue("S::out") == [10, 20, 30]


def test_start_epoch_starts_a_waiting_epoch_of_a_disabled_node(build):
    net = worker_net(build)
    net.send_control("A", "disable")
    net.inject_data("A", "in", [1, 2])
    net.start()
    net.send_control("A", "start_epoch")
    net.start()
    assert net.flush_output_queue("A::out") == [2]
    assert net._core.nodes["A"].enabled is False
    assert len(net.get_startable_epochs_by_node("A")) == 1


def test_start_epoch_without_a_waiting_epoch_fails_with_on_error_raise(build):
    net = worker_net(build, on_error="raise")
    net.send_control("A", "start_epoch")
    with pytest.raises(ControlFailed, match=r"Control 'start_epoch' on node 'A': the node has input ports "
                                            r"\(in\) and no waiting epoch to start; send data"):
        net.start()


def test_a_failed_control_is_recorded_not_lost(build):
    net = worker_net(build, on_error="continue")
    net.send_control("A", "cancel_epoch", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
    with pytest.warns(RuntimeWarning, match=r"Control 'cancel_epoch' on node 'A': epoch "
                                            r"'01ARZ3NDEKTSV4RRFFQ69G5FAV' is not a waiting or running epoch"):
        net.start()
    [entry] = net.dead_letter_queue.get_all()
    assert entry.node_name == "A" and isinstance(entry.exception, ControlFailed)
    assert list(entry.packet_values.values()) == ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]
    assert entry.input_packets.keys() == {"__control_cancel_epoch__"}


def test_failed_control_goes_to_the_error_callback(build):
    seen = []
    net = worker_net(build, on_error="pause")
    net._core.error_callback = lambda exc, node_name, epoch_id: seen.append((type(exc).__name__, node_name))
    net.send_control("A", "start_epoch")
    net.start()
    assert seen == [("ControlFailed", "A")]


# ---------------------------------------------------------------------------- cancel
def test_cancel_a_waiting_epoch(build):
    net = worker_net(build)
    net.send_control("A", "disable")
    net.inject_data("A", "in", [1, 2])
    net.start()
    first, _second = net.get_startable_epochs_by_node("A")
    ends = []
    net.on_epoch_end(lambda n, e, log: ends.append((e, log.outcome)))
    net.send_control("A", "cancel_epoch", first)
    net.send_control("A", "enable")
    net.start()
    assert net.flush_output_queue("A::out") == [4]
    assert net.get_epoch(first) is None and net.dead_letter_queue.get_all() == []
    assert (first, "cancelled") in ends
    assert len(net.value_store) == 0


def _blocking_net(build, count):
    """A node whose async epochs wait until released; returns (net, started, release)."""
    started = threading.Semaphore(0)
    release = asyncio.Event()
    ended = []

    async def slow(ctx, packets):
        started.release()
        await release.wait()
        for p in packets["in"]:
            value = await ctx.consume_packet(p)
            await ctx.load_output_port("out", await ctx.create_packet(value * 2))
        await ctx.send_output_salvo("default")

    net = build([node("A", ["in"], ["out"], controls=ALL, per_packet=True, signals=["epoch_cancelled"]),
                 node("Sig", ["c"])], [edge("A", "__signal_epoch_cancelled__", "Sig", "c")],
                {"A": slow, "Sig": recorder(ended)})
    net.inject_data("A", "in", list(range(count)))
    return net, started, release, ended


def test_cancel_a_running_epoch(build):
    net, started, release, cancelled = _blocking_net(build, 2)
    outcomes = []
    net.on_epoch_end(lambda n, e, log: outcomes.append((log.outcome, log.in_salvo_ports)), node="A")
    net.start(threaded=True)
    for _ in range(2):
        assert started.acquire(timeout=5)
    victim = sorted(net._core.runs)[0]
    net.send_control("A", "cancel_epoch", victim)
    deadline = threading.Event()
    for _ in range(100):
        if outcomes:
            break
        deadline.wait(0.02)
    net._loop_thread.loop.call_soon_threadsafe(release.set)
    assert net.wait_until_blocked(5)
    # the control epoch is reported too (it ran without the node's function)
    assert sorted(outcomes) == [("cancelled", ["in"]), ("success", ["__control_cancel_epoch__"]),
                                ("success", ["in"])]
    assert len(net.flush_output_queue("A::out")) == 1
    assert [v.epoch_id for _, v in cancelled] == [victim]
    assert net.dead_letter_queue.get_all() == []


def test_cancel_all_epochs(build):
    net, started, release, cancelled = _blocking_net(build, 3)
    net.start(threaded=True)
    for _ in range(3):
        assert started.acquire(timeout=5)
    net.send_control("A", "cancel_all_epochs")
    for _ in range(100):
        if len(cancelled) == 3:
            break
        threading.Event().wait(0.02)
    assert net.wait_until_blocked(5)
    assert len(cancelled) == 3 and net.flush_output_queue("A::out") == []
    net._loop_thread.loop.call_soon_threadsafe(release.set)


# ---------------------------------------------------------------------------- the others
def test_init_and_close_node(build):
    calls = []
    net = build([node("A", ["in"], ["out"], controls=["init_node", "close_node"],
                      signals=["node_initialized", "node_closed"]), node("Sig", ["s"])],
                [edge("A", "__signal_node_closed__", "Sig", "s")],
                {"A": (doubler(), lambda n: calls.append("start"), lambda n: calls.append("stop")),
                 "Sig": recorder(seen := [])})
    net.start()
    assert calls == ["start"]
    net.send_control("A", "close_node")
    net.start()
    assert calls == ["start", "stop"] and [v.signal for _, v in seen] == ["node_closed"]
    net.send_control("A", "init_node")
    net.start()
    assert calls == ["start", "stop", "start"]
    net.stop()
    assert calls == ["start", "stop", "start", "stop"]


def test_set_and_reset_epoch_count(build):
    net = worker_net(build)
    net.send_control("A", "set_epoch_count", 7)
    net.start()
    assert net._core.nodes["A"].epoch_count == 7
    net.send_control("A", "reset_epoch_count")
    net.start()
    assert net._core.nodes["A"].epoch_count == 0


def test_a_signal_drives_a_control(build):
    """Each epoch_finished of A starts one epoch of the source B (each packet applied)."""
    calls = []
    net = build([node("A", ["in"], ["out"], signals=["epoch_finished"], per_packet=True),
                 node("B", (), ["out"], controls=["start_epoch"])],
                [edge("A", "__signal_epoch_finished__", "B", "__control_start_epoch__")],
                {"A": doubler(), "B": emitter(["x", "y", "z"], calls)})
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    assert net.flush_output_queue("B::out") == ["x", "y", "z"]
    assert len(calls) == 3


def test_no_control_machinery_without_controls(build):
    net = build([node("A", ["in"], ["out"])], (), {"A": doubler()})
    assert net._core.controls is None and net._core.nodes["A"].controls is None


def test_start_epoch_bypasses_max_parallel_epochs(build):
    started = threading.Semaphore(0)
    release = asyncio.Event()

    async def slow(ctx, packets):
        started.release()
        await release.wait()
        for p in packets["in"]:
            await ctx.consume_packet(p)

    net = build([node("A", ["in"], (), controls=["start_epoch"], per_packet=True, max_parallel_epochs=1)],
                (), {"A": slow})
    net.inject_data("A", "in", [1, 2])
    net.start(threaded=True)
    assert started.acquire(timeout=5)
    assert net.get_running_epochs_count("A") == 1
    net.send_control("A", "start_epoch")
    assert started.acquire(timeout=5)  # the waiting epoch started despite the limit of 1
    assert net.get_running_epochs_count("A") == 2
    net._loop_thread.loop.call_soon_threadsafe(release.set)
    assert net.wait_until_blocked(5)
    assert net.get_startable_epochs() == []


def test_disable_during_a_background_run(build):
    net = worker_net(build)
    net.start(threaded=True)
    net.send_control("A", "disable")
    for _ in range(250):
        if not net._core.nodes["A"].enabled:
            break
        threading.Event().wait(0.02)
    net.inject_data("A", "in", [1, 2])
    assert net.wait_until_blocked(5)
    assert net.flush_output_queue("A::out") == []
    net.pause()
    net.send_control("A", "enable")
    net.start()
    assert net.flush_output_queue("A::out") == [2, 4]


def test_a_wrong_value_arriving_over_an_edge_fails_that_control(build):
    """A signal value wired to cancel_epoch (which needs an epoch ID str) cannot be applied:
    the failure is recorded with the value; the net goes on (on_error="continue")."""
    net = build([node("A", ["in"], ["out"], signals=["epoch_finished"]),
                 node("B", ["in"], (), controls=["cancel_epoch"])],
                [edge("A", "__signal_epoch_finished__", "B", "__control_cancel_epoch__")],
                {"A": doubler(), "B": recorder([])}, on_error="continue")
    net.inject_data("A", "in", [1])
    with pytest.warns(RuntimeWarning, match=r"Control 'cancel_epoch' on node 'B' needs a value of type str, "
                                            r"got EpochSignalValue"):
        net.start()
    [entry] = net.dead_letter_queue.get_all()
    assert entry.node_name == "B" and type(entry.exception) is ControlFailed
    assert net.flush_output_queue("A::out") == [2]


def test_failed_control_under_the_config_failure_policy(build):
    """A config net without ``on_error`` reports failures as EpochError (0.5.0 style)."""
    from netrun.errors import EpochError

    net = worker_net(build)
    net.send_control("A", "start_epoch")
    with pytest.raises(EpochError, match=r"Epoch failed on node 'A' .*ControlFailed: Control 'start_epoch' "
                                         r"on node 'A': the node has input ports") as info:
        net.start()
    assert type(info.value.__cause__) is ControlFailed
    quiet = worker_net(build, propagate_exceptions=False)
    quiet.send_control("A", "start_epoch")
    quiet.start()
    [queued] = quiet.exception_queue
    assert isinstance(queued, EpochError) and type(queued.__cause__) is ControlFailed


def test_a_waiting_control_epoch_requeued_by_set_node_exec_is_still_a_control(build):
    """``run_step(start_epochs=False)`` creates the control epoch; ``set_node_exec`` then
    re-queues every waiting epoch of the node. The control must still be applied as one."""
    net = worker_net(build)
    net.send_control("A", "disable")
    net.run_step(start_epochs=False)
    net.set_node_exec("A", doubler())
    net.inject_data("A", "in", [1])
    net.start()
    assert net._core.nodes["A"].enabled is False
    assert net.flush_output_queue("A::out") == [] and net.dead_letter_queue.get_all() == []
    net.send_control("A", "enable")
    net.start()  # only the data epoch runs (the control epoch is gone, not re-run as data)
    assert net.flush_output_queue("A::out") == [2] and net.dead_letter_queue.get_all() == []


def test_checkpoint_keeps_a_waiting_control(build, tmp_path):
    """A control epoch waiting in a saved net is applied as a control after loading."""
    from _signal_nets import double_all

    from netrun.net import Net

    net = build([node("A", ["in"], ["out"], controls=ALL, per_packet=True)], (), {"A": double_all})
    net.send_control("A", "disable")
    net.inject_data("A", "in", [1])
    net.run_step(start_epochs=False)
    assert len(net._core.pending_controls) == 1
    net.save_checkpoint(tmp_path / "ck")
    restored = Net.load_checkpoint(tmp_path / "ck")
    try:
        restored.start()
        assert restored._core.nodes["A"].enabled is False
        assert restored.flush_output_queue("A::out") == []
        assert len(restored.get_startable_epochs_by_node("A")) == 1
        assert restored.dead_letter_queue.get_all() == []
    finally:
        restored.stop()


def test_priority_on_a_net_built_from_an_engine_graph(make_net):
    """``Net(graph)`` with a control port whose condition comes after the data condition:
    the net still applies a waiting disable before any of 300 waiting data epochs."""
    from netrun_sim import Graph, MaxSalvos, Node, PacketCount, Port, PortState, SalvoCondition, SalvoConditionTerm

    def cond(port, count):
        return SalvoCondition(MaxSalvos.finite(1), {port: count}, SalvoConditionTerm.port(port, PortState.non_empty()))

    graph = Graph([Node("A", {"in": Port(), "__control_disable__": Port()}, {"out": Port()},
                        {"default": cond("in", PacketCount.count(1)),
                         "__control_disable__": cond("__control_disable__", PacketCount.all())},
                        {"send": SalvoCondition(MaxSalvos.finite(1), {"out": PacketCount.all()},
                                                SalvoConditionTerm.true_())})], [])
    net = make_net(graph)
    ran = []
    net.set_node_exec("A", lambda ctx, packets: ran.append(ctx.consume_packet(packets["in"][0])))
    net.inject_data("A", "in", list(range(300)))
    net.send_control("A", "disable")
    net.start()
    assert ran == [] and len(net.get_startable_epochs_by_node("A")) == 300
    assert list(net.graph.nodes()["A"].in_salvo_conditions) == ["__control_disable__", "default"]


def test_epoch_count_controls_drive_max_epochs(build):
    """With ``max_epochs=2`` a third epoch is refused; ``reset_epoch_count`` (or a lower
    ``set_epoch_count``) lets the node run again; a higher count refuses at once."""
    from netrun.errors import MaxEpochsExceeded

    net = build([node("A", ["in"], ["out"], controls=ALL, per_packet=True, max_epochs=2)], (),
                {"A": doubler()}, on_error="continue")
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert net.flush_output_queue("A::out") == [2, 4]
    net.send_control("A", "reset_epoch_count")
    net.inject_data("A", "in", [3])
    net.start()
    assert net.flush_output_queue("A::out") == [6]
    net.send_control("A", "set_epoch_count", 2)
    net.inject_data("A", "in", [4])
    net.start()
    assert net.flush_output_queue("A::out") == []
    [entry] = net.dead_letter_queue.get_all()
    assert type(entry.exception) is MaxEpochsExceeded and entry.packet_values == {entry.input_packets["in"][0]: 4}


def test_control_epochs_reach_the_epoch_callbacks(build):
    ends = []
    net = worker_net(build, on_error="continue")
    net.on_epoch_end(lambda n, e, log: ends.append((log.outcome, log.in_salvo_ports, log.error_type)))
    net.send_control("A", "disable")
    net.send_control("A", "cancel_epoch", "nope")
    with pytest.warns(RuntimeWarning, match="Control 'cancel_epoch' on node 'A'"):
        net.start()
    assert sorted(ends) == [("error", ["__control_cancel_epoch__"], "ControlFailed"),
                            ("success", ["__control_disable__"], None)]
