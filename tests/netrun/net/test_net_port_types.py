"""Port types: every spec form, generics and string annotations, checks on consume/load."""

from __future__ import annotations

import typing
from collections import OrderedDict

import pytest
from _net_graphs import pipeline
from _net_nodes import passthrough

from netrun.errors import NodeConfigError, NodeExecutionFailed, PacketTypeMismatch
from netrun.net import PortTypeRegistry, PortTypeSpec, check_value_type


class Base:
    pass


class Child(Base):
    pass


@pytest.mark.parametrize(
    "spec, value, ok",
    [
        ("int", 3, True),
        ("int", True, False),                   # name match is exact
        ("DataFrame", 3, False),
        (int, True, True),                      # isinstance
        ({"class": Base}, Child(), True),
        ({"class": Base, "isinstance": True}, Child(), True),
        ({"class": Base, "isinstance": False}, Child(), False),
        ({"class": Base, "isinstance": False}, Base(), True),
        ({"class": Base, "subclass": True}, Child(), True),
        ({"class": "Child"}, Child(), True),
        (list[int], [1], True),
        (list[int], (1,), False),
        (dict[str, int], OrderedDict(), True),
        (typing.List[int], [], True),
        (typing.Optional[int], None, True),
        (typing.Optional[int], "x", False),
        (int | None, 4, True),
        (typing.Union[int, str], "s", True),
        (typing.Literal["a", "b"], "b", True),
        (typing.Literal["a", "b"], "c", False),
        (typing.Any, object(), True),
        ("list[int]", [1], True),               # from __future__ import annotations strings
        ("list[int]", {1}, False),
        ("dict[str, list[int]]", {}, True),
        ("int | None", None, True),
        ("Optional[str]", "x", True),
        ("Union[int, str]", 2.0, False),
        ("Any", 1, True),
        ("collections.OrderedDict", OrderedDict(), True),
        ("no.such.module.Thing", 1, False),
    ],
)
def test_spec_forms(spec, value, ok):
    assert check_value_type(value, spec)[0] is ok


def test_descriptions():
    assert check_value_type("x", int) == (False, "instance of int", "str")
    assert check_value_type(1, {"class": Base, "subclass": True})[1] == "subclass of Base"
    assert check_value_type(1, "list[int]")[1] == "list[int] (checked as list)"
    assert check_value_type(1, None) == (True, "any", "int")


def test_invalid_specs_are_rejected():
    with pytest.raises(NodeConfigError, match="needs a 'class' key"):
        PortTypeSpec.from_spec({"isinstance": True})
    with pytest.raises(NodeConfigError, match="Unknown key"):
        PortTypeSpec.from_spec({"class": int, "exact": True})
    with pytest.raises(NodeConfigError, match="Unsupported port type 42"):
        PortTypeSpec.from_spec(42)


def test_registry_stores_raw_specs():
    registry = PortTypeRegistry()
    registry.set_input_port_type("N", "in", "int")
    assert registry.get_input_port_type("N", "in") == "int"
    assert registry.check_input_port_value("N", "in", "x") == (False, "int", "str")
    registry.set_input_port_type("N", "in", None)
    assert registry.get_input_port_type("N", "in") is None


def test_input_type_checked_on_consume(make_net):
    net = make_net(pipeline("A"), on_error="raise")
    net.set_node_exec("A", passthrough)
    net.set_input_port_type("A", "in", int)
    assert net.get_input_port_type("A", "in") is int
    [pid] = net.inject_data("A", "in", ["not an int"])
    with pytest.raises(NodeExecutionFailed) as info:
        net.start()
    error = info.value.original_exception
    assert isinstance(error, PacketTypeMismatch)
    assert (error.packet_id, error.port_name, error.node_name) == (pid, "in", "A")
    assert (error.expected_type, error.actual_type) == ("instance of int", "str")
    assert f"Packet {pid} on input port 'in' of node 'A': expected instance of int, got str" in str(error)
    assert "set_input_port_type" in str(error)
    # the value is kept (in the DLQ), not lost
    assert net.dead_letter_queue.get_all()[0].packet_values == {pid: "not an int"}


def test_output_type_checked_on_load(make_net):
    def produce(ctx, packets):
        ctx.consume_packet(packets["in"][0])
        ctx.load_output_port("out", ctx.create_packet("text"))
        ctx.send_output_salvo("send")

    for defer in (False, True):
        net = make_net(pipeline("A"), on_error="raise")
        net.set_node_exec("A", produce)
        net.set_node_config("A", defer_net_actions=defer)
        net.set_output_port_type("A", "out", "list[int]")
        net.inject_data("A", "in", [1])
        with pytest.raises(NodeExecutionFailed) as info:
            net.start()
        error = info.value.original_exception
        assert isinstance(error, PacketTypeMismatch) and error.port_kind == "output"
        assert "output port 'out' of node 'A': expected list[int] (checked as list), got str" in str(error)


def test_matching_types_pass(make_net):
    net = make_net(pipeline("A", "B"))
    net.set_node_exec("A", passthrough)
    net.set_node_exec("B", passthrough)
    net.set_input_port_type("A", "in", "int | str")
    net.set_output_port_type("A", "out", {"class": int, "isinstance": False})
    net.set_input_port_type("B", "in", int)
    net.inject_data("A", "in", [1, 2])
    net.start()
    assert net.flush_output_queue("B::out") == [1, 2]
