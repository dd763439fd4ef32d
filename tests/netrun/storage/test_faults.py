"""Faults: unreachable backends, missing credentials, a full disk, unserializable values.

Each error must be specific (its own class), name the backend (plus node and port when the
caller gives them) and say how to fix it.
"""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import time

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from netrun.storage.atomic import AtomicDirectoryWriter, ManifestDirectory
from netrun.storage.backends import StorageBackend
from netrun.storage.cache import CachedOutputSalvo
from netrun.storage.config import LocalBackendConfig, NodeFileStorageConfig, S3BackendConfig, SSHBackendConfig
from netrun.storage.errors import (
    BackendUnreachableError,
    MissingCredentialsError,
    StorageConfigError,
    StorageFullError,
    StoragePermissionError,
    ValueNotSerializableError,
)
from netrun.storage.file_storage import NodeFileStorage
from netrun.storage.lazy import store_value


# --- unreachable ------------------------------------------------------------------------


def test_s3_closed_port_is_unreachable_quickly(closed_port):
    port = closed_port
    config = S3BackendConfig(
        bucket="b", endpoint_url=f"http://127.0.0.1:{port}", access_key="k", secret_key="s",
        region="us-east-1", max_attempts=1, connect_timeout=1,
    )
    started = time.monotonic()
    with pytest.raises(BackendUnreachableError) as info:
        StorageBackend(config).write_bytes("n/v.pkl", b"x")
    assert time.monotonic() - started < 15
    message = str(info.value)
    assert f"s3 's3://b' at http://127.0.0.1:{port}" in message
    assert "key 'n/v.pkl'" in message
    assert f"Fix: check that http://127.0.0.1:{port} is up" in message
    assert isinstance(info.value, ConnectionError)


def test_ssh_closed_port_is_unreachable(closed_port):
    port = closed_port
    config = SSHBackendConfig(host="127.0.0.1", port=port, base_path="/tmp", connect_timeout=3)
    with pytest.raises(BackendUnreachableError) as info:
        StorageBackend(config).read_bytes("x")
    assert f"ssh '127.0.0.1:{port}/tmp'" in str(info.value)
    assert f"an SSH server listens on 127.0.0.1:{port}" in str(info.value)


def test_unreachable_error_names_node_and_port_when_storing_a_value(closed_port):
    config = S3BackendConfig(
        bucket="b", endpoint_url=f"http://127.0.0.1:{closed_port}", access_key="k", secret_key="s",
        max_attempts=1, connect_timeout=1,
    )
    with pytest.raises(BackendUnreachableError) as info:
        store_value({"big": "value"}, StorageBackend(config), "values/1.pkl", node="fetch", port="out")
    assert str(info.value).startswith("node 'fetch', port 'out', backend s3 's3://b' at ")
    assert info.value.node == "fetch" and info.value.port == "out"


# --- credentials ------------------------------------------------------------------------


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_") and name != "AWS_EC2_METADATA_DISABLED":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


def test_s3_without_any_credentials(no_aws_credentials, moto_endpoint):
    config = S3BackendConfig(bucket="anything", endpoint_url=moto_endpoint, max_attempts=1)
    with pytest.raises(MissingCredentialsError) as info:
        StorageBackend(config).write_bytes("k", b"v")
    message = str(info.value)
    assert "no S3 credentials were given" in message
    assert "set access_key and secret_key" in message
    assert "AWS_ACCESS_KEY_ID" in message
    assert f"at {moto_endpoint}" in message


def test_s3_credentials_from_environment_are_used(no_aws_credentials, monkeypatch, s3_bucket):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = s3_bucket.model_copy(update={"access_key": None, "secret_key": None})
    backend = StorageBackend(config)
    backend.write_bytes("env.bin", b"ok")
    assert backend.read_bytes("env.bin") == b"ok"


def test_ssh_without_key_or_password(ssh_config, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh default keys
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)  # no agent
    config = ssh_config.model_copy(update={"key_path": None})
    with pytest.raises(MissingCredentialsError) as info:
        StorageBackend(config).write_bytes("k", b"v")
    assert "no credentials were configured" in str(info.value)
    assert "set key_path" in str(info.value)


def test_ssh_with_a_key_the_server_does_not_accept(ssh_config, tmp_path):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True, timeout=30)
    config = ssh_config.model_copy(update={"key_path": str(other)})
    with pytest.raises(StoragePermissionError, match="access refused") as info:
        StorageBackend(config).write_bytes("k", b"v")
    assert "check the credentials" in str(info.value)


def test_ssh_missing_key_file_is_a_config_error(ssh_config, tmp_path):
    config = ssh_config.model_copy(update={"key_path": str(tmp_path / "absent_key")})
    with pytest.raises(StorageConfigError, match="key_path .* does not exist"):
        StorageBackend(config).write_bytes("k", b"v")


def test_ssh_untrusted_host_key(ssh_config, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config = ssh_config.model_copy(update={"known_hosts_path": str(empty)})
    with pytest.raises(StorageConfigError, match="host key is not trusted") as info:
        StorageBackend(config).write_bytes("k", b"v")
    assert "known_hosts" in info.value.fix


# --- full disk --------------------------------------------------------------------------


def test_full_disk_on_a_real_tmpfs_keeps_previous_value(tiny_tmpfs):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tiny_tmpfs)))
    backend.write_bytes("node/value.bin", b"previous")
    with pytest.raises(StorageFullError) as info:
        backend.write_bytes("node/value.bin", os.urandom(200_000))
    err = info.value
    assert err.errno == errno.ENOSPC
    assert isinstance(err, OSError)
    assert f"local '{tiny_tmpfs / 'node'}'" in str(err) or f"local '{tiny_tmpfs}'" in str(err)
    assert "Fix: free space" in str(err)
    assert backend.read_bytes("node/value.bin") == b"previous"
    assert sorted(p.name for p in (tiny_tmpfs / "node").iterdir()) == ["value.bin"]  # no temp left


def test_full_disk_during_checkpoint_leaves_previous_checkpoint(tiny_tmpfs):
    target = tiny_tmpfs / "ckpt"
    with AtomicDirectoryWriter(target, format="netrun-checkpoint", format_version=1) as writer:
        writer.write_bytes("packets.pkl", b"v1")
    with pytest.raises(StorageFullError, match="no space left"):
        with AtomicDirectoryWriter(target, format="netrun-checkpoint", format_version=1) as writer:
            writer.write_bytes("packets.pkl", os.urandom(300_000))
    assert ManifestDirectory(target, format="netrun-checkpoint", max_version=1).read_bytes("packets.pkl") == b"v1"
    assert [p.name for p in tiny_tmpfs.iterdir() if p.name.startswith(".ckpt.tmp")] == []


class _FullMemoryFS(MemoryFileSystem):
    """An fsspec file system whose writes fail like a full remote volume."""

    def pipe_file(self, path, value, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", path)


def test_full_remote_storage_through_fsspec_names_node_port_backend():
    config = S3BackendConfig(bucket="results", access_key="k", secret_key="s")
    backend = StorageBackend(config, filesystem=_FullMemoryFS(skip_instance_cache=True))
    with pytest.raises(StorageFullError) as info:
        store_value(list(range(10)), backend, "v/1.pkl", node="train", port="model")
    assert str(info.value).startswith("node 'train', port 'model', backend s3 's3://results'")
    assert info.value.errno == errno.ENOSPC


# --- unserializable ---------------------------------------------------------------------


def test_unpicklable_value_names_node_port_backend_and_fix(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    with pytest.raises(ValueNotSerializableError) as info:
        store_value(lambda x: x, backend, "v/1.pkl", node="mapper", port="fn")
    message = str(info.value)
    assert message.startswith(f"node 'mapper', port 'fn', backend local '{tmp_path}'")
    assert "cannot be pickled with 'pickle'" in message
    assert "pickling_method='cloudpickle'" in message
    assert backend.list() == []  # nothing written


def test_unpicklable_value_with_cloudpickle_works(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    ref = store_value(lambda x: x + 1, backend, "v/1.pkl", pickling_method="cloudpickle")
    assert ref.load()(1) == 2


def test_json_cannot_take_a_set_and_says_what_to_use(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    with pytest.raises(ValueNotSerializableError, match=r"type set cannot be serialized with 'json'") as info:
        store_value({1, 2}, backend, "v.json", serialization="json", node="n", port="p")
    assert "use serialization='pickle'" in str(info.value)


def test_file_storage_unserializable_output_writes_nothing(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    storage = NodeFileStorage("writer", NodeFileStorageConfig(backend="x", serialization="json"), backend)
    with pytest.raises(ValueNotSerializableError) as info:
        storage.store("h1", [CachedOutputSalvo("send", {"ok": [1], "bad": [object()]})])
    assert "node 'writer', port 'bad'" in str(info.value)
    assert backend.list() == []


def test_storage_errors_survive_pickling_with_context():
    err = StorageFullError("no space", fix="free it", backend="local '/x'").with_context(node="n", port="p", epoch="e1")
    err.errno = errno.ENOSPC
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is StorageFullError
    assert str(clone) == str(err) == "node 'n', port 'p', epoch e1, backend local '/x': no space. Fix: free it"
    assert clone.errno == errno.ENOSPC
