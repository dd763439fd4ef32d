"""Checkpoints keep what only the runtime knows: disabled nodes, ``max_epochs`` counts and
settings, waiting controls (and their send order), closed nodes, pending dependency
requests, signals, ``run_on_init`` already fired, the failure policy."""

from __future__ import annotations

import pytest
from _signal_nets import NetBuilder, double_all, edge, node, sink

from netrun.config.nodes import DependencyRequestConfig
from netrun.errors import MaxEpochsExceeded
from netrun.net import Net

CALLS: list[str] = []  # epochs of emit_seven / nodes started by mark_start
SEEN: list = []


def emit_seven(ctx, packets):
    CALLS.append(f"emit:{ctx.epoch_id}")
    ctx.load_output_port("out", ctx.create_packet(7))
    ctx.send_output_salvo("default")


def mark_start(net):
    CALLS.append("start")


def record(ctx, packets):
    for port, refs in packets.items():
        for p in refs:
            SEEN.append((port, ctx.consume_packet(p)))


@pytest.fixture
def build():
    CALLS.clear()
    SEEN.clear()
    builder = NetBuilder()
    yield builder
    builder.close()


def _resume(build, net, path):
    net.save_checkpoint(path)
    restored = Net.load_checkpoint(path, handle_sigint=False)
    build.nets.append(restored)
    return restored


def _worker(build, **fields):
    return build([node("A", ["in"], ["out"], per_packet=True, controls=["enable", "disable", "set_epoch_count",
                                                                      "close_node", "init_node"], **fields)],
                 (), {"A": (double_all, mark_start)}, propagate_exceptions=False)


def test_a_disabled_node_stays_disabled(build, tmp_path):
    net = _worker(build)
    net.inject_data("A", "in", [1, 2])
    net.disable_node("A")
    net.start()
    restored = _resume(build, net, tmp_path / "ckpt")
    assert restored.is_node_enabled("A") is False
    restored.start()
    assert restored.flush_output_queue("A::out") == []
    restored.enable_node("A")
    restored.start()
    assert restored.flush_output_queue("A::out") == [2, 4]


def test_max_epochs_count_and_setting_survive(build, tmp_path):
    net = _worker(build, max_epochs=3)
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert net.flush_output_queue("A::out") == [2, 4]
    restored = _resume(build, net, tmp_path / "ckpt")  # the TOML does not keep max_epochs
    restored.inject_data("A", "in", [3, 4])
    restored.start()  # propagate_exceptions=False (restored too): queued, not raised
    assert restored.flush_output_queue("A::out") == [6]
    [error] = restored.exception_queue
    assert isinstance(error.__cause__, MaxEpochsExceeded) and error.__cause__.max_epochs == 3
    [entry] = restored.dead_letter_queue.get_all()
    assert list(entry.packet_values.values()) == [4]
    # the set_epoch_count control writes the restored counter
    restored.send_control("A", "set_epoch_count", 2)
    restored.inject_data("A", "in", [5])
    restored.start()
    assert restored.flush_output_queue("A::out") == [10]


@pytest.mark.parametrize("formed", [False, True], ids=["at-port", "epoch-formed"])
@pytest.mark.parametrize("order", [("enable", "disable"), ("disable", "enable")], ids="-then-".join)
def test_waiting_controls_apply_in_send_order_after_a_resume(build, tmp_path, formed, order):
    net = _worker(build)
    net.inject_data("A", "in", [1])
    for control in order:
        net.send_control("A", control)  # the one sent last wins
    if formed:
        net.run_step(start_epochs=False)
    restored = _resume(build, net, tmp_path / "ckpt")
    restored.start()
    enabled = order[-1] == "enable"
    assert restored.is_node_enabled("A") is enabled
    assert restored.flush_output_queue("A::out") == ([2] if enabled else [])
    net.start()  # the uninterrupted net agrees
    assert net.is_node_enabled("A") is enabled
    assert net.flush_output_queue("A::out") == ([2] if enabled else [])


def test_a_node_closed_by_a_control_is_not_started_by_the_resumed_run(build, tmp_path):
    net = _worker(build)
    net.start()
    assert CALLS == ["start"]
    net.send_control("A", "close_node")
    net.start()
    restored = _resume(build, net, tmp_path / "ckpt")
    CALLS.clear()
    restored.inject_data("A", "in", [1])
    restored.start()
    assert CALLS == [] and restored.flush_output_queue("A::out") == [2]
    restored.send_control("A", "init_node")
    restored.start()
    assert CALLS == ["start"]


def _requests_net(build, triggers):
    return build([node("S", (), ["out"]), node("B", ["in"], ["out"],
                                               dependency=DependencyRequestConfig(triggers=list(triggers)))],
                 [edge("S", "out", "B", "in", dependency=True)], {"S": emit_seven, "B": double_all})


def test_a_pending_request_is_resumed(build, tmp_path):
    net = _requests_net(build, [])
    net.request("B")
    restored = _resume(build, net, tmp_path / "ckpt")
    restored.start()
    assert restored.flush_output_queue("B::out") == [14] and len(CALLS) == 1
    restored.start()
    assert len(CALLS) == 1


def test_startup_requests_are_not_sent_again_after_a_resume(build, tmp_path):
    net = _requests_net(build, ["on_startup"])
    net.start()
    assert net.flush_output_queue("B::out") == [14] and len(CALLS) == 1
    restored = _resume(build, net, tmp_path / "ckpt")
    restored.start()
    assert restored.flush_output_queue("B::out") == [] and len(CALLS) == 1


def test_signals_are_sent_by_the_resumed_net(build, tmp_path):
    net = build([node("A", ["in"], ["out"], per_packet=True, signals=["epoch_finished"]),
                 sink("Sig", ["epoch_finished"])],
                [edge("A", "__signal_epoch_finished__", "Sig", "epoch_finished")],
                {"A": double_all, "Sig": record})
    net.inject_data("A", "in", [1])
    restored = _resume(build, net, tmp_path / "ckpt")
    restored.start()
    assert restored.flush_output_queue("A::out") == [2]
    [(port, value)] = SEEN
    assert port == "epoch_finished" and value.node_name == "A" and value.signal == "epoch_finished"


def test_run_on_init_fires_once_across_a_resume(build, tmp_path):
    def source_net():
        return build([node("S", (), ["out"], run_on_init=True)], (), {"S": emit_seven})

    net = source_net()
    restored = _resume(build, net, tmp_path / "before")  # saved before the first run: fires
    restored.start()
    assert restored.flush_output_queue("S::out") == [7] and len(CALLS) == 1
    again = _resume(build, restored, tmp_path / "after")  # saved after: does not fire again
    again.start()
    assert again.flush_output_queue("S::out") == [] and len(CALLS) == 1


def test_epochs_rewound_by_a_periodic_checkpoint_are_not_counted_twice(build):
    from types import SimpleNamespace

    from netrun.net._checkpoint_runtime import capture_runtime

    net = _worker(build, max_epochs=5)
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    in_flight = SimpleNamespace(node=SimpleNamespace(name="A"))  # an attempt that will run again
    assert capture_runtime(net)["nodes"]["A"]["epoch_count"] == 3
    assert capture_runtime(net, [in_flight])["nodes"]["A"] == {"epoch_count": 2, "max_epochs": 5,
                                                               "defer_init": False}
