"""Event history (JSONL, bounds, chunks, flush on pause) and node logs (print capture)."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from _net_graphs import pipeline
from _net_nodes import passthrough

from netrun_sim import NetSim

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


_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def _history_shape(entries) -> list:
    """Entries as comparable data: IDs by order of appearance, entry IDs and action links
    as positions, no timestamps."""
    names: dict = {}
    position = {e.id: i for i, e in enumerate(entries)}
    out = []
    for e in entries:
        data = _ULID.sub(lambda m: names.setdefault(m.group(0), f"id{len(names)}"),
                         json.dumps(e.data, sort_keys=True, default=str))
        out.append((e.entry_type, e.action_type, e.event_type, position.get(e.action_id), data))
    return out


def _run_recorded(make_net, tmp_path, label, **options):
    net = make_net(pipeline("A", "B", "C"), history=True, history_max_size=100_000,
                   history_file=str(tmp_path / f"{label}.jsonl"), history_chunk_size=7, **options)
    for name in "ABC":
        net.set_node_exec(name, passthrough)
    net.inject_data("A", "in", range(25))
    net.start()
    assert net.flush_output_queue("C::out") == list(range(25))
    return net.event_history


def test_history_recorded_by_the_fast_lane_equals_the_action_api_history(make_net, tmp_path, monkeypatch):
    fast = _run_recorded(make_net, tmp_path, "fast")
    entries = fast.get_entries()
    # the runtime's fast lane wrote its compact records to the history's tape (no event objects)
    assert isinstance(fast, EventHistory) and not fast.tape  # read: everything sealed
    ids = [int(e.id.rsplit("-", 1)[1]) for e in entries]
    assert ids == list(range(len(entries)))  # consecutive, in order
    assert all(e.timestamp.tzinfo is not None for e in entries)
    # with an on_net_actions callback, the action recorder forwards every action to the history
    seen: list = []
    net_cb = make_net(pipeline("A", "B", "C"), history=True, history_max_size=100_000)
    net_cb.on_net_actions(seen.extend)
    for name in "ABC":
        net_cb.set_node_exec(name, passthrough)
    net_cb.inject_data("A", "in", range(25))
    net_cb.start()
    assert seen
    # the same run through the engine's action API (no fast lane at all)
    monkeypatch.setattr(NetSim, "_fastlane", None)
    slow = _run_recorded(make_net, tmp_path, "slow")
    assert _history_shape(entries) == _history_shape(slow.get_entries())
    assert _history_shape(net_cb.event_history.get_entries()) == _history_shape(entries)
    # the file holds the same entries as memory (written in chunks while running)
    lines = [json.loads(line) for line in (tmp_path / "fast.jsonl").read_text().splitlines()]
    assert lines == [e.to_dict() for e in entries]


def test_history_window_is_the_tail_of_the_file(make_net, tmp_path):
    net = make_net(pipeline("A", "B"), history=True, history_max_size=50,
                   history_file=str(tmp_path / "h.jsonl"), history_chunk_size=10)
    for name in "AB":
        net.set_node_exec(name, passthrough)
    net.inject_data("A", "in", range(200))
    net.start()
    history = net.event_history
    entries = history.get_entries()
    assert len(entries) == len(history) == 50
    lines = [json.loads(line) for line in (tmp_path / "h.jsonl").read_text().splitlines()]
    assert len(lines) > 1000 and lines[-50:] == [e.to_dict() for e in entries]
    assert len(history._memory) <= 3  # whole sealed segments beyond the window are dropped


def test_history_zero_max_size_keeps_nothing_in_memory_and_writes_the_file(make_net, tmp_path):
    net = make_net(pipeline("A"), history=True, history_max_size=0, history_file=str(tmp_path / "h.jsonl"))
    net.set_node_exec("A", passthrough)
    net.inject_data("A", "in", range(30))
    net.start()
    assert len(net.event_history) == 0 and net.event_history.get_entries() == []
    lines = (tmp_path / "h.jsonl").read_text().splitlines()
    assert sum(json.loads(line)["action"] == "FinishEpoch" for line in lines if '"action"' in line) == 30


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


def test_node_log_reads_back_entries_with_datetime_timestamps():
    from datetime import datetime, timezone

    log = NodeLog("n", max_entries=2)
    log.add("a", "e1", timestamp=1_700_000_000.25)
    log.add("b", "e2", "warning", datetime(2024, 1, 2, tzinfo=timezone.utc))
    log.add("c", "e2")
    entries = log.get_entries()
    assert [e.message for e in entries] == ["b", "c"] and len(log) == 2
    assert entries[0].timestamp == datetime(2024, 1, 2, tzinfo=timezone.utc) and entries[0].level == "warning"
    assert entries[1].timestamp.tzinfo is not None
    assert (datetime.now(timezone.utc) - entries[1].timestamp).total_seconds() < 5
    assert [e.message for e in log.get_entries(epoch_id="e2")] == ["b", "c"]
    assert log.add("d") is None
    first = NodeLog("m")
    first.add("x", "e", timestamp=1_700_000_000.25)
    assert first.get_entries()[0].timestamp == datetime.fromtimestamp(1_700_000_000.25, tz=timezone.utc)


def test_a_hand_recorded_entry_id_survives_a_concurrent_engine_record():
    """The engine's lane appends to the history's tape under the engine lock, not the
    history's: a record landing just before a hand-recorded one must not shift its ID."""
    from netrun.net.history import EventHistory

    history = EventHistory(max_size=None)

    class RacyTape(list):
        def append(self, record):
            if record[0] == "hand":  # another thread's engine record slips in first
                super().append(("act", 1, 0, "StartEpoch", ("e1",), None))
            super().append(record)

    history.tape = RacyTape()
    action_id = history.record_action("Manual", {"x": 1})
    [entry] = [e for e in history.get_entries() if e.id == action_id]
    assert entry.entry_type == "action" and entry.action_type == "Manual"
