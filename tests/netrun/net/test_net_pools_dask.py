"""Epochs on a Dask cluster (an embedded LocalCluster): results, prints, failures, retries,
timeouts, async nodes."""

from __future__ import annotations

import time

import pytest
from _net_graphs import pipeline

from netrun.errors import EpochTimeout

pytest.importorskip("distributed")


def flaky_then_double(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    print("attempt", ctx.retry_count, "for", value)
    if value == "bad":
        raise ValueError("bad input reached the cluster")
    if value == "slow":
        time.sleep(3)
    if ctx.retry_count == 0 and value == 3:
        raise RuntimeError("first attempt of 3 fails")
    ctx.load_output_port("out", ctx.create_packet(value * 2))
    ctx.send_output_salvo("send")


async def async_triple(ctx, packets):
    value = await ctx.consume_packet(packets["in"][0])
    await ctx.load_output_port("out", await ctx.create_packet(value * 3))
    await ctx.send_output_salvo("send")


@pytest.mark.timeout(90)
def test_dask_pool_runs_epochs_with_the_nets_failure_rules(make_net):
    net = make_net(pipeline("A"), on_error="continue",
                   pools={"cl": {"type": "dask", "n_workers": 1, "threads_per_worker": 2}})
    net.set_node_exec("A", flaky_then_double)
    net.set_node_config("A", pool="cl", retries=1, defer_net_actions=True)
    net.inject_data("A", "in", [1, 2, 3, "bad"])
    net.start()
    assert sorted(net.flush_output_queue("A::out")) == [2, 4, 6]  # 3 succeeded on its retry
    [entry] = net.dead_letter_queue.get_all()
    assert isinstance(entry.exception, ValueError) and "bad input reached the cluster" in str(entry.exception)
    assert entry.retry_count == 1
    log = sorted(e.message for e in net.get_node_log("A") if e.message.startswith("attempt"))
    assert "attempt 0 for 3" in log and "attempt 1 for 3" in log  # prints came back with each epoch
    assert any("attempt 0 failed: RuntimeError: first attempt of 3 fails" in e.message
               for e in net.get_node_log("A"))

    net.set_node_config("A", retries=0, timeout=0.5)
    net.inject_data("A", "in", ["slow"])
    started = time.monotonic()
    net.start()
    assert time.monotonic() - started < 3  # the stuck task was abandoned, not awaited
    assert isinstance(net.dead_letter_queue.get_all()[-1].exception, EpochTimeout)

    net.set_node_config("A", timeout=None)
    net.set_node_exec("A", async_triple)
    net.inject_data("A", "in", [5])
    net.start()
    assert net.flush_output_queue("A::out") == [15]
