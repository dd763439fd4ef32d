"""``Net.serve_pool`` / ``Net.request_pool_shutdown``: a net definition served as a remote
pool by another process on localhost, the net running its nodes there end to end, the log
file of the server, shutdown requested by the net, and bad inputs. Loopback only, every
wait bounded, the server process always reaped."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from _net_graphs import pipeline

from netrun.config.runtime import load_runtime_setup
from netrun.execution import ExecutionError, UnknownPool
from netrun.net import Net
from netrun.rpc import TokenRequired

TOKEN = "net-pools-serve-token-0123456789abcdef"

NODES = '''
import os

def double(x: int) -> int:
    if x == 3:
        raise ValueError("no threes here")
    print("doubling", x)
    return 2 * x

def where(x: int) -> tuple:
    return (x, os.getpid())
'''

DEFINITION = '''
[net]
on_error = "continue"

[net.pools.far.spec]
type = "remote"
url = "ws://127.0.0.1:{port}"
num_processes = 2

[nodes.double]
factory = "netrun.node_factories.from_function"
factory_args = {{ func = "serve_pool_nodes.double" }}

[nodes.double.options]
pool = "far"

[nodes.where]
factory = "netrun.node_factories.from_function"
factory_args = {{ func = "serve_pool_nodes.where" }}

[nodes.where.options]
pool = "far"

[[edges]]
from = "double.out"
to = "where.x"
'''

SERVER = '''
import asyncio, sys
from pathlib import Path
from netrun.net import Net

async def main(definition, port, log_file, ready):
    async with Net.serve_pool(definition, port=port, log_file=log_file) as server:
        Path(ready).write_text(server.url)
        await server.wait_until_stopped(timeout=120)
    print("server stopped", flush=True)

if __name__ == "__main__":  # the pool's spawned worker processes import this file too
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A definition in ``tmp_path`` served by a separate server process (``Net.serve_pool``)."""
    monkeypatch.setenv("NETRUN_REMOTE_TOKEN", TOKEN)
    port = _free_port()
    (tmp_path / "serve_pool_nodes.py").write_text(NODES)
    definition = tmp_path / "served.netrun.toml"
    definition.write_text(DEFINITION.format(port=port))
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    ready, log_file = tmp_path / "ready", tmp_path / "executions.jsonl"
    proc = subprocess.Popen([sys.executable, str(script), str(definition), str(port), str(log_file), str(ready)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: ready.exists() or proc.poll() is not None, 60, "the pool server to listen")
        assert proc.poll() is None, proc.communicate(timeout=5)
        yield proc, definition, log_file, f"ws://127.0.0.1:{port}"
    finally:
        children = []
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            pass
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass


@pytest.mark.timeout(120)
def test_a_net_runs_its_nodes_on_a_served_pool_and_shuts_the_server_down(served):
    proc, definition, log_file, url = served
    assert Path(definition.parent / "ready").read_text() == url

    net = Net.from_setup(load_runtime_setup(definition), handle_sigint=False)
    try:
        net.inject_data("double", "x", [1, 2, 3, 4])
        net.start()
        results = net.flush_output_queue("where::out")
        # the values went through both nodes, on the server's worker processes
        assert sorted(x for x, _ in results) == [2, 4, 8]
        pids = {pid for _, pid in results}
        server_workers = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}  # the net's pool
        assert pids <= server_workers
        assert os.getpid() not in pids
        # the failure travelled back and follows the net's error policy
        [entry] = net.dead_letter_queue.get_all()
        assert entry.node_name == "double" and isinstance(entry.exception, ValueError)
        assert "no threes here" in str(entry.exception)
        # prints made on the server reach the epoch log here
        printed = sorted(e.message for e in net.get_node_log("double") if e.message.startswith("doubling"))
        assert printed == ["doubling 1", "doubling 2", "doubling 4"]

        asyncio.run(net.request_pool_shutdown("far", timeout=10))
        out, err = proc.communicate(timeout=30)  # the server's wait_until_stopped returned
        assert proc.returncode == 0, err
        assert "server stopped" in out
        _wait_for(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                                  for p in server_workers), 15, "the server's worker processes to exit")
    finally:
        net.stop()

    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    runs = [r for r in records if r["epoch_id"] is not None]
    by_value = {tuple(p["text"] for p in r["prints"]): r for r in runs if r["node"] == "double"}
    assert {r["node"] for r in runs} == {"double", "where"} and len(runs) == 7
    assert by_value[("doubling 2",)]["outcome"] == "success" and by_value[("doubling 2",)]["error"] is None
    [failed] = [r for r in runs if r["outcome"] == "error"]
    assert failed["node"] == "double" and failed["error"] == "ValueError: no threes here"
    assert {r["pid"] for r in runs} <= server_workers


@pytest.mark.timeout(60)
def test_request_pool_shutdown_refuses_unknown_and_non_remote_pools(make_net):
    net = make_net(pipeline("A", "B", "C"), thread_pools={"io": {"size": 1}}, process_pools={"cpu": {"size": 1}},
                   pools={"far": {"type": "remote", "url": f"ws://127.0.0.1:{_free_port()}", "token": TOKEN}})
    with pytest.raises(UnknownPool, match=r"this net has no pool 'nope' \(pools: cpu, far, io\); give the name "
                                          r"of a remote pool"):
        asyncio.run(net.request_pool_shutdown("nope"))
    for pool, what in (("io", "a thread pool"), ("cpu", "a process pool"), ("main", r"the event loop \('main'\)")):
        with pytest.raises(TypeError, match=rf"pool '{pool}' is {what}, not a remote pool; only a remote pool"):
            asyncio.run(net.request_pool_shutdown(pool))
    with pytest.raises(ValueError, match="timeout must be a number of seconds > 0, got 0"):
        asyncio.run(net.request_pool_shutdown("far", timeout=0))
    # nobody listens there: a clear error, quickly
    started = time.monotonic()
    with pytest.raises(ExecutionError, match=r"cannot reach the server of remote pool 'far' at ws://127\.0\.0\.1:"
                                             r"\d+ .*is it running\?"):
        asyncio.run(net.request_pool_shutdown("far", timeout=5))
    assert time.monotonic() - started < 10


def test_serve_pool_checks_its_inputs(tmp_path, monkeypatch):
    monkeypatch.delenv("NETRUN_REMOTE_TOKEN", raising=False)
    (tmp_path / "serve_pool_nodes_b.py").write_text(NODES)
    definition = tmp_path / "served.netrun.toml"
    definition.write_text(DEFINITION.format(port=9).replace("serve_pool_nodes.", "serve_pool_nodes_b."))
    with pytest.raises(TokenRequired, match="Net.serve_pool needs a shared token: pass token=... or set the "
                                            "NETRUN_REMOTE_TOKEN"):
        Net.serve_pool(definition)
    with pytest.raises(FileNotFoundError, match="no net definition file at .*missing.toml"):
        Net.serve_pool(tmp_path / "missing.toml", token=TOKEN)
    with pytest.raises(TypeError, match="needs a NetConfig or the path of a net definition file, got dict"):
        Net.serve_pool({"graph": {}}, token=TOKEN)
    with pytest.raises(ValueError, match="port must be an integer 0..65535"):
        Net.serve_pool(definition, port=70000, token=TOKEN)
    with pytest.raises(ValueError, match="worker_name must be a non-empty string"):
        Net.serve_pool(definition, worker_name="", token=TOKEN)
    # a definition whose functions do not import here fails now, not at the first epoch
    broken = tmp_path / "broken.netrun.toml"
    broken.write_text(DEFINITION.format(port=9).replace("serve_pool_nodes.double", "no_such_module_xyz.double"))
    with pytest.raises(Exception, match="no_such_module_xyz"):
        Net.serve_pool(broken, token=TOKEN)

    async def not_started():
        server = Net.serve_pool(definition, token=TOKEN, port=0)
        assert server.host == "127.0.0.1" and not server.is_running
        with pytest.raises(RuntimeError, match="the server is not running; await start"):
            await server.wait_until_stopped()
        async with server:
            assert server.url.startswith("ws://127.0.0.1:") and server.port > 0
            with pytest.raises(RuntimeError, match="already running at ws://127.0.0.1:"):
                await server.start()
            with pytest.raises(asyncio.TimeoutError):
                await server.wait_until_stopped(timeout=0.05)
        assert not server.is_running

    asyncio.run(not_started())
