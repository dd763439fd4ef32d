"""Worker functions for the pool tests (module level, so ``spawn`` children can import them)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from netrun.rpc import ChannelClosed

STARTUP_CALLS: list[Any] = []


def echo_worker(channel: Any, worker_id: int) -> None:
    """Commands: any key -> reply (key, (worker_id, pid, data)); 'raise' raises;
    'return' returns; 'sleep' sleeps data seconds; 'print' prints data to stdout and stderr;
    'startup' replies with what the start-up function recorded in this process."""
    while True:
        try:
            key, data = channel.recv()
        except ChannelClosed:
            return
        if key == "raise":
            raise ValueError(f"asked to fail: {data}")
        if key == "return":
            return
        if key == "sleep":
            time.sleep(data)
        if key == "print":
            for line in data:
                print(line)
                time.sleep(0.05)
            print("to stderr", file=sys.stderr)
            print("partial ", end="")
            time.sleep(0.2)
            print("line")
        if key == "append_file":
            with open(data, "a") as fh:
                fh.write(f"{worker_id}\n")
        if key == "startup":
            data = list(STARTUP_CALLS)
        channel.send(key, (worker_id, os.getpid(), data))


def record_startup(worker_id: int | None) -> None:
    STARTUP_CALLS.append(worker_id)


def failing_startup(worker_id: int | None) -> None:
    raise RuntimeError(f"no database for worker {worker_id}")


def write_pid_file(path: str) -> None:
    Path(path).write_text(str(os.getpid()))


async def async_echo_worker(channel: Any, worker_id: int) -> None:
    """The event-loop flavour of :func:`echo_worker` (no printing/sleep commands)."""
    import asyncio

    while True:
        try:
            key, data = await channel.recv()
        except ChannelClosed:
            return
        if key == "raise":
            raise ValueError(f"asked to fail: {data}")
        if key == "return":
            return
        if key == "sleep":
            await asyncio.sleep(data)
        if key == "startup":
            data = list(STARTUP_CALLS)
        await channel.send(key, (worker_id, os.getpid(), data))
