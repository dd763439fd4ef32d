"""Property: whatever fails, no packet is lost. Every injected value ends in the output
queue or in the dead-letter queue (with its value), exactly once."""

from __future__ import annotations

from collections import Counter

from _net_graphs import pipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netrun.net import Net


def make_node(fail_values: frozenset, fail_attempts: int, defer: bool, cancel_values: frozenset):
    def node_func(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        if value in cancel_values:
            ctx.cancel_epoch()
        out = ctx.create_packet(value)
        if value in fail_values and ctx.retry_count < fail_attempts:
            raise RuntimeError(f"fail {value}")
        ctx.load_output_port("out", out)
        ctx.send_output_salvo("send")

    return node_func


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(st.integers(0, 50), min_size=1, max_size=12),
    fail_values=st.frozensets(st.integers(0, 50), max_size=8),
    cancel_values=st.frozensets(st.integers(0, 50), max_size=3),
    fail_attempts=st.integers(1, 3),
    retries=st.integers(0, 2),
    defer=st.booleans(),
    pooled=st.booleans(),
)
def test_no_packet_is_lost(values, fail_values, cancel_values, fail_attempts, retries, defer, pooled):
    options = {"thread_pools": {"io": {"size": 2}}} if pooled else {}
    net = Net(pipeline("A", "B"), on_error="continue", **options)
    try:
        for name in ("A", "B"):
            net.set_node_exec(name, make_node(fail_values, fail_attempts, defer, cancel_values if name == "A" else frozenset()))
            net.set_node_config(name, defer_net_actions=defer or retries > 0, retries=retries,
                                **({"pool": "io"} if pooled else {}))
        net.inject_data("A", "in", values)
        net.start()
        delivered = Counter(net.flush_output_queue("B::out"))
        dead = Counter(v for e in net.dead_letter_queue.get_all() for v in e.packet_values.values())
        cancelled = Counter(v for v in values if v in cancel_values)
        assert delivered + dead + cancelled == Counter(values)
        survives = retries >= fail_attempts
        for v in values:
            if v in cancel_values:
                continue
            if v not in fail_values or survives:
                assert delivered[v] == Counter(values)[v]
        assert net.get_startable_epochs() == []
    finally:
        net.stop()
