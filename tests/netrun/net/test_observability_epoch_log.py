"""EpochLog: every field for every outcome, the dict round trip, and the epoch callbacks."""

from __future__ import annotations

import asyncio
import json
import warnings
from datetime import datetime, timezone

import pytest

from _net_graphs import node, pipeline
from _net_nodes import double, passthrough
from netrun.errors import NodeNotFoundError
from netrun.net import EpochLog, EpochOutcome
from netrun.net.action_log import NetActionLog, NetEventLog
from netrun_sim import Graph


def _ends(net, node_name=None):
    records = []
    net.on_epoch_end(lambda n, e, log: records.append(log), node=node_name)
    return records


def printing_double(ctx, packets):
    for packet in packets["in"]:
        value = ctx.consume_packet(packet)
        print("doubling", value)
        ctx.log("doubled", level="info", value=value, result=2 * value)
        ctx.load_output_port("out", ctx.create_packet(2 * value))
    ctx.send_output_salvo("send")


def test_success_record_has_identity_timing_flow_and_logs(make_net):
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", printing_double)
    records = _ends(net)
    net.inject_data("A", "in", [3])
    net.start()
    assert net.flush_output_queue("B::out") == [6]
    a, b = records
    assert (a.node_name, b.node_name) == ("A", "B")
    for log in records:
        assert log.outcome == EpochOutcome.SUCCESS and log.succeeded
        assert log.error is None and log.error_type is None and log.error_traceback is None
        assert log.created_at <= log.started_at <= log.ended_at == log.timestamp
        assert log.duration_ms >= 0 and log.queue_time_ms >= 0
        assert log.pool_id == "main" and log.worker_id == 0 and log.retry_count == 0
        assert not log.was_cache_hit and not log.was_file_storage_hit
        assert log.in_salvo_ports == ["in"] and log.in_salvo_packet_count == 1
        assert log.out_salvo_count == 1 and log.destroyed_packet_count == 0
        assert [x.action_kind for x in log.net_actions] == [
            "StartEpoch", "ConsumePacket", "CreatePacket", "LoadPacketIntoOutputPort",
            "SendOutputSalvo", "FinishEpoch"]
        assert all(x.epoch_id == log.epoch_id for x in log.net_actions)
        assert all(x.action_detail["node_name"] == log.node_name for x in log.net_actions)
    assert a.orphaned_packet_count == 0 and b.orphaned_packet_count == 1  # B.out has no edge
    assert a.logs == [] and a.node_log_entries == [] and a.user_fields == {}
    assert [text for _, text in b.logs] == ["doubling 3", "doubled | value=3 result=6"]
    [entry] = b.node_log_entries
    assert entry["message"] == "doubled" and entry["level"] == "info"
    assert entry["fields"] == {"value": 3, "result": 6}
    assert isinstance(entry["timestamp"], datetime)
    assert b.user_fields == {"value": 3, "result": 6}


def test_error_record_has_message_type_traceback_and_retries(make_net):
    net = make_net(pipeline("A"), on_error="continue")

    def boom(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        raise ValueError(f"bad input on attempt {ctx.retry_count}")

    net.set_node_exec("A", boom)
    net.set_node_config("A", retries=2, defer_net_actions=True)
    records = _ends(net)
    net.inject_data("A", "in", [1])
    net.start()
    [log] = records
    assert log.outcome == EpochOutcome.ERROR and not log.succeeded
    assert log.error == "bad input on attempt 2" and log.error_type == "ValueError"
    assert "Traceback" in log.error_traceback and "ValueError: bad input" in log.error_traceback
    assert log.retry_count == 2
    assert log.destroyed_packet_count == 1  # the failed epoch's input went to the DLQ
    assert any("attempt 0 failed" in text for _, text in log.logs)


def test_cancelled_record_counts_destroyed_packets(make_net):
    net = make_net(pipeline("A"))

    def cancel(ctx, packets):
        ctx.cancel_epoch()

    net.set_node_exec("A", cancel)
    net.set_node_config("A", defer_net_actions=True)
    records = _ends(net)
    net.inject_data("A", "in", [1])
    net.start()
    [log] = records
    assert log.outcome == EpochOutcome.CANCELLED and log.was_cancelled
    assert log.error is None and log.destroyed_packet_count == 1
    assert [a.action_kind for a in log.net_actions] == ["StartEpoch", "CancelEpoch"]


def test_thread_pool_record_names_the_pool(make_net):
    net = make_net(pipeline("A"), thread_pools={"io": {"size": 2}})
    net.set_node_exec("A", double)
    net.set_node_config("A", pool="io")
    records = _ends(net)
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert sorted(net.flush_output_queue("A::out")) == [2, 4]
    assert [log.pool_id for log in records] == ["io", "io"]
    assert all(log.out_salvo_count == 1 and log.orphaned_packet_count == 1 for log in records)


def test_round_trip_is_exact_and_json_ready(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", printing_double)
    records = _ends(net)
    net.inject_data("A", "in", [5])
    net.start()
    [log] = records
    data = log.to_dict()
    text = json.dumps(data)  # plain JSON, no default= needed
    again = EpochLog.from_dict(json.loads(text))
    assert again == log
    assert data["logs"][0] == {"timestamp": log.logs[0][0].isoformat(), "message": "doubling 5"}
    assert data["node_log_entries"][0]["fields"] == {"value": 5, "result": 10}
    assert isinstance(data["net_actions"][0], dict) and isinstance(again.net_actions[0], NetActionLog)
    assert set(data) == {
        "epoch_id", "node_name", "timestamp", "created_at", "started_at", "ended_at", "duration_ms",
        "queue_time_ms", "outcome", "error", "error_type", "error_traceback", "pool_id", "worker_id",
        "retry_count", "was_cache_hit", "was_file_storage_hit", "in_salvo_ports",
        "in_salvo_packet_count", "out_salvo_count", "orphaned_packet_count", "destroyed_packet_count",
        "factory", "node_log_entries", "user_fields", "net_actions", "logs"}


def test_from_dict_reads_a_published_0_5_0_record():
    record = {  # the layout the published runtime writes (trailing newlines in logs, extra keys)
        "epoch_id": "01J", "node_name": "a", "timestamp": "2026-01-01T00:00:00+00:00",
        "outcome": "cache_hit", "was_cache_hit": True, "pool_id": "main", "worker_id": 0,
        "logs": [{"timestamp": "2026-01-01T00:00:00+00:00", "message": "hi\n"}],
        "net_actions": [{"timestamp": "2026-01-01T00:00:00+00:00", "action_kind": "NetAction.start_epoch",
                         "action_detail": {"node_name": "a"}, "events": [
                             {"timestamp": "2026-01-01T00:00:00+00:00", "kind": "EpochStarted",
                              "detail": {"epoch_id": "01J"}}], "epoch_id": "01J"}],
        "some_future_field": 1,
    }
    log = EpochLog.from_dict(record)
    assert log.outcome == "cache_hit" and log.was_cache_hit and log.succeeded
    assert log.logs == [(datetime(2026, 1, 1, tzinfo=timezone.utc), "hi\n")]
    assert log.net_actions[0].events == [NetEventLog(datetime(2026, 1, 1, tzinfo=timezone.utc),
                                                     "EpochStarted", {"epoch_id": "01J"})]


@pytest.mark.parametrize("data, error, text", [
    ({"node_name": "a"}, ValueError, "missing epoch_id"),
    ({"epoch_id": "e", "node_name": "a", "outcome": "exploded"}, ValueError, "unknown outcome 'exploded'"),
    ({"epoch_id": "e", "node_name": "a", "started_at": "yesterday"}, ValueError, "started_at must be an ISO-8601"),
    (["not", "a", "dict"], TypeError, "needs a dict"),
])
def test_from_dict_rejects_bad_records(data, error, text):
    with pytest.raises(error, match=text):
        EpochLog.from_dict(data)


def test_node_scoped_and_async_callbacks(make_net):
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", passthrough)
    starts, only_b, async_ends = [], [], []
    net.on_epoch_start(lambda n, e: starts.append(n), node="A")
    net.on_epoch_end(lambda n, e, log: only_b.append((n, log.node_name)), node="B")

    async def on_end(name, epoch_id, log):
        await asyncio.sleep(0)
        async_ends.append(name)

    net.on_epoch_end(on_end)
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert starts == ["A", "A"]
    assert only_b == [("B", "B"), ("B", "B")]
    assert sorted(async_ends) == ["A", "A", "B", "B"]


def test_callback_errors_are_warnings_and_remove_stops_callbacks(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", passthrough)
    seen = []

    def broken(name, epoch_id, log):
        raise RuntimeError("callback bug")

    net.on_epoch_end(broken)
    remove = net.on_epoch_end(lambda n, e, log: seen.append(e))
    net.inject_data("A", "in", [1])
    with pytest.warns(RuntimeWarning, match="callback bug"):
        net.start()
    assert len(seen) == 1 and net.flush_output_queue("A::out") == [1]
    remove()
    net.inject_data("A", "in", [2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        net.start()
    assert len(seen) == 1


def test_callbacks_on_an_unknown_node_or_not_callable_are_refused(make_net):
    net = make_net(pipeline("A"))
    with pytest.raises(NodeNotFoundError, match="Node not found: 'Nope'"):
        net.on_epoch_end(lambda *a: None, node="Nope")
    with pytest.raises(TypeError, match="on_epoch_start needs a callable"):
        net.on_epoch_start("not callable")


def test_source_epoch_without_inputs_is_logged(make_net):
    net = make_net(Graph([node("S", ins=())], []))

    def source(ctx, packets):
        ctx.load_output_port("out", ctx.create_packet("tick"))
        ctx.send_output_salvo("send")

    net.set_node_exec("S", source)
    records = _ends(net)
    net.inject_source_epoch("S")
    net.start()
    [log] = records
    assert log.in_salvo_ports == [] and log.in_salvo_packet_count == 0
    assert log.out_salvo_count == 1 and log.orphaned_packet_count == 1


def test_epochs_run_without_the_node_function_fire_both_callbacks(make_net):
    """The hook for epochs the runtime runs itself (controls, no-op epochs, cache hits)."""
    net = make_net(pipeline("A"))
    starts, ends = [], []
    net.on_epoch_start(lambda n, e: starts.append((n, e)), node="A")
    net.on_epoch_end(lambda n, e, log: ends.append(log))
    core = net._core
    epoch_id = core.engine.create_epoch("A", [], "__noop__")
    core.engine.start_epoch(epoch_id)
    core.engine.finish_epoch(epoch_id)
    core.observe.epoch_ran_without_function(epoch_id, "A", outcome=EpochOutcome.CACHE_HIT)
    assert starts == [("A", epoch_id)]
    [log] = ends
    assert log.outcome == "cache_hit" and log.was_cache_hit and log.pool_id is None
    assert [a.action_kind for a in log.net_actions] == ["StartEpoch", "FinishEpoch"]
    assert net.logs.for_epoch(epoch_id) == []  # known through its EpochLog


def test_epoch_logs_without_net_actions_are_cheaper_and_say_what_is_unknown(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", passthrough)
    net.epoch_log_net_actions = False
    records = _ends(net)
    assert net._core.observe.recorder is None  # nothing recorded for the callback
    net.inject_data("A", "in", [1])
    net.start()
    [log] = records
    assert log.net_actions == [] and log.outcome == "success"
    assert (log.out_salvo_count, log.orphaned_packet_count, log.destroyed_packet_count) == (None, None, None)
    assert EpochLog.from_dict(log.to_dict()) == log
    net.epoch_log_net_actions = True
    assert net._core.observe.recorder is not None
    with pytest.raises(TypeError, match="epoch_log_net_actions must be True or False"):
        net.epoch_log_net_actions = 1


def test_cache_hits_fire_both_callbacks_with_complete_records(make_net, tmp_path):
    from netrun.storage.config import CacheConfig, StorageConfig

    cache = CacheConfig(enabled=True, include_nodes=["A"], storage_path=str(tmp_path / "cache"))
    net = make_net(pipeline("A"), storage=StorageConfig(cache=cache))
    net.set_node_exec("A", printing_double)
    starts, records = [], []
    net.on_epoch_start(lambda n, e: starts.append(e), node="A")
    net.on_epoch_end(lambda n, e, log: records.append(log), node="A")
    net.inject_data("A", "in", [2])
    net.start()
    net.inject_data("A", "in", [2])  # the same input: served from the cache
    net.start()
    assert net.flush_output_queue("A::out") == [4, 4]
    first, hit = records
    assert starts == [first.epoch_id, hit.epoch_id]
    assert first.outcome == "success" and not first.was_cache_hit
    assert hit.outcome == "cache_hit" and hit.was_cache_hit and hit.succeeded
    assert hit.logs == [] and hit.in_salvo_packet_count == 1
    assert hit.out_salvo_count == 1 and hit.orphaned_packet_count == 1


def test_callbacks_without_net_actions_record_nothing_and_others_still_get_them(make_net):
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", passthrough)
    lean = []
    remove = net.on_epoch_end(lambda n, e, log: lean.append(log), net_actions=False)
    assert net._core.observe.recorder is None
    net.inject_data("A", "in", [1])
    net.start()
    assert [(log.node_name, log.net_actions, log.out_salvo_count) for log in lean] == [
        ("A", [], None), ("B", [], None)]
    full = _ends(net, "B")  # only B's records need the actions now
    net.inject_data("A", "in", [2])
    net.start()
    a_log, b_log = lean[2:]
    assert (a_log.node_name, a_log.net_actions, a_log.out_salvo_count) == ("A", [], None)
    assert b_log.out_salvo_count == 1 and b_log.net_actions and full == [b_log]
    remove()
    assert net._core.observe.recorder is not None  # B's callback still wants them
