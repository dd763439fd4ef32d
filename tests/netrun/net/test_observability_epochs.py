"""on_epoch_start / on_epoch_end for the epochs the runtime ends itself (control epochs,
epochs rejected by ``max_epochs``) and for epochs of a node without a function: every
``on_epoch_end`` has its ``on_epoch_start``, and no epoch is reported twice."""

from __future__ import annotations

import asyncio

from _config_nets import config, edge, manual
from netrun.net import Net


def relay(ctx, packets):
    for pid in packets["x"]:
        ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(pid)))
    ctx.send_output_salvo("send")


def _watch(net):
    starts, ends = [], []
    net.on_epoch_start(lambda n, e: starts.append((n, e)))
    net.on_epoch_end(lambda n, e, log: ends.append((n, e, log.outcome, log.error_type)))
    return starts, ends


def _paired(starts, ends):
    assert len(set(starts)) == len(starts) and len({e[1] for e in ends}) == len(ends)
    assert sorted(starts) == sorted((n, e) for n, e, *_ in ends)


def test_control_epochs_fire_start_and_end_success_and_failure():
    cfg = config([manual("A", relay, controls=["disable", "enable", "cancel_epoch"])],
                 propagate_exceptions=False)

    async def main():
        async with Net(cfg) as net:
            starts, ends = _watch(net)
            net.send_control("A", "disable")
            net.inject_data("A", "x", [1])
            await net.run_until_blocked()
            net.send_control("A", "cancel_epoch", "no-such-epoch")  # fails: reported, not lost
            net.send_control("A", "enable")
            await net.run_until_blocked()
            return net, starts, ends, net.flush_output_queue("A::out")

    net, starts, ends, out = asyncio.run(main())
    assert out == [1]
    _paired(starts, ends)
    by_outcome = [(e[2], e[3]) for e in ends]
    # disable; then the failed cancel_epoch and enable (each its own epoch); the data epoch last
    assert by_outcome[0] == ("success", None) and by_outcome[3] == ("success", None)
    assert sorted(by_outcome[1:3]) == [("error", "ControlFailed"), ("success", None)]
    assert len(net.exception_queue) == 1 and "no-such-epoch" in str(net.exception_queue[0])


def test_an_epoch_rejected_by_max_epochs_has_both_callbacks():
    cfg = config([manual("A", relay, max_epochs=1)], propagate_exceptions=False)

    async def main():
        async with Net(cfg) as net:
            starts, ends = _watch(net)
            net.inject_data("A", "x", [1, 2])
            await net.run_until_blocked()
            return net, starts, ends

    net, starts, ends = asyncio.run(main())
    _paired(starts, ends)
    assert [(e[2], e[3]) for e in ends] == [("success", None), ("error", "MaxEpochsExceeded")]
    assert "max_epochs=1" in str(net.exception_queue[0])


def test_epochs_of_a_node_without_a_function_wait_silently_until_it_has_one():
    # Deliberate difference from 0.5.0 (which ran them as no-ops): such epochs keep their
    # packets and wait (net.get_startable_epochs()); they start, with both callbacks, once
    # the node gets a function.
    node = manual("B", relay)
    del node["execution_config"]
    cfg = config([manual("A", relay), node], [edge("A", "B")])

    async def main():
        async with Net(cfg) as net:
            starts, ends = _watch(net)
            net.inject_data("A", "x", [7])
            await net.run_until_blocked()
            waiting = net.get_startable_epochs()
            seen = (list(starts), list(ends))
            net.set_node_exec("B", relay)
            await net.run_until_blocked()
            return net, waiting, seen, starts, ends, net.flush_output_queue("B::out")

    net, waiting, (starts_before, ends_before), starts, ends, out = asyncio.run(main())
    assert len(waiting) == 1 and [n for n, _ in starts_before] == ["A"] and len(ends_before) == 1
    assert out == [7]
    _paired(starts, ends)
    assert [(n, outcome) for n, _, outcome, _ in ends] == [("A", "success"), ("B", "success")]
    assert ends[1][1] == waiting[0]
