"""API probes for the differential test: small expressions over the public surface.

Each probe is one Python expression evaluated against the engine module ``ns`` (plus a few
objects built by ``SETUP``). Its outcome (the ``repr`` of the value, or the exception class
and message) is normalised (IDs, addresses) and must be the same on both engines. The
probes cover what random traces do not reach: constructors and argument conversion,
enum behaviour, reprs, equality and hashing, the module surface.

Probes whose published behaviour is a panic (reference §11) are left out: the replacement
behaviour is tested by the engine's own unit tests.

Imports nothing from the project.
"""

from __future__ import annotations

import re

from _trace_norm import ADDR_RE, IdMap

SETUP = '''
P, I, O = ns.PortRef, ns.PortType.Input, ns.PortType.Output
T, PS, PC = ns.SalvoConditionTerm, ns.PortState, ns.PacketCount
e_ab = ns.Edge(P("A", O, "o"), P("B", I, "i"))
e_cb = ns.Edge(P("C", O, "o"), P("B", I, "i"))
cond_b = ns.SalvoCondition(ns.MaxSalvos.finite(1), "i", T.port("i", PS.NonEmpty))
send_b = ns.SalvoCondition(ns.MaxSalvos.Infinite, {"o": PC.All}, T.port("o", PS.NonEmpty))
A = ns.Node("A", out_ports={"o": ns.Port()})
C = ns.Node("C", out_ports={"o": ns.Port()})
B = ns.Node("B", in_ports={"i": ns.Port(ns.PortSlotSpec.finite(2))}, out_ports={"o": ns.Port()},
            in_salvo_conditions={"go": cond_b}, out_salvo_conditions={"send": send_b},
            dependency_request_config=ns.DependencyRequestConfig(
                [ns.DependencyRequestTrigger.OnNoSalvoTriggered], "lbl"))
g = ns.Graph([A, B, C], [e_ab, e_cb, e_ab], dependency_edges=[e_ab])
net = ns.NetSim(g)
resp, evs = net.do_action(ns.NetAction.create_packet())
pid = resp.packet_id
act = ns.NetAction.create_packet()
'''

PROBES = [
    # module surface
    "sorted(ns.__all__)",
    "len(ns.__all__)",
    # public names; the documented 0.1.x aliases (reference §12.6) and submodules aside
    "sorted(n for n in dir(ns) if not n.startswith('_') and n not in ALIASES and type(getattr(ns, n)).__name__ != 'module')",
    "__import__('netrun_sim.netrun_sim').netrun_sim.NetSim is ns.NetSim",
    "[c.__name__ for c in ns.UndoStateMismatchError.__mro__]",
    "[c.__name__ for c in ns.PacketNotFoundError.__mro__]",
    "[c.__name__ for c in ns.GraphValidationError.__mro__]",
    "ns.PacketNotFoundError('x').args",
    # simple enums
    "repr(ns.PortState.Empty), str(ns.EpochState.Running), repr(ns.PortType.Output)",
    "ns.EpochState.Startable == 0, ns.EpochState.Running == 1, int(ns.EpochState.Finished)",
    "ns.EpochState.Running == 'Running', ns.EpochState.Running == None",
    "ns.PortType.Input == ns.PortType.Input, ns.PortType.Input == ns.PortType.Output",
    "hash(ns.PortType.Input) == hash(ns.PortType.Input)",
    "hash(ns.EpochState.Running)",
    "ns.EpochState.Running < ns.EpochState.Finished",
    "ns.PortState()",
    "ns.EpochState()",
    "ns.PortState.empty() == ns.PortState.Empty, ns.PortState.full(), ns.PortState.non_empty(), ns.PortState.non_full()",
    "[repr(getattr(ns.PortState, k)(3)) for k in ('equals','less_than','greater_than','equals_or_less_than','equals_or_greater_than')]",
    "ns.PortState.equals(3).kind, ns.PortState.equals(3).value",
    "ns.PortState.equals(-1)",
    "ns.PortState.equals(2**64)",
    "ns.PortState.equals(1.5)",
    "ns.PortState.equals(True).value",
    "ns.PortState.equals(2**64 - 1).value",
    "ns.PacketCount.count(2) == ns.PacketCount.count(2)",
    "repr(ns.PacketCount.count(2)), ns.PacketCount.count(2).count, repr(ns.PacketCount.all())",
    "repr(ns.MaxSalvos.finite(3)), ns.MaxSalvos.finite(3).max, repr(ns.MaxSalvos.infinite())",
    "repr(ns.PortSlotSpec.finite(3)), ns.PortSlotSpec.finite(3).capacity, repr(ns.PortSlotSpec.infinite())",
    "repr(ns.DependencyRequestTrigger.on_startup()), repr(ns.DependencyRequestTrigger.on_no_salvo_triggered())",
    "ns.PacketCountN()",
    "ns.MaxSalvosFinite()",
    "ns.PortSlotSpecFinite()",
    "ns.PortStateNumeric()",
    "ns.PacketCount.count(-1)",
    # PortRef / Edge
    "repr(P('A', O, 'out')), str(P('A', O, 'out')), str(P('B', I, 'in'))",
    "P('A', O, 'o') == P('A', O, 'o'), hash(P('A', O, 'o')) == hash(P('A', O, 'o')), P('A', O, 'o') == P('A', I, 'o')",
    "P('A', O, 'o').node_name, repr(P('A', O, 'o').port_type), P('A', O, 'o').port_name",
    "P(1, I, 'a')",
    "P('a', 'Input', 'a')",
    "repr(e_ab), str(e_ab), e_ab == ns.Edge(P('A', O, 'o'), P('B', I, 'i')), len({e_ab, e_ab})",
    "str(e_ab.source), str(e_ab.target)",
    "setattr(e_ab, 'source', e_ab.target)",
    "setattr(P('A', O, 'o'), 'node_name', 'X')",
    "repr(P('q\"x', O, 'o')), str(ns.Edge(P('q\"x', O, 'o'), P('B', I, 'i')))",
    # Port
    "repr(ns.Port()), repr(ns.Port(None)), repr(ns.Port(ns.PortSlotSpec.Finite)), repr(ns.Port(ns.PortSlotSpec.finite(2)))",
    "repr(ns.Port(ns.PortSlotSpec.finite(2)).slots_spec), repr(ns.Port().slots_spec)",
    "ns.Port('x')",
    "ns.Port(3)",
    "ns.Port() == ns.Port()",
    # terms
    "repr(T.true_()), repr(T.false_()), T.true_().kind, T.false_().kind",
    "repr(T.and_([T.port('a', PS.NonEmpty), T.or_([T.port('b', PS.equals(2)), T.not_(T.port('c', PS.Full))])]))",
    "repr(T.port('a\"b\\\\c\\n', PS.less_than(3)))",
    "repr(T.port('x', PS.equals_or_greater_than(1))), repr(T.port('x', PS.NonFull)), repr(T.port('x', PS.Empty))",
    "T.port('a', PS.NonEmpty).get_port_name(), repr(T.port('a', PS.NonEmpty).get_port_state()), T.port('a', PS.NonEmpty).get_terms(), T.port('a', PS.NonEmpty).get_inner()",
    "repr(T.port('a', PS.equals(4)).get_port_state())",
    "[repr(t) for t in T.and_([T.true_(), T.false_()]).get_terms()], T.and_([]).get_port_name()",
    "repr(T.not_(T.true_()).get_inner()), T.not_(T.true_()).kind, T.or_([]).kind",
    "T.port('a', 'x')",
    "T.port('a', 3)",
    "T.and_('ab')",
    "T.and_([1])",
    "T.not_(None)",
    "T.true_() == T.true_()",
    "repr(T.and_((T.true_(),)))",
    "T()",
    # SalvoCondition
    "sorted(cond_b.ports), repr(cond_b.ports['i']), repr(cond_b.max_salvos), repr(cond_b.term)",
    "repr(cond_b)",
    "sorted((k, repr(v)) for k, v in ns.SalvoCondition(ns.MaxSalvos.Infinite, ['a', 'b', 'a'], T.true_()).ports.items())",
    "sorted((k, repr(v)) for k, v in ns.SalvoCondition(ns.MaxSalvos.Infinite, ('a', 'b'), T.true_()).ports.items())",
    "sorted((k, repr(v)) for k, v in ns.SalvoCondition(ns.MaxSalvos.Infinite, {'a': PC.count(3), 'b': PC.All}, T.true_()).ports.items())",
    "ns.SalvoCondition(ns.MaxSalvos.Infinite, {1: PC.All}, T.true_())",
    "ns.SalvoCondition(ns.MaxSalvos.Infinite, {'a': 3}, T.true_())",
    "ns.SalvoCondition(ns.MaxSalvos.Infinite, None, T.true_())",
    "ns.SalvoCondition(ns.MaxSalvos.Infinite, 3, T.true_())",
    "ns.SalvoCondition(3, 'a', T.true_())",
    "ns.SalvoCondition(ns.MaxSalvos.Infinite, 'a', 'x')",
    "ns.SalvoCondition(ns.MaxSalvos.Infinite, 'a')",
    "repr(ns.SalvoCondition(max_salvos=ns.MaxSalvos.finite(2), ports='a\"', term=T.true_()))",
    "ns.SalvoCondition(ns.MaxSalvos.Infinite, {}, T.true_()).ports",
    # DependencyRequestConfig
    "repr(ns.DependencyRequestConfig([ns.DependencyRequestTrigger.OnStartup, ns.DependencyRequestTrigger.OnNoSalvoTriggered], 'l\"b'))",
    "[repr(t) for t in ns.DependencyRequestConfig([ns.DependencyRequestTrigger.OnStartup]*2, 'x').triggers]",
    "ns.DependencyRequestConfig([ns.DependencyRequestTrigger.OnStartup], 'x').label",
    "ns.DependencyRequestConfig('x', 'y')",
    "ns.DependencyRequestConfig([1], 'y')",
    # Node
    "repr(B), B.name, sorted(B.in_ports), sorted(B.out_ports), list(B.in_salvo_conditions), list(B.out_salvo_conditions)",
    "repr(B.dependency_request_config), A.dependency_request_config",
    "repr(ns.Node('n\\u00e9\"'))",
    "ns.Node('A', in_ports=[])",
    "ns.Node('A', in_ports={'a': 3})",
    "ns.Node(3)",
    "ns.Node('A', in_salvo_conditions={'c': 3})",
    "ns.Node('A').in_ports, ns.Node('A').in_salvo_conditions",
    "list(ns.Node('A', in_ports={'a': ns.Port()}, in_salvo_conditions={'z': cond_b, 'a': cond_b, 'm': cond_b}).in_salvo_conditions)",
    "B == B, ns.Node('A') == ns.Node('A')",
    # Graph
    "repr(g), sorted(g.nodes()), sorted(str(e) for e in g.edges()), [str(e) for e in g.dependency_edges()]",
    "[str(e) for e in g.get_edges_by_head(P('B', I, 'i'))]",
    "g.get_edges_by_head(P('B', I, 'zz')), g.is_dependency_edge(e_ab), g.is_dependency_edge(e_cb)",
    "g.validate()",
    "repr(ns.Graph((A,), ()))",
    "ns.Graph('x', [])",
    "ns.Graph([1], [])",
    "ns.Graph([A], [1])",
    "ns.Graph([A], [], dependency_edges=[1])",
    "g == g, g.nodes()['B'] is g.nodes()['B']",
    "sorted(sorted([i.kind, i.message, str(i), repr(i)]) for i in ns.Graph([A, B], [ns.Edge(P('A', I, 'o'), P('B', O, 'x')), ns.Edge(P('A', O, 'nope'), P('Q', I, 'i'))]).validate())",
    "[sorted((k, repr(v) if not isinstance(v, (str, int)) else v) for k, v in i.details.items()) for i in ns.Graph([ns.Node('X', in_ports={'i': ns.Port()}, in_salvo_conditions={'c': ns.SalvoCondition(ns.MaxSalvos.Infinite, 'i', T.true_())})], []).validate()]",
    "[i.message for i in ns.Graph([ns.Node('X', in_ports={'i': ns.Port()}, in_salvo_conditions={'c': ns.SalvoCondition(ns.MaxSalvos.finite(3), 'i', T.true_())})], []).validate()]",
    "sorted(i.message for i in ns.Graph([A, B, C], [e_ab], dependency_edges=[e_cb]).validate())",
    "ns.GraphValidationErrorInfo()",
    # PacketLocation
    "repr(ns.PacketLocation.outside_net()), repr(ns.PacketLocation.input_port('B', 'i')), repr(ns.PacketLocation.edge(e_ab))",
    "repr(ns.PacketLocation.node(pid)), repr(ns.PacketLocation.output_port(pid, 'o'))",
    "repr(ns.PacketLocation.node(pid.lower())), ns.PacketLocation.node(pid.lower()).epoch_id",
    "repr(ns.PacketLocation.node(ulid.ULID.from_str(pid)))",
    "ns.PacketLocation.node('bad')",
    "ns.PacketLocation.node('01ARZ3NDEKTSV4RRFFQ69G5FAU')",
    "ns.PacketLocation.node('8ZZZZZZZZZZZZZZZZZZZZZZZZZ').epoch_id",
    "ns.PacketLocation.node(' 1ARZ3NDEKTSV4RRFFQ69G5FAV')",
    "ns.PacketLocation.node('\\u00e9' + '0' * 24)",
    "[(l.kind, l.node_name, l.port_name, l.epoch_id, l.get_edge()) for l in (ns.PacketLocation.input_port('B', 'i'), ns.PacketLocation.outside_net())]",
    "[(l.kind, l.node_name, l.port_name, l.epoch_id) for l in (ns.PacketLocation.node(pid), ns.PacketLocation.output_port(pid, 'o'))]",
    "str(ns.PacketLocation.edge(e_ab).get_edge()), ns.PacketLocation.edge(e_ab).kind",
    "ns.PacketLocation()",
    "ns.PacketLocation.input_port(1, 'a')",
    # Salvo
    "repr(ns.Salvo('c', [('in', pid)])), repr(ns.Salvo('c', [])), repr(ns.Salvo('c\"', ()))",
    "ns.Salvo('c', [('in', pid)]).salvo_condition, ns.Salvo('c', [('in', pid)]).packets",
    "ns.Salvo('c', [['in', pid]])",
    "ns.Salvo('c', [('in', ulid.ULID.from_str(pid))])",
    "ns.Salvo('c', 'abc')",
    "ns.Salvo('c', [('a', 'b', 'c')])",
    "setattr(ns.Salvo('c', []), 'salvo_condition', 'x')",
    "ns.Salvo(1, [])",
    # NetAction
    "[repr(a) for a in (ns.NetAction.run_step(), ns.NetAction.create_packet(), ns.NetAction.create_packet(pid), ns.NetAction.create_packet(None))]",
    "[repr(a) for a in (ns.NetAction.consume_packet(12345), ns.NetAction.destroy_packet(pid), ns.NetAction.start_epoch('x'), ns.NetAction.finish_epoch(pid), ns.NetAction.cancel_epoch(pid))]",
    "[repr(a) for a in (ns.NetAction.create_epoch('B\"', ns.Salvo('c', [])), ns.NetAction.load_packet_into_output_port(pid, 'o\"'), ns.NetAction.send_output_salvo(pid, 'c'))]",
    "[repr(a) for a in (ns.NetAction.transport_packet_to_location(pid, ns.PacketLocation.edge(e_ab)), ns.NetAction.create_request('B', 'l\\n'))]",
    "repr(ns.NetAction.consume_packet(ulid.ULID.from_str(pid)))",
    "net.do_action(ns.NetAction.consume_packet(12345))",
    "net.do_action(ns.NetAction.consume_packet(pid + ' '))",
    "net.do_action(ns.NetAction.create_epoch('B', ns.Salvo('c', [('i', 'bad')])))",
    "ns.NetAction.consume_packet()",
    "ns.NetAction.create_epoch('B', 3)",
    "ns.NetAction.create_request(1, 'x')",
    "ns.NetAction.transport_packet_to_location(pid, 'X')",
    "ns.NetAction()",
    "act == act, ns.NetAction.run_step() == ns.NetAction.run_step()",
    # responses
    "ns.NetActionResponseData()",
    "ns.NetActionResponseData.Packet(packet_id='x').packet_id, ns.NetActionResponseData.Packet('y').packet_id",
    "ns.NetActionResponseData.Packet.__match_args__, ns.NetActionResponseData.CancelledEpoch.__match_args__, ns.NetActionResponseData.StepResult.__match_args__, ns.NetActionResponseData.Empty.__match_args__",
    "ns.NetActionResponseData.StepResult(made_progress=True).made_progress",
    "type(resp).__name__, isinstance(resp, ns.NetActionResponseData.Packet), isinstance(resp, ns.NetActionResponseData), isinstance(resp, ns.NetActionResponseData.Empty)",
    "[type(getattr(ns.NetActionResponseData, v)).__name__ for v in ('Packet', 'Empty')]",
    "setattr(resp, 'packet_id', 'x')",
    # events
    "ns.NetEvent()",
    "[(e.kind, e.packet_id == pid, e.epoch_id, e.location, e.from_index, e.source_nodes, e.label) for e in evs]",
    "type(evs), type(evs[0].timestamp).__name__",
    "setattr(evs[0], 'kind', 'x')",
    "isinstance(evs[0], ns.NetEvent), type(evs[0]).__name__",
    "type(net.get_packet(pid)).__name__, type(ns.PacketLocation.outside_net()).__name__, type(ns.PacketCount.count(1)).__name__",
    # NetSim
    "repr(net), repr(net.graph), net.graph is net.graph",
    "ns.NetSim(1)",
    "ns.NetSim()",
    "net.do_action(1)",
    "net.do_action()",
    "net.undo_action(act, ())",
    "net.undo_action(act, [1])",
    "net.undo_action(act, [])",
    "net.undo_action(1, [])",
    "net.get_epoch('bad')",
    "net.get_epoch(pid), net.get_packet('01ARZ3NDEKTSV4RRFFQ69G5FAV')",
    "repr(net.get_packet(pid)), net.get_packet(pid).id == pid, str(net.get_packet(pid).get_id()) == pid",
    "repr(net.get_packet(pid.lower()))",
    "net.get_packet(ulid.ULID.from_str(pid)).id == pid",
    "net.get_packet(3)",
    "net.packet_count_at(ns.PacketLocation.outside_net()), net.packet_count_at(ns.PacketLocation.input_port('ZZ', 'q'))",
    "net.packet_count_at(ns.PacketLocation.node('01ARZ3NDEKTSV4RRFFQ69G5FAV'))",
    "net.packet_count_at('x')",
    "[type(u).__name__ for u in net.get_packets_at_location(ns.PacketLocation.outside_net())]",
    "net.get_packets_at_location(ns.PacketLocation.outside_net())[0] == pid",
    "net.get_packets_at_location(ns.PacketLocation.edge(ns.Edge(P('Z', O, 'o'), P('B', I, 'i'))))",
    "net.get_startable_epochs(), net.is_blocked()",
    "net.run_step()",
    "net.run_until_blocked()",
    "type(net.run_step()).__name__",
    "net.do_action(ns.NetAction.create_request('Q', 'l'))",
    "net.do_action(ns.NetAction.transport_packet_to_location(pid, ns.PacketLocation.edge(ns.Edge(P('Z', O, 'o'), P('B', I, 'i')))))",
    "net.do_action(ns.NetAction.transport_packet_to_location(pid, ns.PacketLocation.input_port('B', 'zz')))",
    "net.do_action(ns.NetAction.transport_packet_to_location(pid, ns.PacketLocation.input_port('Q', 'i')))",
    "net.do_action(ns.NetAction.create_epoch('Q', ns.Salvo('c', [])))",
    "net.do_action(ns.NetAction.load_packet_into_output_port(pid, 'o'))",
    "net == net",
    "ns.NetSim.__doc__ is not None, ns.NetSim.do_action.__doc__ is not None",
]


ALIASES = ("EdgeRef", "PacketNotInNodeError", "UnconnectedOutputPortError")
# Python-level spellings that differ between a PyO3 class and a Python class and that no
# caller can depend on (the reference says ``__module__`` need not match).
_CTOR_RE = re.compile(r"\.__(new|init)__\(\)")
_SETTER_RE = re.compile(r"^(attribute '\w+' of '\w+' objects is not writable|property .* has no setter)$")


def _norm(ids: IdMap, text: str) -> str:
    text = ADDR_RE.sub(" at 0x?", ids.text(text)).replace("builtins.", "")
    text = _CTOR_RE.sub(".<constructor>()", text)
    return _SETTER_RE.sub("<read-only attribute>", text)


def run_probes(ns) -> list:
    """``[[probe, outcome], ...]`` for every probe, evaluated against engine module ``ns``."""
    import ulid

    env = {"ns": ns, "ulid": ulid, "ALIASES": ALIASES}
    exec(SETUP, env)  # noqa: S102 - fixed test code
    ids = IdMap()
    ids.ref(env["pid"])
    out = []
    for src in PROBES:
        try:
            value = eval(src, env)  # noqa: S307 - fixed test code
            outcome = ["ok", _norm(ids, repr(value))]
        except Exception as ex:  # noqa: BLE001
            outcome = ["raise", type(ex).__name__, _norm(ids, str(ex))]
        except BaseException as ex:
            if type(ex).__name__ != "PanicException":
                raise
            outcome = ["PANIC", _norm(ids, str(ex))]
        out.append([src, outcome])
    return out

