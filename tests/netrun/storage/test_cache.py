"""The epoch cache: keys, modes, selection, statistics, sharing across instances and processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from netrun.storage.backends import StorageBackend
from netrun.storage.cache import CachedOutputSalvo, EpochCache
from netrun.storage.config import CacheConfig, LocalBackendConfig, NodeCacheConfig
from netrun.storage.errors import CacheError, StorageConfigError, ValueNotSerializableError
from netrun.storage.lazy import LazyPacketValueSpec, store_value


def double(x):
    return 2 * x


def triple(x):
    return 3 * x


@pytest.fixture
def make_cache(tmp_path):
    caches = []

    def make(**overrides):
        settings = {"enabled": True, "include_all_nodes": True, "storage_path": str(tmp_path / "cache"), **overrides}
        cache = EpochCache(CacheConfig(**settings))
        caches.append(cache)
        return cache

    yield make
    for cache in caches:
        cache.close()


def record(cache, node, inputs, outputs, salvo="send"):
    key = cache.compute_key(node, inputs)
    return key, cache.store(node, key, inputs_by_port=inputs, output_salvos=[CachedOutputSalvo(salvo, outputs)])


def test_memoise_miss_store_hit(make_cache):
    cache = make_cache()
    cache.register_node("double", func=double)
    key = cache.compute_key("double", {"x": [21]})
    assert cache.lookup("double", key) is None
    cache.store("double", key, inputs_by_port={"x": [21]},
                output_salvos=[CachedOutputSalvo("send", {"out": [42]})], epoch_id="E1")
    hit = cache.lookup("double", key)
    assert hit.output_port_values == {"out": [42]}
    assert hit.output_salvo_names == ["send"]
    assert hit.consumed_input_ports == {"x"}
    assert hit.original_epoch_id == "E1"
    stats = cache.stats("double")
    assert (stats["hits"], stats["misses"], stats["stores"], stats["entry_count"]) == (1, 1, 1, 1)
    assert stats["hit_rate"] == 0.5


def test_key_depends_on_code_config_and_versions(make_cache):
    cache = make_cache()
    cache.register_node("n", func=double)
    base = cache.compute_key("n", {"x": [1]})
    cache.register_node("n", func=triple)
    assert cache.compute_key("n", {"x": [1]}) != base  # code changed
    cache.register_node("n", func=double, config_data={"factory_args": {"k": 1}})
    with_config = cache.compute_key("n", {"x": [1]})
    assert with_config != base
    cache.register_node("n", func=double, config_data={"factory_args": {"k": 2}})
    assert cache.compute_key("n", {"x": [1]}) != with_config  # config changed
    cache.register_node("n", func=double, node_config=NodeCacheConfig(version=1))
    assert cache.compute_key("n", {"x": [1]}) != base  # node version
    other = make_cache(version=1)
    other.register_node("n", func=double)
    assert other.compute_key("n", {"x": [1]}) != base  # net version
    cache.register_node("n", func=double)
    assert cache.compute_key("n", {"x": [1]}) == base


def test_key_ignores_dict_and_set_order_but_not_value_order(make_cache):
    cache = make_cache()
    cache.register_node("n", func=double)
    key = cache.compute_key
    assert key("n", {"x": [{"a": 1, "b": {1, 2}}]}) == key("n", {"x": [{"b": {2, 1}, "a": 1}]})
    assert cache.compute_key("n", {"x": [1, 2]}) != cache.compute_key("n", {"x": [2, 1]})
    assert cache.compute_key("n", {"x": [1], "y": [2]}) == cache.compute_key("n", {"y": [2], "x": [1]})
    assert cache.compute_key("n", {"x": [1]}) != cache.compute_key("n", {"y": [1]})


def test_port_globs_choose_what_enters_the_key(make_cache):
    cache = make_cache(exclude_ports=["request_*"])
    cache.register_node("n", func=double)
    key = cache.compute_key
    assert key("n", {"x": [1], "request_id": ["a"]}) == key("n", {"x": [1], "request_id": ["b"]})
    cache.register_node("m", func=double, node_config=NodeCacheConfig(include_ports=["x"]))
    assert cache.compute_key("m", {"x": [1], "y": [1]}) == cache.compute_key("m", {"x": [1], "y": [2]})
    assert cache.compute_key("m", {"x": [1]}) != cache.compute_key("m", {"x": [2]})


def test_node_selection_globs_and_node_override(make_cache):
    cache = make_cache(include_all_nodes=False, include_nodes=["fetch_*", "parse"], exclude_nodes=["fetch_live"])
    for name in ("fetch_a", "fetch_live", "parse", "other"):
        cache.register_node(name, func=double)
    cache.register_node("forced", func=double, node_config=NodeCacheConfig(enabled=True))
    cache.register_node("parse", func=double, node_config=NodeCacheConfig(enabled=False))
    names = ("fetch_a", "fetch_live", "parse", "other", "forced")
    assert {n for n in names if cache.is_enabled(n)} == {"fetch_a", "forced"}
    key = cache.compute_key("other", {"x": [1]})
    assert cache.store("other", key, inputs_by_port={"x": [1]}) is None
    assert cache.lookup("other", key) is None


def test_enabled_cache_that_selects_nothing_is_an_error(make_cache):
    cache = make_cache(include_all_nodes=False)
    cache.register_node("a", func=double)
    with pytest.raises(StorageConfigError, match="enabled but selects no node") as info:
        cache.check_selection(["a", "b"])
    assert "include_nodes" in info.value.fix
    make_cache(include_nodes=["a"]).check_selection(["a", "b"])


def test_output_mode_records_without_replaying(make_cache):
    cache = make_cache(cache_what="output")
    cache.register_node("n", func=double)
    key, entry = record(cache, "n", {"x": [2]}, {"out": [4]})
    assert entry is not None
    assert cache.lookup("n", key) is None
    assert cache.output_salvos("n") == [{"out": [4]}]
    assert cache.stats("n")["misses"] == 0  # no lookups were made


def test_input_mode_records_inputs_only(make_cache):
    cache = make_cache(cache_what="input")
    cache.register_node("n", func=double)
    key, _ = record(cache, "n", {"x": [2]}, {"out": [4]})
    assert cache.lookup("n", key) is None
    (entry,) = cache.entries("n")
    assert entry.input_values_by_port == {"x": [2]}
    assert entry.output_salvos == [] and entry.consumed_input_ports == set()


def test_sample_size_keeps_a_bounded_sample(make_cache):
    cache = make_cache(sample_size=5)
    cache.register_node("n", func=double)
    for i in range(40):
        record(cache, "n", {"x": [i]}, {"out": [2 * i]})
    stats = cache.stats("n")
    assert stats["entry_count"] == 5
    assert stats["epoch_count"] == 40
    assert all(e.output_port_values["out"][0] == 2 * e.input_values_by_port["x"][0] for e in cache.entries("n"))


def test_shared_between_instances_and_inspection_api(make_cache):
    first = make_cache()
    first.register_node("n", func=double)
    record(first, "n", {"x": [1]}, {"out": [2]})
    record(first, "n", {"x": [5]}, {"out": [10]})
    first.close()
    second = make_cache()
    second.register_node("n", func=double)
    assert second.lookup("n", second.compute_key("n", {"x": [5]})).output_port_values == {"out": [10]}
    assert second.input_salvos("n") == [{"x": [1]}, {"x": [5]}]
    assert second.output_for_input("n", {"x": [1]}).output_port_values == {"out": [2]}
    assert second.clear_for_input("n", {"x": [1]}) is True
    assert second.clear_for_input("n", {"x": [1]}) is False
    assert second.stats()["n"]["entry_count"] == 1
    second.clear("n")
    assert second.entries("n") == [] and second.stats("n")["entry_count"] == 0


_OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from nodes_for_cache import double
    from netrun.storage.cache import EpochCache, CachedOutputSalvo
    from netrun.storage.config import CacheConfig
    cache = EpochCache(CacheConfig(enabled=True, include_all_nodes=True, storage_path=sys.argv[1]))
    cache.register_node("double", func=double)
    hit = cache.lookup("double", cache.compute_key("double", {"x": [21]}))
    key = cache.compute_key("double", {"x": [50]})
    cache.store("double", key, inputs_by_port={"x": [50]}, output_salvos=[CachedOutputSalvo("send", {"out": [100]})])
    cache.close()
    print(hit.output_port_values["out"][0])
    """
)


def test_shared_across_processes(tmp_path):
    module_dir = tmp_path / "mods"
    module_dir.mkdir()
    (module_dir / "nodes_for_cache.py").write_text("def double(x):\n    return 2 * x\n")
    sys.path.insert(0, str(module_dir))
    try:
        from nodes_for_cache import double as module_double

        path = str(tmp_path / "shared-cache")
        cache = EpochCache(CacheConfig(enabled=True, include_all_nodes=True, storage_path=path))
        cache.register_node("double", func=module_double)
        key = cache.compute_key("double", {"x": [21]})
        cache.store("double", key, inputs_by_port={"x": [21]}, output_salvos=[CachedOutputSalvo("send", {"out": [42]})])
        cache.flush_stats()
        done = subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS, path, str(module_dir)],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "42"  # the other process hit what this one stored
        hit = cache.lookup("double", cache.compute_key("double", {"x": [50]}))
        assert hit.output_port_values == {"out": [100]}  # and this one sees what it stored
        stats = cache.stats("double")
        assert (stats["hits"], stats["stores"]) == (2, 2)  # the other process flushed its counts
        cache.close()
    finally:
        sys.path.remove(str(module_dir))
        sys.modules.pop("nodes_for_cache", None)


def test_unregistered_node_is_refused(make_cache):
    with pytest.raises(CacheError, match="not registered with the epoch cache") as info:
        make_cache().compute_key("ghost", {"x": [1]})
    assert str(info.value).startswith("node 'ghost'")
    with pytest.raises(CacheError, match=r"needs the node's function \(func=\) or a code fingerprint"):
        make_cache().register_node("ghost")
    cache = make_cache()
    cache.register_node("by-path", code="pkg.nodes:double@v1")
    first = cache.compute_key("by-path", {"x": [1]})
    cache.register_node("by-path", code="pkg.nodes:double@v2")
    assert cache.compute_key("by-path", {"x": [1]}) != first


def test_unpicklable_output_names_node_and_port(make_cache):
    cache = make_cache()
    cache.register_node("gen", func=double)
    key = cache.compute_key("gen", {"x": [1]})
    with pytest.raises(ValueNotSerializableError) as info:
        cache.store("gen", key, inputs_by_port={"x": [1]},
                    output_salvos=[CachedOutputSalvo("send", {"ok": [1], "stream": [(i for i in range(3))]})])
    assert str(info.value).startswith("node 'gen', port 'stream', backend epoch cache")
    assert "output value cannot be stored" in str(info.value)
    assert cache.entries("gen") == []


def test_unreadable_entry_is_a_logged_miss_and_removed(make_cache, caplog):
    cache = make_cache()
    cache.register_node("n", func=double)
    key, _ = record(cache, "n", {"x": [1]}, {"out": [2]})
    cache._store("n").cache.set(key, b"not a pickle")
    assert cache.lookup("n", key) is None
    assert "dropping unreadable cache entry" in caplog.text
    assert cache.stats("n")["entry_count"] == 0


def test_temporary_directory_is_removed_on_close():
    cache = EpochCache(CacheConfig(enabled=True, include_all_nodes=True))
    cache.register_node("n", func=double)
    record(cache, "n", {"x": [1]}, {"out": [2]})
    directory = cache.directory
    assert directory.exists()
    cache.close()
    assert not directory.exists()
    with pytest.raises(CacheError, match="closed"):
        cache.lookup("n", "k")


def test_lazy_inputs_hash_by_spec_or_content(make_cache, tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path / "v")))
    cache = make_cache()
    cache.register_node("n", func=double)
    a = store_value([1, 2, 3], backend, "a.pkl")
    b = store_value([1, 2, 3], backend, "b.pkl")
    assert cache.compute_key("n", {"x": [a]}) == cache.compute_key("n", {"x": [b]})  # same content
    spec = LazyPacketValueSpec("operator.add", (1, 2))
    assert cache.compute_key("n", {"x": [spec]}) != cache.compute_key("n", {"x": [3]})
    evaluating = make_cache(evaluate_lazy_value_for_cache=True, storage_path=str(tmp_path / "c2"))
    evaluating.register_node("n", func=double)
    assert evaluating.compute_key("n", {"x": [spec]}) == evaluating.compute_key("n", {"x": [3]})
