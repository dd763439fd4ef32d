"""ctx.log (structured entries) and ctx.vars (node variables resolved once)."""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest

from _net_graphs import pipeline
from netrun import Net
from netrun.config.node_vars import NodeVariable
from netrun.errors import NodeNotFoundError


def logging_node(ctx, packets):
    for packet in packets["in"]:
        value = ctx.consume_packet(packet)
        ctx.log("checked", value=value, ok=value > 0)
        ctx.log(level="warning", note="fields only")
        ctx.log("plain message", level="debug")
        ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


def test_log_entries_reach_node_log_epoch_log_and_net_logs(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", logging_node)
    records = []
    net.on_epoch_end(lambda n, e, log: records.append(log))
    net.inject_data("A", "in", [4])
    net.start()
    [log] = records
    assert [(e["message"], e["level"], e["fields"]) for e in log.node_log_entries] == [
        ("checked", "info", {"value": 4, "ok": True}),
        (None, "warning", {"note": "fields only"}),
        ("plain message", "debug", {}),
    ]
    assert log.user_fields == {"value": 4, "ok": True, "note": "fields only"}
    assert [text for _, text in log.logs] == ["checked | value=4 ok=True", "note=fields only", "plain message"]
    entries = net.get_node_log("A")
    assert [e.level for e in entries] == ["info", "warning", "debug"]
    assert entries[0].fields == {"value": 4, "ok": True} and entries[0].to_dict()["fields"] == {"value": 4, "ok": True}
    assert [t for _, t in net.logs.for_epoch(log.epoch_id)] == [t for _, t in log.logs]


def test_log_is_kept_even_without_print_capture(make_net):
    net = make_net(pipeline("A"))
    net.set_node_exec("A", logging_node)
    net.set_node_config("A", capture_stdout=False)
    net.inject_data("A", "in", [1])
    net.start()
    assert len(net.get_node_log("A")) == 3


def test_log_in_async_and_thread_pool_nodes(make_net):
    net = make_net(pipeline("A", "B"), thread_pools={"io": {"size": 2}})

    async def async_node(ctx, packets):
        for packet in packets["in"]:
            value = await ctx.consume_packet(packet)
            ctx.log("async", value=value)  # synchronous, no await
            await asyncio.sleep(0)
            await ctx.load_output_port("out", await ctx.create_packet(value))
        await ctx.send_output_salvo("send")

    net.set_node_exec("A", async_node)
    net.set_node_exec("B", logging_node)
    net.set_node_config("B", pool="io")
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert sorted(e.message for e in net.get_node_log("A")) == ["async | value=1", "async | value=2"]
    assert sum(e.fields is not None for e in net.get_node_log("B")) == 6


def test_log_bad_input(make_net):
    net = make_net(pipeline("A"), on_error="continue")
    errors = []

    def bad(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        try:
            ctx.log("x", level="loud")
        except ValueError as error:
            errors.append(str(error))
        try:
            ctx.log()
        except ValueError as error:
            errors.append(str(error))
        ctx.load_output_port("out", ctx.create_packet(0))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", bad)
    ids = []
    net.on_epoch_start(lambda n, e: ids.append(e))
    net.inject_data("A", "in", [1])
    net.start()
    assert errors == [
        f"ctx.log in node 'A' (epoch {ids[0]}): unknown level 'loud'; use one of debug, info, warning, error, critical",
        f"ctx.log in node 'A' (epoch {ids[0]}) needs a message or fields, e.g. ctx.log('done', rows=3)",
    ]


def test_vars_from_net_options_are_read_only(make_net):
    net = make_net(pipeline("A"), node_vars={"A": {"scale": 3}})
    seen = []

    def scaled(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        seen.append(dict(ctx.vars))
        with pytest.raises(TypeError):
            ctx.vars["scale"] = 4
        ctx.load_output_port("out", ctx.create_packet(value * ctx.vars["scale"]))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", scaled)
    net.inject_data("A", "in", [2])
    net.start()
    assert net.flush_output_queue("A::out") == [6] and seen == [{"scale": 3}]
    assert dict(net.get_node_vars("A")) == {"scale": 3}


def test_vars_default_to_empty_and_bad_input(make_net):
    net = make_net(pipeline("A"))
    assert dict(net.get_node_vars("A")) == {}
    with pytest.raises(NodeNotFoundError, match="Node not found: 'B'"):
        net.set_node_vars("B", {})
    with pytest.raises(TypeError, match=r"set_node_vars\('A', ...\) needs a mapping"):
        net.set_node_vars("A", [("x", 1)])


NODES = textwrap.dedent("""\
    def scaled(ctx, packets):
        for packet in packets["in"]:
            value = ctx.consume_packet(packet)
            ctx.load_output_port("out", ctx.create_packet(value * ctx.vars["scale"] + ctx.vars["offset"]))
        ctx.send_output_salvo("send")
""")

NET = textwrap.dedent("""\
    [net.node_vars.scale]
    value = "3"
    type = "int"

    [nodes.A]
    in_ports = ["in"]
    out_ports = ["out"]
    exec_node_func = "obsvarnodes.scaled"

    [nodes.A.out_salvo_conditions.send]
    when = "nonempty(out)"

    [nodes.A.options.node_vars.offset]
    value = 10
    type = "int"
""")


def test_config_vars_reach_ctx_and_resolve_once(tmp_path, monkeypatch):
    (tmp_path / "obsvarnodes.py").write_text(NODES)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("obsvarnodes", None)
    path = tmp_path / "vars.netrun.toml"
    path.write_text(NET)
    calls = []
    original = NodeVariable.resolve_value

    def counting(self, name="", **kwargs):
        calls.append(name)
        return original(self, name, **kwargs)

    monkeypatch.setattr(NodeVariable, "resolve_value", counting)
    with Net.from_file(path) as net:
        calls.clear()
        net.inject_data("A", "in", [1, 2, 3])
        net.start()
        assert net.flush_output_queue("A::out") == [13, 16, 19]
    assert sorted(calls) == ["offset", "scale"]  # once each, not once per access


def logs_in_worker(ctx, packets):
    value = ctx.consume_packet(packets["in"][0])
    ctx.log("in worker", value=value)
    try:
        ctx.vars
    except Exception as error:
        ctx.log(type(error).__name__, text=str(error))
    ctx.load_output_port("out", ctx.create_packet(value))
    ctx.send_output_salvo("send")


@pytest.mark.timeout(60)
def test_log_and_vars_in_a_process_pool_worker(make_net):
    net = make_net(pipeline("A"), process_pools={"cpu": {"size": 1}})
    net.set_node_exec("A", logs_in_worker)
    net.set_node_config("A", pool="cpu")
    records = []
    net.on_epoch_end(lambda n, e, log: records.append(log))
    net.inject_data("A", "in", [7])
    net.start()
    assert net.flush_output_queue("A::out") == [7]
    [log] = records
    texts = [text for _, text in log.logs]
    # the entries reach the epoch log as text (structured fields stay in the worker)
    assert texts[0] == "in worker | value=7"
    assert texts[1].startswith("ContextMisuseError | text=ctx.vars is not available to node 'A'")
    assert "process-pool worker" in texts[1]


def test_node_vars_survive_save_and_load(make_net, tmp_path):
    net = make_net(pipeline("A", "B"), node_vars={"A": {"scale": 3, "name": "x", "on": True, "ratio": 0.5,
                                                        "table": {"k": [1, 2]}}})
    text = net.to_toml()
    again = Net.from_toml(text)
    try:
        assert dict(again.get_node_vars("A")) == {"scale": 3, "name": "x", "on": True, "ratio": 0.5,
                                                  "table": {"k": [1, 2]}}
        assert dict(again.get_node_vars("B")) == {}
        third = Net.from_toml(again.to_toml())  # config variables keep their declarations
        assert dict(third.get_node_vars("A")) == dict(again.get_node_vars("A"))
        third.stop()
    finally:
        again.stop()


def test_ctx_print_goes_to_the_epoch_log_even_without_capture(make_net, capsys):
    net = make_net(pipeline("A"))

    def printer(ctx, packets):
        value = ctx.consume_packet(packets["in"][0])
        ctx.print("value", value, sep="=")
        ctx.print("two\nlines")
        ctx.load_output_port("out", ctx.create_packet(value))
        ctx.send_output_salvo("send")

    net.set_node_exec("A", printer)
    net.set_node_config("A", capture_stdout=False)
    records = []
    net.on_epoch_end(lambda n, e, log: records.append(log))
    net.inject_data("A", "in", [3])
    net.start()
    assert [text for _, text in records[0].logs] == ["value=3", "two", "lines"]
    assert capsys.readouterr().out == ""  # not echoed unless echo_stdout
    net.set_node_config("A", capture_stdout=True, echo_stdout=True)
    net.inject_data("A", "in", [4])
    net.start()
    assert capsys.readouterr().out == "value=4\ntwo\nlines\n"
