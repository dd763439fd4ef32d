"""Node functions of ``text_pipeline.netrun.toml`` (plain functions; the from_function factory
turns parameters into input ports and the return value into the ``out`` port)."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[a-z']+")


def normalize(text: str) -> str:
    """Lower-case the text and squeeze whitespace."""
    return " ".join(text.lower().split())


def count_words(text: str) -> int:
    """How many words the text has."""
    return len(_WORD.findall(text))


def top_words(text: str, n: int = 3) -> list[str]:
    """The ``n`` most frequent words (ties in order of first appearance).

    ``n`` has a default, so its port is optional: the node fires without it.
    """
    counts = Counter(_WORD.findall(text))
    return [word for word, _ in counts.most_common(n)]


def report(summary: dict) -> str:
    """One line per document, from the join node's ``{"words": ..., "top": ...}``."""
    return f"{summary['words']} words; top: {', '.join(summary['top'])}"
