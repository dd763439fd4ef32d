"""Where a key path sits in TOML or JSON text (line and column), for error messages.

``tomllib`` and ``json`` give values but no positions. When a file has problems, these small
scanners walk the text once more and record, for every key path (``("nodes", "A", "when")``,
``("edges", 2, "to")``...), the line and column of the key and of its value. They assume the
text already parsed, so they are forgiving rather than exact validators. Only used on error
paths, so speed does not matter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Position", "SourceIndex", "index_source"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Position:
    """1-based line/column of a key, and of its value's first character."""

    line: int
    column: int
    value_line: int
    value_column: int


class SourceIndex:
    """Key path → :class:`Position` for one text."""

    def __init__(self, text: str, positions: dict[tuple[Any, ...], Position]) -> None:
        self.text = text
        self.positions = positions

    def find(self, path: tuple[Any, ...] | list[Any]) -> tuple[tuple[Any, ...], Position] | None:
        """The position of ``path`` or of its longest recorded prefix."""
        path = tuple(path)
        for cut in range(len(path), 0, -1):
            pos = self.positions.get(path[:cut])
            if pos is not None:
                return path[:cut], pos
        return None


def _line_col(text: str, offset: int, line_starts: list[int]) -> tuple[int, int]:
    import bisect

    line = bisect.bisect_right(line_starts, offset) - 1
    return line + 1, offset - line_starts[line] + 1


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.positions: dict[tuple[Any, ...], Position] = {}

    def record(self, path: tuple[Any, ...], key_at: int, value_at: int) -> None:
        kl, kc = _line_col(self.text, key_at, self.starts)
        vl, vc = _line_col(self.text, value_at, self.starts)
        self.positions.setdefault(path, Position(kl, kc, vl, vc))

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def skip_ws(self, newlines: bool = False) -> None:
        text = self.text
        while self.i < len(text):
            ch = text[self.i]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.i += 1
            elif ch == "#":
                while self.i < len(text) and text[self.i] != "\n":
                    self.i += 1
            else:
                break

    def string(self) -> str:
        text, i = self.text, self.i
        for quote in ('"""', "'''"):
            if text.startswith(quote, i):
                end = text.find(quote, i + 3)
                end = len(text) if end < 0 else end + 3
                while end < len(text) and text[end] == quote[0]:
                    end += 1
                self.i = end
                return text[i + 3 : end - 3]
        quote = text[i]
        j = i + 1
        while j < len(text) and text[j] != quote and text[j] != "\n":
            j += 2 if quote == '"' and text[j] == "\\" else 1
        self.i = j + 1
        raw = text[i : j + 1]
        if quote == '"':
            try:
                return json.loads(raw)
            except ValueError:
                return raw[1:-1]
        return raw[1:-1]


class _TomlScanner(_Scanner):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.aot_index: dict[tuple[Any, ...], int] = {}

    def key(self) -> list[str]:
        parts = []
        while True:
            self.skip_ws()
            ch = self.peek()
            if ch in "\"'":
                parts.append(self.string())
            else:
                m = _BARE_KEY.match(self.text, self.i)
                if not m:
                    break
                parts.append(m.group())
                self.i = m.end()
            self.skip_ws()
            if self.peek() == ".":
                self.i += 1
                continue
            break
        return parts

    def with_aot(self, parts: list[str]) -> tuple[Any, ...]:
        path: tuple[Any, ...] = ()
        for part in parts:
            path = path + (part,)
            if path in self.aot_index:
                path = path + (self.aot_index[path],)
        return path

    def value(self, path: tuple[Any, ...]) -> None:
        self.skip_ws()
        ch = self.peek()
        if ch in "\"'":
            self.string()
        elif ch == "[":
            self.i += 1
            index = 0
            while True:
                self.skip_ws(newlines=True)
                if self.peek() in ("]", ""):
                    self.i += 1
                    return
                start = self.i
                self.record(path + (index,), start, start)
                self.value(path + (index,))
                index += 1
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.i += 1
        elif ch == "{":
            self.i += 1
            while True:
                self.skip_ws(newlines=True)
                if self.peek() in ("}", ""):
                    self.i += 1
                    return
                self.key_value(path)
                self.skip_ws(newlines=True)
                if self.peek() == ",":
                    self.i += 1
        else:
            m = re.compile(r"[^,\]}\n#]*").match(self.text, self.i)
            self.i = m.end() if m else self.i + 1

    def key_value(self, table: tuple[Any, ...]) -> None:
        key_at = self.i
        parts = self.key()
        if not parts:
            self.i += 1
            return
        path = table + tuple(parts)
        self.skip_ws()
        if self.peek() == "=":
            self.i += 1
        self.skip_ws()
        for cut in range(1, len(parts)):
            self.record(table + tuple(parts[:cut]), key_at, self.i)
        self.record(path, key_at, self.i)
        self.value(path)

    def run(self) -> dict[tuple[Any, ...], Position]:
        table: tuple[Any, ...] = ()
        text = self.text
        while True:
            self.skip_ws(newlines=True)
            if self.i >= len(text):
                break
            start = self.i
            if text.startswith("[[", self.i):
                self.i += 2
                parts = self.key()
                base = self.with_aot(parts[:-1]) + (parts[-1],) if parts else ()
                index = self.aot_index.get(base, -1) + 1
                self.aot_index[base] = index
                table = base + (index,)
                self.record(base, start, start)
                self.record(table, start, start)
                self.i = text.find("\n", self.i) if "\n" in text[self.i:] else len(text)
            elif text.startswith("[", self.i):
                self.i += 1
                parts = self.key()
                table = self.with_aot(parts)
                for cut in range(1, len(parts) + 1):
                    self.record(self.with_aot(parts[:cut]), start, start)
                self.i = text.find("\n", self.i) if "\n" in text[self.i:] else len(text)
            else:
                self.key_value(table)
                self.skip_ws()
                if self.peek() not in ("\n", ""):
                    # Not a statement we understand; move to the next line.
                    nl = text.find("\n", self.i)
                    self.i = len(text) if nl < 0 else nl
        return self.positions


class _JsonScanner(_Scanner):
    def value(self, path: tuple[Any, ...]) -> None:
        self.skip_ws(newlines=True)
        ch = self.peek()
        if ch == '"':
            self.string()
        elif ch == "{":
            self.i += 1
            while True:
                self.skip_ws(newlines=True)
                if self.peek() in ("}", ""):
                    self.i += 1
                    return
                if self.peek() == ",":
                    self.i += 1
                    continue
                key_at = self.i
                key = self.string() if self.peek() == '"' else ""
                self.skip_ws(newlines=True)
                if self.peek() == ":":
                    self.i += 1
                self.skip_ws(newlines=True)
                self.record(path + (key,), key_at, self.i)
                self.value(path + (key,))
        elif ch == "[":
            self.i += 1
            index = 0
            while True:
                self.skip_ws(newlines=True)
                if self.peek() in ("]", ""):
                    self.i += 1
                    return
                if self.peek() == ",":
                    self.i += 1
                    continue
                self.record(path + (index,), self.i, self.i)
                self.value(path + (index,))
                index += 1
        else:
            m = re.compile(r"[^,\]}\s]*").match(self.text, self.i)
            self.i = max(m.end(), self.i + 1) if m else self.i + 1

    def skip_ws(self, newlines: bool = False) -> None:  # JSON has no comments
        while self.i < len(self.text) and self.text[self.i] in " \t\r\n":
            self.i += 1

    def run(self) -> dict[tuple[Any, ...], Position]:
        self.value(())
        return self.positions


def index_source(text: str, fmt: str) -> SourceIndex:
    """Index a TOML (``fmt="toml"``) or JSON (``fmt="json"``) text."""
    scanner = _TomlScanner(text) if fmt == "toml" else _JsonScanner(text)
    try:
        positions = scanner.run()
    except (IndexError, ValueError):  # never let locating hide the real error
        positions = scanner.positions
    return SourceIndex(text, positions)
