"""Event history (JSONL, bounds, chunks, flush on pause) and node logs (print capture)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from _net_graphs import pipeline
from _net_nodes import passthrough

from netrun.net import EventHistory, HistoryEntry, NodeLog, NodeLogManager, capture_stdout
from netrun.net.logs import inject_print, netrun_print


def test_history_is_off_by_default_and_records_everything_when_on(make_net):
    net = make_net(pipeline("A"))
    assert net.event_history is None
    net = make_net(pipeline("A"), history=True)
    net.set_node_exec("A", passthrough)
    net.inject_data("A", "in", [1])
    net.start()
    history = net.event_history
    actions = [e.action_type for e in history.get_actions()]
    for name in ("CreatePacket", "TransportPacketToLocation", "StartEpoch", "ConsumePacket",
                 "LoadPacketIntoOutputPort", "SendOutputSalvo", "FinishEpoch"):
        assert name in actions
    start = next(e for e in history.get_actions() if e.action_type == "StartEpoch")
    [started] = history.get_events_for_action(start.id)
    assert started.event_type == "EpochStarted" and started.data["epoch_id"] == start.data["epoch_id"]
    moved = [e for e in history.get_events() if e.event_type == "PacketMoved"]
    assert moved and {"packet_id", "from", "to", "from_index"} <= set(moved[0].data)
    assert all(e.action_id for e in history.get_events())


def test_history_max_size_bounds_memory(make_net):
    net = make_net(pipeline("A"), history_max_size=10)
    net.set_node_exec("A", passthrough)
    net.inject_data("A", "in", range(20))
    net.start()
    assert len(net.event_history.get_entries()) == 10 and len(net.event_history) == 10
    assert len(net.event_history.get_entries(limit=3)) == 3


def test_history_file_in_chunks_and_flushed_on_pause(make_net, tmp_path):
    path = tmp_path / "h" / "history.jsonl"
    net = make_net(pipeline("A"), history_file=str(path), history_chunk_size=1000)
    net.set_node_exec("A", passthrough)
    net.inject_data("A", "in", [1])
    assert not path.exists()  # below one chunk: still buffered
    net.start()                 # the run ends blocked: flushed
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["type"] for line in lines} == {"action", "event"}
    assert lines[0]["type"] == "action" and lines[0]["action"] == "CreatePacket"
    events = [line for line in lines if line["type"] == "event"]
    action_ids = {line["id"] for line in lines if line["type"] == "action"}
    assert all(e["action_id"] in action_ids for e in events)
    loaded = EventHistory.load_file(path)
    assert isinstance(loaded[0], HistoryEntry) and loaded[0].to_dict() == lines[0]


def test_history_chunk_size_writes_while_running(tmp_path):
    history = EventHistory(file_path=tmp_path / "x.jsonl", chunk_size=2, flush_on_pause=False)
    history.record_action("A")
    assert not (tmp_path / "x.jsonl").exists()
    history.record_event("E", {"k": 1})
    assert len((tmp_path / "x.jsonl").read_text().splitlines()) == 2
    history.clear()
    assert not (tmp_path / "x.jsonl").exists() and len(history) == 0


def test_manual_history_records_link_events_to_the_current_action():
    history = EventHistory()
    action = history.record_action("Custom", {"x": 1})
    event = history.record_event("Happened")
    [entry] = history.get_events_for_action(action)
    assert entry.id == event and entry.event_type == "Happened"
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        EventHistory(chunk_size=0)


def test_print_is_captured_with_print_time_timestamps(make_net):
    net = make_net(pipeline("A"))
    seen = {}

    def talker(ctx, packets):
        print("first")
        time.sleep(0.05)
        print("second", "part", sep="-")
        seen["epoch"] = ctx.epoch_id
        passthrough(ctx, packets)

    net.set_node_exec("A", talker)
    net.inject_data("A", "in", [1])
    net.start()
    entries = net.get_node_log("A")
    assert [e.message for e in entries] == ["first", "second-part"]
    assert (entries[1].timestamp - entries[0].timestamp).total_seconds() >= 0.04
    assert all(e.epoch_id == seen["epoch"] and e.level == "info" for e in entries)
    assert [e.message for e in net.get_epoch_log(seen["epoch"])] == ["first", "second-part"]
    assert [e.message for e in net.get_epoch_log("A", seen["epoch"], limit=1)] == ["second-part"]
    assert net.get_node_log("A", limit=1)[0].message == "second-part"


def test_capture_can_be_disabled_and_echoed(make_net, capsys):
    def talker(ctx, packets):
        print("visible")
        passthrough(ctx, packets)

    net = make_net(pipeline("A"))
    net.set_node_exec("A", talker)
    net.set_node_config("A", capture_stdout=False)
    net.inject_data("A", "in", [1])
    net.start()
    assert net.get_node_log("A") == [] and "visible" in capsys.readouterr().out
    net2 = make_net(pipeline("A"))
    net2.set_node_exec("A", talker)
    net2.set_node_config("A", echo_stdout=True)
    net2.inject_data("A", "in", [1])
    net2.start()
    assert [e.message for e in net2.get_node_log("A")] == ["visible"]
    assert "visible" in capsys.readouterr().out


def test_print_outside_nodes_and_to_files_is_untouched(capsys, tmp_path):
    netrun_print("plain", 1)
    assert capsys.readouterr().out == "plain 1\n"
    log = NodeLog("N")
    with capture_stdout(log, "E1"):
        with open(tmp_path / "f.txt", "w") as fh:
            netrun_print("to file", file=fh)
        netrun_print("captured\n\nlines")
    assert (tmp_path / "f.txt").read_text() == "to file\n"
    assert [e.message for e in log.get_entries("E1")] == ["captured", "lines"]


def test_print_capture_is_thread_safe_and_per_epoch(make_net):
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 4}})

    def talker(ctx, packets):
        for i in range(20):
            print(f"{ctx.epoch_id} {i}")
        passthrough(ctx, packets)

    net.set_node_exec("A", talker)
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", range(8))
    net.start()
    entries = net.get_node_log("A")
    assert len(entries) == 160
    assert all(e.message.split()[0] == e.epoch_id for e in entries)


def test_inject_print_leaves_a_module_print_alone():
    namespace: dict = {"print": lambda *a, **k: None}
    exec("def f(ctx, packets):\n    print('x')\n", namespace)
    assert inject_print(namespace["f"]) is False
    fresh: dict = {}
    exec("def g(ctx, packets):\n    print('x')\n", fresh)
    assert inject_print(fresh["g"]) is True and fresh["print"] is netrun_print


def test_node_log_bounds_and_manager():
    manager = NodeLogManager(max_entries_per_node=2)
    log = manager.get_log("N")
    for i in range(3):
        log.add(f"m{i}", "E")
    assert [e.message for e in manager.get_node_log("N")] == ["m1", "m2"]
    assert manager.get_node_log("unknown") == []
    assert manager.get_log("N") is log
    threads = [threading.Thread(target=lambda: [log.add("t") for _ in range(100)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == 2
