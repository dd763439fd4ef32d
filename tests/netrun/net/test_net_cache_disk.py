"""Disk hits of the epoch cache in a new Net: entries of the node's waiting epochs are read
in batches (prefetch), hits and misses are counted exactly, a function change still misses,
and entries written by an earlier netrun (pickled dataclasses) are still replayed."""

from __future__ import annotations

import pickle

import diskcache
import pytest
from _net_graphs import pipeline

from netrun.storage.cache import CachedEpochData, CachedOutputSalvo, EpochCache
from netrun.storage.config import CacheConfig, StorageConfig

CALLS: list = []


def double(ctx, packets):
    for p in packets["in"]:
        value = ctx.consume_packet(p)
        CALLS.append(value)
        ctx.load_output_port("out", ctx.create_packet(value * 2))
    ctx.send_output_salvo("send")


def double_too(ctx, packets):  # same outputs, other code: other keys
    for p in packets["in"]:
        value = ctx.consume_packet(p)
        CALLS.append(("too", value))
        ctx.load_output_port("out", ctx.create_packet(value + value))
    ctx.send_output_salvo("send")


@pytest.fixture
def config(tmp_path):
    CALLS.clear()
    yield StorageConfig(cache=CacheConfig(enabled=True, include_all_nodes=True, storage_path=str(tmp_path / "c")))
    CALLS.clear()


def _net(make_net, config, func=double):
    net = make_net(pipeline("Double"), storage=config)
    net.set_node_exec("Double", func)
    return net


def _run(net, values):
    net.inject_data("Double", "in", values)
    net.start()
    return net.flush_output_queue("Double::out")


def test_a_new_net_replays_from_disk_in_batches_and_counts_exactly(make_net, config):
    first = _net(make_net, config)
    evens = list(range(0, 1200, 2))
    assert _run(first, evens) == [2 * v for v in evens]
    first.stop()  # flushes its counts
    CALLS.clear()
    fresh = _net(make_net, config)
    single, batches = [], []
    lookup, lookup_many = fresh.cache.lookup, fresh.cache.lookup_many
    fresh.cache.lookup = lambda *a: single.append(a) or lookup(*a)
    fresh.cache.lookup_many = lambda node, keys: batches.append(len(keys)) or lookup_many(node, keys)
    values = list(range(1200))  # more than one prefetch batch; every other one a miss
    assert _run(fresh, values) == [2 * v for v in values]
    # read in batches of up to 256 keys (an epoch and the next 255 waiting), not one by one
    assert len(batches) <= 6 and sum(batches) == 1200 and max(batches) == 256
    assert single == []  # (a single lookup only for a batch's first epoch when it misses: 0, 256... hit)
    assert CALLS == list(range(1, 1200, 2))  # only the misses ran
    session = fresh.cache._session["Double"]
    assert session == {"hits": 600, "misses": 600, "stores": 600}
    # the epochs that missed were stored: a third net hits them all
    CALLS.clear()
    third = _net(make_net, config)
    assert _run(third, values[::-1]) == [2 * v for v in values[::-1]] and CALLS == []
    assert third.cache._session["Double"]["hits"] == 1200


def test_other_code_misses_on_disk_too(make_net, config):
    _run(_net(make_net, config), [1, 2, 3])
    CALLS.clear()
    other = _net(make_net, config, double_too)
    assert _run(other, [1, 2, 3]) == [2, 4, 6]
    assert CALLS == [("too", 1), ("too", 2), ("too", 3)]


def test_an_entry_removed_after_the_prefetch_is_a_miss(make_net, config):
    _run(_net(make_net, config), [5])
    cache = EpochCache(config.cache)
    cache.register_node("Double", code="x")
    key = next(k for k in cache._store("Double").cache.iterkeys() if not k.startswith("__"))
    found = cache.lookup_many("Double", [key, "no-such-key"])
    assert list(found) == [key] and found[key].output_port_values == {"out": [10]}
    assert cache._session == {}  # a prefetch counts nothing by itself
    cache._store("Double").cache.delete(key)
    assert cache.lookup_many("Double", [key]) == {}
    cache.close()


def test_an_entry_written_by_an_earlier_netrun_is_replayed(make_net, config):
    net = _net(make_net, config)
    assert _run(net, [4]) == [8]
    store = net.cache._store("Double").cache
    [key] = [k for k in store.iterkeys() if not k.startswith("__")]
    # the earlier format: the pickled dataclass (outputs changed, to see they are replayed)
    store.set(key, pickle.dumps(CachedEpochData(key, "Double", 0, None, "both", {"in": [4]},
                                                [CachedOutputSalvo("send", {"out": [99]})], {"in"})))
    net.stop()
    CALLS.clear()
    again = _net(make_net, config)
    assert _run(again, [4]) == [99] and CALLS == []


def test_an_entry_of_the_wrong_type_is_dropped_and_run_again(make_net, config, caplog):
    net = _net(make_net, config)
    _run(net, [3])
    directory = net.cache._store("Double").directory
    net.stop()
    with diskcache.Cache(str(directory)) as raw:
        [key] = [k for k in raw.iterkeys() if not k.startswith("__")]
        raw.set(key, pickle.dumps(["not", "an", "entry"]))
    CALLS.clear()
    again = _net(make_net, config)
    assert _run(again, [3]) == [6] and CALLS == [3]
    assert "dropping unreadable cache entry" in caplog.text and "not an epoch cache entry" in caplog.text
