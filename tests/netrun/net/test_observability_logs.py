"""net.logs (NetLogQuery): queries and printing on the node logs, without retained EpochLogs."""

from __future__ import annotations

import io
import re

import pytest

from _net_graphs import pipeline
from netrun.errors import NodeNotFoundError
from netrun.net.log_query import EpochLogNotFoundError, NetLogQuery


def chatty(ctx, packets):
    for packet in packets["in"]:
        value = ctx.consume_packet(packet)
        print(f"{ctx.node_name} got {value}")
        ctx.log("sent", value=value)
        ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def quiet(ctx, packets):
    for packet in packets["in"]:
        ctx.load_output_port("out", ctx.create_packet(ctx.consume_packet(packet)))
    ctx.send_output_salvo("send")


def _net(make_net, **options):
    net = make_net(pipeline("A", "B"), **options)
    net.set_node_exec("A", chatty)
    net.set_node_exec("B", chatty)
    ids = []
    net.on_epoch_start(lambda n, e: ids.append((n, e)))
    net.inject_data("A", "in", [1, 2])
    net.start()
    return net, ids


def test_queries_work_without_retained_epoch_logs(make_net):
    net, ids = _net(make_net)
    assert isinstance(net.logs, NetLogQuery) and net.logs is net.logs
    assert net._core.observe.epoch_logs == {}  # nothing retained
    (_, a1), (_, a2) = [i for i in ids if i[0] == "A"]
    assert [text for _, text in net.logs.for_epoch(a1)] == ["A got 1", "sent | value=1"]
    assert [text for _, text in net.logs.for_epoch(a2)] == ["A got 2", "sent | value=2"]
    assert [text for _, text in net.logs.for_node("B")] == ["B got 1", "sent | value=1", "B got 2",
                                                            "sent | value=2"]
    lines = net.logs.all_chronological()
    assert len(lines) == 8 and [line[0] for line in lines] == sorted(line[0] for line in lines)
    assert {(node, eid) for _, eid, node, _ in lines} == set(ids)


def test_printing_formats(make_net):
    net, ids = _net(make_net)
    a1 = ids[0][1]
    out = io.StringIO()
    net.logs.print_epoch(a1, file=out)
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\.\d{3}\] A got 1\n\[\d\d:\d\d:\d\d\.\d{3}\] sent \| value=1\n",
                        out.getvalue())
    out = io.StringIO()
    net.logs.print_epoch(a1, include_timestamps=False, file=out)
    assert out.getvalue() == "A got 1\nsent | value=1\n"
    out = io.StringIO()
    net.logs.print_node("A", include_timestamps=False, file=out)
    a2 = [e for n, e in ids if n == "A"][1]
    assert out.getvalue() == (f"=== A ===\n--- Epoch {a1} ---\nA got 1\nsent | value=1\n"
                              f"--- Epoch {a2} ---\nA got 2\nsent | value=2\n")
    out = io.StringIO()
    net.logs.print_node("A", include_timestamps=False, chronological=True, file=out)
    assert out.getvalue().splitlines()[0] == f"[{a1}] A got 1"
    out = io.StringIO()
    net.logs.print_all(include_timestamps=False, chronological=True, file=out)
    assert sorted(out.getvalue().splitlines()) == sorted(
        ["[A] A got 1", "[A] sent | value=1", "[A] A got 2", "[A] sent | value=2",
         "[B] B got 1", "[B] sent | value=1", "[B] B got 2", "[B] sent | value=2"])
    out = io.StringIO()
    net.logs.print_all(include_timestamps=False, file=out)
    text = out.getvalue()
    assert text.index("=== A ===") < text.index("=== B ===") and text.count("--- Epoch ") == 4


def test_print_defaults_to_stdout(make_net, capsys):
    net, ids = _net(make_net)
    net.logs.print_epoch(ids[0][1], include_timestamps=False)
    assert capsys.readouterr().out == "A got 1\nsent | value=1\n"


def test_headings_name_pool_and_worker_when_epoch_logs_were_built(make_net):
    net, ids = _net(make_net, retain_epoch_logs=True)
    out = io.StringIO()
    net.logs.print_node("A", include_timestamps=False, file=out)
    assert f"--- Epoch {ids[0][1]} [main/0] ---" in out.getvalue()


def test_unknown_epoch_and_node_are_errors(make_net):
    net, _ = _net(make_net)
    with pytest.raises(EpochLogNotFoundError, match="No log for epoch 'nope': this net has no record of it") as info:
        net.logs.for_epoch("nope")
    assert isinstance(info.value, KeyError) and "retain_epoch_logs=True" in str(info.value)
    with pytest.raises(EpochLogNotFoundError):
        net.logs.print_epoch("nope")
    with pytest.raises(TypeError, match="needs an epoch ID"):
        net.logs.for_epoch(42)
    for call in (net.logs.for_node, net.logs.print_node):
        with pytest.raises(NodeNotFoundError, match="Node not found: 'Nope'. The graph's nodes are: A, B"):
            call("Nope")


def test_quiet_epochs_are_known_while_epoch_logs_are_built(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", quiet)
    ended = []
    net.on_epoch_end(lambda n, e, log: ended.append(e))
    net.inject_data("A", "in", [1])
    net.start()
    assert net.logs.for_epoch(ended[0]) == []  # known (its EpochLog was built), wrote nothing


def test_waiting_epoch_is_known(make_net):
    net = make_net(pipeline("A"))  # no exec function: the epoch waits
    net.inject_data("A", "in", [1])
    net.run_step(start_epochs=False)
    [eid] = net.get_startable_epochs()
    assert net.logs.for_epoch(eid) == []


def test_memory_stays_bounded_by_the_node_log_bound(make_net):
    net = make_net(pipeline("A"), node_log_max_entries=10)
    net.set_node_exec("A", chatty)
    ids = []
    net.on_epoch_start(lambda n, e: ids.append(e))
    net.inject_data("A", "in", list(range(1200)))
    net.start()
    assert len(net.logs.for_node("A")) == 10
    assert [t for _, t in net.logs.for_epoch(ids[-1])] == ["A got 1199", "sent | value=1199"]
    log = net._core.nodes["A"].log
    assert len(log._first) <= 2 * 10 + 1024 < 1200  # the index of evicted epochs was trimmed
    assert len(net._core.observe.ended) == 0  # no EpochLog consumer: no index kept
