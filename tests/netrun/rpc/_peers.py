"""A scripted peer used by the channel tests: the same script over every transport.

Commands (key, data) the test sends to the peer:
  echo x                 -> peer sends ("echo", x)
  send_then_close [m..]  -> peer sends ("msg", m) for each, then closes its end
  send_then_break [m..]  -> peer sends ("msg", m) for each, then its transport breaks
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from netrun.rpc import ChannelBroken, ChannelClosed


def run_sync_peer(chan: Any, break_transport: Callable[[], None]) -> str:
    while True:
        try:
            key, data = chan.recv(timeout=30)
        except ChannelClosed:
            return "closed"
        except ChannelBroken:
            return "broken"
        if key == "echo":
            chan.send("echo", data)
        elif key == "send_then_close":
            for m in data:
                chan.send("msg", m)
            chan.close()
            return "closed-self"
        elif key == "send_then_break":
            for m in data:
                chan.send("msg", m)
            break_transport()
            return "broke"


def process_peer_main(conn: Any) -> None:
    """Child-process entry: a SyncProcessChannel running the script; dies on 'break'."""
    from netrun.rpc import SyncProcessChannel

    chan = SyncProcessChannel(conn)
    run_sync_peer(chan, lambda: os._exit(3))


async def run_async_peer(chan: Any, break_transport: Callable[[], Any]) -> str:
    while True:
        try:
            key, data = await chan.recv(timeout=30)
        except ChannelClosed:
            return "closed"
        except ChannelBroken:
            return "broken"
        if key == "echo":
            await chan.send("echo", data)
        elif key == "send_then_close":
            for m in data:
                await chan.send("msg", m)
            await chan.close()
            return "closed-self"
        elif key == "send_then_break":
            for m in data:
                await chan.send("msg", m)
            await break_transport()
            return "broke"
