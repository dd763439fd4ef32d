"""Signals: the six types on ``__signal_<type>__`` output ports, their values, when they are
sent, and that a signal never breaks the epoch it belongs to."""

from __future__ import annotations

import pytest
from _signal_nets import NetBuilder, doubler, edge, node, recorder, sink

from netrun.config.pools import OutputQueueConfig, PoolConfig, ThreadPoolConfig
from netrun.config.signals import EpochFailedSignalValue, EpochSignalValue, SignalValue


@pytest.fixture
def build():
    builder = NetBuilder()
    yield builder
    builder.close()


def signal_edges(node_name, types, sink="Sig"):
    return [edge(node_name, f"__signal_{t}__", sink, t) for t in types]


def test_epoch_started_and_finished_carry_the_epoch(build):
    epochs, seen = [], []
    types = ["epoch_started", "epoch_finished"]
    net = build([node("A", ["in"], ["out"], signals=types), sink("Sig", types)],
                signal_edges("A", types), {"A": doubler(epochs), "Sig": recorder(seen)})
    net.inject_data("A", "in", [1])
    net.start()
    assert net.flush_output_queue("A::out") == [2]
    by_port = dict(seen)
    assert set(by_port) == set(types)
    for t in types:
        value = by_port[t]
        assert type(value) is EpochSignalValue
        assert (value.signal, value.node_name, value.epoch_id) == (t, "A", epochs[0])
        assert value.timestamp is not None
    assert by_port["epoch_started"].timestamp <= by_port["epoch_finished"].timestamp


def test_epoch_failed_is_sent_while_the_failing_epoch_still_runs(build):
    seen = []

    def boom(ctx, packets):
        raise ValueError("bad input 7")

    net = build([node("A", ["in"], ["out"], signals=["epoch_failed", "epoch_finished"]),
                 sink("Sig", ["epoch_failed", "epoch_finished"])],
                signal_edges("A", ["epoch_failed", "epoch_finished"]), {"A": boom, "Sig": recorder(seen)},
                on_error="continue")
    net.inject_data("A", "in", [7])
    net.start()
    assert [port for port, _ in seen] == ["epoch_failed"]
    value = seen[0][1]
    assert type(value) is EpochFailedSignalValue
    assert value.node_name == "A" and value.error == "ValueError: bad input 7"
    [entry] = net.dead_letter_queue.get_all()
    assert entry.epoch_id == value.epoch_id


def test_epoch_finished_is_undone_when_the_epoch_cannot_finish(build):
    """The finished signal is in the epoch's commit group: an epoch that leaves an input
    unconsumed fails, and only ``epoch_failed`` leaves it."""
    seen = []

    def lazy(ctx, packets):
        pass  # consumes nothing

    types = ["epoch_finished", "epoch_failed"]
    net = build([node("A", ["in"], ["out"], signals=types), sink("Sig", types)],
                signal_edges("A", types), {"A": lazy, "Sig": recorder(seen)}, on_error="continue")
    net.inject_data("A", "in", [1])
    net.start()
    assert [port for port, _ in seen] == ["epoch_failed"]
    assert "cannot finish" in seen[0][1].error


def test_epoch_cancelled_signal(build):
    seen = []

    def quits(ctx, packets):
        ctx.cancel_epoch()

    net = build([node("A", ["in"], ["out"], signals=["epoch_cancelled", "epoch_finished"]),
                 sink("Sig", ["epoch_cancelled", "epoch_finished"])],
                signal_edges("A", ["epoch_cancelled", "epoch_finished"]), {"A": quits, "Sig": recorder(seen)})
    net.inject_data("A", "in", [1])
    net.start()
    assert [port for port, _ in seen] == ["epoch_cancelled"]
    assert type(seen[0][1]) is EpochSignalValue and seen[0][1].signal == "epoch_cancelled"
    assert net.dead_letter_queue.get_all() == []


def test_node_initialized_and_closed(build):
    calls = []
    types = ["node_initialized", "node_closed"]
    net = build([node("A", ["in"], ["out"], signals=types)], (),
                {"A": (doubler([]), lambda net: calls.append("start"), lambda net: calls.append("stop"))},
                output_queues={"sig": OutputQueueConfig(ports=[("A", f"__signal_{t}__") for t in types]),
                               "out": OutputQueueConfig(ports=[("A", "out")])})
    net.inject_data("A", "in", [1])
    net.start()
    [init] = net.flush_output_queue("sig")
    assert type(init) is SignalValue and (init.signal, init.node_name) == ("node_initialized", "A")
    net.start()  # a second run does not initialise again
    assert net.flush_output_queue("sig") == []
    net.stop()
    [closed] = net.flush_output_queue("sig")
    assert (closed.signal, closed.node_name) == ("node_closed", "A")
    assert calls == ["start", "stop"]


def test_unconnected_signal_port_never_breaks_the_epoch(build):
    """Regression (0.5.0 crashed with KeyError): an unconnected epoch_started signal port
    with a queue, then normal output in two salvos of the same epoch."""
    from netrun.config.salvo import (
        MaxSalvosFiniteConfig,
        PacketCountAllConfig,
        PortStateNonEmptyConfig,
        SalvoConditionConfig,
        SalvoConditionTermPortConfig,
    )

    def twice(ctx, packets):
        for p in packets["in"]:
            ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(p)))
            ctx.send_output_salvo("each")

    a = node("A", ["in"], ["out"], signals=["epoch_started"])
    a = a.model_copy(update={"out_salvo_conditions": {"each": SalvoConditionConfig(
        max_salvos=MaxSalvosFiniteConfig(max=5), ports={"out": PacketCountAllConfig()},
        term=SalvoConditionTermPortConfig(port_name="out", state=PortStateNonEmptyConfig()))}})
    net = build([a], (), {"A": twice},
                output_queues={"started": OutputQueueConfig(ports=[("A", "__signal_epoch_started__")]),
                               "out": OutputQueueConfig(ports=[("A", "out")])})
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert net.flush_output_queue("out") == [1, 2]
    [started] = net.flush_output_queue("started")
    assert started.signal == "epoch_started"
    assert net.dead_letter_queue.get_all() == []
    assert len(net.value_store) == 0


def test_a_signal_nobody_can_see_is_not_sent(build):
    """No edge and no output queue on the signal port: nothing is sent, nothing is left."""
    net = build([node("A", ["in"], ["out"], signals=["epoch_started", "epoch_finished"])], (),
                {"A": doubler([])})
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert net.flush_output_queue("A::out") == [2, 4]
    assert len(net.value_store) == 0
    assert net.get_packets_at_port("A", "in") == []


def test_default_signals_and_per_node_opt_out(build):
    seen = []
    net = build([node("A", ["in"], ["out"]), node("B", ["in"], ["out"], signals=[]),
                 sink("Sig", ["a"])],
                [edge("A", "__signal_epoch_finished__", "Sig", "a")],
                {"A": doubler([]), "B": doubler([]), "Sig": recorder(seen)},
                default_signals=["epoch_finished"])
    core = net._core
    assert core.nodes["A"].signals == frozenset({"epoch_finished"})
    assert core.nodes["B"].signals is None and core.nodes["Sig"].signals == frozenset({"epoch_finished"})
    net.inject_data("A", "in", [1])
    net.inject_data("B", "in", [1])
    net.start()
    assert [p for p, _ in seen] == ["a"]


def test_no_signal_machinery_without_signals(build):
    net = build([node("A", ["in"], ["out"])], (), {"A": doubler([])})
    assert net._core.signals is None and net._core.nodes["A"].signals is None


def test_signals_of_a_thread_pool_node(build):
    seen = []
    types = ["epoch_started", "epoch_finished"]
    net = build([node("A", ["in"], ["out"], signals=types, pools=["io"], per_packet=True), sink("Sig", types)],
                signal_edges("A", types), {"A": doubler([]), "Sig": recorder(seen)},
                pools={"io": PoolConfig(spec=ThreadPoolConfig(num_workers=2))})
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    assert sorted(net.flush_output_queue("A::out")) == [2, 4, 6]
    assert sorted(p for p, _ in seen) == ["epoch_finished"] * 3 + ["epoch_started"] * 3
    started = {v.epoch_id for p, v in seen if p == "epoch_started"}
    assert started == {v.epoch_id for p, v in seen if p == "epoch_finished"}


def test_retried_epoch_signals_once(build):
    """A failed attempt that is retried is not a failed epoch: one started, one finished."""
    seen, attempts = [], []

    def flaky(ctx, packets):
        attempts.append(ctx.retry_count)
        if ctx.retry_count == 0:
            raise RuntimeError("first attempt fails")
        doubler()(ctx, packets)

    types = ["epoch_started", "epoch_finished", "epoch_failed"]
    net = build([node("A", ["in"], ["out"], signals=types, retries=1), sink("Sig", types)],
                signal_edges("A", types), {"A": flaky, "Sig": recorder(seen)})
    net.inject_data("A", "in", [5])
    net.start()
    assert attempts == [0, 1] and net.flush_output_queue("A::out") == [10]
    assert sorted(p for p, _ in seen) == ["epoch_finished", "epoch_started"]


def test_run_to_targets_and_requests_refuse_a_stopped_net(build):
    from netrun.errors import NetStateError

    net = build([node("A", ["in"], ["out"])], (), {"A": doubler()})
    net.stop()
    with pytest.raises(NetStateError, match="Cannot run to targets: the net is stopped"):
        net.run_to_targets("A")
    with pytest.raises(NetStateError, match="Cannot make a request: the net is stopped"):
        net.request("A")


def test_node_initialized_of_a_defer_init_node_is_sent_when_its_init_runs(build):
    calls = []
    types = ["node_initialized"]
    net = build([node("A", ["in"], ["out"], signals=types, defer_init=True)], (),
                {"A": (doubler([]), lambda net: calls.append("start"), None)},
                output_queues={"sig": OutputQueueConfig(ports=[("A", "__signal_node_initialized__")]),
                               "out": OutputQueueConfig(ports=[("A", "out")])})
    net.start()  # no epoch yet: the deferred init has not run, so no signal
    assert calls == [] and net.flush_output_queue("sig") == []
    net.inject_data("A", "in", [1])
    net.start()
    assert calls == ["start"]
    [init] = net.flush_output_queue("sig")
    assert (init.signal, init.node_name) == ("node_initialized", "A")
    assert net.flush_output_queue("out") == [2]
