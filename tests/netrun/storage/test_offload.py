"""Large packet values kept in a backend instead of memory."""

from __future__ import annotations

import pytest

from netrun.storage.config import LocalBackendConfig, StorageConfig, ValueStorageConfig
from netrun.storage.errors import StorageConfigError, ValueNotSerializableError
from netrun.storage.lazy import StoredValueRef, resolve_value
from netrun.storage.offload import ValueOffloader, estimate_size


@pytest.fixture
def storage(tmp_path):
    return StorageConfig(backends={"big": LocalBackendConfig(base_path=str(tmp_path / "values"))})


def test_small_values_stay_large_ones_are_stored(storage):
    offloader = ValueOffloader(ValueStorageConfig(backend="big", min_size_bytes=1000), storage, node="load")
    assert offloader.offload({"a": 1}) == {"a": 1}
    large = {"rows": ["x" * 100] * 50}
    ref = offloader.offload(large, port="out", packet_id="01ABC")
    assert isinstance(ref, StoredValueRef)
    assert ref.key == "values/load/01ABC.pkl"
    assert resolve_value(ref) == large
    assert offloader.offload(ref) is ref  # already stored


def test_numpy_arrays_are_sized_by_nbytes(storage):
    np = pytest.importorskip("numpy")
    offloader = ValueOffloader(
        ValueStorageConfig(backend="big", min_size_bytes=10_000, serialization="numpy", compression="lz4",
                           pickling_method="pickle"),
        storage,
    )
    assert offloader.offload(np.zeros(10)).shape == (10,)
    ref = offloader.offload(np.arange(5000), node="n", packet_id="p1")
    assert ref.key == "values/n/p1.npy.lz4"
    assert (resolve_value(ref) == np.arange(5000)).all()


def test_objects_without_a_cheap_size_are_measured_by_serializing(storage):
    class Blob:
        def __init__(self):
            self.payload = b"z" * 5000

    offloader = ValueOffloader(ValueStorageConfig(backend="big", min_size_bytes=1000), storage)
    assert estimate_size(Blob(), 1000) is None
    assert isinstance(offloader.offload(Blob(), node="n"), StoredValueRef)


def test_estimate_stops_at_threshold_and_walk_limit():
    assert estimate_size(["a" * 10] * 1000, 50) >= 50
    assert estimate_size(list(range(20_000)), 10**9) is None


def test_unserializable_large_value_names_node_and_port(storage):
    offloader = ValueOffloader(ValueStorageConfig(backend="big", min_size_bytes=10, serialization="json"), storage)
    with pytest.raises(ValueNotSerializableError) as info:
        offloader.offload({"s": {1, 2, 3}, "pad": "x" * 100}, node="emit", port="out")
    assert str(info.value).startswith("node 'emit', port 'out', backend local")


def test_unknown_backend_name(storage):
    with pytest.raises(StorageConfigError, match="node 'n': storage backend 'nope' is not defined"):
        ValueOffloader(ValueStorageConfig(backend="nope"), storage, node="n")
