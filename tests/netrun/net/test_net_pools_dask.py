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


# -- values kept in the cluster between epochs of the same Dask pool ---------------------------
class Counted:
    """A value that counts how often it is pickled (the cluster's workers are threads of
    this process, so the class attribute is shared with them)."""

    pickles = 0

    def __init__(self, payload):
        self.payload = payload

    def __reduce__(self):
        Counted.pickles += 1
        return (Counted, (self.payload,))


def make_big(ctx, packets):
    n = ctx.consume_packet(packets["in"][0])
    ctx.load_output_port("out", ctx.create_packet(Counted(list(range(n)))))
    ctx.send_output_salvo("send")


def summarise(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    assert type(value) is Counted
    ctx.load_output_port("out", ctx.create_packet(sum(value.payload)))
    ctx.send_output_salvo("send")


def pass_on(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def fail_on_it(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    raise ValueError(f"refused a value of {len(value.payload)} items")


@pytest.mark.timeout(90)
def test_values_between_epochs_of_one_dask_pool_stay_in_the_cluster(make_net):
    net = make_net(pipeline("A", "B"), on_error="continue",
                   pools={"cl": {"type": "dask", "n_workers": 1, "threads_per_worker": 2}})
    net.set_node_exec("A", make_big)
    net.set_node_exec("B", summarise)
    net.set_node_config("A", pool="cl")
    net.set_node_config("B", pool="cl")
    Counted.pickles = 0
    net.inject_data("A", "in", [10, 1000, 5])
    net.start()
    assert sorted(net.flush_output_queue("B::out")) == [10, 45, 499500]
    assert Counted.pickles == 0  # A's values went to B inside the cluster, never through the net

    # B on the event loop: the values come back to the net (read from the in-process workers)
    net.set_node_config("B", pool="main")
    net.inject_data("A", "in", [4])
    net.start()
    assert net.flush_output_queue("B::out") == [6]

    # a value waiting in the net is materialised when something outside the cluster asks
    net.set_node_config("B", pool="cl")
    net.disable_node("B")
    net.inject_data("A", "in", [3])
    net.start()
    [waiting] = net.value_store.active_ids()  # A's output, waiting for the disabled B
    assert net.value_store.get_value(waiting).payload == [0, 1, 2]
    net.enable_node("B")
    net.start()
    assert net.flush_output_queue("B::out") == [3]

    # a consumer that fails: its input value travels back for the dead-letter queue
    net.set_node_exec("B", fail_on_it)
    net.inject_data("A", "in", [7])
    net.start()
    [entry] = net.dead_letter_queue.get_all()
    assert "refused a value of 7 items" in str(entry.exception)
    assert [v.payload for v in entry.packet_values.values()] == [list(range(7))]


@pytest.mark.timeout(90)
def test_keep_values_off_sends_every_value_through_the_net(make_net):
    net = make_net(pipeline("A", "B"), pools={"cl": {"type": "dask", "n_workers": 1, "threads_per_worker": 2,
                                                     "keep_values": False}})
    net.set_node_exec("A", make_big)
    net.set_node_exec("B", summarise)
    net.set_node_config("A", pool="cl")
    net.set_node_config("B", pool="cl")
    Counted.pickles = 0
    net.inject_data("A", "in", [10])
    net.start()
    assert net.flush_output_queue("B::out") == [45]
    assert Counted.pickles >= 1  # the value made the round trip A -> net -> B


@pytest.mark.timeout(90)
def test_resident_values_waiting_in_the_net_survive_the_cluster_closing(make_net):
    net = make_net(pipeline("A", "B"), pools={"cl": {"type": "dask", "n_workers": 1, "threads_per_worker": 2}})
    net.set_node_exec("A", make_big)
    net.set_node_exec("B", summarise)
    net.set_node_config("A", pool="cl")
    net.set_node_config("B", pool="cl")
    net.disable_node("B")
    net.inject_data("A", "in", [6])
    net.start()
    net.stop()  # closes the cluster: the waiting value is fetched first
    [waiting] = net.value_store.active_ids()
    assert net.value_store.get_value(waiting).payload == list(range(6))
