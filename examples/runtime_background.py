"""A ``netrun.net.Net`` running in the background on a thread pool.

``start(threaded=True)`` returns at once; the net keeps running on its own event-loop
thread and picks up data injected later. ``max_parallel_epochs=4`` lets four epochs of the
node run at the same time on the ``io`` pool, so eight 0.2 s jobs take about 0.4 s.
``on_epoch_end`` observes each epoch; ``pause()`` lets running epochs finish.
Press Ctrl-C during a blocking ``net.start()`` and the net pauses cleanly the same way.

Run: ``.venv/bin/python examples/runtime_background.py``
"""

from __future__ import annotations

import time

from netrun_sim import Graph, MaxSalvos, Node, PacketCount, Port, PortState, SalvoCondition, SalvoConditionTerm

from netrun.net import Net


def fetch(ctx, packets):
    url = ctx.consume_packet(packets["in"][0])
    time.sleep(0.2)  # pretend to do I/O
    ctx.load_output_port("out", ctx.create_packet(f"<page {url}>"))
    ctx.send_output_salvo("send")


def main() -> float:
    graph = Graph([Node(
        "Fetch", {"in": Port()}, {"out": Port()},
        {"default": SalvoCondition(MaxSalvos.finite(1), {"in": PacketCount.count(1)},
                                   SalvoConditionTerm.port("in", PortState.non_empty()))},
        {"send": SalvoCondition(MaxSalvos.infinite(), "out", SalvoConditionTerm.port("out", PortState.non_empty()))},
    )], [])
    with Net(graph, thread_pools={"io": {"size": 8}}) as net:
        net.set_node_exec("Fetch", fetch)
        net.set_node_config("Fetch", pool="io", max_parallel_epochs=4)
        durations = []
        net.on_epoch_end(lambda node, epoch, log: durations.append(log.duration_ms))

        runner = net.start(threaded=True)
        started = time.monotonic()
        net.inject_data("Fetch", "in", [f"https://example.org/{i}" for i in range(8)])
        first = net.get_output("Fetch::out", timeout=5)   # blocks until one is ready
        runner.wait_until_blocked(timeout=5)
        elapsed = time.monotonic() - started
        rest = net.flush_output_queue("Fetch::out")
        net.pause()
        print(f"{1 + len(rest)} pages in {elapsed:.2f} s (first: {first}); "
              f"epochs took {min(durations):.0f}-{max(durations):.0f} ms each")
    return elapsed


if __name__ == "__main__":
    main()
