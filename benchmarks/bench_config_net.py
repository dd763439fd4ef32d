"""Benchmark of the config front door against the PROJECT_SPEC form, in the same run.

The 3-node pipeline of the runtime issue, source -> double -> sink with trivial functions,
N packets fed with ``inject_data`` onto ``source.x``, results read from ``sink::out``:

1. PROJECT_SPEC form (baseline): ``Net(graph)`` + ``set_node_exec`` (hand-written exec
   functions) + ``net.start()``;
2. config form: ``Net(NetConfig)`` whose nodes are made by
   ``netrun.node_factories.from_function`` from ``source(x: int) -> int`` etc. (so ports are
   typed and every value is type-checked), run with ``net.start()``;
3. the same config net driven through the published 0.5.0 API: ``async with Net(cfg)``,
   ``await net.run_until_blocked()``, which also returns every epoch's ``EpochLog`` and the
   run's ``NetActionLog`` records (at N <= 2,000: keeping every record costs more per
   packet as N grows).

Each is printed as per-packet time and as a ratio to (1); target (issue 10): config form
within 1.3x. The published netrun 0.5.0 runtime measured about 1,000 packets/s on the main
pool for this pipeline (study §12, 2 vCPU), printed for reference.

Run: ``python benchmarks/bench_config_net.py [N]`` (default N = 20,000).
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time

from netrun.config import NetConfig
from netrun.net import Net

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_runtime import double as spec_double  # noqa: E402  (the hand-written baseline)
from bench_runtime import graph as spec_graph  # noqa: E402
from bench_runtime import identity as spec_identity  # noqa: E402

PUBLISHED_PACKETS_PER_S = 1_000  # netrun 0.5.0, main pool, this pipeline (study §12)


def source(x: int) -> int:
    return x


def double(x: int) -> int:
    return 2 * x


def sink(x: int) -> int:
    return x


def config() -> NetConfig:
    node = lambda name, func: {"name": name, "factory": "netrun.node_factories.from_function",  # noqa: E731
                               "factory_args": {"func": func}}
    edge = lambda a, b: {"source_node": a, "source_port": "out", "target_node": b, "target_port": "x"}  # noqa: E731
    return NetConfig.model_validate({"graph": {
        "nodes": [node("source", source), node("double", double), node("sink", sink)],
        "edges": [edge("source", "double"), edge("double", "sink")]}})


def _check(out: list, n: int) -> None:
    assert out == [2 * i for i in range(n)], out[:10]


def run_spec(n: int) -> float:
    net = Net(spec_graph(), handle_sigint=False)
    net.set_node_exec("source", spec_identity)
    net.set_node_exec("double", spec_double)
    net.set_node_exec("sink", spec_identity)
    try:
        net.inject_data("source", "x", range(n))
        gc.collect()
        start = time.perf_counter()
        net.start()
        out = net.flush_output_queue("sink::out")
        elapsed = time.perf_counter() - start
        _check(out, n)
        return elapsed
    finally:
        net.stop()


def run_config(n: int) -> float:
    net = Net(config(), handle_sigint=False)
    try:
        net.inject_data("source", "x", range(n))
        gc.collect()
        start = time.perf_counter()
        net.start()
        out = net.flush_output_queue("sink::out")
        elapsed = time.perf_counter() - start
        _check(out, n)
        return elapsed
    finally:
        net.stop()


def run_config_published_api(n: int) -> float:
    async def main() -> float:
        async with Net(config(), handle_sigint=False) as net:
            net.inject_data("source", "x", range(n))
            gc.collect()
            start = time.perf_counter()
            progress, actions, logs = await net.run_until_blocked()
            out = net.flush_output_queue("sink::out")
            elapsed = time.perf_counter() - start
            assert progress and len(logs) == 3 * n
            _check(out, n)
            return elapsed

    return asyncio.run(main())


def best(func, n: int, repeats: int = 3) -> float:
    return min(func(n) for _ in range(repeats))


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 20_000
    run_spec(min(n, 2_000))  # warm-up (imports, first-call costs)
    run_config(min(n, 2_000))
    spec = best(run_spec, n)
    cfg = best(run_config, n)
    # every EpochLog and NetActionLog is kept for the return value: a smaller N keeps
    # this line's run time reasonable (the cost per packet grows with N: live objects)
    n_api = min(n, 2_000)
    published = best(run_config_published_api, n_api)
    spec_api = best(run_spec, n_api)
    per = lambda t: t / n * 1e6  # noqa: E731
    print(f"3-node pipeline, N={n:,} packets (best of 3)")
    print(f"  PROJECT_SPEC form  Net(graph)+set_node_exec, start(): {per(spec):6.1f} us/packet "
          f"({n / spec:,.0f} packets/s)")
    print(f"  config form        Net(NetConfig) from_function, start(): {per(cfg):6.1f} us/packet "
          f"({n / cfg:,.0f} packets/s)  ratio {cfg / spec:.2f}x (target <= 1.3x)")
    print(f"  config + 0.5.0 API await run_until_blocked() (+EpochLogs, N={n_api:,}): "
          f"{published / n_api * 1e6:6.1f} us/packet ({n_api / published:,.0f} packets/s)  ratio "
          f"{published / spec_api:.2f}x to the PROJECT_SPEC form at the same N")
    print(f"  published netrun 0.5.0 (study §12, main pool): ~{PUBLISHED_PACKETS_PER_S:,} packets/s; "
          f"config form is {n / cfg / PUBLISHED_PACKETS_PER_S:.0f}x that")


if __name__ == "__main__":
    main(sys.argv[1:])
