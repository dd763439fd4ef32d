"""The original implementation's checkpoint form: ``save_checkpoint_state`` with packet
states, its file set, ``load_checkpoint_state`` fields, and ``Net.load_checkpoint`` resuming
from it (new packet IDs); netrun's net-state form keeps working next to it."""

from __future__ import annotations

import json
import pickle
import sys

import pytest
from test_checkpoint import NET, NODES, _build, _stopped_mid_run, _uninterrupted

from netrun import Net
from netrun.checkpoint import (
    CheckpointMetadata,
    LoadedCheckpoint,
    PacketState,
    get_all_packet_states,
    load_checkpoint_state,
    save_checkpoint_state,
)
from netrun.storage.errors import CorruptManifestError

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


ORIGINAL_FILES = {"metadata.json", "net_definition.toml", "packet_states.json", "packet_values.pkl",
                  "node_configs.json", "history.jsonl"}
SECTIONS = dict(node_configs={"A": {"retries": "0"}}, node_exec_paths={"A": {"exec_func": "ckptnodes.double"}},
                node_factories={}, port_types={"A": {"in:in": "int"}})


def _original_save(net, target, history=None):
    """What the original ``Net.save_checkpoint`` did, through the original signature."""
    sim = net._core.engine.sim
    store = net.value_store
    ids = [pid for pid in store._active]
    states = get_all_packet_states(sim, ids, net.graph)
    values = {pid: store.get_value(pid) for pid in ids}
    save_checkpoint_state(target, net.to_toml(), states, values, SECTIONS["node_configs"],
                          SECTIONS["node_exec_paths"], SECTIONS["node_factories"], SECTIONS["port_types"],
                          history, CheckpointMetadata(timestamp="2026-01-01T00:00:00+00:00"))
    return states, values


def test_original_form_writes_the_original_files_and_loads_back(project, nets):
    net = _stopped_mid_run(nets)
    history = [{"event": "one"}, {"event": "two"}]
    states, values = _original_save(net, project / "ckpt", history)
    assert ORIGINAL_FILES <= {p.name for p in (project / "ckpt").iterdir()}
    assert not (project / "ckpt" / "net_state.json").exists()
    assert json.loads((project / "ckpt" / "node_configs.json").read_text()) == SECTIONS

    loaded = load_checkpoint_state(project / "ckpt")
    assert isinstance(loaded, LoadedCheckpoint) and loaded.layout == "packet_states"
    assert loaded.packet_states == states and len(states) == 10  # 6 in Join epochs, 4 at A.in / B.in
    assert loaded.packet_values == values
    assert (loaded.node_configs, loaded.node_exec_paths, loaded.node_factories, loaded.port_types) == (
        SECTIONS["node_configs"], SECTIONS["node_exec_paths"], {}, SECTIONS["port_types"])
    assert loaded.history_data == history
    assert loaded.metadata.packet_count == 10 and loaded.metadata.has_history
    assert loaded.net_definition_toml == net.to_toml()
    assert loaded.net_state is None and loaded.output_queues == {} and loaded.dead_letters == []
    # the fields in the original's order
    assert [f.name for f in LoadedCheckpoint.__dataclass_fields__.values()][:9] == [
        "metadata", "net_definition_toml", "packet_states", "packet_values", "node_configs",
        "node_exec_paths", "node_factories", "port_types", "history_data"]
    # packets inside startable epochs are recorded at the input port they arrived on
    kinds = sorted((s.location_kind, s.location_data.get("port_name")) for s in states)
    assert kinds == [("input_port", "a")] * 3 + [("input_port", "b")] * 3 + [("input_port", "in")] * 4


# Join takes one packet per port per epoch: the engine forms the saved epochs again from
# packets restored at its input ports (with "take all" conditions they would merge into one,
# the original layout's limit; net_state checkpoints keep epochs as they were)
ONE_EACH = NET.replace('when = "nonempty(a) and nonempty(b)"', 'when = "nonempty(a) and nonempty(b)"\nports = { a = 1, b = 1 }')


def test_net_resumes_from_the_original_form_with_new_packet_ids(project, nets, monkeypatch):
    import test_checkpoint

    monkeypatch.setattr(test_checkpoint, "NET", ONE_EACH)
    expected = _uninterrupted(nets)
    assert expected == {"Join::out": [(2, 2, 4), (4, 3, 7), (6, 4, 10), (20, 11, 31), (40, 21, 61)]}
    net = _stopped_mid_run(nets)
    states, values = _original_save(net, project / "ckpt")
    restored = Net.load_checkpoint(project / "ckpt")
    nets.append(restored)
    # the engine ran until blocked: the three Join epochs are startable again
    assert len(restored.get_startable_epochs_by_node("Join")) == 3
    # the packets injected at A.in and B.in formed epochs too (the engine ran until blocked)
    assert len(restored.get_startable_epochs_by_node("A")) == 1
    new_ids = list(restored.value_store._active)
    assert len(new_ids) == 10 and not set(new_ids) & {s.packet_id for s in states}
    assert sorted(map(repr, (restored.value_store.get_value(p) for p in new_ids))) == sorted(
        map(repr, values.values()))
    restored.start()
    assert restored.flush_all_output_queues() == expected


def test_a_directory_the_original_implementation_wrote_loads_without_a_manifest(project, nets):
    net = _build(nets)
    [pid] = net.inject_data("A", "in", [7])
    target = project / "legacy"
    target.mkdir()
    (target / "metadata.json").write_text(json.dumps({"timestamp": "2025-05-01T00:00:00", "netrun_version": "0.1.0",
                                                      "packet_count": 2, "has_history": True}))
    (target / "net_definition.toml").write_text(net.to_toml())
    marker = "01KAAAAAAAAAAAAAAAAAAAAAAA"
    (target / "packet_states.json").write_text(json.dumps([
        {"packet_id": pid, "location_kind": "input_port", "location_data": {"node_name": "A", "port_name": "in"}},
        {"packet_id": marker, "location_kind": "outside_net", "location_data": {}},
    ]))
    (target / "packet_values.pkl").write_bytes(pickle.dumps({pid: 7, marker: {"__value_func__": True}}))
    (target / "node_configs.json").write_text(json.dumps({k: {} for k in SECTIONS}))
    loaded = load_checkpoint_state(target)  # no manifest.json, no history.jsonl
    assert loaded.metadata.netrun_version == "0.1.0" and loaded.history_data is None
    assert [s.packet_id for s in loaded.packet_states] == [pid, marker]
    with pytest.warns(RuntimeWarning, match=rf"packet\(s\) {marker} had a value function the original runtime "
                      r"did not save; they are restored without a value"):
        restored = Net.load_checkpoint(target)
    nets.append(restored)
    assert len(restored.value_store) == 1  # the marker packet has no value
    restored.start()
    [doubled] = restored.get_packets_at_port("Join", "a")  # Join waits for its b side
    assert restored.value_store.get_value(doubled) == 14

def test_a_packet_inside_a_vanished_epoch_is_a_clear_error(project, nets):
    net = _build(nets)
    save_checkpoint_state(project / "ckpt", net.to_toml(),
                          [PacketState("p1", "node", {"epoch_id": "01KBBBBBBBBBBBBBBBBBBBBBBB"})], {"p1": 1},
                          {}, {}, {}, {})
    with pytest.raises(CorruptManifestError, match=r"packet_states.json' cannot be restored into the saved net "
                       r"definition \(a packet inside an epoch that was running.*Cannot restore packet 'p1': "
                       r"its epoch 01KBBBBBBBBBBBBBBBBBBBBBBB does not exist"):
        Net.load_checkpoint(project / "ckpt")


def test_the_two_forms_are_told_apart_and_checked(project, nets):
    net = _build(nets)
    with pytest.raises(TypeError, match=r"needs packet_states and packet_values \(the original form\), or "
                       r"net_state= with packet_values"):
        save_checkpoint_state(project / "x", net.to_toml())
    with pytest.raises(TypeError, match=r"give either packet_states \(the original form\) or net_state="):
        save_checkpoint_state(project / "x", net.to_toml(), [], {}, net_state={"engine": {}, "epochs": []})
    with pytest.raises(TypeError, match=r"the value of packet 'p' cannot be pickled"):
        save_checkpoint_state(project / "x", net.to_toml(), [PacketState("p", "outside_net")],
                              {"p": (i for i in ())}, {}, {}, {}, {})
    assert not (project / "x").exists()


def test_net_state_checkpoints_report_packet_states_and_node_sections(project, nets):
    net = _stopped_mid_run(nets)
    net.save_checkpoint(project / "ckpt")
    loaded = load_checkpoint_state(project / "ckpt")
    assert loaded.layout == "net_state" and loaded.net_state is not None
    sim = net._core.engine.sim
    same = get_all_packet_states(sim, [s.packet_id for s in loaded.packet_states], net.graph)
    key = lambda s: s.packet_id  # noqa: E731
    assert sorted(loaded.packet_states, key=key) == sorted(same, key=key) and len(same) == 10
    assert loaded.node_exec_paths["Join"] == {"exec_func": "ckptnodes.pair_sum"}
    assert set(loaded.node_configs) == {"A", "B", "Join"} and loaded.port_types == {}
    # a net-state checkpoint can be written again through the keyword form
    save_checkpoint_state(project / "again", loaded.net_definition_toml, packet_values=loaded.packet_values,
                          net_state=loaded.net_state, output_queues=loaded.output_queues,
                          node_configs=loaded.node_configs)
    restored = Net.load_checkpoint(project / "again")
    nets.append(restored)
    assert sorted(restored.get_startable_epochs()) == sorted(net.get_startable_epochs())


def test_the_original_form_goes_to_a_url_too(project, nets):
    net = _build(nets)
    net.inject_data("A", "in", [3])
    states, values = _original_save(net, "memory://netrun-original-form/ckpt")
    loaded = load_checkpoint_state("memory://netrun-original-form/ckpt")
    assert loaded.layout == "packet_states" and loaded.packet_states == states and loaded.packet_values == values
    restored = Net.load_checkpoint("memory://netrun-original-form/ckpt")
    nets.append(restored)
    restored.start()
    [doubled] = restored.get_packets_at_port("Join", "a")
    assert restored.value_store.get_value(doubled) == 6
