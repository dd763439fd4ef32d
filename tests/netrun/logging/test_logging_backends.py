"""netrun.logging: the JSONL and SQLite back-ends, fed by a real net, and read back."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone

import pytest
from netrun_sim import Edge, Graph, MaxSalvos, Node, PacketCount, Port, PortRef, PortState, PortType
from netrun_sim import SalvoCondition, SalvoConditionTerm

from netrun.logging import (
    JsonlEpochLogger,
    JsonlNetActionLogger,
    LogBackendError,
    LogFileError,
    LoggerClosedError,
    SqliteLogger,
)
from netrun.net import EpochLog, Net
from netrun.net.action_log import NetActionLog, NetEventLog

_T = datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc)


def _node(name):
    return Node(name, {"in": Port()}, {"out": Port()},
                {"go": SalvoCondition(MaxSalvos.finite(1), {"in": PacketCount.count(1)},
                                      SalvoConditionTerm.port("in", PortState.non_empty()))},
                {"send": SalvoCondition(MaxSalvos.infinite(), "out",
                                        SalvoConditionTerm.port("out", PortState.non_empty()))})


def work(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    if value < 0:
        raise ValueError(f"negative {value}")
    print("value", value)
    ctx.log("done", value=value)
    ctx.load_output_port("out", ctx.create_packet(value + 1))
    ctx.send_output_salvo("send")


@pytest.fixture
def net():
    graph = Graph([_node("A"), _node("B")], [Edge(PortRef("A", PortType.Output, "out"),
                                                    PortRef("B", PortType.Input, "in"))])
    net = Net(graph, on_error="continue", handle_sigint=False)
    net.set_node_exec("A", work)
    net.set_node_exec("B", work)
    yield net
    net.stop()


def _run(net, values):
    seen = []
    remove = net.on_epoch_end(lambda n, e, log: seen.append(log))
    net.inject_data("A", "in", values)
    net.start()
    remove()
    return seen


def test_jsonl_epoch_logger_writes_and_loads_equal_records(net, tmp_path):
    path = tmp_path / "logs" / "epochs.jsonl"
    with JsonlEpochLogger(path) as logger:
        net.on_epoch_end(logger)
        seen = _run(net, [1, -1])
    assert len(seen) == 3  # A(1), A(-1) failed, B(2)
    loaded = JsonlEpochLogger.load(path)
    assert loaded == seen and all(isinstance(r, EpochLog) for r in loaded)
    assert {r.outcome for r in loaded} == {"success", "error"}
    assert logger.load() == loaded  # an instance loads its own file
    assert len(path.read_text().splitlines()) == 3


def test_jsonl_epoch_logger_append_and_fresh(tmp_path):
    path = tmp_path / "e.jsonl"
    record = EpochLog("e1", "A", timestamp=_T, logs=[(_T, "hi")], user_fields={"obj": object()})
    with JsonlEpochLogger(path) as logger:
        logger.log(record)
    with JsonlEpochLogger(path) as logger:
        logger.log(record)
    assert len(JsonlEpochLogger.load(path)) == 2
    with JsonlEpochLogger(path, append=False) as logger:
        logger.log(record)
    [back] = JsonlEpochLogger.load(path)
    assert back.logs == [(_T, "hi")]
    assert back.user_fields["obj"].startswith("<object object")  # str() of a non-JSON value


def test_jsonl_net_action_logger(net, tmp_path):
    path = tmp_path / "actions.jsonl"
    batches = []
    with JsonlNetActionLogger(path) as logger:
        net.on_net_actions(logger)
        net.on_net_actions(batches.append)
        _run(net, [5])
    loaded = JsonlNetActionLogger.load(path)
    assert loaded == [a for b in batches for a in b]
    assert "FinishEpoch" in {a.action_kind for a in loaded}


def test_jsonl_loaders_name_the_bad_line_or_missing_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"epoch_id": "e", "node_name": "A"}\n\nnot json\n')
    with pytest.raises(LogFileError, match=r"bad.jsonl' line 3 is not a epoch record") as info:
        JsonlEpochLogger.load(path)
    assert isinstance(info.value, (ValueError, LogBackendError))
    path.write_text('{"timestamp": "2026-01-01T00:00:00", "action_kind": "RunStep"}\n{"action_kind": "X"}\n')
    with pytest.raises(LogFileError, match=r"line 2 is not a net action record \(NetActionLog.from_dict: missing key"):
        JsonlNetActionLogger.load(path)
    with pytest.raises(LogFileError, match=r"nope.jsonl' does not exist"):
        JsonlEpochLogger.load(tmp_path / "nope.jsonl")


def test_closed_jsonl_logger_refuses_records(tmp_path):
    logger = JsonlEpochLogger(tmp_path / "e.jsonl")
    logger.close()
    with pytest.raises(LoggerClosedError, match="was closed"):
        logger.log(EpochLog("e", "A"))
    with pytest.raises(TypeError, match="on_epoch_end callback"):
        JsonlEpochLogger(tmp_path / "x.jsonl")("A", "e", {"not": "a log"})
    with pytest.raises(TypeError, match="needs a file path"):
        JsonlNetActionLogger(42)


def test_sqlite_logger_stores_both_kinds(net, tmp_path):
    path = tmp_path / "run.sqlite"
    batches = []
    with SqliteLogger(path) as db:
        net.on_epoch_end(db.epoch_handler)
        net.on_net_actions(db.net_action_handler)
        net.on_net_actions(batches.append)
        seen = _run(net, [1, -1])
        assert db.load_epoch_logs() == seen
        assert db.load_epoch_logs("B") == [r for r in seen if r.node_name == "B"]
        assert [r.error for r in db.load_epoch_logs(outcome="error")] == ["negative -1"]
        actions = [a for b in batches for a in b]
        assert db.load_net_action_logs() == actions
        eid = seen[0].epoch_id
        assert db.load_net_action_logs(eid) == [a for a in actions if a.epoch_id == eid]
        assert db.load_epoch_logs(epoch_id=eid) == [seen[0]]
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"epoch_logs", "net_action_logs"} <= tables
    row = sqlite3.connect(path).execute("SELECT node_name, outcome FROM epoch_logs ORDER BY id").fetchone()
    assert row == (seen[0].node_name, seen[0].outcome)
    with SqliteLogger(path) as again:  # reopening keeps the data
        assert len(again.load_epoch_logs()) == 3


def test_sqlite_logger_is_thread_safe():
    db = SqliteLogger(":memory:")
    action = NetActionLog(_T, "RunStep", {}, [NetEventLog(_T, "EpochCreated", {"epoch_id": "e"})], None)

    def writer(i):
        for j in range(50):
            db.net_action_handler([action, action])
            db.epoch_handler("A", f"e{i}-{j}", EpochLog(f"e{i}-{j}", "A", timestamp=_T))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(db.load_net_action_logs()) == 400 and len(db.load_epoch_logs()) == 200
    db.close()
    db.close()  # twice is fine
    with pytest.raises(LoggerClosedError, match=r"SqliteLogger\(':memory:'\) was closed"):
        db.load_epoch_logs()


def test_sqlite_logger_bad_input(tmp_path):
    not_db = tmp_path / "notes.txt"
    not_db.write_text("this is not a database " * 100)
    with pytest.raises(LogFileError, match="cannot be used as a SQLite log database"):
        SqliteLogger(not_db)
    with SqliteLogger(tmp_path / "x.sqlite") as db:
        with pytest.raises(TypeError, match="on_net_actions callback"):
            db.net_action_handler(["nope"])
        db._db.execute("INSERT INTO epoch_logs (epoch_id, node_name, outcome, data) VALUES ('e','A','success','{')")
        db._db.commit()
        with pytest.raises(LogFileError, match="table epoch_logs row 1 is not a valid record"):
            db.load_epoch_logs()


def test_loggers_can_leave_net_actions_out(net, tmp_path):
    with JsonlEpochLogger(tmp_path / "e.jsonl", include_net_actions=False) as jsonl, \
            SqliteLogger(tmp_path / "e.sqlite", include_net_actions=False) as db:
        net.on_epoch_end(jsonl)
        net.on_epoch_end(db.epoch_handler)
        seen = _run(net, [1])
        assert all(log.net_actions for log in seen)  # the records handed to callbacks keep them
        for loaded in (JsonlEpochLogger.load(jsonl.path), db.load_epoch_logs()):
            assert [r.net_actions for r in loaded] == [[], []]
            assert [r.out_salvo_count for r in loaded] == [r.out_salvo_count for r in seen]
