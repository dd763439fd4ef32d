"""The ``when`` expression language of salvo conditions.

Grammar (lowest precedence first)::

    expr     := and_expr ("or" and_expr)*
    and_expr := not_expr ("and" not_expr)*
    not_expr := "not" not_expr | primary
    primary  := "(" expr ")" | "true" | "false"
              | ("nonempty" | "empty" | "full" | "nonfull") "(" port ")"
              | "count" "(" port ")" ("==" | "!=" | "<" | "<=" | ">" | ">=") INTEGER
    port     := identifier | "quoted name" | 'quoted name'

Words are read whole before they are classified, so ports named ``order``, ``note``,
``counter`` or even ``and`` (inside the parentheses) work; a name that is not an identifier
is written in quotes. ``a and b and c`` is one ``and`` term with three operands; explicit
parentheses are kept as nesting, so ``term → text → term`` gives back the same term.
``count(p) != n`` is ``not (count(p) == n)``.

:func:`parse_when` returns a term config (``SalvoConditionTermConfig``);
:func:`term_to_when` writes one back (``None`` when the term has no text form: an ``and``/
``or`` with fewer than two operands, or an unresolved reference).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from netrun.config.errors import ExpressionParseError
from netrun.config.salvo import (
    PortStateEmptyConfig,
    PortStateEqualsConfig,
    PortStateEqualsOrGreaterThanConfig,
    PortStateEqualsOrLessThanConfig,
    PortStateFullConfig,
    PortStateGreaterThanConfig,
    PortStateLessThanConfig,
    PortStateNonEmptyConfig,
    PortStateNonFullConfig,
    SalvoConditionTermAndConfig,
    SalvoConditionTermFalseConfig,
    SalvoConditionTermNotConfig,
    SalvoConditionTermOrConfig,
    SalvoConditionTermPortConfig,
    SalvoConditionTermTrueConfig,
)

__all__ = [
    "ExpressionLexer",
    "ExpressionParser",
    "Token",
    "parse_when",
    "port_state_to_text",
    "term_to_when",
]

_STATE_FUNCS = {
    "nonempty": PortStateNonEmptyConfig,
    "non_empty": PortStateNonEmptyConfig,
    "empty": PortStateEmptyConfig,
    "full": PortStateFullConfig,
    "nonfull": PortStateNonFullConfig,
    "non_full": PortStateNonFullConfig,
}
_COMPARISONS = {
    "==": PortStateEqualsConfig,
    "<": PortStateLessThanConfig,
    "<=": PortStateEqualsOrLessThanConfig,
    ">": PortStateGreaterThanConfig,
    ">=": PortStateEqualsOrGreaterThanConfig,
}
_KEYWORDS = {"and", "or", "not", "true", "false"}
_FUNCTIONS = ("nonempty", "empty", "full", "nonfull", "count")


@dataclass(frozen=True)
class Token:
    """One token: ``type`` is IDENT, NUMBER, STRING, LPAREN, RPAREN, OP or EOF."""

    type: str
    value: str
    position: int


class ExpressionLexer:
    """Splits a ``when`` expression into :class:`Token` s (whitespace is skipped)."""

    PATTERNS: list[tuple[str, str]] = [
        (r"\s+", "WS"),
        (r"[A-Za-z_][A-Za-z0-9_]*", "IDENT"),
        (r"\d+", "NUMBER"),
        (r'"(?:[^"\\]|\\.)*"', "STRING"),
        (r"'[^']*'", "STRING"),
        (r"\(", "LPAREN"),
        (r"\)", "RPAREN"),
        (r"==|!=|<=|>=|<|>", "OP"),
    ]
    _REGEX = re.compile("|".join(f"(?P<{t}_{i}>{p})" for i, (p, t) in enumerate(PATTERNS)))
    _HINTS = {
        "&": "use 'and'", "|": "use 'or'", "!": "use 'not'", "=": "use '==' to compare",
        "-": "counts are never negative", ",": "each function takes one port",
    }

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def tokenize(self) -> list[Token]:
        text = self.text
        while self.pos < len(text):
            match = self._REGEX.match(text, self.pos)
            if match is None:
                ch = text[self.pos]
                if ch in "\"'":
                    raise ExpressionParseError(
                        "unterminated quoted port name", expression=text, position=self.pos,
                        expected=f"a closing {ch}")
                hint = self._HINTS.get(ch[0])
                raise ExpressionParseError(
                    f"unexpected character {ch!r}" + (f" ({hint})" if hint else ""),
                    expression=text, position=self.pos,
                    expected="a port test such as nonempty(in), and/or/not, or parentheses")
            kind = match.lastgroup.rsplit("_", 1)[0]  # type: ignore[union-attr]
            if kind != "WS":
                self.tokens.append(Token(kind, match.group(), self.pos))
            self.pos = match.end()
        self.tokens.append(Token("EOF", "", len(text)))
        return self.tokens


def _describe(tok: Token) -> str:
    return "the end of the expression" if tok.type == "EOF" else repr(tok.value)


class ExpressionParser:
    """Recursive-descent parser over :class:`Token` s (``not`` > ``and`` > ``or``)."""

    def __init__(self, tokens: list[Token], text: str | None = None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.text = text if text is not None else _rebuild(tokens)

    # -- helpers -------------------------------------------------------------------------

    def _peek(self) -> Token:
        return self.tokens[self.pos]

    def _next(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.type != "EOF":
            self.pos += 1
        return tok

    def _error(self, message: str, tok: Token, expected: str) -> ExpressionParseError:
        return ExpressionParseError(message, expression=self.text, position=tok.position,
                                    expected=expected)

    def _is_word(self, tok: Token, word: str) -> bool:
        return tok.type == "IDENT" and tok.value == word

    # -- grammar -------------------------------------------------------------------------

    def parse_config(self) -> Any:
        """The expression as a term config (``SalvoConditionTermConfig``)."""
        if self._peek().type == "EOF":
            raise self._error("the expression is empty", self._peek(),
                              "a condition such as nonempty(in)")
        term = self._or()
        tok = self._peek()
        if tok.type != "EOF":
            raise self._error(f"unexpected {_describe(tok)} after a complete condition", tok,
                              "'and', 'or', or the end of the expression")
        return term

    def parse(self) -> Any:
        """The expression as the engine's ``SalvoConditionTerm``."""
        from netrun.config.salvo import term_to_netrun_sim

        return term_to_netrun_sim(self.parse_config())

    def _or(self) -> Any:
        terms = [self._and()]
        while self._is_word(self._peek(), "or"):
            self._next()
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else SalvoConditionTermOrConfig(terms=terms)

    def _and(self) -> Any:
        terms = [self._not()]
        while self._is_word(self._peek(), "and"):
            self._next()
            terms.append(self._not())
        return terms[0] if len(terms) == 1 else SalvoConditionTermAndConfig(terms=terms)

    def _not(self) -> Any:
        if self._is_word(self._peek(), "not"):
            self._next()
            return SalvoConditionTermNotConfig(term=self._not())
        return self._primary()

    def _primary(self) -> Any:
        tok = self._next()
        if tok.type == "LPAREN":
            inner = self._or()
            close = self._next()
            if close.type != "RPAREN":
                raise self._error(f"expected ')' but found {_describe(close)}", close,
                                  "')' closing the '(' at column " + str(tok.position + 1))
            return inner
        if tok.type == "IDENT":
            word = tok.value
            if word == "true":
                return SalvoConditionTermTrueConfig()
            if word == "false":
                return SalvoConditionTermFalseConfig()
            if word == "count":
                port = self._call_argument(word)
                op = self._next()
                if op.type != "OP":
                    raise self._error(f"count({port}) must be compared with a number, found "
                                      f"{_describe(op)}", op,
                                      f"an operator and a number, e.g. count({port}) >= 2")
                num = self._next()
                if num.type != "NUMBER":
                    raise self._error(f"expected a whole number after {op.value!r}, found "
                                      f"{_describe(num)}", num, "a non-negative integer")
                value = int(num.value)
                if op.value == "!=":
                    return SalvoConditionTermNotConfig(term=SalvoConditionTermPortConfig(
                        port_name=port, state=PortStateEqualsConfig(value=value)))
                return SalvoConditionTermPortConfig(port_name=port, state=_COMPARISONS[op.value](value=value))
            if word in _STATE_FUNCS:
                port = self._call_argument(word)
                return SalvoConditionTermPortConfig(port_name=port, state=_STATE_FUNCS[word]())
            if word in ("and", "or"):
                raise self._error(f"{word!r} needs a condition on its left", tok,
                                  "a condition such as nonempty(in)")
            nxt = self._peek()
            if nxt.type == "LPAREN":
                raise self._error(f"unknown function {word!r}", tok,
                                  "one of " + ", ".join(_FUNCTIONS))
            raise self._error(f"unexpected word {word!r}", tok,
                              f"a port test such as nonempty({word}) or count({word}) >= 1")
        if tok.type == "EOF":
            raise self._error("the expression ends too early", tok,
                              "a condition such as nonempty(in)")
        raise self._error(f"unexpected {_describe(tok)}", tok,
                          "a condition such as nonempty(in), 'not', or '('")

    def _call_argument(self, func: str) -> str:
        open_ = self._next()
        if open_.type != "LPAREN":
            raise self._error(f"{func} must be followed by '(' and a port name, found "
                              f"{_describe(open_)}", open_, f"{func}(port_name)")
        arg = self._next()
        if arg.type == "IDENT":
            name = arg.value
        elif arg.type == "STRING":
            name = _unquote(arg.value)
        else:
            raise self._error(f"expected a port name in {func}(...), found {_describe(arg)}", arg,
                              "a port name (quote it if it is not an identifier)")
        close = self._next()
        if close.type != "RPAREN":
            raise self._error(f"expected ')' after the port name in {func}(...), found "
                              f"{_describe(close)}", close, "')' (each function takes one port)")
        return name


def _unquote(text: str) -> str:
    if text.startswith('"'):
        return json.loads(text)
    return text[1:-1]


def _rebuild(tokens: list[Token]) -> str:
    out = ""
    for tok in tokens:
        if tok.type == "EOF":
            break
        out = out.ljust(tok.position) + tok.value
    return out


def parse_when(text: str) -> Any:
    """Parse a ``when`` expression into a term config. Raises :class:`ExpressionParseError`.

    >>> parse_when("nonempty(a) and count(b) >= 2").type
    'and'
    """
    if not isinstance(text, str):
        raise ExpressionParseError(f"a 'when' expression must be text, got {text!r}",
                                   expected='a string such as "nonempty(in)"')
    return ExpressionParser(ExpressionLexer(text).tokenize(), text).parse_config()


# -- writing -------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_STATE_TEXT = {
    "non_empty": "nonempty", "empty": "empty", "full": "full", "non_full": "nonfull",
}
_OP_TEXT = {
    "equals": "==", "less_than": "<", "equals_or_less_than": "<=", "greater_than": ">",
    "equals_or_greater_than": ">=",
}


def _port_text(name: str) -> str:
    return name if _IDENT.match(name) else json.dumps(name)


def port_state_to_text(state: Any, port: str) -> str | None:
    """``nonempty(p)``, ``count(p) >= 2``... for one port state (``None`` if unwritable)."""
    kind = state.type
    if kind in _STATE_TEXT:
        return f"{_STATE_TEXT[kind]}({_port_text(port)})"
    if not isinstance(state.value, int):
        return None
    return f"count({_port_text(port)}) {_OP_TEXT[kind]} {state.value}"


def term_to_when(term: Any) -> str | None:
    """The text of a term config, or ``None`` when it has no exact text form."""
    return _write(term, 0)


# ``level`` is the binding strength of the context: an ``or`` needs parentheses at level >= 1
# (inside ``and``/``not``), an ``and`` at level >= 2 (inside ``not`` or another ``and``).
# Children of the same kind are parenthesised so that nesting survives a round trip.
def _write(term: Any, level: int) -> str | None:
    kind = term.type
    if kind == "true":
        return "true"
    if kind == "false":
        return "false"
    if kind == "port":
        if not isinstance(term.port_name, str):
            return None
        return port_state_to_text(term.state, term.port_name)
    if kind == "not":
        inner = term.term
        if (inner.type == "port" and inner.state.type == "equals" and isinstance(inner.port_name, str)
                and isinstance(inner.state.value, int)):
            return f"count({_port_text(inner.port_name)}) != {inner.state.value}"
        text = _write(inner, 2)
        return None if text is None else f"not {text}"
    if len(term.terms) < 2:
        return None
    parts = []
    for sub in term.terms:
        if kind == "or":
            child_level = 1 if sub.type == "or" else 0
        else:
            child_level = 2 if sub.type == "and" else 1
        text = _write(sub, child_level)
        if text is None:
            return None
        parts.append(text)
    joined = f" {kind} ".join(parts)
    threshold = 1 if kind == "or" else 2
    return f"({joined})" if level >= threshold else joined
