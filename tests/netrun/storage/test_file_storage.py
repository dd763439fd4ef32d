"""Per-node file storage: many entries per node, concurrent writers, replay, bundles, names."""

from __future__ import annotations

import multiprocessing

import pytest

from netrun.storage.backends import StorageBackend
from netrun.storage.cache import CachedOutputSalvo
from netrun.storage.config import LocalBackendConfig, NodeFileStorageConfig, StorageConfig
from netrun.storage.errors import CorruptManifestError, FileStorageConflictError, StorageConfigError
from netrun.storage.file_storage import FileStorage, NodeFileStorage
from netrun.storage.lazy import StoredValueRef


@pytest.fixture(params=["local", "s3"])
def backend(request, tmp_path):
    if request.param == "local":
        return StorageBackend(LocalBackendConfig(base_path=str(tmp_path / "fs")), name="disk")
    return StorageBackend(request.getfixturevalue("s3_bucket"), name="bucket")


def node_storage(backend, **settings) -> NodeFileStorage:
    return NodeFileStorage("summarise", NodeFileStorageConfig(backend=backend.name or "x", **settings), backend)


def outputs(i: int) -> list[CachedOutputSalvo]:
    return [CachedOutputSalvo("send", {"summary": [f"text {i}"], "counts": [i, i + 1]})]


def test_many_entries_per_node_each_replayable(backend):
    storage = node_storage(backend)
    hashes = []
    for i in range(3):
        h = storage.compute_input_hash({"doc": [f"document {i}"]})
        storage.store(h, outputs(i), epoch_id=f"E{i}")
        hashes.append(h)
    assert len(set(hashes)) == 3
    assert [m.input_salvo_hash for m in storage.entries()] == hashes
    for i, h in enumerate(hashes):
        manifest = storage.lookup(h)
        assert manifest.epoch_id == f"E{i}"
        (salvo,) = storage.replay(manifest)
        assert salvo.salvo == "send"
        assert all(isinstance(v, StoredValueRef) for v in salvo.values_by_port["counts"])
        assert [v.load() for v in salvo.values_by_port["counts"]] == [i, i + 1]
        (eager,) = storage.replay(manifest, lazy=False)
        assert eager.values_by_port == {"counts": [i, i + 1], "summary": [f"text {i}"]}


def test_lookup_misses_for_new_inputs_and_versions(backend):
    storage = node_storage(backend)
    h = storage.compute_input_hash({"doc": ["a"]})
    storage.store(h, outputs(0))
    assert storage.lookup(storage.compute_input_hash({"doc": ["b"]})) is None
    bumped = node_storage(backend, version=1)
    assert bumped.compute_input_hash({"doc": ["a"]}) != h
    assert bumped.lookup(h) is None  # stored under version 0
    fingerprinted = NodeFileStorage("summarise", storage.config, backend, code_fingerprint="abc")
    assert fingerprinted.compute_input_hash({"doc": ["a"]}) != h


def test_layout_and_multi_salvo_order(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    storage = node_storage(backend, serialization="json", compression="gzip", store_inputs=True)
    h = storage.compute_input_hash({"doc": ["x"]})
    salvos = [CachedOutputSalvo("progress", {"pct": [50]}), CachedOutputSalvo("send", {"out": [{"a": 1}]})]
    storage.store(h, salvos, inputs_by_port={"doc": ["x"]})
    assert backend.list() == sorted([
        f"summarise/{h}/progress/pct_0.json.gz",
        f"summarise/{h}/send/out_0.json.gz",
        f"summarise/{h}/inputs/doc_0.json.gz",
        f"summarise/_manifests/{h}.json",
    ])
    replayed = storage.replay(storage.lookup(h), lazy=False)
    assert [(s.salvo, s.values_by_port) for s in replayed] == [
        ("progress", {"pct": [50]}),
        ("send", {"out": [{"a": 1}]}),
    ]


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_bundles_replay_eagerly(tmp_path, fmt):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    storage = node_storage(backend, bundle=True, bundle_format=fmt)
    h = storage.compute_input_hash({"doc": ["x"]})
    storage.store(h, outputs(7))
    assert backend.list() == sorted([f"summarise/{h}/outputs.{fmt}", f"summarise/_manifests/{h}.json"])
    (salvo,) = storage.replay(storage.lookup(h))
    assert salvo.values_by_port == {"counts": [7, 8], "summary": ["text 7"]}
    assert storage.delete(h) is True
    assert backend.list() == []


def test_output_names_conflict_or_overwrite(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    names = {"send": {"summary": "report", "counts": "counts"}}
    strict = node_storage(backend, output_names=names)
    first = strict.compute_input_hash({"doc": ["a"]})
    strict.store(first, outputs(1))
    assert "summarise/report.pkl" in backend.list() and "summarise/counts_1.pkl" in backend.list()
    second = strict.compute_input_hash({"doc": ["b"]})
    with pytest.raises(FileStorageConflictError) as info:
        strict.store(second, outputs(2))
    message = str(info.value)
    assert message.startswith("node 'summarise'")
    assert "'summarise/" in message and first in message and second in message
    assert "on_hash_change='overwrite'" in message
    strict.store(first, outputs(1))  # the same inputs again are fine
    relaxed = node_storage(backend, output_names=names, on_hash_change="overwrite")
    relaxed.store(second, outputs(2))
    assert relaxed.lookup(first) is None  # the replaced entry is gone, not stale
    assert relaxed.replay(relaxed.lookup(second), lazy=False)[0].values_by_port["summary"] == ["text 2"]


def test_restoring_same_inputs_removes_files_no_longer_listed(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    storage = node_storage(backend)
    h = storage.compute_input_hash({"doc": ["a"]})
    storage.store(h, [CachedOutputSalvo("send", {"out": [1, 2, 3]})])
    storage.store(h, [CachedOutputSalvo("send", {"out": [9]})])
    assert backend.list(f"summarise/{h}") == [f"summarise/{h}/send/out_0.pkl"]


def _write_entries(base_path: str, worker: int, count: int) -> None:
    backend = StorageBackend(LocalBackendConfig(base_path=base_path))
    storage = NodeFileStorage("summarise", NodeFileStorageConfig(backend="x"), backend)
    for i in range(count):
        inputs = {"doc": [f"w{worker}-{i}"]}
        storage.store(storage.compute_input_hash(inputs), [CachedOutputSalvo("send", {"out": [worker * 100 + i]})])


def test_concurrent_writer_processes(tmp_path):
    base = str(tmp_path / "shared")
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_entries, args=(base, w, 5)) for w in range(3)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=60)
        assert p.exitcode == 0
    storage = node_storage(StorageBackend(LocalBackendConfig(base_path=base)))
    values = sorted(storage.replay(m, lazy=False)[0].values_by_port["out"][0] for m in storage.entries())
    assert values == sorted(w * 100 + i for w in range(3) for i in range(5))


def test_corrupt_manifest_names_entry_and_fix(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    storage = node_storage(backend)
    h = storage.compute_input_hash({"doc": ["a"]})
    storage.store(h, outputs(0))
    backend.write_bytes(storage.manifest_key(h), b"{broken")
    with pytest.raises(CorruptManifestError) as info:
        storage.lookup(h)
    assert f"summarise/_manifests/{h}.json" in str(info.value)
    assert "delete the entry" in str(info.value)
    storage.delete(h)
    assert storage.lookup(h) is None


def test_clear_removes_everything_of_the_node(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    storage = node_storage(backend)
    other = NodeFileStorage("other", NodeFileStorageConfig(backend="x"), backend)
    for i in range(2):
        storage.store(storage.compute_input_hash({"d": [i]}), outputs(i))
    other.store(other.compute_input_hash({"d": [0]}), outputs(0))
    storage.clear()
    assert storage.entries() == []
    assert len(other.entries()) == 1


def test_net_level_file_storage_resolves_backend_names(tmp_path):
    config = StorageConfig(backends={"disk": LocalBackendConfig(base_path=str(tmp_path))})
    files = FileStorage(config)
    node = files.for_node("n", NodeFileStorageConfig(backend="disk"))
    assert node.backend.name == "disk"
    assert files.is_enabled(NodeFileStorageConfig(backend="disk")) and not files.is_enabled(None)
    with pytest.raises(StorageConfigError, match="node 'n': storage backend 'dsk' is not defined"):
        files.for_node("n", NodeFileStorageConfig(backend="dsk"))
