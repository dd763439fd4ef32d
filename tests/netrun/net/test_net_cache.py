"""The epoch cache inside Net epochs: hits replay outputs without running the function,
are recorded (EpochLog, history), work across Net instances; keys follow code and config;
an output the cache cannot store fails the epoch into its retry / DLQ path."""

from __future__ import annotations

import threading

import pytest
from _net_graphs import pipeline

from netrun import Net
from netrun.storage.config import CacheConfig, NodeCacheConfig, NodeStorageConfig, StorageConfig
from netrun.storage.errors import StorageConfigError, StorageFullError, ValueNotSerializableError

CALLS: list = []


def double(ctx, packets):
    for p in packets["in"]:
        value = ctx.consume_packet(p)
        CALLS.append(value)
        ctx.load_output_port("out", ctx.create_packet(value * 2))
    ctx.send_output_salvo("send")


def triple(ctx, packets):
    for p in packets["in"]:
        value = ctx.consume_packet(p)
        CALLS.append(value)
        ctx.load_output_port("out", ctx.create_packet(value * 3))
    ctx.send_output_salvo("send")


def locked(ctx, packets):
    for p in packets["in"]:
        ctx.consume_packet(p)
        ctx.load_output_port("out", ctx.create_packet(threading.Lock()))
    ctx.send_output_salvo("send")


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()
    yield
    CALLS.clear()


def _net(make_net, cache: CacheConfig, func=double, **options):
    net = make_net(pipeline("Double"), storage=StorageConfig(cache=cache), history=True, **options)
    net.set_node_exec("Double", func)
    return net


def test_a_hit_replays_the_outputs_without_running_the_function(make_net, tmp_path):
    cache = CacheConfig(enabled=True, include_nodes=["Dou*"], storage_path=str(tmp_path / "cache"))
    net = _net(make_net, cache)
    logs = []
    net.on_epoch_end(lambda node, epoch, log: logs.append(log))
    net.inject_data("Double", "in", [1, 2, 1])
    net.start()
    assert net.flush_output_queue("Double::out") == [2, 4, 2]
    assert CALLS == [1, 2]  # the second 1 was replayed
    assert [log.outcome for log in logs] == ["success", "success", "cache_hit"]
    assert [log.was_cache_hit for log in logs] == [False, False, True]
    hits = [e for e in net.event_history.get_actions() if e.action_type == "CacheHit"]
    assert len(hits) == 1 and hits[0].data["epoch_id"] == logs[2].epoch_id
    assert net.get_node_config("Double").defer_net_actions  # switched on for cached nodes
    stats = net.cache.stats("Double")
    assert (stats["hits"], stats["misses"], stats["entry_count"]) == (1, 2, 2)

    # another Net on the same cache directory: every epoch is a hit, nothing runs
    other = _net(make_net, cache)
    other.inject_data("Double", "in", [2, 1])
    other.start()
    assert other.flush_output_queue("Double::out") == [4, 2]
    assert CALLS == [1, 2]


def test_the_key_follows_code_config_and_version(make_net, tmp_path):
    path = str(tmp_path / "cache")
    net = _net(make_net, CacheConfig(enabled=True, include_all_nodes=True, storage_path=path))
    net.inject_data("Double", "in", [5])
    net.start()
    assert net.flush_output_queue("Double::out") == [10] and CALLS == [5]

    changed = _net(make_net, CacheConfig(enabled=True, include_all_nodes=True, storage_path=path), func=triple)
    changed.inject_data("Double", "in", [5])
    changed.start()
    assert changed.flush_output_queue("Double::out") == [15] and CALLS == [5, 5]  # new code: a miss

    typed = _net(make_net, CacheConfig(enabled=True, include_all_nodes=True, storage_path=path))
    typed.set_output_port_type("Double", "out", int)  # config change: a miss
    typed.inject_data("Double", "in", [5])
    typed.start()
    assert CALLS == [5, 5, 5]

    typed.set_output_port_type("Double", "out", None)  # back as it was: a hit again
    typed.inject_data("Double", "in", [5])
    typed.start()
    assert typed.flush_output_queue("Double::out") == [10, 10] and CALLS == [5, 5, 5]

    bumped = _net(make_net, CacheConfig(enabled=True, include_all_nodes=True, storage_path=path, version=1))
    bumped.inject_data("Double", "in", [5])
    bumped.start()
    assert CALLS == [5, 5, 5, 5]

    same = _net(make_net, CacheConfig(enabled=True, include_all_nodes=True, storage_path=path))
    same.inject_data("Double", "in", [5])
    same.start()
    assert same.flush_output_queue("Double::out") == [10] and CALLS == [5, 5, 5, 5]  # a hit


def test_node_options_select_and_record_only(make_net, tmp_path):
    path = str(tmp_path / "cache")
    net = make_net(pipeline("A", "B"), storage={"cache": {"enabled": True, "include_nodes": ["A"],
                                                           "storage_path": path}})
    net.set_node_exec("A", double)
    net.set_node_exec("B", triple)
    net.set_node_config("B", storage=NodeStorageConfig(cache=NodeCacheConfig(enabled=True, cache_what="output")))
    net.set_node_config("A", storage={"cache": {"enabled": False}})
    net.inject_data("A", "in", [1, 1])
    net.start()
    assert net.flush_output_queue("B::out") == [6, 6]
    assert CALLS == [1, 1, 2, 2]  # A not cached; B records but never replays
    assert [e.output_port_values for e in net.cache.entries("B")] == [{"out": [6]}]
    assert net.cache.stats("A")["entry_count"] == 0


def test_a_cache_selecting_no_node_is_refused(make_net):
    with pytest.raises(StorageConfigError, match=r"include_nodes=\['Z\*'\] selects no node \(nodes: A\).*Fix: fix the globs"):
        make_net(pipeline("A"), storage=StorageConfig(cache=CacheConfig(enabled=True, include_nodes=["Z*"])))
    # enabled at net level without a selection: only nodes that enable themselves are cached
    net = make_net(pipeline("A", "B"), storage=StorageConfig(cache=CacheConfig(enabled=True)))
    net.set_node_config("B", storage={"cache": {"enabled": True}})
    assert net._core.nodes["A"].storage is None and net._core.nodes["B"].storage is not None


def test_an_output_the_cache_cannot_store_goes_to_the_dlq(make_net, tmp_path):
    cache = CacheConfig(enabled=True, include_all_nodes=True, storage_path=str(tmp_path / "cache"))
    net = _net(make_net, cache, func=locked, on_error="continue")
    net.set_node_config("Double", retries=1)
    net.inject_data("Double", "in", [3])
    net.start()
    assert net.flush_output_queue("Double::out") == []
    [entry] = net.dead_letter_queue.get_all()
    assert entry.retry_count == 1  # retried once, then kept
    assert isinstance(entry.exception, ValueNotSerializableError)
    message = str(entry.exception)
    assert "node 'Double'" in message and "port 'out'" in message and "epoch cache" in message
    assert f"epoch {entry.epoch_id}" in message
    assert list(entry.packet_values.values()) == [3]  # nothing lost
    assert net.cache.stats("Double")["entry_count"] == 0


def test_no_storage_no_cache(make_net):
    net = make_net(pipeline("A"))
    assert net.cache is None and net.storage_config is None
    assert net._core.nodes["A"].storage is None


def test_a_checkpoint_keeps_the_storage_settings(make_net, tmp_path):
    cache = CacheConfig(enabled=True, include_all_nodes=True, storage_path=str(tmp_path / "cache"))
    net = make_net(pipeline("Double"), storage=StorageConfig(
        cache=cache, backends={"files": {"type": "local", "base_path": str(tmp_path / "files")}}))
    net.set_node_exec("Double", double)
    net.set_node_config("Double", storage={"file_storage": {"backend": "files"}})
    net.inject_data("Double", "in", [4])
    net.start()
    net.inject_data("Double", "in", [4, 6])
    net.run_step(start_epochs=False)
    net.save_checkpoint(tmp_path / "ckpt")
    restored = Net.load_checkpoint(tmp_path / "ckpt")
    try:
        assert restored.storage_config.backends["files"].type == "local"
        assert restored.get_node_config("Double").storage.file_storage.backend == "files"
        restored.start()
        assert restored.flush_output_queue("Double::out") == [8, 8, 12]  # the 8 already queued, then 8 and 12
        assert CALLS == [4, 6]  # 4 was a cache hit in the restored net
    finally:
        restored.stop()


def test_a_full_disk_under_the_cache_fails_the_epoch_into_the_dlq(make_net, tmp_path, monkeypatch):
    import sqlite3

    import diskcache

    cache = CacheConfig(enabled=True, include_all_nodes=True, storage_path=str(tmp_path / "cache"))
    net = _net(make_net, cache, on_error="continue")
    original = diskcache.Cache.set

    def full(self, key, value, *args, **kwargs):
        if isinstance(key, str) and key.startswith("__"):
            return original(self, key, value, *args, **kwargs)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(diskcache.Cache, "set", full)
    net.inject_data("Double", "in", [8])
    net.start()
    [entry] = net.dead_letter_queue.get_all()
    message = str(entry.exception)
    assert isinstance(entry.exception, StorageFullError)
    assert "node 'Double'" in message and "epoch cache" in message and "no space left" in message
    assert "Fix: free space" in message
    assert list(entry.packet_values.values()) == [8] and net.flush_output_queue("Double::out") == []
