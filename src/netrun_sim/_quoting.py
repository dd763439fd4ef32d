"""Text renderings shared by the engine's reprs and messages.

The published engine prints many names the way Rust's ``{:?}`` formatter does. That format
is reproduced here so that every ``repr`` and error message matches it character for
character.
"""

from __future__ import annotations

import unicodedata

__all__ = ["rust_debug"]

_SIMPLE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
_cache: dict[str, str] = {}


def _escape_char(ch: str) -> str:
    special = _SIMPLE.get(ch)
    if special is not None:
        return special
    # Rust escapes what it deems unprintable (close to Python's notion) and combining
    # (grapheme-extending) marks as \u{XX}; printable text, including non-ASCII letters,
    # is shown as is.
    if not ch.isprintable() or unicodedata.category(ch) in ("Mn", "Me"):
        return "\\u{%x}" % ord(ch)
    return ch


def rust_debug(text: str) -> str:
    """Render ``text`` as Rust's ``{:?}`` does: double quotes, escaped specials.

    >>> rust_debug('a"b')
    '"a\\\\"b"'
    """
    cached = _cache.get(text)
    if cached is not None:
        return cached
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        out = '"' + text + '"'
    else:
        out = '"' + "".join(_escape_char(c) for c in text) + '"'
    if len(_cache) < 4096:
        _cache[text] = out
    return out
