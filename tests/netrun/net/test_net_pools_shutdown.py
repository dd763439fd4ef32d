"""Graceful shutdown of a Net with out-of-process pools: ``Net.stop()`` drains or cancels the
epochs in flight (per pool config), runs stop functions on the workers, and closes every
pool, process and socket: no orphan processes, no listening sockets left."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from _net_graphs import pipeline

from netrun.execution import JobCancelled

TOKEN = "net-pools-shutdown-token-0123456789"


def slow_node(ctx, packets):
    seconds, marker = ctx.consume_packet(packets["in"][0])
    Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    print("finished after", seconds)
    ctx.load_output_port("out", ctx.create_packet(seconds))
    ctx.send_output_salvo("send")


def pid_node(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    print("running", value)
    ctx.load_output_port("out", ctx.create_packet((value, os.getpid())))
    ctx.send_output_salvo("send")


def note_stop(path):
    def stop(net):
        with open(path, "a") as fh:
            fh.write(f"stop {os.getpid()}\n")

    return stop


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _children(exclude: set[int] = frozenset()) -> set[int]:
    out = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.pid in exclude or proc.status() == psutil.STATUS_ZOMBIE \
                    or "resource_tracker" in " ".join(proc.cmdline()):
                continue
        except psutil.Error:
            continue
        out.add(proc.pid)
    return out


def _listening() -> set[tuple]:
    return {(c.laddr.ip, c.laddr.port) for c in psutil.Process().net_connections("inet")
            if c.status == psutil.CONN_LISTEN}


def _started_in_background(net, marker: Path):
    runner = net.start(threaded=True)
    pid = int(_wait_for(lambda: marker.exists() and marker.read_text(), 60, "the epoch to start"))
    return runner, pid


@pytest.mark.timeout(90)
def test_stop_drains_running_epochs_then_runs_stop_functions_and_closes_the_pool(make_net, tmp_path):
    before = _children()
    stops = tmp_path / "stops"
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}}, on_error="continue")
    net.set_node_exec("A", slow_node, stop_node_func=note_stop(str(stops)))
    net.set_node_config("A", pool="cpu")
    marker = tmp_path / "started"
    net.inject_data("A", "in", [(1.0, str(marker))])
    _runner, pid = _started_in_background(net, marker)
    net.stop()
    assert net.flush_output_queue("A::out") == [1.0]  # the epoch finished
    assert net.dead_letter_queue.get_all() == []
    assert [e.message for e in net.get_node_log("A")] == ["finished after 1.0"]
    assert stops.read_text().split() == ["stop", str(pid)]  # in the worker, before it closed
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert _children() == before


@pytest.mark.timeout(90)
@pytest.mark.parametrize("options, reason", [
    ({"on_stop": "cancel"}, "the net was stopped (on_stop='cancel')"),
    ({"drain_timeout": 0.5}, "did not finish within drain_timeout=0.5 s"),
])
def test_stop_cancels_epochs_per_pool_config_and_keeps_their_packets(make_net, tmp_path, options, reason):
    before = _children()
    net = make_net(pipeline("A"), on_error="continue", pools={"cpu": {"type": "process", "size": 1, **options}})
    net.set_node_exec("A", slow_node)
    net.set_node_config("A", pool="cpu", retries=1, defer_net_actions=True)
    marker = tmp_path / "started"
    net.inject_data("A", "in", [(30, str(marker))])
    _runner, pid = _started_in_background(net, marker)
    started = time.monotonic()
    net.stop()
    assert time.monotonic() - started < 15  # not the 30 s the epoch would take
    [entry] = net.dead_letter_queue.get_all()
    assert isinstance(entry.exception, JobCancelled) and entry.retry_count == 1
    assert reason in str(entry.retry_exceptions[0]) and "on process pool 'cpu'" in str(entry.retry_exceptions[0])
    assert "the net is stopping" in str(entry.exception)  # the retry was not sent anywhere
    assert list(entry.packet_values.values()) == [(30, str(marker))]
    _wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
              10, "the busy worker to be killed")
    assert _children() == before


SERVER = """
import asyncio, sys
from pathlib import Path
from netrun.execution import create_execution_manager_server

async def main(port_file, token):
    server = create_execution_manager_server(token=token)
    async with server.serve_background("127.0.0.1", 0) as running:
        Path(port_file).write_text(str(running.port))
        await server.wait_for_shutdown()

if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


@pytest.mark.timeout(120)
def test_stop_leaves_no_process_and_no_listening_socket_behind(make_net, tmp_path):
    pytest.importorskip("distributed")
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port_file = tmp_path / "port"
    server = subprocess.Popen([sys.executable, str(script), str(port_file), TOKEN])
    try:
        _wait_for(lambda: port_file.exists() and port_file.read_text(), 30, "the pool server")
        url = f"ws://127.0.0.1:{port_file.read_text()}"
        before, listening = _children({server.pid}), _listening()
        net = make_net(pipeline("P", "R", "D"), process_pools={"cpu": {"size": 2}}, pools={
            "far": {"type": "remote", "url": url, "token": TOKEN, "num_processes": 2, "by_value": True},
            "cl": {"type": "dask", "n_workers": 1, "threads_per_worker": 1}})
        for node, pool in (("P", "cpu"), ("R", "far"), ("D", "cl")):
            net.set_node_exec(node, pid_node)
            net.set_node_config(node, pool=pool)
        net.inject_data("P", "in", [1, 2])
        net.start()
        out = net.flush_output_queue("D::out")
        assert sorted(value[0][0] for value, _pid in out) == [1, 2]
        assert sorted(e.message for e in net.get_node_log("P")) == ["running 1", "running 2"]
        for node in ("R", "D"):  # prints of every pool kind reach the epoch's log
            assert [e.message.startswith("running (") for e in net.get_node_log(node)] == [True, True]
        remote = net._core.executors["far"].em.get_process_ids("far")
        assert _children({server.pid}) != before  # the process pool runs
        net.stop()
        assert _children({server.pid}) == before
        assert _listening() == listening
        # the server closed the pool of the client that left
        _wait_for(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                                  for p in remote), 15, "the server's pool processes to exit")
    finally:
        server.kill()
        server.wait(10)


@pytest.mark.timeout(60)
def test_a_net_dropped_without_stop_leaves_no_worker_process(tmp_path):
    import gc

    from netrun.net import Net

    before = _children()

    def run_and_forget() -> list[int]:
        net = Net(pipeline("A"), process_pools={"cpu": {"size": 2}})
        net.set_node_exec("A", pid_node)
        net.set_node_config("A", pool="cpu")
        net.inject_data("A", "in", [1])
        net.start()
        assert len(net.flush_output_queue("A::out")) == 1
        return sorted(_children() - before)

    workers = run_and_forget()
    assert len(workers) == 2
    gc.collect()
    _wait_for(lambda: _children() == before, 15, "the dropped net's workers to exit")
