"""Atomic files and directories: crashes leave the previous version; damage is detected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from netrun.storage import atomic
from netrun.storage.atomic import (
    AtomicDirectoryWriter,
    ManifestDirectory,
    atomic_write_bytes,
    recover_directory,
)
from netrun.storage.errors import CorruptManifestError, ManifestVersionError

FMT = "netrun-checkpoint"


def write(target, files: dict[str, bytes], version: int = 1, **meta):
    with AtomicDirectoryWriter(target, format=FMT, format_version=version, meta=meta) as writer:
        for name, data in files.items():
            writer.write_bytes(name, data)


def read_all(target, max_version: int = 1) -> dict[str, bytes]:
    directory = ManifestDirectory(target, format=FMT, max_version=max_version)
    return {name: directory.read_bytes(name) for name in directory.names()}


def leftovers(target) -> list[str]:
    prefix = f".{target.name}."
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(prefix) and "lock" not in p.name)


def test_write_read_with_subdirectories_and_meta(tmp_path):
    target = tmp_path / "ckpt"
    with AtomicDirectoryWriter(target, format=FMT, format_version=1, meta={"epoch_counter": 7}) as writer:
        writer.write_bytes("packets.pkl", b"\x80\x05")
        writer.write_json("net_state.json", {"b": 1, "a": [1, 2]})
        writer.write_text("history/part-0001.jsonl", "{}\n")
    directory = ManifestDirectory(target, format=FMT, max_version=1)
    assert directory.names() == ["history/part-0001.jsonl", "net_state.json", "packets.pkl"]
    assert directory.meta == {"epoch_counter": 7}
    assert directory.read_json("net_state.json") == {"a": [1, 2], "b": 1}
    assert directory.read_text("history/part-0001.jsonl") == "{}\n"
    assert leftovers(target) == []


def test_replacing_swaps_whole_directory(tmp_path):
    target = tmp_path / "ckpt"
    write(target, {"a.bin": b"1", "only-in-v1.bin": b"x"})
    write(target, {"a.bin": b"2"})
    assert read_all(target) == {"a.bin": b"2"}
    assert not (target / "only-in-v1.bin").exists()
    assert leftovers(target) == []


def test_exception_inside_block_keeps_previous(tmp_path):
    target = tmp_path / "ckpt"
    write(target, {"a.bin": b"v1"})
    with pytest.raises(RuntimeError, match="boom"):
        with AtomicDirectoryWriter(target, format=FMT, format_version=1) as writer:
            writer.write_bytes("a.bin", b"v2")
            raise RuntimeError("boom")
    assert read_all(target) == {"a.bin": b"v1"}
    assert leftovers(target) == []


_CRASHING_SAVE = textwrap.dedent(
    """
    import sys, time, os
    from pathlib import Path
    from netrun.storage import atomic
    target, mode = Path(sys.argv[1]), sys.argv[2]
    if mode == "between-renames":
        atomic._exchange = lambda a, b: False   # the portable path: two renames
        real_rename = os.rename
        calls = []
        def slow_rename(src, dst):
            real_rename(src, dst)
            calls.append(src)
            if len(calls) == 1:                  # target moved aside, new one not yet in place
                Path(sys.argv[3]).write_text("now")
                time.sleep(60)
        os.rename = slow_rename
    with atomic.AtomicDirectoryWriter(target, format="netrun-checkpoint", format_version=1) as w:
        for i in range(1000):
            w.write_bytes(f"part-{i:04d}.bin", os.urandom(1000))
            if mode == "mid-write" and i == 20:
                Path(sys.argv[3]).write_text("now")
                time.sleep(60)
    """
)


@pytest.mark.parametrize("mode", ["mid-write", "between-renames"])
def test_sigkill_during_save_leaves_previous_checkpoint(tmp_path, mode):
    target = tmp_path / "ckpt"
    write(target, {"a.bin": b"v1"})
    marker = tmp_path / "marker"
    process = subprocess.Popen([sys.executable, "-c", _CRASHING_SAVE, str(target), mode, str(marker)])
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert process.poll() is None, "the saving process ended early"
            assert time.monotonic() < deadline, "the saving process never reached the crash point"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=10)
    if mode == "between-renames":
        assert not target.exists()  # the crash really hit the window between the renames
    assert read_all(target) == {"a.bin": b"v1"}  # the reader repairs, then reads v1
    assert leftovers(target) == []
    write(target, {"a.bin": b"v3"})  # and the next save works normally
    assert read_all(target) == {"a.bin": b"v3"}


def test_portable_swap_path_without_renameat2(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "ckpt"
    write(target, {"a": b"1"})
    write(target, {"a": b"2"})
    assert read_all(target) == {"a": b"2"} and leftovers(target) == []


def test_recover_is_a_no_op_on_a_healthy_directory(tmp_path):
    target = tmp_path / "ckpt"
    write(target, {"a": b"1"})
    recover_directory(target)
    recover_directory(tmp_path / "never-written")
    assert read_all(target) == {"a": b"1"}


# --- damage and versions ----------------------------------------------------------------


def test_changed_file_fails_checksum(tmp_path):
    target = tmp_path / "ckpt"
    write(target, {"packets.pkl": b"abcdef"})
    (target / "packets.pkl").write_bytes(b"abcdeX")
    with pytest.raises(CorruptManifestError, match=r"packets.pkl' does not match its manifest entry") as info:
        read_all(target)
    assert "checksum differs" in str(info.value)
    assert "Fix: the file was changed or truncated" in str(info.value)


def test_truncated_and_missing_files(tmp_path):
    target = tmp_path / "ckpt"
    write(target, {"a": b"abcdef", "b": b"x"})
    (target / "a").write_bytes(b"abc")
    with pytest.raises(CorruptManifestError, match="3 bytes, expected 6"):
        ManifestDirectory(target, format=FMT, max_version=1).read_bytes("a")
    (target / "b").unlink()
    with pytest.raises(CorruptManifestError, match="listed in the manifest cannot be read"):
        ManifestDirectory(target, format=FMT, max_version=1).read_bytes("b")
    with pytest.raises(CorruptManifestError, match="has no file 'c' in its manifest"):
        ManifestDirectory(target, format=FMT, max_version=1).read_bytes("c")


def test_missing_or_garbled_manifest(tmp_path):
    target = tmp_path / "ckpt"
    with pytest.raises(CorruptManifestError, match="does not exist or is not a directory"):
        ManifestDirectory(target, format=FMT, max_version=1)
    target.mkdir()
    with pytest.raises(CorruptManifestError, match="has no manifest.json"):
        ManifestDirectory(target, format=FMT, max_version=1)
    (target / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptManifestError, match="manifest .* is not valid"):
        ManifestDirectory(target, format=FMT, max_version=1)
    (target / "manifest.json").write_text(json.dumps({"format": FMT}))
    with pytest.raises(CorruptManifestError, match="KeyError"):
        ManifestDirectory(target, format=FMT, max_version=1)


def test_other_format_and_versions(tmp_path):
    target = tmp_path / "ckpt"
    write(target, {"a": b"1"}, version=3)
    with pytest.raises(CorruptManifestError, match="holds a 'netrun-checkpoint' directory, not a 'other' one"):
        ManifestDirectory(target, format="other", max_version=9)
    with pytest.raises(ManifestVersionError) as info:
        ManifestDirectory(target, format=FMT, max_version=2)
    assert "format version 3, but this netrun reads versions 1 to 2" in str(info.value)
    assert "Fix: upgrade netrun" in str(info.value)
    with pytest.raises(ManifestVersionError, match="no longer reads"):
        ManifestDirectory(target, format=FMT, min_version=4, max_version=5)
    assert ManifestDirectory(target, format=FMT, max_version=3).read_bytes("a") == b"1"


@pytest.mark.parametrize("name", ["../escape", "/abs", "manifest.json", "", "a\\b"])
def test_bad_file_names_are_refused(tmp_path, name):
    with AtomicDirectoryWriter(tmp_path / "ckpt", format=FMT, format_version=1) as writer:
        with pytest.raises(ValueError, match="is not allowed in a manifest directory"):
            writer.write_bytes(name, b"x")


def test_atomic_write_bytes_replaces_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "value.bin"
    atomic_write_bytes(path, b"one")
    atomic_write_bytes(path, b"two")
    assert path.read_bytes() == b"two"

    def failing_replace(src, dst):
        raise OSError("simulated rename failure")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        atomic_write_bytes(path, b"three")
    assert path.read_bytes() == b"two"
    assert sorted(p.name for p in path.parent.iterdir()) == ["value.bin"]
