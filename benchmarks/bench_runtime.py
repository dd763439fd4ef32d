"""Benchmark of the Net runtime, each figure as a ratio to a baseline measured in the same run.

1. main loop: 3-node pipeline source -> double -> sink (trivial sync functions), N packets,
   vs a plain ``asyncio.Queue`` pipeline doing the same work;
2. thread pool: the same pipeline on a 4-thread pool, vs a plain ``queue.Queue`` pipeline
   with one thread per stage;
3. scaling: time for 2N packets / time for N;
4. memory: bytes per packet for 100,000 packets waiting in the net (tracemalloc);
5. observability: history + print capture + port types on, vs the plain run;
6. engine share: the engine actions of the main-loop run (step, start, consume, create, load,
   send, finish) done directly on a ``NetSim``, with the action API and through the engine's
   event-free fast lane (which the runtime uses): the part of (1) the runtime cannot remove.

Run: ``python benchmarks/bench_runtime.py [N]`` (default N = 20,000).
"""

from __future__ import annotations

import asyncio
import gc
import queue
import sys
import threading
import time
import tracemalloc
from typing import Any

from netrun_sim import (
    Edge,
    Graph,
    MaxSalvos,
    NetAction,
    NetSim,
    Node,
    PacketCount,
    PacketLocation,
    Port,
    PortRef,
    PortState,
    PortType,
    SalvoCondition,
    SalvoConditionTerm,
)

from netrun.net import Net


def _node(name: str) -> Node:
    return Node(
        name,
        {"x": Port()},
        {"out": Port()},
        {"default": SalvoCondition(MaxSalvos.finite(1), {"x": PacketCount.count(1)},
                                   SalvoConditionTerm.port("x", PortState.non_empty()))},
        {"send": SalvoCondition(MaxSalvos.infinite(), "out", SalvoConditionTerm.port("out", PortState.non_empty()))},
    )


def graph() -> Graph:
    edge = lambda a, b: Edge(PortRef(a, PortType.Output, "out"), PortRef(b, PortType.Input, "x"))  # noqa: E731
    return Graph([_node("source"), _node("double"), _node("sink")], [edge("source", "double"), edge("double", "sink")])


def identity(ctx, packets):
    value = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def double(ctx, packets):
    value = ctx.consume_packet(packets["x"][0])
    ctx.load_output_port("out", ctx.create_packet(2 * value))
    ctx.send_output_salvo("send")


def double_printing(ctx, packets):
    value = ctx.consume_packet(packets["x"][0])
    print("doubling", value)
    ctx.load_output_port("out", ctx.create_packet(2 * value))
    ctx.send_output_salvo("send")


def build(pool: bool = False, observed: bool = False, history: Any = None, prints: bool = False,
          types: bool = False) -> Net:
    """``observed`` turns history, print capture and port types on together."""
    options: dict[str, Any] = {"thread_pools": {"io": {"size": 4}}} if pool else {}
    if observed or history:
        options.update(history=True)
        if isinstance(history, int) and not isinstance(history, bool):
            options.update(history_max_size=history)
    net = Net(graph(), **options)
    net.set_node_exec("source", identity)
    net.set_node_exec("double", double_printing if (observed or prints) else double)
    net.set_node_exec("sink", identity)
    if pool:
        for name in ("source", "double", "sink"):
            net.set_node_config(name, pool="io")
    if observed or types:
        for name in ("source", "double", "sink"):
            net.set_input_port_type(name, "x", int)
            net.set_output_port_type(name, "out", "int")
    return net


def run_net(n: int, pool: bool = False, **kinds: Any) -> float:
    net = build(pool, **kinds)
    try:
        net.inject_data("source", "x", range(n))
        gc.collect()
        start = time.perf_counter()
        net.start()
        out = net.flush_output_queue("sink::out")
        elapsed = time.perf_counter() - start
        assert out == [2 * i for i in range(n)] or (pool and sorted(out) == [2 * i for i in range(n)])
        return elapsed
    finally:
        net.stop()


def run_asyncio_baseline(n: int) -> float:
    async def main() -> float:
        q1, q2, q3 = asyncio.Queue(), asyncio.Queue(), asyncio.Queue()
        out: list = []

        async def stage(fn, qin, qout):
            while True:
                item = await qin.get()
                if item is None:
                    if qout is not None:
                        await qout.put(None)
                    return
                result = fn(item)
                if qout is not None:
                    await qout.put(result)
                else:
                    out.append(result)

        for i in range(n):
            q1.put_nowait(i)
        q1.put_nowait(None)
        start = time.perf_counter()
        await asyncio.gather(stage(lambda x: x, q1, q2), stage(lambda x: 2 * x, q2, q3), stage(lambda x: x, q3, None))
        elapsed = time.perf_counter() - start
        assert out == [2 * i for i in range(n)]
        return elapsed

    return asyncio.run(main())


def run_thread_baseline(n: int) -> float:
    q1, q2, q3 = queue.Queue(), queue.Queue(), queue.Queue()
    out: list = []

    def stage(fn, qin, qout):
        while True:
            item = qin.get()
            if item is None:
                if qout is not None:
                    qout.put(None)
                return
            result = fn(item)
            if qout is not None:
                qout.put(result)
            else:
                out.append(result)

    for i in range(n):
        q1.put(i)
    q1.put(None)
    threads = [threading.Thread(target=stage, args=a) for a in
               ((lambda x: x, q1, q2), (lambda x: 2 * x, q2, q3), (lambda x: x, q3, None))]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    assert out == [2 * i for i in range(n)]
    return elapsed


def _loaded_sim(n: int) -> NetSim:
    """A ``NetSim`` of the pipeline with ``n`` packets on the source's input port."""
    sim = NetSim(graph())
    do = sim.do_action
    source = PacketLocation.input_port("source", "x")
    for _ in range(n):
        do(NetAction.transport_packet_to_location(do(NetAction.create_packet())[0].packet_id, source))
    gc.collect()
    return sim


def run_engine_only(n: int) -> float:
    """The engine actions of ``run_net(n)`` without the runtime (same batching of steps)."""
    sim = _loaded_sim(n)
    do = sim.do_action
    start = time.perf_counter()
    out = []
    while True:
        created = []
        while True:
            progress, events = sim.run_step()
            for ev in events:
                if ev.kind == "EpochCreated":
                    created.append((ev.epoch_id, sim.get_epoch(ev.epoch_id).in_salvo.packets))
            if not progress or len(created) >= 256:
                break
        if not created:
            break
        for eid, pairs in created:
            do(NetAction.start_epoch(eid))
            do(NetAction.consume_packet(pairs[0][1]))
            pid = do(NetAction.create_packet(eid))[0].packet_id
            do(NetAction.load_packet_into_output_port(pid, "out"))
            for ev in do(NetAction.send_output_salvo(eid, "send"))[1]:
                if ev.kind == "PacketOrphaned":
                    do(NetAction.consume_packet(ev.packet_id))
                    out.append(ev.packet_id)
            do(NetAction.finish_epoch(eid))
    elapsed = time.perf_counter() - start
    assert len(out) == n
    return elapsed


def run_engine_fast(n: int) -> float:
    """``run_engine_only`` through the engine's fast lane (``NetSim._fastlane()``): the
    event-free forms of the same actions, which the runtime uses when nothing records
    events. This is the floor of the main-loop run: the engine bookkeeping it must do."""
    sim = _loaded_sim(n)
    lane = sim._fastlane()
    start = time.perf_counter()
    out = []
    while True:
        created: list = []
        while lane.step(created) and len(created) < 256:
            pass
        if not created:
            break
        for ep in created:
            eid = ep.id
            lane.start(eid)
            lane.consume(ep.in_salvo[1][0][1])
            pid = lane.create(eid)
            lane.load(pid, "out")
            for orphan, _port in lane.send(eid, "send"):
                lane.consume(orphan)
                out.append(orphan)
            lane.finish(eid)
    elapsed = time.perf_counter() - start
    assert len(out) == n
    return elapsed


def memory_per_packet(n: int = 100_000) -> float:
    net = Net(graph())  # no exec function: injected packets wait at the input port
    try:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        net.inject_data("source", "x", range(n))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / n
    finally:
        net.stop()


def best(fn, *args, repeat: int = 3, **kwargs) -> float:
    return min(fn(*args, **kwargs) for _ in range(repeat))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    print(f"netrun runtime benchmark, N = {n} packets (3 epochs each)")

    base = best(run_asyncio_baseline, n)
    main_loop = best(run_net, n)
    print(f"main loop     : {n / main_loop:10.0f} packets/s  {main_loop / n * 1e6:7.1f} us/packet  "
          f"ratio to asyncio.Queue pipeline {main_loop / base:6.1f}x (baseline {base / n * 1e6:.2f} us/packet)")

    tbase = best(run_thread_baseline, n)
    threads = best(run_net, n, pool=True)
    print(f"thread pool   : {3 * n / threads:10.0f} epochs/s   {threads / n * 1e6:7.1f} us/packet  "
          f"ratio to queue.Queue thread pipeline {threads / tbase:6.1f}x (baseline {tbase / n * 1e6:.2f} us/packet)")

    engine = best(run_engine_only, n)
    print(f"engine share  : the same engine actions alone take {engine / n * 1e6:.1f} us/packet "
          f"({engine / base:.1f}x asyncio.Queue, {engine / main_loop:.0%} of the main loop run)")
    fast = best(run_engine_fast, n)
    print(f"                through the engine's fast lane (what the runtime uses): {fast / n * 1e6:.1f} "
          f"us/packet ({fast / base:.1f}x asyncio.Queue, {fast / main_loop:.0%} of the main loop run)")

    double_n = best(run_net, 2 * n, repeat=2)
    print(f"scaling       : 2N packets take {double_n / main_loop:.2f}x the time of N")

    per_packet = memory_per_packet()
    print(f"memory        : {per_packet:.0f} bytes per waiting packet (100,000 packets)")

    observed = best(run_net, n, observed=True)
    print(f"observability : history + print capture + port types on: {observed / main_loop:.2f}x the plain run")
    for label, kinds in (("history (default: 1,000 in memory)", {"history": True}),
                         ("history (10,000 in memory)", {"history": 10000}),
                         ("print capture (1 line/epoch)", {"prints": True}),
                         ("port types (in + out)", {"types": True})):
        print(f"                {label:36s}: {best(run_net, n, **kinds) / main_loop:.2f}x")


if __name__ == "__main__":
    main()
