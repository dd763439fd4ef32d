"""Errors of the config layer: files, keys, ``when`` expressions, variables, imports, factories.

Every error a user can cause while describing a net derives from :class:`ConfigError`, which
is both a :class:`~netrun.errors.NetrunRuntimeError` and a :class:`ValueError` (the published
0.5.0 runtime raised plain ``ValueError`` for these, so ``except ValueError`` keeps working).

A :class:`ConfigError` carries *where* the problem is (``file``, ``line``, ``column``, the key
``path``), *what* was found (``value``) and *what was expected* (``expected``); ``str(error)``
reads ``file:line:column: path: message`` with the parts that are known.

Validation collects every problem it can find as a :class:`Problem` (the published runtime
calls the same record ``ConfigValidationError``; both names are exported) and raises them
together as :class:`ConfigValidationFailed`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from netrun.errors import NetrunRuntimeError

__all__ = [
    "ConfigError",
    "ConfigFileError",
    "ConfigValidationError",
    "ConfigValidationFailed",
    "ExpressionParseError",
    "FactoryError",
    "FactoryNotFoundError",
    "ImportPathError",
    "InvalidFactoryError",
    "MissingEnvVarError",
    "NodeVariableError",
    "Problem",
    "UnfilledPlaceholderError",
    "UnknownNodeVariableError",
    "did_you_mean",
    "format_path",
]


def format_path(path: tuple[Any, ...] | list[Any] | None) -> str:
    """Render a key path as ``graph.nodes[3].in_ports`` (integers become indices).

    >>> format_path(("graph", "nodes", 3, "name"))
    'graph.nodes[3].name'
    """
    if not path:
        return "<top level>"
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part)
            plain = text.replace("_", "a").replace("-", "a").isalnum()
            shown = text if plain else f'"{text}"'
            out += f".{shown}" if out else shown
    return out


class Problem(BaseModel):
    """One problem found in a net definition.

    ``loc``/``msg``/``type`` are the fields of the published runtime's
    ``ConfigValidationError`` record (kept for compatibility); ``file``, ``line``,
    ``column``, ``value`` and ``expected`` say where it is and what would be right.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    loc: list[str | int]
    msg: str
    type: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    value: Any = None
    expected: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}" + (f", column {self.column}" if self.column else "") + ": "
        expected = f"; expected {self.expected}" if self.expected else ""
        got = ""
        if self.value is not None and self.type not in _VALUE_IN_MESSAGE:
            got = f" (got {self.value!r})"
        return f"{where}{format_path(self.loc)}: {self.msg}{got}{expected}"


# Problem types whose message already names the offending value.
_VALUE_IN_MESSAGE = {"unknown_key", "missing", "duplicate_name", "unknown_node", "unknown_port",
                     "unknown_pool", "fan_out", "missing_env_var", "dotted_prefix"}


def did_you_mean(word: str, choices: "list[str] | tuple[str, ...]") -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or ``""``."""
    import difflib

    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.75)
    return f" (did you mean {match[0]!r}?)" if match else ""


#: The published runtime's name for :class:`Problem` (a record, not an exception).
ConfigValidationError = Problem


class ConfigError(NetrunRuntimeError, ValueError):
    """A net definition (file, dict or model) is wrong. Says where, what, and what is expected."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: tuple[Any, ...] | list[Any] | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line
        self.column = column
        self.path = tuple(path) if path else ()
        self.value = value
        self.expected = expected
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}" + (f", column {self.column}" if self.column else "") + ": "
        path = f"{format_path(self.path)}: " if self.path else ""
        expected = f"; expected {self.expected}" if self.expected else ""
        return f"{where}{path}{self.message}{expected}{self._suffix()}"

    def _suffix(self) -> str:
        return ""

    def __str__(self) -> str:  # KeyError subclasses would otherwise quote the message
        return self._render()

    def with_location(
        self,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: tuple[Any, ...] | None = None,
    ) -> "ConfigError":
        """Fill in location parts that are still unknown (returns ``self``)."""
        if file is not None and self.file is None:
            self.file = str(file)
        if line is not None and self.line is None:
            self.line = line
        if column is not None and self.column is None:
            self.column = column
        if path is not None and not self.path:
            self.path = tuple(path)
        self.args = (self._render(),)
        return self

    def to_problem(self) -> Problem:
        """This error as a :class:`Problem` record."""
        return Problem(
            loc=list(self.path),
            msg=self.message,
            type=_problem_type(type(self)),
            file=self.file,
            line=self.line,
            column=self.column,
            value=_safe_value(self.value),
            expected=self.expected,
        )


def _problem_type(cls: type) -> str:
    name = cls.__name__
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _safe_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


class ConfigFileError(ConfigError):
    """A config file cannot be read or is not valid TOML/JSON."""


class ConfigValidationFailed(ConfigError):
    """One or more problems were found; ``problems`` lists them all, in file order."""

    def __init__(self, problems: list[Problem], *, file: str | None = None) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the net definition"
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}:\n{body}" if body else head, file=None)
        self.file = None if file is None else str(file)


class ExpressionParseError(ConfigError):
    """A salvo-condition ``when`` expression cannot be tokenised or parsed.

    ``expression`` is the text, ``position`` the 0-based offset of the offending character
    and ``column`` its 1-based column inside the expression (the DSL loader converts it to a
    column of the file line).
    """

    def __init__(
        self,
        message: str,
        *,
        expression: str = "",
        position: int | None = None,
        expected: str | None = None,
        **location: Any,
    ) -> None:
        self.expression = expression
        self.position = position
        if position is not None:
            message = f"{message} (column {position + 1} of the expression)"
        location.setdefault("value", expression or None)
        super().__init__(message, expected=expected, **location)

    @property
    def expression_column(self) -> int | None:
        """1-based column of the problem inside the expression text."""
        return None if self.position is None else self.position + 1

    def _suffix(self) -> str:
        if not self.expression or self.position is None:
            return ""
        return f"\n    {self.expression}\n    {' ' * self.position}^"


class MissingEnvVarError(ConfigError, KeyError):
    """A ``{"$env": NAME}`` reference names an environment variable that is not set."""


class NodeVariableError(ConfigError):
    """A node variable is declared or used wrongly (bad type, options, inherit)."""


class UnfilledPlaceholderError(NodeVariableError):
    """A node variable has no value and is not optional; fill it at load time."""


class UnknownNodeVariableError(NodeVariableError, KeyError):
    """An override or ``$var`` reference names a node variable that is not declared."""


class ImportPathError(ConfigError, ImportError):
    """An import path (``pkg.mod.name`` or ``file.py::name``) cannot be resolved."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        ConfigError.__init__(self, message, **kwargs)


class FactoryError(ConfigError):
    """Base class of node-factory errors."""


class FactoryNotFoundError(FactoryError, ImportError):
    """The factory's import path does not lead to a module or callable."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        ConfigError.__init__(self, message, **kwargs)


class InvalidFactoryError(FactoryError, TypeError):
    """The factory lacks the protocol functions, or returns the wrong shape."""
