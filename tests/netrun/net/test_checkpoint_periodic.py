"""Periodic checkpoints of a running net: taken while it runs, epochs in flight rewound,
and a resume after SIGKILL loses nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from netrun import Net
from netrun.checkpoint import load_checkpoint_state
from netrun.config import NetConfig
from netrun.config.runtime import runtime_setup
from netrun.errors import NodeConfigError

NODES = textwrap.dedent("""\
    import os
    import threading
    import time

    GATE = threading.Event()
    STARTED = []

    def times_ten(ctx, packets):
        for p in packets["in"]:
            v = ctx.consume_packet(p)
            time.sleep(float(os.environ.get("NETRUN_TEST_WORK_SECONDS", "0.003")))
            ctx.load_output_port("out", ctx.create_packet(v * 10))
        ctx.send_output_salvo("send")

    def plus_one(ctx, packets):
        for p in packets["in"]:
            ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(p) + 1))
        ctx.send_output_salvo("send")

    def gated(ctx, packets):
        values = [ctx.consume_packet(p) for p in packets["in"]]  # live: gone from the engine
        STARTED.append(values)
        if not GATE.wait(10):
            raise TimeoutError("gate never opened")
        for v in values:
            ctx.load_output_port("out", ctx.create_packet(v * 10))
        ctx.send_output_salvo("send")
""")


def _net_toml(func: str, *, defer: bool = False, pool_size: int = 2) -> str:
    return textwrap.dedent(f"""\
        [net.thread_pools.work]
        size = {pool_size}

        [nodes.A]
        in_ports = ["in"]
        out_ports = ["out"]
        exec_node_func = "periodicnodes.{func}"
        [nodes.A.in_salvo_conditions.go]
        when = "nonempty(in)"
        ports = {{ in = 1 }}
        [nodes.A.out_salvo_conditions.send]
        when = "nonempty(out)"
        [nodes.A.options]
        pool = "work"
        defer_net_actions = {str(defer).lower()}

        [nodes.B]
        in_ports = ["in"]
        out_ports = ["out"]
        exec_node_func = "periodicnodes.plus_one"
        [nodes.B.in_salvo_conditions.go]
        when = "nonempty(in)"
        ports = {{ in = 1 }}
        [nodes.B.out_salvo_conditions.send]
        when = "nonempty(out)"

        [[edges]]
        from = "A.out"
        to = "B.in"
    """)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "periodicnodes.py").write_text(NODES)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("periodicnodes", None)


@pytest.fixture
def nets():
    made = []
    yield made
    for net in made:
        try:
            net.stop()
        except Exception:
            pass


def _build(text: str, **options):
    return Net.from_setup(runtime_setup(NetConfig.from_toml(text)), **options)


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


CHILD = textwrap.dedent("""\
    import sys
    project, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.path.insert(0, project)
    from netrun import Net
    from netrun.config import NetConfig
    from netrun.config.runtime import runtime_setup

    text = open(project + "/net.toml").read()
    net = Net.from_setup(runtime_setup(NetConfig.from_toml(text)), checkpoint_path=target,
                         checkpoint_every_epochs=40, handle_sigint=False)
    net.inject_data("A", "in", list(range(count)))
    print("running", flush=True)
    net.start()
    open(project + "/finished", "w").write("yes")
""")


def test_resume_after_sigkill_loses_nothing(project, nets, monkeypatch):
    count = 2000  # ~3 s of work for A's two threads in the child: the kill lands mid-run
    (project / "net.toml").write_text(_net_toml("times_ten"))
    (project / "child.py").write_text(CHILD)
    target = project / "ckpt"
    child = subprocess.Popen([sys.executable, str(project / "child.py"), str(project), str(target), str(count)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "NETRUN_TEST_WORK_SECONDS": "0.003"})
    try:
        deadline = time.monotonic() + 60
        while not (target / "manifest.json").exists():
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.01)
        time.sleep(0.2)  # a few more checkpoints
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    assert not (project / "finished").exists(), "the child finished before it was killed"

    loaded = load_checkpoint_state(target)
    assert loaded.metadata.periodic
    done_before = len(loaded.output_queues["B::out"])
    assert done_before < count  # the checkpoint is from the middle of the run

    monkeypatch.setenv("NETRUN_TEST_WORK_SECONDS", "0")  # the rest runs at full speed here
    restored = Net.load_checkpoint(target, checkpoint_path=project / "ckpt2", checkpoint_every_epochs=100)
    nets.append(restored)
    restored.start()
    assert restored.checkpoint_count >= 1  # the resumed net checkpoints on
    assert load_checkpoint_state(project / "ckpt2").output_queues["B::out"]
    outputs = restored.flush_output_queue("B::out")
    expected = {10 * v + 1 for v in range(count)}
    assert set(outputs) == expected  # no packet lost
    # duplicates only from epochs in flight at the checkpoint (they re-ran after the resume)
    assert len(outputs) - count <= loaded.metadata.in_flight_epochs


def _capture_on_loop(net, target):
    """A periodic checkpoint taken now (on the net's loop, as the driver takes them)."""
    from netrun.net._periodic_checkpoint import capture_checkpoint

    async def capture():
        return capture_checkpoint(net, live=True)

    payload = asyncio.run_coroutine_threadsafe(capture(), net._loop_thread.loop).result(10)
    payload.write(target)
    return payload


@pytest.mark.parametrize("defer", [False, True])
def test_epochs_in_flight_run_again_after_resume(project, nets, defer):
    import periodicnodes

    net = _build(_net_toml("gated", defer=defer))
    nets.append(net)
    net.inject_data("A", "in", [1, 2, 3])
    net.start(threaded=True)
    _wait(lambda: len(periodicnodes.STARTED) == 2)  # two A epochs hold their (consumed) inputs
    payload = _capture_on_loop(net, project / "ckpt")
    assert payload.in_flight == 3  # the third waits in the pool's queue: launched, not started
    periodicnodes.GATE.set()
    assert net.wait_until_blocked(10)
    assert sorted(net.flush_output_queue("B::out")) == [11, 21, 31]

    loaded = load_checkpoint_state(project / "ckpt")
    assert loaded.metadata.in_flight_epochs == 3 and loaded.output_queues["B::out"] == []
    restored = Net.load_checkpoint(project / "ckpt")
    nets.append(restored)
    assert len(restored.get_startable_epochs_by_node("A")) == 3
    restored.start()
    assert sorted(restored.flush_output_queue("B::out")) == [11, 21, 31]  # each exactly once


def test_checkpoints_by_time_and_at_the_end_of_a_run(project, nets):
    target = project / "ckpt"
    net = _build(_net_toml("times_ten"), checkpoint_path=target, checkpoint_every_seconds=0.05)
    nets.append(net)
    net.inject_data("A", "in", list(range(150)))  # ~0.3 s
    seen = []
    net.start(threaded=True)
    deadline = time.monotonic() + 30
    while not net.wait_until_blocked(0.01):
        assert time.monotonic() < deadline
        if (target / "metadata.json").exists():
            try:
                seen.append(json.loads((target / "metadata.json").read_text())["timestamp"])
            except (OSError, ValueError):
                pass
        time.sleep(0.01)
    assert net.wait_until_blocked(30)
    assert len(set(seen)) >= 2  # several checkpoints while running
    assert net.checkpoint_count >= 3 and net.last_checkpoint_error is None
    final = load_checkpoint_state(target)  # written when the run ended: everything done
    assert len(final.output_queues["B::out"]) == 150 and final.metadata.in_flight_epochs == 0


def test_a_failing_periodic_checkpoint_warns_and_the_net_keeps_running(project, nets):
    blocker = project / "blocked"
    blocker.write_text("a file where the checkpoint directory should go")
    net = _build(_net_toml("plus_one"), checkpoint_path=blocker / "ckpt", checkpoint_every_epochs=1)
    nets.append(net)
    net.inject_data("A", "in", [1, 2])
    with pytest.warns(RuntimeWarning, match=r"Periodic checkpoint to '.*blocked/ckpt' failed.*keeps running"):
        net.start()
    assert sorted(net.flush_output_queue("B::out")) == [3, 4]
    assert isinstance(net.last_checkpoint_error, OSError) and net.checkpoint_count == 0


def test_periodic_options_are_checked(project):
    with pytest.raises(NodeConfigError, match="checkpoint_every_epochs must be an integer >= 1, got 0"):
        _build(_net_toml("plus_one"), checkpoint_path=project / "c", checkpoint_every_epochs=0)
    with pytest.raises(NodeConfigError, match="checkpoint_every_seconds must be a number > 0, got -1"):
        _build(_net_toml("plus_one"), checkpoint_path=project / "c", checkpoint_every_seconds=-1)


def test_the_end_of_a_run_does_not_wait_for_ever_on_a_stuck_write(tmp_path):
    """A background write that hangs (a frozen backend) makes the end-of-run checkpoint give
    up after FINAL_WAIT with a warning and ``last_error``, instead of freezing the loop."""
    import threading as _threading
    import warnings as _warnings

    from netrun.net._periodic_checkpoint import PeriodicCheckpointer

    release = _threading.Event()
    stuck = _threading.Thread(target=release.wait, args=(10,), daemon=True)
    stuck.start()
    checkpointer = PeriodicCheckpointer.__new__(PeriodicCheckpointer)
    checkpointer.path = str(tmp_path)
    checkpointer.last_error = None
    checkpointer._writing = stuck
    checkpointer.ended = 1
    checkpointer.FINAL_WAIT = 0.2
    try:
        with _warnings.catch_warnings(record=True) as caught:
            _warnings.simplefilter("always")
            checkpointer.run_ended(core=None)
        assert isinstance(checkpointer.last_error, TimeoutError)
        assert "still running after 0.2 s" in str(checkpointer.last_error)
        assert any("Periodic checkpoint" in str(w.message) for w in caught)
    finally:
        release.set()
