"""Functions used by the factory tests through import paths (string annotations on purpose)."""

from __future__ import annotations

import asyncio
from typing import TypedDict

from netrun.factories import Batch


def total(xs: list[int], scale: int = 1) -> int:
    """Sum of xs times scale."""
    return sum(xs) * scale


def split(x: int) -> {"even": int, "odd": int}:  # noqa: F722 - the published dict-literal form
    return {"even": x} if x % 2 == 0 else {"odd": x}


class Stats(TypedDict):
    low: int
    high: int


def stats(values: Batch(port_type=int)) -> Stats:  # noqa: F821
    return {"low": min(values), "high": max(values)}


async def slow_double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def shout(text: str, print, log) -> str:  # noqa: A002 - the special parameter name
    print("shouting", text)
    log("done", level="info", size=len(text))
    return text.upper()


def sink(x) -> None:
    return None


def bad_sink(x) -> None:
    return x


def no_annotation(x):
    return x if x > 0 else None
