"""Salvo conditions: boolean terms over port counts, and the conditions that use them.

``SalvoConditionTerm`` is an immutable expression tree; ``SalvoCondition`` pairs a term with
the ``ports`` a salvo takes packets from and a ``max_salvos`` limit. :func:`compile_term`
turns a term into one small Python function over the engine's port queues, evaluated
without walking the tree.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._args import as_instance, as_sequence, as_str, boundary_copy, cannot_convert
from ._quoting import rust_debug
from .enums import MaxSalvos, MaxSalvosFinite, PacketCount, PacketCountN, PortState, PortStateNumeric

__all__ = ["SalvoConditionTerm", "SalvoCondition", "compile_term", "compile_first", "term_port_names"]

_STATE_NAMES = ("Empty", "Full", "NonEmpty", "NonFull")
_NUMERIC_NAMES = {
    "equals": "Equals",
    "less_than": "LessThan",
    "greater_than": "GreaterThan",
    "equals_or_less_than": "EqualsOrLessThan",
    "equals_or_greater_than": "EqualsOrGreaterThan",
}
_NUMERIC_OPS = {
    "equals": "==",
    "less_than": "<",
    "greater_than": ">",
    "equals_or_less_than": "<=",
    "equals_or_greater_than": ">=",
}


class SalvoConditionTerm:
    """A boolean expression over port packet counts.

    Build with the static methods ``true_()``, ``false_()``, ``port(name, state)``,
    ``and_(terms)``, ``or_(terms)`` and ``not_(term)``. An empty ``and_`` is true and an
    empty ``or_`` is false.

    >>> SalvoConditionTerm.port("in", PortState.NonEmpty)
    SalvoConditionTerm.port("in", NonEmpty)
    """

    __slots__ = ("_kind", "_port", "_state", "_terms", "_inner")

    def __new__(cls, *args, **kwargs):
        raise TypeError("No constructor defined for SalvoConditionTerm")

    @classmethod
    def _build(cls, kind, port=None, state=None, terms=None, inner=None):
        obj = object.__new__(cls)
        _set = object.__setattr__
        _set(obj, "_kind", kind)
        _set(obj, "_port", port)
        _set(obj, "_state", state)
        _set(obj, "_terms", terms)
        _set(obj, "_inner", inner)
        return obj

    @staticmethod
    def true_() -> "SalvoConditionTerm":
        """Always true."""
        return SalvoConditionTerm._build("True")

    @staticmethod
    def false_() -> "SalvoConditionTerm":
        """Never true."""
        return SalvoConditionTerm._build("False")

    @staticmethod
    def port(port_name: str, state) -> "SalvoConditionTerm":
        """A test of one port's count: ``state`` is a ``PortState`` or ``PortStateNumeric``."""
        port_name = as_str(port_name, "port_name")
        if isinstance(state, PortState):
            state = _STATE_NAMES[state._value]
        elif type(state) is PortStateNumeric:
            state = (state._kind, state._n)
        else:
            raise TypeError("Expected PortState or PortStateNumeric")
        return SalvoConditionTerm._build("Port", port=port_name, state=state)

    @staticmethod
    def and_(terms) -> "SalvoConditionTerm":
        """True when every term is (an empty list is true)."""
        return SalvoConditionTerm._build("And", terms=_terms(terms))

    @staticmethod
    def or_(terms) -> "SalvoConditionTerm":
        """True when some term is (an empty list is false)."""
        return SalvoConditionTerm._build("Or", terms=_terms(terms))

    @staticmethod
    def not_(term) -> "SalvoConditionTerm":
        """True when ``term`` is false."""
        as_instance(term, SalvoConditionTerm, "term")
        return SalvoConditionTerm._build("Not", inner=term)

    @property
    def kind(self) -> str:
        """``"True"``, ``"False"``, ``"Port"``, ``"And"``, ``"Or"`` or ``"Not"``."""
        return self._kind

    def get_port_name(self):
        """The port name of a ``Port`` term, else None."""
        return self._port

    def get_port_state(self):
        """The ``PortState`` / ``PortStateNumeric`` of a ``Port`` term, else None."""
        state = self._state
        if state is None:
            return None
        if type(state) is str:
            return getattr(PortState, state)
        return getattr(PortState, state[0])(state[1])

    def get_terms(self):
        """The sub-terms of ``And``/``Or`` (a new list), else None."""
        return None if self._terms is None else [boundary_copy(t) for t in self._terms]

    def get_inner(self):
        """The negated term of ``Not``, else None."""
        return None if self._inner is None else boundary_copy(self._inner)

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'SalvoConditionTerm' objects is not writable")

    def __repr__(self) -> str:
        kind = self._kind
        if kind == "True":
            return "SalvoConditionTerm.true_()"
        if kind == "False":
            return "SalvoConditionTerm.false_()"
        if kind == "Port":
            state = self._state
            shown = state if type(state) is str else f"{_NUMERIC_NAMES[state[0]]}({state[1]})"
            return f"SalvoConditionTerm.port({rust_debug(self._port)}, {shown})"
        if kind == "Not":
            return f"SalvoConditionTerm.not_({self._inner!r})"
        inner = ", ".join(repr(t) for t in self._terms)
        return f"SalvoConditionTerm.{kind.lower()}_([{inner}])"

    def __reduce__(self):
        return (_rebuild_term, (self._kind, self._port, self._state, self._terms, self._inner))


def _rebuild_term(kind, port, state, terms, inner):
    return SalvoConditionTerm._build(kind, port, state, terms, inner)


def _terms(terms) -> tuple:
    seq = as_sequence(terms, "terms")
    for t in seq:
        if type(t) is not SalvoConditionTerm:
            as_instance(t, SalvoConditionTerm, "terms")
    return tuple(seq)


def term_port_names(term: SalvoConditionTerm) -> list[str]:
    """Distinct port names mentioned in ``term``, in first-appearance (depth-first) order."""
    seen: dict[str, None] = {}
    stack = [term]
    while stack:
        t = stack.pop()
        if t._kind == "Port":
            seen.setdefault(t._port, None)
        elif t._terms is not None:
            stack.extend(reversed(t._terms))
        elif t._inner is not None:
            stack.append(t._inner)
    return list(seen)


def compile_term(term: SalvoConditionTerm, port_index: dict[str, int], caps: Sequence, attr: str = ""):
    """Compile ``term`` to ``f(Q) -> bool`` where ``Q[i]`` (or ``Q[i]<attr>``, e.g.
    ``attr=".q"``) is the queue of port ``i``.

    ``port_index`` maps port names to positions in ``Q``; ``caps[i]`` is the capacity of
    port ``i`` (None = infinite). A port missing from ``port_index`` counts as 0 and, for
    ``Full``/``NonFull``, as infinite (the published engine's defaults).
    """
    if attr not in ("", ".q"):
        raise ValueError(f"unsupported queue accessor {attr!r}")
    source = _expr(term, port_index, caps, attr)
    return eval(f"lambda Q: {source}", {"len": len})  # noqa: S307 - built from ints/operators only


def compile_first(choices: Sequence, port_index: dict[str, int], caps: Sequence):
    """Compile ``[(term, value), ...]`` to ``f(Q)`` returning the ``value`` of the first
    term that holds over the port queues ``Q`` (as in :func:`compile_term`), else None.

    One call tests a node's input conditions in order (instead of one call per condition).
    Long lists are tested in a loop instead (a deeply nested expression could exhaust the
    parser's recursion limit).
    """
    if len(choices) > 32:
        tests = [(compile_term(term, port_index, caps), value) for term, value in choices]

        def first(Q):
            for test, value in tests:
                if test(Q):
                    return value
            return None

        return first
    env: dict = {"len": len}
    body = "None"
    for i in range(len(choices) - 1, -1, -1):
        term, value = choices[i]
        env[f"V{i}"] = value
        body = f"V{i} if {_expr(term, port_index, caps)} else {body}"
    return eval(f"lambda Q: {body}", env)  # noqa: S307 - built from ints/operators only


def _expr(term, port_index, caps, attr="") -> str:
    kind = term._kind
    if kind == "True":
        return "True"
    if kind == "False":
        return "False"
    if kind == "Not":
        return f"(not {_expr(term._inner, port_index, caps, attr)})"
    if kind in ("And", "Or"):
        if not term._terms:
            return "True" if kind == "And" else "False"
        joiner = " and " if kind == "And" else " or "
        return "(" + joiner.join(_expr(t, port_index, caps, attr) for t in term._terms) + ")"
    idx = port_index.get(term._port)
    count = "0" if idx is None else f"len(Q[{idx}]{attr})"
    cap = None if idx is None else caps[idx]
    state = term._state
    if state == "Empty":
        return f"({count} == 0)"
    if state == "NonEmpty":
        return f"({count} > 0)"
    if state == "Full":
        return "False" if cap is None else f"({count} >= {int(cap)})"
    if state == "NonFull":
        return "True" if cap is None else f"({count} < {int(cap)})"
    return f"({count} {_NUMERIC_OPS[state[0]]} {int(state[1])})"


class SalvoCondition:
    """A named rule of a node: ``SalvoCondition(max_salvos, ports, term)``.

    ``ports`` says which ports a salvo takes packets from: a port name, a list/tuple of names
    (all packets of each), or a dict ``{name: PacketCount.All | PacketCount.count(n)}``.
    Input conditions must use ``MaxSalvos.finite(1)``.

    >>> SalvoCondition(MaxSalvos.finite(1), "in", SalvoConditionTerm.port("in", PortState.NonEmpty))
    SalvoCondition(max_salvos=MaxSalvos.finite(1), ports={"in": PacketCount.All}, term=SalvoConditionTerm.port("in", NonEmpty))
    """

    __slots__ = ("_max", "_ports", "_term", "_plan")

    def __init__(self, max_salvos, ports, term) -> None:
        if isinstance(max_salvos, MaxSalvos):
            max_n = None
        elif type(max_salvos) is MaxSalvosFinite:
            max_n = max_salvos._n
        else:
            raise TypeError("Expected MaxSalvos or MaxSalvosFinite")
        port_map = _convert_ports(ports)
        if type(term) is not SalvoConditionTerm:
            as_instance(term, SalvoConditionTerm, "term")
        object.__setattr__(self, "_max", max_n)
        object.__setattr__(self, "_ports", port_map)
        object.__setattr__(self, "_term", term)
        # (port, n or None) in insertion order: the take plan used by the engine
        object.__setattr__(self, "_plan", tuple(port_map.items()))

    def __setattr__(self, name, value):
        raise AttributeError(f"attribute '{name}' of 'SalvoCondition' objects is not writable")

    @property
    def max_salvos(self):
        """``MaxSalvos.Infinite`` or a new ``MaxSalvosFinite``."""
        return MaxSalvos.Infinite if self._max is None else MaxSalvos.finite(self._max)  # type: ignore[attr-defined]

    @property
    def ports(self) -> dict:
        """A new ``{port: PacketCount.All | PacketCountN}`` dict, in insertion order."""
        return {p: (PacketCount.All if n is None else PacketCount.count(n)) for p, n in self._ports.items()}  # type: ignore[attr-defined]

    @property
    def term(self) -> SalvoConditionTerm:
        """A copy of the condition's term."""
        return boundary_copy(self._term)

    def __repr__(self) -> str:
        ms = "MaxSalvos.Infinite" if self._max is None else f"MaxSalvos.finite({self._max})"
        ports = ", ".join(
            f"{rust_debug(p)}: " + ("PacketCount.All" if n is None else f"PacketCount.count({n})")
            for p, n in self._ports.items()
        )
        return f"SalvoCondition(max_salvos={ms}, ports={{{ports}}}, term={self._term!r})"

    def __reduce__(self):
        return (SalvoCondition, (self.max_salvos, self.ports, self._term))


_PORTS_ERROR = "ports must be a str, list of str, or dict mapping str to PacketCount"


def _convert_ports(ports) -> dict:
    if isinstance(ports, str):
        return {str(ports): None}
    if isinstance(ports, Sequence) and not isinstance(ports, (bytes, bytearray)):
        if all(isinstance(p, str) for p in ports):
            return {str(p): None for p in ports}
        raise TypeError(_PORTS_ERROR)
    if isinstance(ports, dict):
        out: dict[str, int | None] = {}
        for key, value in ports.items():
            if not isinstance(key, str):
                raise cannot_convert(key, "PyString")
            if isinstance(value, PacketCount):
                out[str(key)] = None
            elif type(value) is PacketCountN:
                out[str(key)] = value._n
            else:
                raise TypeError("Expected PacketCount or PacketCountN")
        return out
    raise TypeError(_PORTS_ERROR)
