"""Per-node file storage and stored (lazy) values inside Net epochs, and storage faults:
unreachable backend, missing credentials, full disk, unserializable value — each a clear
error (node, port, backend) in the epoch's retry / DLQ path, nothing lost."""

from __future__ import annotations

import errno
import socket
import threading

import pytest
from _net_graphs import pipeline

from netrun import Net
from netrun.storage.backends import StorageBackend, close_all_backends, use_backend
from netrun.storage.config import (
    LocalBackendConfig,
    NodeFileStorageConfig,
    NodeStorageConfig,
    S3BackendConfig,
    StorageConfig,
    ValueStorageConfig,
)
from netrun.storage.errors import (
    BackendUnreachableError,
    MissingCredentialsError,
    StorageFullError,
    ValueNotSerializableError,
)
from netrun.storage.lazy import StoredValueRef

CALLS: list = []
LOADS: list = []
CONSUMERS: list = []


def make_blob(ctx, packets):
    for p in packets["in"]:
        n = ctx.consume_packet(p)
        CALLS.append(n)
        ctx.load_output_port("out", ctx.create_packet(b"x" * n))
    ctx.send_output_salvo("send")


def measure(ctx, packets):
    for p in packets["in"]:
        value = ctx.consume_packet(p)
        CONSUMERS.append(threading.current_thread().name)
        ctx.load_output_port("out", ctx.create_packet(len(value)))
    ctx.send_output_salvo("send")


def make_object(ctx, packets):
    for p in packets["in"]:
        ctx.consume_packet(p)
        ctx.load_output_port("out", ctx.create_packet(object()))
    ctx.send_output_salvo("send")


@pytest.fixture(autouse=True)
def _reset(monkeypatch):
    CALLS.clear()
    LOADS.clear()
    CONSUMERS.clear()
    original = StoredValueRef.load

    def load(self):
        LOADS.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(StoredValueRef, "load", load)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield
    close_all_backends()


def _blob_net(make_net, tmp_path, net_options=None, **node_storage):
    net = make_net(pipeline("Blob", "Measure"), thread_pools={"work": {"size": 2}}, **(net_options or {}),
                   storage=StorageConfig(backends={"files": LocalBackendConfig(base_path=str(tmp_path / "files"))}))
    net.set_node_exec("Blob", make_blob)
    net.set_node_exec("Measure", measure)
    net.set_node_config("Blob", storage=NodeStorageConfig(**node_storage))
    net.set_node_config("Measure", pool="work")
    return net


def test_file_storage_hits_replay_lazy_values_loaded_by_the_consuming_worker(make_net, tmp_path):
    files = NodeFileStorageConfig(backend="files", compression="gzip")
    net = _blob_net(make_net, tmp_path, file_storage=files)
    net.inject_data("Blob", "in", [3, 5])
    net.start()
    assert sorted(net.flush_output_queue("Measure::out")) == [3, 5] and CALLS == [3, 5]
    stored = sorted(p.name for p in (tmp_path / "files" / "Blob").rglob("*.pkl.gz"))
    assert stored == ["out_0.pkl.gz", "out_0.pkl.gz"]  # one entry per distinct input salvo
    assert LOADS == []

    other = _blob_net(make_net, tmp_path, file_storage=files)
    logs = []
    other.on_epoch_end(lambda node, epoch, log: logs.append((node, log.outcome, log.was_file_storage_hit)))
    other.inject_data("Blob", "in", [5, 3, 7])
    other.start()
    assert sorted(other.flush_output_queue("Measure::out")) == [3, 5, 7]
    assert CALLS == [3, 5, 7]  # only 7 ran
    blob_logs = [entry for entry in logs if entry[0] == "Blob"]
    assert sorted(blob_logs) == [("Blob", "file_storage_hit", True)] * 2 + [("Blob", "success", False)]
    # the two stored values were loaded on consumption, by the pool worker that consumed them
    assert len(LOADS) == 2 and all(name.startswith("netrun-work-") for name in LOADS)
    assert set(LOADS) <= set(CONSUMERS)


def test_large_values_live_in_the_value_storage_backend(make_net, tmp_path):
    values = ValueStorageConfig(backend="files", min_size_bytes=1000)
    net = _blob_net(make_net, tmp_path, value_storage=values)
    net.inject_data("Blob", "in", [10, 5000])
    net.run_step()  # Blob ran; its outputs wait at Measure.in
    entries = [net.value_store.peek_entry(pid) for pid in net.value_store.active_ids()]
    assert len(entries) == 2
    assert b"x" * 10 in entries  # small: in memory
    [large] = [e for e in entries if e != b"x" * 10]
    assert type(getattr(large.value_func, "__self__", None)) is StoredValueRef  # large: a reference
    assert len(list((tmp_path / "files" / "values" / "Blob").iterdir())) == 1
    net.start()
    assert sorted(net.flush_output_queue("Measure::out")) == [10, 5000]
    assert len(LOADS) == 1 and LOADS[0].startswith("netrun-work-")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _FullFS:
    """An fsspec-like file system whose disk is full."""

    def pipe_file(self, path, data, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    def cat_file(self, path, **kwargs):
        raise FileNotFoundError(path)

    def exists(self, path):
        return False

    def _strip_protocol(self, path):
        return path


def _failing_net(make_net, backend_config, func=make_blob, retries=1, **file_options):
    net = make_net(pipeline("Blob"), on_error="continue",
                   storage=StorageConfig(backends={"target": backend_config}))
    net.set_node_exec("Blob", func)
    net.set_node_config("Blob", retries=retries, storage={"file_storage": {"backend": "target", **file_options}})
    net.inject_data("Blob", "in", [4])
    net.start()
    assert net.flush_output_queue("Blob::out") == []
    [entry] = net.dead_letter_queue.get_all()
    assert entry.retry_count == retries and list(entry.packet_values.values()) == [4]  # nothing lost
    assert f"epoch {entry.epoch_id}" in str(entry.exception)
    return entry


def test_unreachable_backend(make_net):
    port = _closed_port()
    config = S3BackendConfig(bucket="b", endpoint_url=f"http://127.0.0.1:{port}", access_key="k", secret_key="s",
                             region="us-east-1", max_attempts=1, connect_timeout=1)
    entry = _failing_net(make_net, config)
    # attempt 0 failed looking the epoch up; the retry ran the function and failed storing
    # its output, so the error kept in the DLQ names the port too
    assert isinstance(entry.retry_exceptions[0], BackendUnreachableError)
    assert isinstance(entry.exception, BackendUnreachableError)
    assert "node 'Blob'" in str(entry.exception) and "port 'out'" in str(entry.exception)
    assert f"s3 's3://b' at http://127.0.0.1:{port}" in str(entry.exception)
    assert "cannot be reached" in str(entry.exception) and "Fix:" in str(entry.exception)


def test_missing_credentials(make_net, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    config = S3BackendConfig(bucket="b", endpoint_url=f"http://127.0.0.1:{_closed_port()}", region="us-east-1")
    entry = _failing_net(make_net, config)
    assert isinstance(entry.exception, MissingCredentialsError)
    assert "node 'Blob'" in str(entry.exception) and "no S3 credentials" in str(entry.exception)
    assert "port 'out'" in str(entry.exception)
    assert "access_key" in str(entry.exception)


def test_full_disk(make_net):
    config = S3BackendConfig(bucket="full", endpoint_url="http://127.0.0.1:9", access_key="k", secret_key="s")
    use_backend("target", StorageBackend(config, name="target", filesystem=_FullFS()))
    entry = _failing_net(make_net, config)
    assert isinstance(entry.exception, StorageFullError)
    message = str(entry.exception)
    assert "node 'Blob'" in message and "port 'out'" in message and "s3 's3://full'" in message
    assert "no space left" in message


def test_a_value_the_method_cannot_serialize(make_net, tmp_path):
    entry = _failing_net(make_net, LocalBackendConfig(base_path=str(tmp_path / "files")), func=make_object,
                         serialization="json")
    assert isinstance(entry.exception, ValueNotSerializableError)
    message = str(entry.exception)
    assert "node 'Blob'" in message and "port 'out'" in message and "local" in message
    assert not (tmp_path / "files" / "Blob").exists() or not any((tmp_path / "files" / "Blob").rglob("*.json"))


def test_storage_in_a_net_file(tmp_path):
    backend_dir = tmp_path / "files"
    text = f"""
[net.storage.backends.files]
type = "local"
base_path = "{backend_dir}"

[net.storage.cache]
enabled = true
include_nodes = ["Blob"]
storage_path = "{tmp_path / 'cache'}"

[nodes.Blob]
in_ports = ["in"]
out_ports = ["out"]
exec_node_func = "{__name__}.make_blob"
[nodes.Blob.in_salvo_conditions.go]
when = "nonempty(in)"
ports = {{ in = 1 }}
[nodes.Blob.out_salvo_conditions.send]
when = "nonempty(out)"
[nodes.Blob.options.storage.cache]
version = 3
"""
    for attempt in range(2):
        net = Net.from_toml(text)
        try:
            assert net.cache.effective_config("Blob").node_version == 3  # the node's override
            net.inject_data("Blob", "in", [2])
            net.start()
            assert net.flush_output_queue("Blob::out") == [b"xx"]
        finally:
            net.stop()
    assert CALLS == [2]  # the second net's epoch was a cache hit


def test_stored_values_are_loaded_in_the_worker_process_that_consumes_them(make_net, tmp_path):
    files = NodeFileStorageConfig(backend="files")
    first = _blob_net(make_net, tmp_path, file_storage=files)
    first.inject_data("Blob", "in", [6])
    first.start()
    assert first.flush_output_queue("Measure::out") == [6]

    net = make_net(pipeline("Blob", "Measure"), process_pools={"proc": {"size": 1}},
                   storage=StorageConfig(backends={"files": LocalBackendConfig(base_path=str(tmp_path / "files"))}))
    net.set_node_exec("Blob", make_blob)
    net.set_node_exec("Measure", measure)
    net.set_node_config("Blob", storage=NodeStorageConfig(file_storage=files))
    net.set_node_config("Measure", pool="proc")
    net.inject_data("Blob", "in", [6])
    net.start()
    assert net.flush_output_queue("Measure::out") == [6]
    assert CALLS == [6]  # the second Blob epoch was a file-storage hit
    assert LOADS == []  # not loaded in this process: the worker process loaded it


def test_storage_in_a_0_5_0_json_file(tmp_path, monkeypatch):
    import json
    import sys

    (tmp_path / "jsonnodes.py").write_text(
        "CALLS = []\n"
        "def blob(ctx, packets):\n"
        "    for p in packets['in']:\n"
        "        n = ctx.consume_packet(p)\n"
        "        CALLS.append(n)\n"
        "        ctx.load_output_port('out', ctx.create_packet(n * 2))\n"
        "    ctx.send_output_salvo('default')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    data = {
        "storage": {"backends": {"files": {"type": "local", "base_path": str(tmp_path / "files")}},
                    "cache": {"enabled": True, "include_nodes": ["Blob"], "storage_path": str(tmp_path / "cache")}},
        "graph": {"nodes": [{"name": "Blob", "in_ports": {"in": {}}, "out_ports": {"out": {}},
                             "execution_config": {"exec_node_func": "jsonnodes.blob",
                                                  "storage": {"file_storage": {"backend": "files"},
                                                              "cache": {"version": 2}}}}],
                  "edges": []},
    }
    (tmp_path / "net.json").write_text(json.dumps(data))
    try:
        for _ in range(2):
            net = Net.from_file(tmp_path / "net.json")
            try:
                assert net.cache.effective_config("Blob").node_version == 2
                net.inject_data("Blob", "in", [3])
                net.start()
                assert net.flush_output_queue("Blob::out") == [6]
            finally:
                net.stop()
        import jsonnodes

        assert jsonnodes.CALLS == [3]  # the second net replayed the first one's epoch
        assert list((tmp_path / "files" / "Blob").rglob("out_0.pkl"))  # file storage wrote it too
    finally:
        sys.modules.pop("jsonnodes", None)


def test_a_stored_value_that_cannot_be_loaded_fails_its_consumer_into_the_dlq(make_net, tmp_path):
    files = NodeFileStorageConfig(backend="files")
    first = _blob_net(make_net, tmp_path, file_storage=files)
    first.inject_data("Blob", "in", [4])
    first.start()
    net = _blob_net(make_net, tmp_path, {"on_error": "continue"}, file_storage=files)
    net.set_node_config("Measure", pool="work", retries=1, defer_net_actions=True)
    net.inject_data("Blob", "in", [4])
    net.run_step()  # a file-storage hit: Measure's input is a stored value, not loaded yet
    for stored in list((tmp_path / "files" / "Blob").rglob("out_0.pkl")):  # the data goes away
        stored.unlink()
    net.start()
    assert net.flush_output_queue("Measure::out") == []
    [entry] = net.dead_letter_queue.get_all()
    assert entry.node_name == "Measure" and entry.retry_count == 1
    assert "nothing is stored there" in str(entry.exception) and "local" in str(entry.exception)
    [kept] = entry.packet_values.values()  # the reference is kept: nothing lost
    assert type(kept.value_func.__self__) is StoredValueRef
