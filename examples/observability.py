"""Observability of a run: epoch logs, net actions, ``net.logs``, ``ctx.log``, ``ctx.vars``
and the logging back-ends.

    Parse ──> Scale ──> (output queue "Scale::out")

Shows:

* ``ctx.log("message", level=..., **fields)`` structured entries and ``ctx.vars`` (node
  variables, here passed with ``Net(..., node_vars=...)``; a config file's ``node_vars`` reach
  ``ctx.vars`` the same way);
* ``on_epoch_end`` (one node only) and ``on_epoch_start`` callbacks, and the
  :class:`~netrun.net.EpochLog` of a successful and of a failed epoch;
* ``on_net_actions``: the engine actions of each propagation round;
* ``net.logs``: an epoch's or a node's log lines, printed, without keeping every EpochLog;
* ``netrun.logging``: ``JsonlEpochLogger``, ``JsonlNetActionLogger`` and ``SqliteLogger``
  writing files that load back into the same records.

Run: ``.venv/bin/python examples/observability.py``
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from netrun_sim import (
    Edge,
    Graph,
    MaxSalvos,
    Node,
    PacketCount,
    Port,
    PortRef,
    PortState,
    PortType,
    SalvoCondition,
    SalvoConditionTerm,
)

from netrun.logging import JsonlEpochLogger, JsonlNetActionLogger, SqliteLogger
from netrun.net import Net


def make_node(name: str) -> Node:
    take_one = SalvoCondition(MaxSalvos.finite(1), {"in": PacketCount.count(1)},
                              SalvoConditionTerm.port("in", PortState.non_empty()))
    send = SalvoCondition(MaxSalvos.infinite(), "out", SalvoConditionTerm.port("out", PortState.non_empty()))
    return Node(name, {"in": Port()}, {"out": Port()}, {"default": take_one}, {"send": send})


def parse(ctx, packets):
    text = ctx.consume_packet(packets["in"][0])
    number = int(text)  # "oops" fails here: the epoch ends with outcome "error"
    ctx.log("parsed", level="debug", text=text)
    ctx.load_output_port("out", ctx.create_packet(number))
    ctx.send_output_salvo("send")


def scale(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    factor = ctx.vars["factor"]
    print(f"scaling {value} by {factor}")
    ctx.log("scaled", value=value, result=value * factor)
    ctx.load_output_port("out", ctx.create_packet(value * factor))
    ctx.send_output_salvo("send")


def main(folder: str | None = None) -> dict:
    folder_path = Path(folder or tempfile.mkdtemp(prefix="netrun-observability-"))
    graph = Graph([make_node("Parse"), make_node("Scale")],
                  [Edge(PortRef("Parse", PortType.Output, "out"), PortRef("Scale", PortType.Input, "in"))])
    net = Net(graph, on_error="continue", node_vars={"Scale": {"factor": 10}}, handle_sigint=False)
    net.set_node_exec("Parse", parse)
    net.set_node_exec("Scale", scale)

    scale_logs, started, action_kinds = [], [], Counter()
    net.on_epoch_end(lambda node, epoch_id, log: scale_logs.append(log), node="Scale")
    net.on_epoch_start(lambda node, epoch_id: started.append((node, epoch_id)))
    net.on_net_actions(lambda actions: action_kinds.update(a.action_kind for a in actions))

    epochs_file, actions_file = folder_path / "epochs.jsonl", folder_path / "actions.jsonl"
    with JsonlEpochLogger(epochs_file) as epoch_logger, JsonlNetActionLogger(actions_file) as action_logger, \
            SqliteLogger(folder_path / "run.sqlite") as db:
        net.on_epoch_end(epoch_logger)
        net.on_net_actions(action_logger)
        net.on_epoch_end(db.epoch_handler)
        net.on_net_actions(db.net_action_handler)
        with net:
            net.inject_data("Parse", "in", ["1", "2", "oops"])
            net.start()
            results = net.flush_output_queue("Scale::out")

            first = scale_logs[0]
            print(f"Scale epoch {first.epoch_id}: {first.outcome} in {first.duration_ms:.2f} ms on "
                  f"{first.pool_id}/{first.worker_id}, fields {first.user_fields}")
            print("Its log lines, from net.logs:")
            net.logs.print_epoch(first.epoch_id, include_timestamps=False)
            print("All log lines, in order:")
            net.logs.print_all(include_timestamps=False, chronological=True)

        stored = db.load_epoch_logs()
        failed = db.load_epoch_logs(outcome="error")
        print(f"Failed epoch of {failed[0].node_name}: {failed[0].error_type}: {failed[0].error}")
        from_jsonl = JsonlEpochLogger.load(epochs_file)
        actions = JsonlNetActionLogger.load(actions_file)

    return {
        "results": results,
        "scale_fields": [log.user_fields for log in scale_logs],
        "outcomes": sorted(log.outcome for log in stored),
        "jsonl_matches_sqlite": from_jsonl == stored,
        "actions_logged": len(actions),
        "finished_epochs": action_kinds["FinishEpoch"],
        "started_epochs": len(started),
    }


if __name__ == "__main__":
    summary = main()
    for key, value in summary.items():
        print(f"{key}: {value}")
