"""Net action logs: records, on_net_actions batches, retention, per-run collection, and the
promise that nothing is recorded while nothing wants it."""

from __future__ import annotations

import asyncio
import warnings
from datetime import datetime, timezone

import pytest

from _net_graphs import pipeline
from _net_nodes import double, passthrough
from netrun.errors import NetStateError
from netrun.net.action_log import ActionRecorder, NetActionLog, NetEventLog

_T = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)


def test_action_log_round_trip():
    action = NetActionLog(_T, "SendOutputSalvo", {"epoch_id": "e", "salvo_condition": "send", "node_name": "A"},
                          [NetEventLog(_T, "PacketOrphaned", {"packet_id": "p", "port": "out"})], "e")
    data = action.to_dict()
    assert data == {
        "timestamp": _T.isoformat(), "action_kind": "SendOutputSalvo",
        "action_detail": {"epoch_id": "e", "salvo_condition": "send", "node_name": "A"},
        "events": [{"timestamp": _T.isoformat(), "kind": "PacketOrphaned",
                    "detail": {"packet_id": "p", "port": "out"}}],
        "epoch_id": "e"}
    assert NetActionLog.from_dict(data) == action
    assert NetEventLog.from_dict(data["events"][0]) == action.events[0]


@pytest.mark.parametrize("data, error, text", [
    ({"action_kind": "RunStep"}, ValueError, "missing key\\(s\\) timestamp"),
    ({"timestamp": "noon", "action_kind": "RunStep"}, ValueError, "must be an ISO-8601 timestamp"),
    ("RunStep", TypeError, "needs a dict"),
])
def test_action_log_from_dict_rejects_bad_input(data, error, text):
    with pytest.raises(error, match=text):
        NetActionLog.from_dict(data)


def _runner(make_net, **options):
    net = make_net(pipeline("A", "B"), **options)
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", double)
    return net


def test_nothing_is_recorded_without_a_consumer(make_net):
    net = _runner(make_net, history=True)
    core = net._core
    assert core.engine.history is net.event_history  # the engine's recorder slot: history only
    assert core.flush_actions is None and core.observe.recorder is None
    remove = net.on_net_actions(lambda logs: None)
    assert isinstance(core.engine.history, ActionRecorder) and core.flush_actions is not None
    remove()
    assert core.engine.history is net.event_history and core.flush_actions is None
    net.inject_data("A", "in", [1])
    net.start()
    assert net.flush_output_queue("B::out") == [2]


def test_history_keeps_recording_while_actions_are_logged(make_net):
    net = _runner(make_net, history=True)
    batches = []
    net.on_net_actions(batches.append)
    net.inject_data("A", "in", [1])
    net.start()
    logged = [a.action_kind for batch in batches for a in batch]
    history = [e.action_type for e in net.event_history.get_actions()]
    assert logged == history  # the same actions, in the same order


def test_batches_come_per_round_and_cover_every_action(make_net):
    net = _runner(make_net)
    batches = []
    net.on_net_actions(batches.append)
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert len(batches) >= 2 and all(isinstance(a, NetActionLog) for b in batches for a in b)
    kinds = [a.action_kind for b in batches for a in b]
    assert kinds.count("StartEpoch") == 4 and kinds.count("FinishEpoch") == 4
    assert kinds.count("RunStep") >= 2
    finish = [a for b in batches for a in b if a.action_kind == "FinishEpoch"]
    assert {a.action_detail["node_name"] for a in finish} == {"A", "B"}
    moved = [e for b in batches for a in b for e in a.events if e.kind == "PacketMoved"]
    assert moved and all(set(e.detail) >= {"packet_id", "from", "to"} for e in moved)


def test_run_step_gives_one_batch(make_net):
    net = _runner(make_net)
    batches = []
    net.on_net_actions(batches.append)
    net.inject_data("A", "in", [1])
    net.run_step()
    [batch] = batches[1:] if len(batches) > 1 and batches[0][0].action_kind == "CreatePacket" else batches
    kinds = [a.action_kind for a in batch]
    assert kinds[0] in ("CreatePacket", "RunStep") and "FinishEpoch" in kinds


def test_async_callback_and_callback_errors(make_net):
    net = _runner(make_net)
    seen = []

    async def collect(logs):
        await asyncio.sleep(0)
        seen.extend(logs)

    def broken(logs):
        raise KeyError("callback bug")

    net.on_net_actions(collect)
    net.on_net_actions(broken)
    net.inject_data("A", "in", [1])
    with pytest.warns(RuntimeWarning, match="on_net_actions callback .* raised KeyError"):
        net.start()
    assert any(a.action_kind == "FinishEpoch" for a in seen)
    assert net.flush_output_queue("B::out") == [2]


def test_on_net_actions_refuses_a_non_callable(make_net):
    net = _runner(make_net)
    with pytest.raises(TypeError, match="on_net_actions needs a callable"):
        net.on_net_actions([])


def test_retention_of_actions_and_epoch_logs(make_net):
    net = _runner(make_net, retain_net_action_logs=True, retain_epoch_logs=True)
    net.inject_data("A", "in", [1, 2])
    net.start()
    actions = net.net_action_log
    assert sum(a.action_kind == "FinishEpoch" for a in actions) == 4
    logs = net.epoch_logs
    assert len(logs) == 4 and {log.node_name for log in logs.values()} == {"A", "B"}
    assert all(log.epoch_id == eid for eid, log in logs.items())
    assert net.clear_epoch_logs() == logs and net.epoch_logs == {}
    assert len(net.clear_net_action_log()) == len(actions) and net.net_action_log == []


def test_reading_unretained_logs_says_how_to_keep_them(make_net):
    net = _runner(make_net)
    with pytest.raises(NetStateError, match="retain_net_action_logs=True"):
        net.net_action_log
    with pytest.raises(NetStateError, match="retain_epoch_logs=True"):
        net.epoch_logs
    with pytest.raises(TypeError, match="retain_epoch_logs must be True or False"):
        net.retain_epoch_logs = "yes"
    net.retain_epoch_logs = True
    net.inject_data("A", "in", [1])
    net.start()
    assert len(net.epoch_logs) == 2


def test_collector_gathers_one_run(make_net):
    net = _runner(make_net)
    core = net._core
    net.inject_data("A", "in", [1])

    async def step():
        with core.observe.collect() as collected:
            await core.drive("step")
        return collected

    collected = net._loop_thread.run(step())
    assert [log.node_name for log in collected.epoch_logs] == ["A"]
    assert "FinishEpoch" in [a.action_kind for a in collected.net_actions]
    assert collected.epoch_logs[0].net_actions  # the epoch's own actions
    assert core.flush_actions is None and core.engine.history is None  # uninstalled after


def test_thread_pool_actions_name_their_epoch(make_net):
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 2}}, retain_net_action_logs=True)
    net.set_node_exec("A", double)
    net.set_node_config("A", pool="io")
    net.inject_data("A", "in", [1, 2, 3])
    net.start()
    consumed = [a for a in net.net_action_log if a.action_kind == "ConsumePacket"]
    inside = [a for a in consumed if a.epoch_id is not None]
    assert len(inside) == 3 and all(a.action_detail["node_name"] == "A" for a in inside)
    # the other three took the outputs out of the net into the output queue
    routed = [a for a in consumed if a.epoch_id is None]
    assert [a.events[0].detail["location"] for a in routed] == [{"kind": "OutsideNet"}] * 3


def test_registering_and_removing_leaves_no_per_epoch_records(make_net):
    net = _runner(make_net)
    remove = net.on_epoch_end(lambda *a: None, node="B")
    net.inject_data("A", "in", [1, 2, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.start()
    recorder = net._core.observe.recorder
    assert recorder is not None and recorder._epochs == {}  # A's epochs were not kept
    remove()
    assert net._core.observe.recorder is None


def test_callbacks_added_straight_to_the_scheduler_get_complete_logs(make_net):
    net = _runner(make_net)
    core = net._core
    logs = []

    def collect(name, epoch_id, log):
        logs.append(log)

    core.epoch_end_callbacks.append(collect)  # as runtime-internal code does
    assert core.observe.recorder is not None and core.observe.recorder.per_epoch
    net.inject_data("A", "in", [1])
    net.start()
    assert [log.out_salvo_count for log in logs] == [1, 1] and all(log.net_actions for log in logs)
    core.epoch_end_callbacks.remove(collect)
    assert core.observe.recorder is None
