"""Storage benchmarks, each printed as a ratio to a baseline measured in the same run.

1. Checkpoint-sized save and load: 100,000 small packet values written through the
   serializer and the crash-safe directory writer (fsync, manifest with SHA-256, swap), and
   read back through the manifest reader (checksum verified) — against plain
   ``pickle.dumps`` / ``pickle.loads`` of the same dict. Target (issue 7): each ≤ 2 s.
2. Epoch cache: the cost of a hit (key computation + lookup + unpickling the entry) and of a
   store — against calling a trivial node function directly. The issue's target ("a cache
   hit costs at most 2x a cache-free epoch of a trivial function") is about a whole epoch
   through the Net and is measured there; this isolates the cache's share.

Run: ``python benchmarks/bench_storage.py [--values 100000] [--hits 5000]``
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from pathlib import Path

from netrun.storage.atomic import AtomicDirectoryWriter, ManifestDirectory
from netrun.storage.cache import CachedOutputSalvo, EpochCache
from netrun.storage.config import CacheConfig
from netrun.storage.serialization import deserialize, serialize


def best_of(repeats: int, func) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def small_packets(count: int) -> dict[str, object]:
    # Packet IDs look like ULIDs (26 characters); values are small dicts, as in a typical net.
    return {f"01J{index:023d}": {"i": index, "name": f"item-{index}", "ok": index % 2 == 0} for index in range(count)}


def bench_checkpoint(count: int, repeats: int) -> None:
    values = small_packets(count)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "checkpoint"

        def save() -> None:
            with AtomicDirectoryWriter(target, format="netrun-checkpoint", format_version=1,
                                       meta={"packet_count": len(values)}) as writer:
                writer.write_bytes("packets.pkl", serialize(values, "pickle"))

        def load() -> dict:
            directory = ManifestDirectory(target, format="netrun-checkpoint", max_version=1)
            return deserialize(directory.read_bytes("packets.pkl"), "pickle")

        blob = pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
        plain_save = best_of(repeats, lambda: pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL))
        plain_load = best_of(repeats, lambda: pickle.loads(blob))
        save_time = best_of(repeats, save)
        load_time = best_of(repeats, load)
        assert load() == values
    print(f"checkpoint of {count:,} small values ({len(blob) / 1e6:.1f} MB pickled):")
    print(f"  save  {save_time * 1000:8.1f} ms  vs pickle.dumps {plain_save * 1000:7.1f} ms"
          f"  ratio {save_time / plain_save:5.2f}x   target <= 2000 ms: {'OK' if save_time <= 2 else 'MISSED'}")
    print(f"  load  {load_time * 1000:8.1f} ms  vs pickle.loads {plain_load * 1000:7.1f} ms"
          f"  ratio {load_time / plain_load:5.2f}x   target <= 2000 ms: {'OK' if load_time <= 2 else 'MISSED'}")


def trivial(x: int) -> int:
    return x + 1


def bench_cache(hits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = EpochCache(CacheConfig(enabled=True, include_all_nodes=True, storage_path=tmp))
        cache.register_node("inc", func=trivial)
        inputs = [{"x": [i]} for i in range(hits)]
        keys = [cache.compute_key("inc", i) for i in inputs]

        started = time.perf_counter()
        for i, key in zip(inputs, keys, strict=True):
            cache.store("inc", key, inputs_by_port=i,
                        output_salvos=[CachedOutputSalvo("send", {"out": [trivial(i["x"][0])]})])
        store_each = (time.perf_counter() - started) / hits

        def hit_all() -> None:
            for i in inputs:
                entry = cache.lookup("inc", cache.compute_key("inc", i))
                assert entry is not None

        def key_all() -> None:
            for i in inputs:
                cache.compute_key("inc", i)

        def call_all() -> None:
            for i in inputs:
                trivial(i["x"][0])

        hit_each = best_of(3, hit_all) / hits
        key_each = best_of(3, key_all) / hits
        call_each = best_of(3, call_all) / hits
        cache.close()
    print(f"epoch cache ({hits:,} entries, diskcache):")
    lookup_each = hit_each - key_each
    print(f"  hit   {hit_each * 1e6:7.1f} us  (key {key_each * 1e6:.1f} us + lookup {lookup_each * 1e6:.1f} us)")
    print(f"  store {store_each * 1e6:7.1f} us")
    print(f"  trivial function call {call_each * 1e6:.2f} us  ->  hit / call ratio {hit_each / call_each:,.0f}x")
    print("  (the issue's 'hit <= 2x a cache-free epoch' compares with a whole Net epoch; measured at Net level)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--hits", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    bench_checkpoint(args.values, args.repeats)
    bench_cache(args.hits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
