"""Checkpoints on storage backends: fsspec URLs (memory://, s3:// on a local moto server)
and backend configs; a save without its manifest is reported as incomplete."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid

import pytest

from netrun import Net
from netrun.checkpoint import load_checkpoint_state
from netrun.storage.backends import StorageBackend, close_all_backends
from netrun.storage.config import S3BackendConfig
from netrun.storage.errors import CorruptManifestError, IncompleteManifestError, StorageError
from netrun.storage.manifest_store import UrlBackend

NODES = textwrap.dedent("""\
    def inc(ctx, packets):
        for packet in packets["in"]:
            ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(packet) + 1))
        ctx.send_output_salvo("send")
""")

NET = textwrap.dedent("""\
    [nodes.A]
    in_ports = ["in"]
    out_ports = ["out"]
    exec_node_func = "remotenodes.inc"
    [nodes.A.in_salvo_conditions.go]
    when = "nonempty(in)"
    [nodes.A.out_salvo_conditions.send]
    when = "nonempty(out)"

    [nodes.B]
    in_ports = ["in"]
    out_ports = ["out"]
    exec_node_func = "remotenodes.inc"
    [nodes.B.in_salvo_conditions.go]
    when = "nonempty(in)"
    [nodes.B.out_salvo_conditions.send]
    when = "nonempty(out)"

    [[edges]]
    from = "A.out"
    to = "B.in"
""")


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "remotenodes.py").write_text(NODES)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("remotenodes", None)
    close_all_backends()


@pytest.fixture
def nets():
    made = []
    yield made
    for net in made:
        try:
            net.stop()
        except Exception:
            pass


@pytest.fixture(scope="module")
def moto_endpoint():
    """A moto S3 server on 127.0.0.1 for this module's tests."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(moto_endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    name = f"ckpt-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint, aws_access_key_id="testing",
                 aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket=name)
    return name


def _paused(nets):
    net = Net.from_toml(NET)
    nets.append(net)
    net.inject_data("A", "in", [1, 2, 3])
    net.run_step()  # A ran: three packets wait at B.in; one more waits at A.in
    net.inject_data("A", "in", [10])
    return net


def _resume(nets, *args, **kwargs):
    restored = Net.load_checkpoint(*args, **kwargs)
    nets.append(restored)
    restored.start()
    return sorted(restored.flush_output_queue("B::out"))


def test_memory_url_round_trip_and_incomplete_save(project, nets):
    url = f"memory://netrun-tests/{uuid.uuid4().hex}/ckpt"
    net = _paused(nets)
    net.save_checkpoint(url)
    assert _resume(nets, url) == [3, 4, 5, 12]

    # a second save replaces the first; only the newest generation is left
    net.inject_data("A", "in", [20])
    net.save_checkpoint(url)
    backend = UrlBackend("memory://netrun-tests")
    prefix = url.split("memory://netrun-tests/")[1]
    keys = backend.list(prefix)
    generations = {k.split("/")[2] for k in keys if not k.endswith("manifest.json")}
    assert len(generations) == 1
    assert _resume(nets, url) == [3, 4, 5, 12, 22]

    # files without their manifest: the save did not complete
    backend.delete(f"{prefix}/manifest.json")
    with pytest.raises(IncompleteManifestError, match=r"holds 6 file\(s\) but no manifest.json: the save .* did not complete"):
        Net.load_checkpoint(url)
    with pytest.raises(CorruptManifestError, match="nothing was saved at"):
        Net.load_checkpoint(f"memory://netrun-tests/{uuid.uuid4().hex}")


class _FailingFS:
    """Wraps a file system; the n-th write raises (a crash in the middle of a save)."""

    def __init__(self, fs, fail_at):
        self._fs, self._left = fs, fail_at

    def pipe_file(self, path, data, **kw):
        self._left -= 1
        if self._left == 0:
            raise ConnectionResetError("connection lost mid-save")
        return self._fs.pipe_file(path, data, **kw)

    def __getattr__(self, name):
        return getattr(self._fs, name)


def test_a_failed_save_keeps_the_previous_checkpoint(project, nets):
    prefix = f"runs/{uuid.uuid4().hex}"
    backend = UrlBackend("memory://netrun-failing")
    net = _paused(nets)
    net.save_checkpoint(prefix, backend=backend)
    before = sorted(backend.list(prefix))
    good_fs = backend._fs
    backend._fs = _FailingFS(good_fs, fail_at=3)
    net.inject_data("A", "in", [50])
    with pytest.raises(StorageError, match="unreachable|cannot be reached|connection lost"):
        net.save_checkpoint(prefix, backend=backend)
    backend._fs = good_fs
    assert sorted(backend.list(prefix)) == before  # the half-written generation is removed
    assert _resume(nets, prefix, backend=backend) == [3, 4, 5, 12]


def test_s3_checkpoint_through_a_backend_config_and_a_url(project, nets, moto_endpoint, bucket):
    config = S3BackendConfig(bucket=bucket, endpoint_url=moto_endpoint, access_key="testing",
                             secret_key="testing", region="us-east-1", max_attempts=1)
    net = _paused(nets)
    net.save_checkpoint("nets/run1", backend=config)
    keys = StorageBackend(config).list("nets/run1")
    assert "nets/run1/manifest.json" in keys and len(keys) == 7
    assert _resume(nets, "nets/run1", backend=config) == [3, 4, 5, 12]

    options = {"key": "testing", "secret": "testing",
               "client_kwargs": {"endpoint_url": moto_endpoint, "region_name": "us-east-1"}}
    url = f"s3://{bucket}/nets/run2"
    net.save_checkpoint(url, storage_options=options)
    loaded = load_checkpoint_state(url, storage_options=options)
    assert loaded.metadata.packet_count == 4
    manifest = json.loads(StorageBackend(config).read_bytes("nets/run2/manifest.json"))
    assert manifest["format"] == "netrun-checkpoint" and manifest["meta"]["generation"].startswith("gen-")
    assert _resume(nets, url, storage_options=options) == [3, 4, 5, 12]


def test_unreachable_s3_names_the_backend(project, nets, monkeypatch):
    import socket

    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = S3BackendConfig(bucket="nowhere", endpoint_url=f"http://127.0.0.1:{port}", access_key="k",
                             secret_key="s", region="us-east-1", max_attempts=1, connect_timeout=1)
    net = _paused(nets)
    with pytest.raises(StorageError, match=rf"s3 's3://nowhere'.*127.0.0.1:{port}.*cannot be reached"):
        net.save_checkpoint("ckpt", backend=config)


def test_periodic_checkpoints_to_a_url(project, nets):
    from netrun.config import NetConfig
    from netrun.config.runtime import runtime_setup

    url = f"memory://netrun-tests/{uuid.uuid4().hex}/periodic"
    net = Net.from_setup(runtime_setup(NetConfig.from_toml(NET)), checkpoint_path=url, checkpoint_every_epochs=1)
    nets.append(net)
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert net.checkpoint_count >= 2 and net.last_checkpoint_error is None
    loaded = load_checkpoint_state(url)
    assert loaded.metadata.periodic and sorted(v[0] for v in loaded.output_queues["B::out"]) == [3, 4]
    net.inject_data("A", "in", [7])
    net.run_step()  # A ran (a checkpoint when its epoch ended); B's input waits on the edge
    restored = Net.load_checkpoint(url)
    nets.append(restored)
    restored.start()
    assert sorted(restored.flush_output_queue("B::out")) == [3, 4, 9]


def test_a_save_deletes_only_its_own_older_generations(project, nets):
    """Regression: saving to a bucket root (empty prefix) deleted every other key of the
    bucket, and saving to ``a`` deleted a checkpoint saved under ``a/b``."""
    bucket = f"netrun-owned-{uuid.uuid4().hex[:8]}"
    backend = UrlBackend(f"memory://{bucket}")
    backend.write_bytes("user_data/important.bin", b"keep me")
    net = _paused(nets)
    net.save_checkpoint(f"memory://{bucket}/a/b")
    nested = sorted(backend.list("a/b"))
    net.save_checkpoint(f"memory://{bucket}")      # the bucket root
    net.save_checkpoint(f"memory://{bucket}")      # again: its first generation goes
    net.save_checkpoint(f"memory://{bucket}/a")    # a parent of the nested checkpoint
    assert backend.read_bytes("user_data/important.bin") == b"keep me"
    assert sorted(backend.list("a/b")) == nested
    root_generations = {k.split("/")[0] for k in backend.list("") if k.startswith("gen-")}
    assert len(root_generations) == 1
    assert _resume(nets, f"memory://{bucket}") == [3, 4, 5, 12]
    assert _resume(nets, f"memory://{bucket}/a/b") == [3, 4, 5, 12]
