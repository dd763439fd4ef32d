"""Failures in ``netrun.net.Net``: retries with backoff, timeouts, the dead-letter queue.

A flaky node fails twice and then succeeds (``retries`` with ``defer_net_actions``, so a
failed attempt leaves nothing behind); a slow node runs past its ``timeout`` and its input
ends up in the dead-letter queue, with its value; the net keeps going
(``on_error="continue"``) and reports each final failure to ``error_callback``.

Run: ``.venv/bin/python examples/runtime_retries.py``
"""

from __future__ import annotations

import time

from netrun_sim import (
    Graph,
    MaxSalvos,
    Node,
    PacketCount,
    Port,
    PortState,
    SalvoCondition,
    SalvoConditionTerm,
)

from netrun.net import Net

attempts: dict[int, int] = {}


def node(name: str) -> Node:
    return Node(
        name, {"in": Port()}, {"out": Port()},
        {"default": SalvoCondition(MaxSalvos.finite(1), {"in": PacketCount.count(1)},
                                   SalvoConditionTerm.port("in", PortState.non_empty()))},
        {"send": SalvoCondition(MaxSalvos.infinite(), "out", SalvoConditionTerm.port("out", PortState.non_empty()))},
    )


def flaky(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    attempts[value] = attempts.get(value, 0) + 1
    if ctx.retry_count < 2:
        raise ConnectionError(f"service unavailable (attempt {ctx.retry_count + 1})")
    ctx.load_output_port("out", ctx.create_packet(value * 100))
    ctx.send_output_salvo("send")


def slow(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    time.sleep(0.5)  # longer than the timeout: abandoned, reported as EpochTimeout
    ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def main() -> tuple[list, list]:
    failures: list = []
    graph = Graph([node("Flaky"), node("Slow")], [])
    with Net(graph, on_error="continue",
             error_callback=lambda exc, node_name, epoch: failures.append((node_name, type(exc).__name__))) as net:
        net.set_node_exec("Flaky", flaky, exec_failed_node_func=lambda f: print(
            f"  attempt {f.retry_count} of epoch {f.epoch_id[:8]} failed: {f.exception}"))
        net.set_node_config("Flaky", retries=3, defer_net_actions=True, retry_wait=0.01, retry_backoff=2,
                            retry_jitter=0.1)
        net.set_node_exec("Slow", slow)
        net.set_node_config("Slow", timeout=0.1)

        net.inject_data("Flaky", "in", [1, 2])
        net.inject_data("Slow", "in", ["late"])
        net.start()

        results = net.flush_output_queue("Flaky::out")
        print("results:", sorted(results), "attempts:", attempts)
        for entry in net.dead_letter_queue.get_all():
            print(f"dead letter from {entry.node_name}: {type(entry.exception).__name__}, "
                  f"values {list(entry.packet_values.values())}")
        print("error_callback saw:", failures)
    return sorted(results), failures


if __name__ == "__main__":
    main()
