"""Lazy values: specs evaluated on demand, stored values loaded by the worker that needs them."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import pickle

import pytest

from netrun.storage.backends import StorageBackend, register_backend
from netrun.storage.config import LocalBackendConfig
from netrun.storage.errors import (
    LazyPacketValueEvaluationError,
    StoredValueCorruptError,
    StoredValueNotFoundError,
)
from netrun.storage.lazy import (
    LazyPacketValueSpec,
    StoredValueRef,
    aresolve_value,
    resolve_value,
    retrieve_value,
    store_value,
)


async def async_value(x):
    await asyncio.sleep(0)
    return x * 2


def failing_value():
    raise ValueError("upstream API said no")


def test_spec_evaluates_import_paths():
    assert LazyPacketValueSpec("operator.add", (2, 3)).evaluate() == 5
    assert LazyPacketValueSpec("math:sqrt", (9,)).evaluate() == 3.0
    assert LazyPacketValueSpec("json.dumps", ([1],), {"separators": (",", ":")}).evaluate() == "[1]"
    assert LazyPacketValueSpec("os.path.join", ("a", "b")).evaluate() == os.path.join("a", "b")


def test_spec_is_the_published_shape_and_pickles():
    spec = LazyPacketValueSpec("operator.mul", (6, 7), {})
    assert (spec.func_import_path, spec.args, spec.kwargs) == ("operator.mul", (6, 7), {})
    assert pickle.loads(pickle.dumps(spec)).evaluate() == 42


def test_async_value_functions():
    spec = LazyPacketValueSpec(f"{__name__}.async_value", (21,))
    assert spec.evaluate() == 42  # no loop running here: run to completion

    async def inside_loop():
        assert await spec.aevaluate() == 42
        assert await aresolve_value(spec) == 42
        with pytest.raises(LazyPacketValueEvaluationError, match="use `await spec.aevaluate"):
            spec.evaluate()

    asyncio.run(inside_loop())


def test_import_failure_names_path_and_fix():
    with pytest.raises(LazyPacketValueEvaluationError) as info:
        LazyPacketValueSpec("no_such_module_xyz.func").evaluate()
    assert "cannot import lazy value function 'no_such_module_xyz.func'" in str(info.value)
    assert "installed where the value is consumed" in str(info.value)
    assert info.value.func_import_path == "no_such_module_xyz.func"


def test_failing_function_is_wrapped_with_cause():
    with pytest.raises(LazyPacketValueEvaluationError, match="raised ValueError: upstream API said no") as info:
        LazyPacketValueSpec(f"{__name__}.failing_value").evaluate()
    assert isinstance(info.value.__cause__, ValueError)
    clone = pickle.loads(pickle.dumps(info.value))
    assert clone.func_import_path == f"{__name__}.failing_value" and str(clone) == str(info.value)


def test_plain_values_resolve_to_themselves():
    assert resolve_value({"a": 1}) == {"a": 1}
    assert asyncio.run(aresolve_value(5)) == 5


# --- stored values ----------------------------------------------------------------------


@pytest.fixture
def local_backend(tmp_path):
    return StorageBackend(LocalBackendConfig(base_path=str(tmp_path / "values")), name="values")


def test_store_and_load_locally_with_compression(local_backend):
    value = {"rows": list(range(1000))}
    ref = store_value(value, local_backend, "big/1.pkl", compression="zstd")
    assert ref.compression == "zstd" and ref.size == len(local_backend.read_bytes("big/1.pkl"))
    assert ref.load() == value
    assert resolve_value(ref) == value
    assert asyncio.run(aresolve_value(ref)) == value
    spec = LazyPacketValueSpec.from_stored(ref)
    assert spec.stored_ref == ref
    assert spec.evaluate() == value


def test_corrupted_stored_value_is_detected(local_backend):
    ref = store_value([1, 2, 3], local_backend, "v.pkl")
    data = bytearray(local_backend.read_bytes("v.pkl"))
    data[-2] ^= 0xFF
    local_backend.write_bytes("v.pkl", bytes(data))
    with pytest.raises(StoredValueCorruptError, match="checksum differs") as info:
        ref.load()
    assert "key 'v.pkl'" in str(info.value)


def test_deleted_stored_value(local_backend):
    ref = store_value("x", local_backend, "gone.pkl")
    ref.delete()
    with pytest.raises(StoredValueNotFoundError, match="key 'gone.pkl'"):
        ref.load()


def test_reference_carries_no_secrets(s3_bucket):
    backend = StorageBackend(s3_bucket, name="s3-values")
    ref = store_value(b"x" * 10_000, backend, "v/1.bin", serialization="binary")
    blob = json.dumps(ref.to_dict())
    assert "testing" not in blob  # neither access key nor secret key
    assert len(pickle.dumps(ref)) < 1_000  # the value itself is not carried


def _load_in_worker(ref: StoredValueRef, full_config) -> tuple[int, int, int]:
    # What a worker does at start-up: register its net's backends (with credentials).
    register_backend(ref.backend_name, full_config)
    value = ref.load()
    return os.getpid(), len(value), sum(value[:10])


def test_worker_process_loads_stored_value_itself(s3_bucket):
    backend = StorageBackend(s3_bucket, name="s3-values")
    value = bytes(range(256)) * 4000  # ~1 MB, stays in S3
    ref = store_value(value, backend, "v/big.bin", serialization="binary", node="producer", port="out")
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pid, length, head = pool.apply(_load_in_worker, (ref, s3_bucket))
    assert pid != os.getpid()
    assert (length, head) == (len(value), sum(value[:10]))


def test_retrieve_value_published_signature(local_backend):
    local_backend.write_bytes("n/out_0.json", b'{"a": 1}')
    config_json = local_backend.config.model_dump_json()
    assert retrieve_value(config_json, "n/out_0.json", "json") == {"a": 1}
    assert json.loads(local_backend.config.model_dump_json())["type"] == "local"
