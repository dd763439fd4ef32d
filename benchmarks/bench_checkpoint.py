"""Checkpoints and cache hits at Net level, each printed as a ratio to a baseline measured in
the same run (issue 7).

1. A net holding 100,000 small waiting packets (values at an input port, not yet run):
   ``net.save_checkpoint(dir)`` (engine snapshot, values, definition, manifest, fsync,
   atomic swap) and ``Net.load_checkpoint(dir)`` (checksums verified, net rebuilt) —
   against ``pickle.dumps`` / ``pickle.loads`` of the same values. Target: each <= 2 s.
2. A cache-hit epoch (key from code, config and inputs, lookup, replay of the outputs
   through the engine, outcome ``cache_hit``) against a cache-free epoch of the same trivial
   function, both through ``net.start()`` on a one-node net. Target: hit <= 2x. Two figures,
   each against the same cache-free baseline:
   (a) *in-memory hit*: the Net already replayed or stored the entry (its in-memory index);
   (b) *disk hit*: the first hit of each entry in a new Net, read from the diskcache
       directory (in batches: an epoch's entry is read with those of the node's next
       waiting epochs).

Run: ``python benchmarks/bench_checkpoint.py [--packets 100000] [--epochs 3000]``
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from netrun import Net  # noqa: E402
from netrun.storage.config import CacheConfig, StorageConfig  # noqa: E402

NET_TOML = """
[nodes.Hold]
in_ports = ["in"]
out_ports = ["out"]
exec_node_func = "bench_checkpoint.double"
[nodes.Hold.in_salvo_conditions.go]
when = "nonempty(in)"
ports = { in = 1 }
[nodes.Hold.out_salvo_conditions.send]
when = "nonempty(out)"
"""


def double(ctx, packets):
    for p in packets["in"]:
        ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(p) * 2))
    ctx.send_output_salvo("send")


def best_of(repeats: int, func) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def bench_checkpoint(count: int, repeats: int) -> None:
    values = [{"i": i, "name": f"item-{i}"} for i in range(count)]
    net = Net.from_toml(NET_TOML)
    try:
        ids = net.inject_data("Hold", "in", values)
        by_id = dict(zip(ids, values))
        tmp = Path(tempfile.mkdtemp(prefix="netrun-bench-ckpt-"))
        target = tmp / "ckpt"
        loaded: list = []

        def load() -> None:
            restored = Net.load_checkpoint(target)
            loaded.append(len(restored.value_store))
            restored.stop()

        try:
            save = best_of(repeats, lambda: net.save_checkpoint(target))
            load_time = best_of(repeats, load)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        assert loaded[-1] == count, loaded
        blob = pickle.dumps(by_id, protocol=pickle.HIGHEST_PROTOCOL)
        plain_save = best_of(repeats, lambda: pickle.dumps(by_id, protocol=pickle.HIGHEST_PROTOCOL))
        plain_load = best_of(repeats, lambda: pickle.loads(blob))
    finally:
        net.stop()
    print(f"checkpoint of {count:,} waiting packets: save {save:.3f} s ({verdict(save <= 2)} <= 2 s), "
          f"load {load_time:.3f} s ({verdict(load_time <= 2)} <= 2 s)")
    print(f"  ratio to pickling the values directly: save {save / plain_save:.1f}x "
          f"(pickle.dumps {plain_save * 1000:.1f} ms), load {load_time / plain_load:.1f}x "
          f"(pickle.loads {plain_load * 1000:.1f} ms)")


def _run(net: Net, inputs: list) -> float:
    net.inject_data("Hold", "in", inputs)
    started = time.perf_counter()
    net.start()
    took = time.perf_counter() - started
    out = net.flush_output_queue("Hold::out")
    assert out == [2 * v for v in inputs], "wrong outputs"
    return took


def bench_cache_hit(epochs: int, repeats: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="netrun-bench-cache-"))
    try:
        plain = Net.from_toml(NET_TOML)
        cached = Net.from_toml(NET_TOML)
        cached_config = StorageConfig(cache=CacheConfig(enabled=True, include_all_nodes=True,
                                                        storage_path=str(tmp / "cache")))
        hits_net = Net(cached.graph, storage=cached_config)
        hits_net.set_node_exec("Hold", double)
        cached.stop()
        try:
            inputs = list(range(epochs))
            _run(hits_net, inputs)  # fill the cache (misses)
            before = hits_net.cache.stats("Hold")["hits"]
            free, hit = [], []
            disk = []
            for _ in range(repeats):  # alternate, so machine load hits both alike
                free.append(_run(plain, inputs))
                hit.append(_run(hits_net, inputs))
                fresh = Net(plain.graph, storage=cached_config)  # a new Net: hits read from disk
                fresh.set_node_exec("Hold", double)
                disk.append(_run(fresh, inputs))
                assert fresh.cache.stats("Hold")["hits"] >= epochs, "not all hits"
                fresh.stop()
            # (the shared totals may also count hits of the new nets, flushed when they close)
            assert hits_net.cache.stats("Hold")["hits"] - before >= epochs * repeats, "not all hits"
        finally:
            plain.stop()
            hits_net.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per_free = min(free) / epochs * 1e6
    per_hit = min(hit) / epochs * 1e6
    ratio = per_hit / per_free
    per_disk = min(disk) / epochs * 1e6
    disk_ratio = per_disk / per_free
    print(f"cache-free trivial epoch (baseline): {per_free:.1f} us ({epochs:,} epochs through net.start())")
    print(f"  (a) cache hit, in-memory (same Net): {per_hit:.1f} us = {ratio:.2f}x ({verdict(ratio <= 2)} <= 2x)")
    print(f"  (b) cache hit, read from disk (first hit in a new Net): {per_disk:.1f} us = "
          f"{disk_ratio:.2f}x ({verdict(disk_ratio <= 2)} <= 2x)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=3_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    bench_checkpoint(args.packets, args.repeats)
    bench_cache_hit(args.epochs, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
