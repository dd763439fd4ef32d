"""Faults through a Net: worker processes SIGKILLed mid-epoch, stuck epochs past their
timeout, a remote pool server killed mid-run (and started again). Real processes, real
servers, loopback only; every wait is bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from _net_graphs import pipeline

from netrun.errors import EpochTimeout
from netrun.execution import WorkerCrashed

TOKEN = "net-pools-faults-token-0123456789"

SERVER = """
import asyncio, sys
from pathlib import Path
from netrun.execution import create_execution_manager_server

async def main(port_file, token, port):
    server = create_execution_manager_server(token=token)
    async with server.serve_background("127.0.0.1", port) as running:
        Path(port_file).write_text(str(running.port))
        await server.wait_for_shutdown()

if __name__ == "__main__":  # the pool's spawned processes import this file too
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


# -- node functions (module level: the worker processes import them) --------------------------
def sleepy_first_attempt(ctx, packets):
    """Attempt 0 writes its pid where the test can see it and hangs (the test kills it)."""
    value, pid_file = ctx.consume_packet(packets["in"][0])
    if ctx.retry_count == 0:
        print("attempt 0 in", os.getpid(), flush=True)
        Path(pid_file).write_text(str(os.getpid()))
        time.sleep(30)
    ctx.load_output_port("out", ctx.create_packet((value, os.getpid(), ctx.retry_count)))
    ctx.send_output_salvo("send")


def crash_always(ctx, packets):
    ctx.consume_packet(packets["in"][0])
    os.kill(os.getpid(), signal.SIGKILL)


def hang_or_pid(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    if value == "hang":
        time.sleep(30)
    ctx.load_output_port("out", ctx.create_packet(os.getpid()))
    ctx.send_output_salvo("send")


def kill_the_server(ctx, packets):
    """Runs on the pool server's worker process: kills the server (its parent) mid-epoch."""
    value = ctx.consume_packet(packets["in"][0])
    if value == "kill":
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(30)
    ctx.load_output_port("out", ctx.create_packet(value * 2))
    ctx.send_output_salvo("send")


# -- helpers ------------------------------------------------------------------------------------
def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp_path: Path, port: int = 0) -> tuple[subprocess.Popen, str]:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    port_file = tmp_path / f"port-{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, str(script), str(port_file), TOKEN, str(port)])
    try:
        _wait_for(lambda: port_file.exists() and port_file.read_text(), 30, "the pool server to listen")
    except AssertionError:
        proc.kill()
        raise
    return proc, f"ws://127.0.0.1:{port_file.read_text()}"


def stop_server(proc: subprocess.Popen) -> None:
    children = []
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        pass
    proc.kill()
    proc.wait(10)
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass


# -- process pools -----------------------------------------------------------------------------
@pytest.mark.timeout(90)
def test_worker_killed_mid_epoch_is_retried_on_a_live_worker(make_net, tmp_path):
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}}, on_error="continue")
    net.set_node_exec("A", sleepy_first_attempt)
    net.set_node_config("A", pool="cpu", retries=1, defer_net_actions=True)
    pid_file = tmp_path / "pid"
    net.inject_data("A", "in", [("x", str(pid_file))])
    killed = []

    def killer() -> None:
        pid = int(_wait_for(lambda: pid_file.exists() and pid_file.read_text(), 60, "the first attempt"))
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    thread = threading.Thread(target=killer)
    thread.start()
    net.start()
    thread.join(10)
    [(value, pid, attempt)] = net.flush_output_queue("A::out")
    assert (value, attempt) == ("x", 1)
    assert pid != killed[0] and pid != os.getpid()  # the retry ran on the replacement process
    assert net.dead_letter_queue.get_all() == []
    log = [e.message for e in net.get_node_log("A")]
    assert f"attempt 0 in {killed[0]}" in log  # printed before the crash, routed live to the log
    failure = next(m for m in log if m.startswith("attempt 0 failed"))
    assert "WorkerCrashed" in failure and "killed by signal 9" in failure and "net:node:A" in failure


@pytest.mark.timeout(90)
def test_a_worker_that_always_crashes_ends_in_the_dead_letter_queue(make_net):
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}}, on_error="continue")
    net.set_node_exec("A", crash_always)
    net.set_node_config("A", pool="cpu", retries=1, defer_net_actions=True)
    net.inject_data("A", "in", [7])
    net.start()
    [entry] = net.dead_letter_queue.get_all()
    assert isinstance(entry.exception, WorkerCrashed) and entry.retry_count == 1
    assert [type(e) for e in entry.retry_exceptions] == [WorkerCrashed, WorkerCrashed]
    assert list(entry.packet_values.values()) == [7]  # the input value is kept, not lost


@pytest.mark.timeout(90)
def test_an_epoch_past_its_timeout_frees_its_worker(make_net):
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}}, on_error="continue")
    net.set_node_exec("A", hang_or_pid)
    net.set_node_config("A", pool="cpu")
    net.inject_data("A", "in", ["ok"])
    net.start()
    [first_pid] = net.flush_output_queue("A::out")
    net.set_node_config("A", timeout=0.5)
    started = time.monotonic()
    net.inject_data("A", "in", ["hang"])
    net.start()
    assert time.monotonic() - started < 20  # not the 30 s of the stuck call
    [entry] = net.dead_letter_queue.get_all()
    assert isinstance(entry.exception, EpochTimeout)
    assert any("abandoned after its timeout" in e.message for e in net.get_node_log("A"))
    # (a timeout counts from the epoch's launch, so the next one runs without: the
    # replacement process is still starting)
    net.set_node_config("A", timeout=None)
    net.inject_data("A", "in", ["ok"])
    net.start()
    [second_pid] = net.flush_output_queue("A::out")  # the next epoch ran on a replacement
    assert second_pid != first_pid
    _wait_for(lambda: not _alive(first_pid), 10, "the stuck worker to be killed")


# -- remote pools ------------------------------------------------------------------------------
@pytest.mark.timeout(120)
def test_remote_server_killed_mid_run_fails_epochs_then_the_net_reconnects(make_net, tmp_path):
    port = _free_port()
    proc, url = start_server(tmp_path, port)
    try:
        net = make_net(pipeline("A"), on_error="continue",
                       pools={"far": {"type": "remote", "url": url, "token": TOKEN, "num_processes": 1,
                                      "by_value": True}})
        net.set_node_exec("A", kill_the_server)
        net.set_node_config("A", pool="far", retries=2, retry_wait=0.05, defer_net_actions=True)
        net.inject_data("A", "in", [1])
        net.start()
        assert net.flush_output_queue("A::out") == [2]
        server_workers = net._core.executors["far"].em.get_process_ids("far")

        started = time.monotonic()
        net.inject_data("A", "in", ["kill"])
        net.start()  # the server dies under the epoch: nothing may hang
        assert time.monotonic() - started < 30
        proc.wait(10)
        [entry] = net.dead_letter_queue.get_all()
        assert isinstance(entry.exception, WorkerCrashed) and entry.retry_count == 2
        assert "was lost" in str(entry.retry_exceptions[0])
        assert "every worker of remote pool 'far' is gone" in str(entry.exception)
        assert "restart the pool server" in str(entry.exception)
        _wait_for(lambda: not any(_alive(p) for p in server_workers), 15, "the dead server's workers to exit")

        # a new server on the same address: the next run reconnects by itself
        proc, url2 = start_server(tmp_path, port)
        assert url2 == url
        net.inject_data("A", "in", [5])
        net.start()
        assert net.flush_output_queue("A::out") == [10]
    finally:
        stop_server(proc)


@pytest.mark.timeout(60)
def test_a_remote_pool_that_cannot_connect_fails_the_start_clearly(make_net):
    net = make_net(pipeline("A"), pools={"far": {"type": "remote", "url": f"ws://127.0.0.1:{_free_port()}",
                                                 "token": TOKEN, "start_timeout": 5}})
    net.set_node_exec("A", kill_the_server)
    net.set_node_config("A", pool="far")
    net.inject_data("A", "in", [1])
    from netrun.execution import ExecutionError

    with pytest.raises(ExecutionError, match="Remote pool 'far' could not start: .*check that a pool server"):
        net.start()


@pytest.mark.timeout(90)
def test_a_remote_server_that_freezes_without_closing_the_connection_fails_its_epochs_in_bounded_time(
        make_net, tmp_path):
    """SIGSTOP: the server's socket stays open but nothing answers, not even the WebSocket
    pings. The keepalive (ping_interval/ping_timeout, short here) declares the connection
    lost; the epoch fails with WorkerCrashed, follows its retries, and ends in the DLQ."""
    proc, url = start_server(tmp_path)
    try:
        net = make_net(pipeline("A"), on_error="continue",
                       pools={"far": {"type": "remote", "url": url, "token": TOKEN, "num_processes": 1,
                                      "by_value": True, "ping_interval": 0.2, "ping_timeout": 0.5}})
        net.set_node_exec("A", hang_or_pid)
        net.set_node_config("A", pool="far", retries=2, retry_wait=0.05, defer_net_actions=True)
        net.inject_data("A", "in", [1])
        net.start()
        [server_worker] = net.flush_output_queue("A::out")
        assert _alive(server_worker)

        os.kill(proc.pid, signal.SIGSTOP)  # frozen: the connection is never closed
        started = time.monotonic()
        net.inject_data("A", "in", [2])
        net.start()
        elapsed = time.monotonic() - started
        assert elapsed < 5, f"the frozen server was noticed only after {elapsed:.1f} s"
        assert net.flush_output_queue("A::out") == []
        [entry] = net.dead_letter_queue.get_all()
        assert isinstance(entry.exception, WorkerCrashed) and entry.retry_count == 2
        assert all(isinstance(e, WorkerCrashed) for e in entry.retry_exceptions)
        assert "the connection to the remote pool server at" in str(entry.retry_exceptions[0])
        assert "was lost" in str(entry.retry_exceptions[0])
        assert "every worker of remote pool 'far' is gone" in str(entry.exception)
        net.stop()
    finally:
        stop_server(proc)  # SIGKILL ends a stopped process too
