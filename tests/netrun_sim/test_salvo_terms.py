"""Salvo condition terms (every kind, at its boundaries) and SalvoCondition conversion rules."""

from __future__ import annotations

import pytest

from netrun_sim import (
    Graph,
    MaxSalvos,
    NetAction,
    NetSim,
    Node,
    PacketCount,
    PacketLocation,
    Port,
    PortSlotSpec,
    PortState,
    Salvo,
    SalvoCondition,
    SalvoConditionTerm as T,
)

NATIVE = not hasattr(NetSim, "snapshot")


def fires(term, counts: dict, caps: dict | None = None) -> bool:
    """Does an input condition with ``term`` fire when the ports hold ``counts`` packets?"""
    caps = caps or {}
    ports = {name: Port(PortSlotSpec.finite(caps[name]) if name in caps else None) for name in counts}
    cond = SalvoCondition(MaxSalvos.finite(1), [], term)
    # an extra port "_" always holds a packet, so the node is examined even when counts are 0
    net = NetSim(Graph([Node("B", in_ports={**ports, "_": Port()}, in_salvo_conditions={"c": cond})], []))
    for name, n in {**counts, "_": 1}.items():
        for _ in range(n):
            pid = net.do_action(NetAction.create_packet())[0].packet_id
            net.do_action(NetAction.transport_packet_to_location(pid, PacketLocation.input_port("B", name)))
    blocked = net.is_blocked()
    progress, events = net.run_step()
    fired = any(e.kind == "InputSalvoTriggered" for e in events)
    assert fired == progress == (not blocked)
    return fired


def port(name, state):
    return T.port(name, state)


def test_constants_and_connectives():
    assert fires(T.true_(), {})
    assert not fires(T.false_(), {})
    assert fires(T.and_([]), {})  # empty and_ is true
    assert not fires(T.or_([]), {})  # empty or_ is false
    assert fires(T.not_(T.false_()), {}) and not fires(T.not_(T.true_()), {})
    assert not fires(T.and_([T.true_(), T.false_()]), {})
    assert fires(T.or_([T.false_(), T.true_()]), {})
    assert fires(T.and_((T.true_(), T.or_([T.false_(), T.not_(T.false_())]))), {})


@pytest.mark.parametrize("count, empty, non_empty", [(0, True, False), (1, False, True), (3, False, True)])
def test_empty_and_non_empty(count, empty, non_empty):
    assert fires(port("p", PortState.Empty), {"p": count}) is empty
    assert fires(port("p", PortState.NonEmpty), {"p": count}) is non_empty


@pytest.mark.parametrize("count", [0, 1, 5])
def test_full_is_never_true_and_non_full_always_true_on_infinite_ports(count):
    assert not fires(port("p", PortState.Full), {"p": count})
    assert fires(port("p", PortState.NonFull), {"p": count})


@pytest.mark.parametrize("count, full", [(0, False), (1, False), (2, True)])
def test_full_and_non_full_on_finite_ports(count, full):
    assert fires(port("p", PortState.Full), {"p": count}, {"p": 2}) is full
    assert fires(port("p", PortState.NonFull), {"p": count}, {"p": 2}) is (not full)


def test_capacity_zero_is_full_when_empty():
    assert fires(port("p", PortState.Full), {"p": 0}, {"p": 0})
    assert not fires(port("p", PortState.NonFull), {"p": 0}, {"p": 0})


@pytest.mark.parametrize(
    "kind, results",  # results for counts 1, 2, 3 against n = 2
    [
        ("equals", (False, True, False)),
        ("less_than", (True, False, False)),
        ("greater_than", (False, False, True)),
        ("equals_or_less_than", (True, True, False)),
        ("equals_or_greater_than", (False, True, True)),
    ],
)
def test_numeric_states(kind, results):
    state = getattr(PortState, kind)(2)
    assert tuple(fires(port("p", state), {"p": c}) for c in (1, 2, 3)) == results


def test_terms_see_each_port_separately_and_missing_ports_count_zero():
    term = T.and_([port("a", PortState.equals(2)), port("b", PortState.Empty)])
    assert fires(term, {"a": 2, "b": 0})
    assert not fires(term, {"a": 2, "b": 1})
    assert not fires(term, {"a": 1, "b": 0})


def test_output_terms_use_the_epochs_own_output_ports():
    cond = SalvoCondition(MaxSalvos.Infinite, "o", port("o", PortState.equals_or_greater_than(2)))
    node = Node("A", out_ports={"o": Port()}, out_salvo_conditions={"two": cond})
    net = NetSim(Graph([node], []))
    e1 = net.do_action(NetAction.create_epoch("A", Salvo("m", [])))[0].epoch.id
    e2 = net.do_action(NetAction.create_epoch("A", Salvo("m", [])))[0].epoch.id
    for eid, n in ((e1, 1), (e2, 2)):
        net.do_action(NetAction.start_epoch(eid))
        for _ in range(n):
            pid = net.do_action(NetAction.create_packet(eid))[0].packet_id
            net.do_action(NetAction.load_packet_into_output_port(pid, "o"))
    with pytest.raises(Exception) as info:
        net.do_action(NetAction.send_output_salvo(e1, "two"))
    assert str(info.value) == f"Salvo condition 'two' not met for epoch {e1}"
    _, events = net.do_action(NetAction.send_output_salvo(e2, "two"))
    assert [e.kind for e in events] == ["PacketOrphaned", "PacketOrphaned", "OutputSalvoTriggered"]


def test_term_getters_and_reprs():
    p = port('a"b', PortState.equals_or_less_than(3))
    assert (p.kind, p.get_port_name(), p.get_terms(), p.get_inner()) == ("Port", 'a"b', None, None)
    assert repr(p.get_port_state()) == "PortState.equals_or_less_than(3)"
    assert repr(p) == 'SalvoConditionTerm.port("a\\"b", EqualsOrLessThan(3))'
    full = port("x", PortState.Full)
    assert full.get_port_state() == PortState.Full
    both = T.and_([full, T.not_(T.false_()), T.or_([])])
    assert both.kind == "And" and [t.kind for t in both.get_terms()] == ["Port", "Not", "Or"]
    assert both.get_terms()[1].get_inner().kind == "False"
    assert repr(both) == (
        'SalvoConditionTerm.and_([SalvoConditionTerm.port("x", Full), '
        "SalvoConditionTerm.not_(SalvoConditionTerm.false_()), SalvoConditionTerm.or_([])])"
    )
    names = {
        "equals": "Equals", "less_than": "LessThan", "greater_than": "GreaterThan",
        "equals_or_less_than": "EqualsOrLessThan", "equals_or_greater_than": "EqualsOrGreaterThan",
    }
    for kind, shown in names.items():
        assert repr(port("p", getattr(PortState, kind)(7))) == f'SalvoConditionTerm.port("p", {shown}(7))'
    for state in ("Empty", "NonEmpty", "NonFull"):
        assert repr(port("p", getattr(PortState, state))) == f'SalvoConditionTerm.port("p", {state})'
    assert T.true_().kind == "True" and T.false_().kind == "False" and T.or_([]).get_terms() == []
    assert repr(T.not_(T.true_())) == "SalvoConditionTerm.not_(SalvoConditionTerm.true_())"


@pytest.mark.parametrize(
    "ports, expected",
    [
        ("in", {"in": "All"}),
        (["a", "b", "a"], {"a": "All", "b": "All"}),
        (("a",), {"a": "All"}),
        ([], {}),
        ({"a": PacketCount.All, "b": PacketCount.count(2)}, {"a": "All", "b": 2}),
    ],
)
def test_condition_ports_conversion(ports, expected):
    cond = SalvoCondition(MaxSalvos.Infinite, ports, T.true_())
    got = {k: ("All" if v == PacketCount.All else v.count) for k, v in cond.ports.items()}
    assert got == expected
    if not NATIVE:  # insertion order kept (⟂ in the published engine)
        assert list(got) == list(expected)


def test_condition_getters():
    cond = SalvoCondition(max_salvos=MaxSalvos.finite(1), ports="in", term=T.true_())
    assert cond.max_salvos.max == 1 and cond.term.kind == "True"
    assert SalvoCondition(MaxSalvos.Infinite, "in", T.true_()).max_salvos == MaxSalvos.Infinite
    assert cond.ports is not cond.ports
