"""The ``when`` expression language: parsing, writing back, and error messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netrun.config import ExpressionLexer, ExpressionParseError, ExpressionParser, parse_when, term_to_when
from netrun.config.salvo import (
    PortStateEqualsConfig,
    PortStateNonEmptyConfig,
    SalvoConditionTermAndConfig,
    SalvoConditionTermNotConfig,
    SalvoConditionTermOrConfig,
    SalvoConditionTermPortConfig,
    SalvoConditionTermTrueConfig,
)


def port(name: str, state: object = None) -> SalvoConditionTermPortConfig:
    return SalvoConditionTermPortConfig(port_name=name, state=state or PortStateNonEmptyConfig())


def test_and_binds_tighter_than_or():
    term = parse_when("nonempty(a) or nonempty(b) and nonempty(c)")
    assert term == SalvoConditionTermOrConfig(terms=[port("a"), SalvoConditionTermAndConfig(terms=[port("b"), port("c")])])


def test_chains_are_flat_and_parentheses_nest():
    assert parse_when("nonempty(a) and nonempty(b) and nonempty(c)").terms == [port("a"), port("b"), port("c")]
    nested = parse_when("nonempty(a) and (nonempty(b) and nonempty(c))")
    assert nested.terms[1] == SalvoConditionTermAndConfig(terms=[port("b"), port("c")])


def test_spec_example_parses():
    term = parse_when("(nonempty(a) or nonempty(b)) and not full(c)")
    assert term.type == "and"
    assert term.terms[0].type == "or"
    assert term.terms[1] == SalvoConditionTermNotConfig(term=port("c", {"type": "full"}))


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("count(p) == 3", "equals", 3),
        ("count(p) < 3", "less_than", 3),
        ("count(p) <= 3", "equals_or_less_than", 3),
        ("count(p) > 0", "greater_than", 0),
        ("count(p) >= 2", "equals_or_greater_than", 2),
    ],
)
def test_count_comparisons(text, kind, value):
    term = parse_when(text)
    assert term.state.type == kind and term.state.value == value


def test_not_equal_is_not_equals():
    assert parse_when("count(p) != 2") == SalvoConditionTermNotConfig(term=port("p", PortStateEqualsConfig(value=2)))


@pytest.mark.parametrize("name", ["order", "note", "counter", "fullness", "emptyq", "android", "nonempty_x"])
def test_ports_named_like_keywords(name):
    # The original tokeniser matched keywords as prefixes and could not parse these.
    term = parse_when(f"nonempty({name}) and count({name}) >= 1")
    assert [t.port_name for t in term.terms] == [name, name]


def test_keyword_as_port_name_inside_parentheses():
    assert parse_when("nonempty(and)").port_name == "and"


def test_quoted_port_names_round_trip():
    term = parse_when('nonempty("my port") or empty(\'x-y\')')
    assert [t.port_name for t in term.terms] == ["my port", "x-y"]
    assert term_to_when(term) == 'nonempty("my port") or empty("x-y")'


def test_true_false_and_aliases():
    assert parse_when("true") == SalvoConditionTermTrueConfig()
    assert parse_when("non_empty(a)") == port("a")
    assert parse_when("nonfull(a)").state.type == "non_full"


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("nonempty(a) andd nonempty(b)", "unexpected 'andd' after a complete condition", 13),
        ("nonempty(a) && nonempty(b)", "unexpected character '&' (use 'and')", 13),
        ("nonemtpy(a)", "unknown function 'nonemtpy'", 1),
        ("count(a)", "count(a) must be compared with a number, found the end of the expression", 9),
        ("count(a) >= x", "expected a whole number after '>=', found 'x'", 13),
        ("nonempty(a", "expected ')' after the port name in nonempty(...), found the end of the expression", 11),
        ("(nonempty(a)", "expected ')' but found the end of the expression", 13),
        ("", "the expression is empty", 1),
        ("nonempty(a) and", "the expression ends too early", 16),
        ("and nonempty(a)", "'and' needs a condition on its left", 1),
        ("nonempty(a, b)", "unexpected character ',' (each function takes one port)", 11),
        ("nonempty(3)", "expected a port name in nonempty(...), found '3'", 10),
        ("nonempty(\"a)", "unterminated quoted port name", 10),
        ("count(a) = 2", "unexpected character '=' (use '==' to compare)", 10),
        ("ready", "unexpected word 'ready'", 1),
    ],
)
def test_errors_name_the_problem_and_column(text, message, column):
    with pytest.raises(ExpressionParseError) as info:
        parse_when(text)
    err = info.value
    assert err.message == f"{message} (column {column} of the expression)"
    assert err.expression_column == column
    assert err.expression == text
    assert err.expected
    # The rendered message ends with the expression and a caret under the column.
    if text:
        lines = str(err).splitlines()
        assert lines[-2] == f"    {text}"
        assert lines[-1] == "    " + " " * (column - 1) + "^"


def test_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse_when("???")


def test_lexer_and_parser_classes():
    tokens = ExpressionLexer("count(order) >= 2").tokenize()
    assert [(t.type, t.value) for t in tokens] == [
        ("IDENT", "count"), ("LPAREN", "("), ("IDENT", "order"), ("RPAREN", ")"),
        ("OP", ">="), ("NUMBER", "2"), ("EOF", ""),
    ]
    assert ExpressionParser(tokens).parse_config().port_name == "order"


def test_terms_without_text_form():
    assert term_to_when(SalvoConditionTermAndConfig(terms=[])) is None
    assert term_to_when(SalvoConditionTermOrConfig(terms=[port("a")])) is None
    ref = SalvoConditionTermPortConfig(port_name="a", state=PortStateEqualsConfig(value={"$env": "N"}))
    assert term_to_when(ref) is None


# -- property: text → term → text → term is stable -------------------------------------

_names = st.sampled_from(["a", "b", "order", "note", "in_1", "x y", "and"])
_leaf = st.one_of(
    st.builds(lambda f, p: f"{f}({p if p.isidentifier() else repr(p)})",
              st.sampled_from(["nonempty", "empty", "full", "nonfull"]), _names),
    st.builds(lambda p, op, n: f"count({p if p.isidentifier() else repr(p)}) {op} {n}", _names,
              st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), st.integers(0, 9)),
    st.sampled_from(["true", "false"]),
)
_expr = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"{a} or {b}", inner, inner),
        st.builds(lambda a: f"not {a}", inner),
        st.builds(lambda a: f"({a})", inner),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(_expr)
def test_round_trip_property(text):
    term = parse_when(text)
    written = term_to_when(term)
    assert written is not None
    assert parse_when(written) == term
    assert term_to_when(parse_when(written)) == written
