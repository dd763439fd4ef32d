"""Signals and controls on a config-built ``Net``.

* ``Worker`` doubles numbers. Its ``epoch_finished`` **signal** (an ``EpochSignalValue`` sent
  on the auto-created output port ``__signal_epoch_finished__``) is wired to the
  ``start_epoch`` **control** port of the source node ``Ticker``, so every finished Worker
  epoch makes Ticker emit one tick.
* ``Worker`` accepts the ``disable`` / ``enable`` controls: a ``disable`` sent before the data
  is applied before any data epoch runs (controls take priority over waiting data), and the
  data waits until ``enable``.
* Three ``start_epoch`` controls sent to ``Ticker`` start three epochs (each control packet
  is applied on its own).

Run: ``.venv/bin/python examples/signals_controls.py``
"""

from __future__ import annotations

from netrun.config import NetConfig
from netrun.config.runtime import runtime_setup
from netrun.net import Net

CONFIG = {
    "graph": {
        "nodes": [
            {"name": "Worker", "in_ports": {"in": {}}, "out_ports": {"out": {}},
             "in_salvo_conditions": {"default": {
                 "max_salvos": {"type": "finite", "max": 1},
                 "ports": {"in": {"type": "count", "count": 1}},
                 "term": {"type": "port", "port_name": "in", "state": {"type": "non_empty"}}}},
             "execution_config": {"signals": ["epoch_finished"], "controls": ["disable", "enable"]}},
            {"name": "Ticker", "out_ports": {"out": {}},
             "execution_config": {"controls": ["start_epoch"]}},
        ],
        "edges": [
            {"source_node": "Worker", "source_port": "__signal_epoch_finished__",
             "target_node": "Ticker", "target_port": "__control_start_epoch__"},
        ],
    },
}


def double(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    ctx.load_output_port("out", ctx.create_packet(value * 2))
    ctx.send_output_salvo("default")


def make_ticker():
    count = 0

    def tick(ctx, packets):
        nonlocal count
        count += 1
        ctx.load_output_port("out", ctx.create_packet(f"tick {count}"))
        ctx.send_output_salvo("default")
    return tick


def main() -> dict:
    net = Net.from_setup(runtime_setup(NetConfig.model_validate(CONFIG)))
    net.set_node_exec("Worker", double)
    net.set_node_exec("Ticker", make_ticker())
    with net:
        # 1. controls before data: nothing runs while Worker is disabled
        net.send_control("Worker", "disable")
        net.inject_data("Worker", "in", [1, 2, 3])
        net.start()
        held = net.flush_output_queue("Worker::out")
        waiting = len(net.get_startable_epochs_by_node("Worker"))
        # 2. enable: the three epochs run; each finished signal starts one Ticker epoch
        net.send_control("Worker", "enable")
        net.start()
        doubled = net.flush_output_queue("Worker::out")
        ticks = net.flush_output_queue("Ticker::out")
        # 3. three start_epoch controls -> three epochs
        for _ in range(3):
            net.send_control("Ticker", "start_epoch")
        net.start()
        more_ticks = net.flush_output_queue("Ticker::out")
    result = {"held": held, "waiting": waiting, "doubled": doubled, "ticks": ticks, "more_ticks": more_ticks}
    print(f"while disabled: {held} ({waiting} epochs waiting); after enable: {doubled}")
    print(f"ticks driven by Worker's epoch_finished signal: {ticks}")
    print(f"ticks from three start_epoch controls: {more_ticks}")
    return result


if __name__ == "__main__":
    main()
