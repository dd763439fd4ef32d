"""Node functions of ``http_enrich.netrun.toml``: an async node calling a local HTTP server.

``start_server`` (the node's start function) serves a tiny word-info API on 127.0.0.1 on a
free port, in a background thread, unless ``NETRUN_EXAMPLE_URL`` points at one already;
``stop_server`` shuts it down. ``lookup`` is ``async``: it awaits the HTTP call (plain
asyncio streams, no extra dependency), so several lookups overlap on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_server: ThreadingHTTPServer | None = None
_thread: threading.Thread | None = None
_base_url: str | None = None


class _WordInfo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        query = parse_qs(urlsplit(self.path).query)
        word = query.get("word", [""])[0]
        body = json.dumps({"word": word, "length": len(word), "vowels": sum(c in "aeiou" for c in word)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # keep the example's output clean
        pass


def start_server(net: Any = None) -> None:
    """Start the local word-info server (idempotent)."""
    global _server, _thread, _base_url
    if os.environ.get("NETRUN_EXAMPLE_URL"):
        _base_url = os.environ["NETRUN_EXAMPLE_URL"].rstrip("/")
        return
    if _server is not None:
        return
    _server = ThreadingHTTPServer(("127.0.0.1", 0), _WordInfo)
    _thread = threading.Thread(target=_server.serve_forever, name="word-info-server", daemon=True)
    _thread.start()
    _base_url = f"http://127.0.0.1:{_server.server_address[1]}"


def stop_server(net: Any = None) -> None:
    """Stop the local server (if this module started it)."""
    global _server, _thread, _base_url
    if _server is not None:
        _server.shutdown()
        _server.server_close()
        if _thread is not None:
            _thread.join(timeout=5)
    _server = _thread = _base_url = None


async def _get_json(url: str, timeout: float = 5.0) -> dict:
    parts = urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 80), timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        writer.write(f"GET {target} HTTP/1.0\r\nHost: {parts.hostname}\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status != b"200":
        raise ConnectionError(f"GET {url} answered {status.decode()}")
    return json.loads(body)


async def lookup(word: str) -> dict:
    """Ask the server about ``word``."""
    if _base_url is None:
        raise RuntimeError("the word-info server is not running (start_node_func did not run)")
    return await _get_json(f"{_base_url}/info?word={word}")


def describe(info: dict) -> str:
    return f"{info['word']}: {info['length']} letters, {info['vowels']} vowels"
