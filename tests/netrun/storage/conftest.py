"""Real servers on 127.0.0.1 for the storage tests, started here and stopped after.

* S3: moto in server mode (``ThreadedMotoServer``) on a random port.
* SSH/SFTP: Debian's OpenSSH ``sshd`` with a generated config, host key and client key in
  a temporary directory, on a random port. If ``sshd`` is missing and we are root, the
  fixture installs ``openssh-server`` with apt-get (CI runs as root on a clean machine);
  otherwise the SSH tests are skipped with the reason. The system sshd is never touched.
* GCS: gcp-storage-emulator (in memory) on a random port, when it and gcsfs are installed.
* rclone: the ``rclone`` program (installed the same way when missing) with a config
  defining a ``local``-type remote.

No test talks to anything but loopback; the AWS instance-metadata lookup is disabled so a
credential search never leaves the machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netrun.storage.backends import StorageBackend, close_all_backends
from netrun.storage.config import GCSBackendConfig, RcloneBackendConfig, S3BackendConfig, SSHBackendConfig

SSHD = "/usr/sbin/sshd"


@pytest.fixture(autouse=True, scope="session")
def _no_cloud_metadata_lookups():
    """botocore's credential chain must never reach for the EC2 metadata address."""
    saved = os.environ.get("AWS_EC2_METADATA_DISABLED")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    yield
    if saved is None:
        os.environ.pop("AWS_EC2_METADATA_DISABLED", None)
    else:
        os.environ["AWS_EC2_METADATA_DISABLED"] = saved


@pytest.fixture(autouse=True)
def _close_shared_backends():
    yield
    close_all_backends()


def free_port() -> int:
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A localhost port with no server: connecting is refused."""
    return free_port()


def _wait_for_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# --- Debian packages --------------------------------------------------------------------


_APT_UPDATED: list[bool] = []  # apt-get update runs once per test process


def ensure_debian_package(binary: str, package: str) -> str:
    """The path of ``binary``, installing ``package`` with apt-get when missing and root.

    Skips the calling test (with the reason) when that is not possible. A lock file keeps
    parallel test workers from running apt-get at the same time.
    """
    found = shutil.which(binary) or (binary if os.path.exists(binary) else None)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{binary} is not installed and this process cannot install {package} (needs root + apt-get)")
    with open("/tmp/netrun-tests-apt.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = shutil.which(binary) or (binary if os.path.exists(binary) else None)
        if found:
            return found
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        wait_for_dpkg = ["-o", "DPkg::Lock::Timeout=300"]  # another apt-get may be running
        try:
            if not _APT_UPDATED:
                subprocess.run(
                    ["apt-get", *wait_for_dpkg, "update"], env=env, check=True, capture_output=True, timeout=400
                )
                _APT_UPDATED.append(True)
            subprocess.run(
                ["apt-get", *wait_for_dpkg, "install", "-y", "--no-install-recommends", package],
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            output = getattr(exc, "stderr", b"") or b""
            pytest.skip(f"could not install {package}: {exc} {output.decode(errors='replace')[-300:]}")
    found = shutil.which(binary) or (binary if os.path.exists(binary) else None)
    if not found:
        pytest.skip(f"{package} installed but {binary} is still missing")
    return found


# --- S3 (moto server) -------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint():
    """``http://127.0.0.1:<port>`` of a moto S3 server running for the session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_bucket(moto_endpoint, request):
    """A fresh bucket on the moto server; returns a backend config with credentials."""
    import boto3

    name = "nr-" + request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")[:40]
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=name)
    return S3BackendConfig(
        bucket=name,
        prefix="runs/1",
        endpoint_url=moto_endpoint,
        access_key="testing",
        secret_key="testing",
        region="us-east-1",
        max_attempts=1,
    )


# --- GCS (gcp-storage-emulator) --------------------------------------------------------


@pytest.fixture(scope="session")
def gcs_endpoint():
    """``http://127.0.0.1:<port>`` of an in-memory GCS emulator running for the session."""
    pytest.importorskip("gcsfs", reason="the GCS backend needs gcsfs (netrun[gcs])")
    emulator = pytest.importorskip("gcp_storage_emulator.server", reason="gcp-storage-emulator is not installed")
    port = free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True)
    server.start()
    _wait_for_port(port, 10)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def gcs_config(gcs_endpoint, request):
    """A fresh bucket on the GCS emulator (anonymous access, as emulators allow)."""
    name = "nr-" + request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")[:40]
    config = GCSBackendConfig(bucket=name, prefix="runs/1", endpoint_url=gcs_endpoint, anon=True, project="test")
    StorageBackend(config).fs.mkdir(name)
    return config


# --- SSH (OpenSSH sshd) -----------------------------------------------------------------


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory):
    """An sshd on 127.0.0.1 accepting a generated key; yields a dict of its settings."""
    sshd = ensure_debian_package(SSHD, "openssh-server")
    keygen = ensure_debian_package("ssh-keygen", "openssh-client")
    home = tmp_path_factory.mktemp("sshd")
    os.chmod(home, 0o700)
    host_key, client_key = home / "host_ed25519", home / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    (home / "authorized_keys").write_text((client_key.with_suffix(".pub")).read_text())
    port = free_port()
    config = home / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {home / 'sshd.pid'}",
                f"AuthorizedKeysFile {home / 'authorized_keys'}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    # Debian's sshd refuses to start without its privilege-separation directory.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_for_port(port, 15, process)
    except Exception as exc:
        process.kill()
        _, err = process.communicate(timeout=5)
        pytest.skip(f"sshd did not start: {exc}: {err.decode(errors='replace')[-400:]}")
    known_hosts = home / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_key.with_suffix('.pub').read_text()}")
    data = home / "data"
    data.mkdir()
    try:
        yield {
            "port": port,
            "key_path": str(client_key),
            "known_hosts": str(known_hosts),
            "data": data,
            "user": os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name,
        }
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
def ssh_config(sshd_server, tmp_path):
    """A backend config for a fresh directory on the test sshd."""
    base = sshd_server["data"] / tmp_path.name
    base.mkdir()
    return SSHBackendConfig(
        host="127.0.0.1",
        port=sshd_server["port"],
        username=sshd_server["user"],
        key_path=sshd_server["key_path"],
        known_hosts_path=sshd_server["known_hosts"],
        base_path=str(base),
        connect_timeout=5,
    )


# --- rclone -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def rclone_binary():
    return ensure_debian_package("rclone", "rclone")


@pytest.fixture
def rclone_config(rclone_binary, tmp_path):
    """A backend config for an rclone ``local``-type remote rooted in a temp directory."""
    conf = tmp_path / "rclone.conf"
    conf.write_text("[nrlocal]\ntype = local\n")
    root = tmp_path / "remote-root"
    root.mkdir()
    return RcloneBackendConfig(remote=f"nrlocal:{root}", config_path=str(conf), binary=rclone_binary, timeout=30)


# --- a really full disk -----------------------------------------------------------------


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KiB tmpfs (needs root and mount permission); skips when it cannot be mounted."""
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    if os.geteuid() != 0 or sys.platform != "linux":
        pytest.skip("mounting a tmpfs needs root on Linux")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mountpoint)], capture_output=True, timeout=30
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, timeout=30)
