"""The packet value store: direct values, value functions, consumed storage, pickle folder."""

from __future__ import annotations

import asyncio
import pickle
import threading

import pytest
from _net_graphs import pipeline
from _net_nodes import passthrough

from netrun.errors import PacketValueNotPicklable, ValueFunctionFailed
from netrun.net.pools import run_in_process_with_event_loop, validate_picklable
from netrun.storage.values import PacketValueStore, StoredValue


def test_values_and_value_functions():
    store = PacketValueStore()
    store.store_value("P1", {"a": 1})
    store.store_value_func("P2", lambda: 5)
    assert store.has_value("P1") and len(store) == 2
    assert store.get_value("P2") == 5 and store.has_value("P2")  # reading keeps it
    assert store.consume("P1") == {"a": 1} and not store.has_value("P1")
    with pytest.raises(KeyError, match="No value stored for packet P1"):
        store.consume("P1")
    with pytest.raises(TypeError, match="must be callable"):
        store.store_value_func("P3", 3)


def test_failing_value_function_keeps_the_entry():
    store = PacketValueStore()
    store.store_value_func("P", lambda: 1 / 0)
    with pytest.raises(ValueFunctionFailed) as info:
        store.consume("P")
    assert info.value.packet_id == "P" and isinstance(info.value.original_exception, ZeroDivisionError)
    assert store.has_value("P")


def test_async_value_functions():
    store = PacketValueStore()

    async def compute():
        await asyncio.sleep(0)
        return "async"

    store.store_value_func("P", compute)
    assert store.get_value("P") == "async"            # from sync code, no loop running
    assert asyncio.run(store.async_consume("P")) == "async"


def test_consumed_storage_with_limit():
    store = PacketValueStore(consumed_storage=True, consumed_storage_limit=2)
    for i in range(3):
        store.store_value(f"P{i}", i)
        store.consume(f"P{i}")
    assert store.get_consumed_value("P0") is None
    assert store.get_consumed_value("P2") == 2 and store.get_value("P1") == 1
    store.unconsume("P2", 2)
    assert store.has_value("P2") and store.get_consumed_value("P2") is None


def test_pickle_folder(tmp_path):
    store = PacketValueStore(storage_path=tmp_path / "values")
    store.store_value("P1", [1, 2])
    assert pickle.loads((tmp_path / "values" / "P1.pkl").read_bytes()) == [1, 2]
    store.consume("P1")
    assert store.get_value("P1") == [1, 2]  # read back from the file
    with pytest.raises(PacketValueNotPicklable, match="The value of packet P2 .*cannot be pickled"):
        store.store_value("P2", threading.Lock())
    store.remove("P1")
    assert not (tmp_path / "values" / "P1.pkl").exists()


def test_stored_value_entries_are_not_confused_with_values():
    store = PacketValueStore()
    inner = StoredValue(value=3)
    store.store_value("P", inner)
    assert store.consume("P") is inner


def test_net_keeps_consumed_values_when_asked(make_net):
    net = make_net(pipeline("A"), consumed_packet_storage=True, consumed_packet_storage_limit=10)
    net.set_node_exec("A", passthrough)
    [pid] = net.inject_data("A", "in", ["kept"])
    net.start()
    assert net.value_store.get_consumed_value(pid) == "kept"


def test_validate_picklable_and_event_loop_helper():
    validate_picklable([1, 2])
    with pytest.raises(PacketValueNotPicklable, match="the lock .*cannot be pickled"):
        validate_picklable(threading.Lock(), "the lock")

    async def coro(x):
        return x + 1

    assert run_in_process_with_event_loop(coro, 1) == 2
    assert run_in_process_with_event_loop(lambda x: x * 2, 4) == 8
