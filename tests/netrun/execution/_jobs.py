"""Job functions for the ExecutionManager tests (module level: importable by workers)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

INIT_CALLS: list[Any] = []


def add(a: int, b: int) -> int:
    print(f"adding {a} and {b}")
    print("careful", file=sys.stderr)
    return a + b


async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0.01)
    print("async adding")
    return a + b


def fail(message: str) -> None:
    print("about to fail")
    raise ValueError(message)


def pid() -> int:
    return os.getpid()


def thread_name() -> str:
    return threading.current_thread().name


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def sleep_then_mark(seconds: float, path: str) -> str:
    time.sleep(seconds)
    with open(path, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    return path


def mark(path: str, tag: str) -> str:
    with open(path, "a") as fh:
        fh.write(f"{tag}\n")
    return tag


async def async_sleep_then_mark(seconds: float, path: str) -> None:
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        Path(path).write_text("cancelled")
        raise


def return_lock() -> Any:
    return threading.Lock()


class UnpicklableError(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def raise_unpicklable() -> None:
    raise UnpicklableError()


def talk(channel: Any, value: int) -> int:
    channel.send("progress", value)
    return value


def record_init(tag: str) -> tuple[int, str]:
    INIT_CALLS.append(tag)
    return os.getpid(), threading.current_thread().name


def print_slowly(path: str) -> str:
    """Print a line, then wait until the test has seen it live (a file appears), then print again."""
    print("first line")
    deadline = time.monotonic() + 10
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    print("second line")
    return "done"


async def async_print_slowly(path: str) -> str:
    print("first line")
    deadline = time.monotonic() + 10
    while not Path(path).exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    print("second line")
    return "done"
