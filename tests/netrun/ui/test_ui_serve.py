"""netrun.ui.serve: what ``netrun ui [FILE]`` runs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from netrun.ui import NotANetFileError, PathOutsideRootError, serve
from netrun.ui.server import DEFAULT_PORT, _pick_port


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_creates_a_missing_file_binds_loopback_and_stops_on_ctrl_c(project):
    port = _free_port()
    code = ("from netrun.ui import serve; "
            f"serve('new.netrun.toml', port={port}, open_browser=False, root={str(project)!r})")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and info is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=1) as response:
                    info = json.loads(response.read())
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"serve() exited early: {proc.stderr.read()}")
                time.sleep(0.1)
        assert info is not None, "the editor did not come up within 20 s"
        assert info["initial_file"] == "new.netrun.toml"
        assert (project / "new.netrun.toml").is_file()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert f"serving {project.resolve()} at http://127.0.0.1:{port}/?file=new.netrun.toml" in out


def test_serve_refuses_a_file_outside_the_root_before_serving(project):
    with pytest.raises(PathOutsideRootError, match="outside the project root"):
        serve("../elsewhere.netrun.toml", open_browser=False, root=project)


def test_serve_refuses_a_file_that_is_not_a_net_file(project):
    with pytest.raises(NotANetFileError, match=r"not a net file; net files end in \.toml or \.json"):
        serve("uitest_nodes.py", open_browser=False, root=project)


def test_port_zero_prefers_8765_then_any_free_port():
    with socket.socket() as busy:
        try:
            busy.bind(("127.0.0.1", DEFAULT_PORT))
        except OSError:
            pass  # already taken by something else: the fallback is exercised either way
        port = _pick_port("127.0.0.1", 0)
    assert port != DEFAULT_PORT and port > 0
    assert _pick_port("127.0.0.1", 9999) == 9999
