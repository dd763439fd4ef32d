"""Config benchmark: load and validate a generated net of 1,000 nodes and 2,000 edges from TOML.

The net is written in the PROJECT_SPEC DSL: every node has two input and two output ports,
an input salvo condition with a ``when`` expression, options and metadata; output port
``o0`` of node ``i`` feeds ``i0`` of node ``i+1`` and ``o1`` feeds ``i1`` of node ``i+2``
(2,000 edges, no fan-out). Measured, best of several runs:

* ``load``: ``NetConfig.from_file`` (read, ``tomllib``, DSL translation, schema check);
* ``load + validate``: the above plus ``validate_config`` (structure, references, imports,
  resolution, the engine's own graph validation) — what ``netrun validate`` does;

each printed as a ratio to plain ``tomllib.loads`` of the same text. Target (issue 5):
load + validate ≤ 1 s.

Run: ``python benchmarks/bench_config.py [--nodes 1000]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from netrun.config import NetConfig, validate_config


def generate(nodes: int) -> str:
    """DSL TOML text for the benchmark net."""
    lines = ["[net]", 'on_error = "continue"', "", "[net.thread_pools.io]", "size = 4", ""]
    for i in range(nodes):
        lines += [
            f"[nodes.n{i}]",
            'in_ports = ["i0", "i1"]',
            'out_ports = ["o0", "o1"]',
            'exec_node_func = "json.dumps"',
            "",
            f"[nodes.n{i}.in_salvo_conditions.go]",
            'when = "nonempty(i0) and (nonempty(i1) or count(i0) >= 2)"',
            "",
            f"[nodes.n{i}.options]",
            'pool = "io"',
            "retries = 1",
            "timeout = 5.0",
            "",
            f"[nodes.n{i}.meta]",
            f'label = "node {i}"',
            "",
        ]
    for i in range(nodes):
        lines += ["[[edges]]", f'from = "n{i}.o0"', f'to = "n{(i + 1) % nodes}.i0"', ""]
        lines += ["[[edges]]", f'from = "n{i}.o1"', f'to = "n{(i + 2) % nodes}.i1"', ""]
    return "\n".join(lines)


def best_of(repeats: int, func) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    text = generate(args.nodes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.netrun.toml"
        path.write_text(text)
        cfg = NetConfig.from_file(path)
        assert len(cfg.graph.nodes) == args.nodes and len(cfg.graph.edges) == 2 * args.nodes
        problems = validate_config(cfg)
        assert problems == [], problems[:3]

        baseline = best_of(args.repeats, lambda: tomllib.loads(path.read_text()))
        load = best_of(args.repeats, lambda: NetConfig.from_file(path))
        full = best_of(args.repeats, lambda: validate_config(NetConfig.from_file(path)))
    print(f"net: {args.nodes} nodes, {2 * args.nodes} edges, {len(text) / 1e6:.2f} MB of TOML")
    print(f"tomllib.loads (baseline)   {baseline * 1e3:8.1f} ms   1.0x")
    print(f"load (NetConfig.from_file) {load * 1e3:8.1f} ms   {load / baseline:.1f}x")
    print(f"load + validate            {full * 1e3:8.1f} ms   {full / baseline:.1f}x   "
          f"(target <= 1000 ms: {'ok' if full <= 1.0 else 'MISSED'})")
    return 0 if full <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
