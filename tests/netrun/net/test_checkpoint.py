"""Checkpoints: save a paused net mid-run, load it into a new Net, resume to the same outputs."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
import time

import pytest

from netrun import Net
from netrun.checkpoint import CHECKPOINT_VERSION, load_checkpoint_state
from netrun.errors import NetNotPausedError
from netrun.net.state import NetState
from netrun.storage.errors import CorruptManifestError, ManifestVersionError

NODES = textwrap.dedent("""\
    def double(ctx, packets):
        for packet in packets["in"]:
            ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(packet) * 2))
        ctx.send_output_salvo("send")

    def inc(ctx, packets):
        for packet in packets["in"]:
            ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(packet) + 1))
        ctx.send_output_salvo("send")

    def pair_sum(ctx, packets):
        a = ctx.consume_packet(packets["a"][0])
        b = ctx.consume_packet(packets["b"][0])
        ctx.load_output_port("out", ctx.create_packet((a, b, a + b)))
        ctx.send_output_salvo("send")
""")


def _node(name, ins, func, when):
    return textwrap.dedent(f"""\
        [nodes.{name}]
        in_ports = {json.dumps(ins)}
        out_ports = ["out"]
        exec_node_func = "ckptnodes.{func}"
        [nodes.{name}.in_salvo_conditions.go]
        when = "{when}"
        [nodes.{name}.out_salvo_conditions.send]
        when = "nonempty(out)"
    """)


# A doubles, B increments, Join pairs one packet from A-side and one from B-side.
NET = (_node("A", ["in"], "double", "nonempty(in)") + _node("B", ["in"], "inc", "nonempty(in)")
       + _node("Join", ["a", "b"], "pair_sum", "nonempty(a) and nonempty(b)") + textwrap.dedent("""\
    [[edges]]
    from = "A.out"
    to = "Join.a"
    [[edges]]
    from = "B.out"
    to = "Join.b"
"""))

FIRST = [1, 2, 3]
LATER = [10, 20]


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "ckptnodes.py").write_text(NODES)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("ckptnodes", None)


@pytest.fixture
def nets():
    made = []
    yield made
    for net in made:
        try:
            net.stop()
        except Exception:
            pass


def _build(nets):
    net = Net.from_toml(NET)
    nets.append(net)
    return net


def _stopped_mid_run(nets):
    """A net paused with outputs already queued, startable epochs and packets at ports."""
    net = _build(nets)
    net.inject_data("A", "in", FIRST)
    net.inject_data("B", "in", FIRST)
    net.run_step()  # A and B epochs run; Join's inputs sit on edges
    net.run_step(start_epochs=False)  # Join epochs become startable
    net.inject_data("A", "in", LATER)  # waiting at A.in, no epoch yet
    net.inject_data("B", "in", LATER)
    return net


def _uninterrupted(nets):
    net = _build(nets)
    net.inject_data("A", "in", FIRST)
    net.inject_data("B", "in", FIRST)
    net.run_step()
    net.run_step(start_epochs=False)
    net.inject_data("A", "in", LATER)
    net.inject_data("B", "in", LATER)
    net.start()
    return net.flush_all_output_queues()


def test_resumed_net_gives_the_outputs_of_an_uninterrupted_run(project, nets):
    expected = _uninterrupted(nets)
    assert expected == {"Join::out": [(2, 2, 4), (4, 3, 7), (6, 4, 10), (20, 11, 31), (40, 21, 61)]}

    net = _stopped_mid_run(nets)
    assert net.state is NetState.PAUSED
    startable = net.get_startable_epochs()
    assert len(startable) == 3 and len(net.get_startable_epochs_by_node("Join")) == 3
    waiting = net.get_packets_at_port("A", "in")
    assert len(waiting) == 2
    net.save_checkpoint(project / "ckpt")

    restored = Net.load_checkpoint(project / "ckpt")
    nets.append(restored)
    assert restored is not net and restored.state is NetState.CREATED
    assert sorted(restored.get_startable_epochs()) == sorted(startable)
    assert restored.get_packets_at_port("A", "in") == waiting
    assert [restored.value_store.get_value(p) for p in waiting] == LATER
    restored.start()
    assert restored.flush_all_output_queues() == expected

    # the original net, resumed too, agrees (saving did not disturb it)
    net.start()
    assert net.flush_all_output_queues() == expected


def test_values_already_in_output_queues_are_kept(project, nets):
    net = _stopped_mid_run(nets)
    net.start()  # all five results wait, unread, in the output queue
    net.save_checkpoint(project / "ckpt")
    restored = Net.load_checkpoint(project / "ckpt")
    nets.append(restored)
    queued = net.flush_all_output_queues(include_metadata=True)
    again = restored.flush_all_output_queues(include_metadata=True)
    assert len(queued["Join::out"]) == 5
    assert again == queued  # values, packet and epoch IDs, timestamps
    loaded = load_checkpoint_state(project / "ckpt")
    assert loaded.metadata.packet_count == 0 and loaded.metadata.epoch_count == 0


def test_saving_a_net_that_is_not_paused_raises(project, nets):
    net = _build(nets)
    net.inject_data("A", "in", [1])
    runner = net.start(threaded=True)
    deadline = time.monotonic() + 5
    while net.state is not NetState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.005)
    assert net.state is NetState.RUNNING
    with pytest.raises(NetNotPausedError, match=r"save_checkpoint.*RUNNING.*requires the net to be paused.*net\.pause\(\)"):
        net.save_checkpoint(project / "ckpt")
    net.pause()
    assert net.state is NetState.PAUSED
    net.save_checkpoint(project / "ckpt")
    assert runner is not None
    assert (project / "ckpt" / "manifest.json").exists()


def test_corrupted_checkpoint_names_the_file(project, nets):
    net = _stopped_mid_run(nets)
    net.save_checkpoint(project / "ckpt")
    pkl = project / "ckpt" / "packets.pkl"
    data = bytearray(pkl.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pkl.write_bytes(bytes(data))
    with pytest.raises(CorruptManifestError, match=r"packets\.pkl.*does not match its manifest"):
        Net.load_checkpoint(project / "ckpt")
    net.save_checkpoint(project / "ckpt")  # a good save replaces the damaged one
    Net.load_checkpoint(project / "ckpt").stop()
    (project / "ckpt" / "net_state.json").unlink()
    with pytest.raises(CorruptManifestError, match=r"net_state\.json.*cannot be read"):
        Net.load_checkpoint(project / "ckpt")


def test_version_mismatch_raises(project, nets):
    net = _stopped_mid_run(nets)
    target = project / "ckpt"
    net.save_checkpoint(target)
    manifest = target / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = CHECKPOINT_VERSION + 98
    manifest.write_text(json.dumps(data))
    with pytest.raises(ManifestVersionError, match=rf"{target.name}.*version {CHECKPOINT_VERSION + 98}.*upgrade netrun"):
        Net.load_checkpoint(target)


def test_not_a_checkpoint_raises(project):
    (project / "empty").mkdir()
    with pytest.raises(CorruptManifestError, match="has no manifest.json"):
        Net.load_checkpoint(project / "empty")


def test_failed_save_leaves_the_previous_checkpoint_intact(project, nets):
    net = _stopped_mid_run(nets)
    target = project / "ckpt"
    net.save_checkpoint(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    lock = threading.Lock()  # cannot be pickled
    pid = net.inject_data("B", "in", [lock])[0]
    with pytest.raises(TypeError, match=rf"packet '{pid}' cannot be pickled"):
        net.save_checkpoint(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    restored = Net.load_checkpoint(target)
    nets.append(restored)
    assert len(restored.get_startable_epochs()) == 3


FACTORY_NET = textwrap.dedent("""\
    [net]
    history_max_size = 1000

    [nodes.Inc]
    factory = "netrun.node_factories.from_function"
    factory_args = { func = "ckptnodes.plus_one" }
""")


def test_factory_nodes_history_and_unknown_classes(project, nets):
    (project / "ckptnodes.py").write_text(NODES + textwrap.dedent("""\

        def plus_one(x: int) -> int:
            return x + 1

        class Box:
            def __init__(self, v):
                self.v = v
    """))
    net = Net.from_toml(FACTORY_NET)
    nets.append(net)
    port = next(iter(net.graph.nodes()["Inc"].in_ports))
    net.inject_data("Inc", port, [1, 2])
    net.run_step(start_epochs=False)
    assert len(net.get_startable_epochs()) == 2
    net.save_checkpoint(project / "ckpt")
    loaded = load_checkpoint_state(project / "ckpt")
    assert loaded.metadata.has_history and loaded.history_data  # the engine actions so far
    assert loaded.metadata.packet_count == 2 and loaded.metadata.epoch_count == 2

    restored = Net.load_checkpoint(project / "ckpt")  # the factory makes the function again
    nets.append(restored)
    restored.start()
    assert sorted(sum(restored.flush_all_output_queues().values(), [])) == [2, 3]

    # a value whose class cannot be imported any more: the error names packets.pkl
    import ckptnodes

    net.inject_data("Inc", port, [ckptnodes.Box(1)])
    net.save_checkpoint(project / "ckpt2")
    (project / "ckptnodes.py").write_text("")
    sys.modules.pop("ckptnodes", None)
    with pytest.raises(CorruptManifestError, match=r"ckpt2/packets\.pkl' cannot be unpickled"):
        load_checkpoint_state(project / "ckpt2")


def test_functions_without_import_path_cannot_be_saved(project, nets):
    from netrun.config import ConfigError

    net = _build(nets)
    net.set_node_exec("B", lambda ctx, packets: None)
    net.inject_data("A", "in", [1])
    net.run_step(start_epochs=False)
    with pytest.raises(ConfigError, match="'B'"):
        net.save_checkpoint(project / "ckpt")
    assert not (project / "ckpt").exists()


def test_stopped_net_and_lazy_values_are_saved(project, nets):
    net = _build(nets)
    net.inject_data("A", "in", [1])
    pid = net.inject_data("B", "in", [0])[0]
    net.value_store.store_value_func(pid, lambda: 41)  # computed when consumed
    net.run_step(start_epochs=False)
    net.stop()
    assert net.state is NetState.STOPPED
    net.save_checkpoint(project / "ckpt")
    restored = Net.load_checkpoint(project / "ckpt")
    nets.append(restored)
    restored.start()
    assert restored.flush_all_output_queues() == {"Join::out": [(2, 42, 44)]}
