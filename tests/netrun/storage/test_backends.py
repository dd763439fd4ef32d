"""StorageBackend against real backends: local disk, moto S3, OpenSSH SFTP, rclone."""

from __future__ import annotations

import threading

import pytest

from netrun.storage.backends import StorageBackend, get_backend, register_backend
from netrun.storage.config import GCSBackendConfig, LocalBackendConfig
from netrun.storage.errors import MissingOptionalDependencyError, StorageConfigError, StoredValueNotFoundError


@pytest.fixture(params=["local", "s3", "ssh", "rclone", "gcs"])
def backend(request, tmp_path):
    if request.param == "local":
        config = LocalBackendConfig(base_path=str(tmp_path / "store"))
    else:
        config = request.getfixturevalue(f"{request.param}_config" if request.param != "s3" else "s3_bucket")
    backend = StorageBackend(config, name=f"test-{request.param}")
    yield backend
    backend.close()


def test_write_read_exists_delete_roundtrip(backend):
    backend.write_bytes("node/a/value.pkl", b"\x00payload\xff")
    backend.write_bytes("node/b.txt", b"text")
    assert backend.read_bytes("node/a/value.pkl") == b"\x00payload\xff"
    assert backend.exists("node/b.txt")
    assert not backend.exists("node/missing")
    assert backend.list("node") == ["node/a/value.pkl", "node/b.txt"]
    backend.delete("node/b.txt")
    assert backend.list() == ["node/a/value.pkl"]
    backend.delete("node/never-written")  # missing keys are ignored by default
    with pytest.raises(StoredValueNotFoundError):
        backend.delete("node/never-written", missing_ok=False)


def test_overwrite_replaces_content_and_leaves_no_temporaries(backend):
    backend.write_bytes("k/v.bin", b"old" * 1000)
    backend.write_bytes("k/v.bin", b"new")
    assert backend.read_bytes("k/v.bin") == b"new"
    # The temporary key of the atomic write is renamed away (hidden names are not listed,
    # so look at the raw file system).
    raw = backend.fs.find(backend.path_for("k"))
    assert [p.rsplit("/", 1)[-1] for p in raw] == ["v.bin"]


def test_missing_key_names_backend_key_and_fix(backend):
    with pytest.raises(StoredValueNotFoundError) as info:
        backend.read_bytes("nothing/here.pkl")
    message = str(info.value)
    assert backend.description in message
    assert "'nothing/here.pkl'" in message
    assert "Fix:" in message
    assert isinstance(info.value, KeyError)


def test_delete_prefix_and_empty_listing(backend):
    for i in range(3):
        backend.write_bytes(f"p/{i}.bin", bytes([i]))
    backend.write_bytes("q/keep.bin", b"k")
    assert backend.delete_prefix("p") == 3
    assert backend.list("p") == []
    assert backend.list() == ["q/keep.bin"]


def test_concurrent_writers_of_distinct_keys(backend):
    errors = []

    def write(i: int) -> None:
        try:
            backend.write_bytes(f"c/{i}.bin", str(i).encode() * 50)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert backend.list("c") == [f"c/{i}.bin" for i in range(6)]
    assert backend.read_bytes("c/4.bin") == b"4" * 50


def test_local_backend_rejects_escaping_keys(tmp_path):
    backend = StorageBackend(LocalBackendConfig(base_path=str(tmp_path)))
    with pytest.raises(ValueError, match="contains '..'"):
        backend.write_bytes("../outside", b"x")
    assert not (tmp_path.parent / "outside").exists()


def test_s3_objects_live_under_bucket_prefix(s3_bucket):
    import boto3

    StorageBackend(s3_bucket).write_bytes("n/x.bin", b"1")
    client = boto3.client(
        "s3", endpoint_url=s3_bucket.endpoint_url, aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="us-east-1",
    )
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket.bucket)["Contents"]]
    assert keys == ["runs/1/n/x.bin"]


def test_ssh_files_land_in_base_path_on_server(ssh_config):
    from pathlib import Path

    StorageBackend(ssh_config).write_bytes("deep/er/file.bin", b"over sftp")
    assert (Path(ssh_config.base_path) / "deep/er/file.bin").read_bytes() == b"over sftp"


def test_rclone_files_land_in_remote_directory(rclone_config):
    from pathlib import Path

    StorageBackend(rclone_config).write_bytes("x/y.bin", b"via rclone")
    root = Path(rclone_config.remote.split(":", 1)[1])
    assert (root / "x/y.bin").read_bytes() == b"via rclone"


def test_rclone_unknown_remote_is_a_config_error(rclone_config):
    config = rclone_config.model_copy(update={"remote": "not-defined:somewhere"})
    with pytest.raises(StorageConfigError, match="not configured") as info:
        StorageBackend(config).write_bytes("a", b"x")
    assert "rclone 'not-defined:somewhere'" in str(info.value)


def test_rclone_binary_missing_gives_install_hint(tmp_path):
    from netrun.storage.config import RcloneBackendConfig

    backend = StorageBackend(RcloneBackendConfig(remote="r:", binary="rclone-not-installed-here"))
    with pytest.raises(MissingOptionalDependencyError, match="apt-get install rclone"):
        backend.read_bytes("x")


def test_gcs_without_gcsfs_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gcsfs", None)  # as if not installed
    backend = StorageBackend(GCSBackendConfig(bucket="b", prefix="p/q"))
    assert backend.root == "b/p/q"
    assert backend.path_for("n/v.pkl") == "b/p/q/n/v.pkl"
    with pytest.raises(MissingOptionalDependencyError) as info:
        backend.read_bytes("n/v.pkl")
    assert "pip install 'netrun[gcs]'" in str(info.value)
    assert isinstance(info.value, ImportError)


def test_gcs_filesystem_gets_project_and_credentials(monkeypatch, tmp_path):
    """The config's credentials file and project reach GCSFileSystem unchanged."""
    import sys
    import types

    seen = {}

    class FakeGCSFileSystem:  # records the constructor call; no client is created
        def __init__(self, **kwargs):
            seen.update(kwargs)

    monkeypatch.setitem(sys.modules, "gcsfs", types.SimpleNamespace(GCSFileSystem=FakeGCSFileSystem))
    creds = tmp_path / "sa.json"
    assert isinstance(StorageBackend(GCSBackendConfig(bucket="b", credentials_path=str(creds), project="p")).fs,
                      FakeGCSFileSystem)
    assert seen == {"project": "p", "token": str(creds), "endpoint_url": None, "skip_instance_cache": True}


def test_unresolved_reference_is_refused_before_connecting():
    config = LocalBackendConfig.model_validate({"base_path": {"$env": "DATA_DIR"}})
    with pytest.raises(StorageConfigError, match="unresolved references: base_path"):
        StorageBackend(config)


def test_registered_backend_supplies_credentials(s3_bucket):
    """A reference carrying the secret-free config resolves to the registered one."""
    public = s3_bucket.model_copy(update={"access_key": None, "secret_key": None})
    register_backend("results", s3_bucket)
    backend = get_backend(public, name="results")
    assert backend.config.secret_key == "testing"
    backend.write_bytes("r.bin", b"ok")
    assert get_backend(public, name="results") is backend
