"""Authentication and message signing for WebSocket channels.

Why: WebSocket channels carry pickles, and unpickling runs code. So nothing a peer sends is
unpickled until (1) the peer has proved it knows the shared token and (2) the frame's
signature checks out.

Handshake (JSON text frames, at most 4 KiB each, nothing unpickled):

1. server -> client: ``{"netrun": "remote-rpc", "version": 1, "nonce": <32 random bytes, hex>}``
2. client -> server: ``{"version": 1, "nonce": <hex>, "ts": <unix time>, "mac": <hex>}`` with
   ``mac = HMAC-SHA256(token, "netrun-auth-client|" + server_nonce + client_nonce + ts)``.
   The server refuses a wrong MAC, and a ``ts`` further than ``max_clock_skew`` from its own
   clock (a captured handshake cannot be replayed: the server nonce is fresh anyway).
3. server -> client: ``{"ok": true, "mac": HMAC(token, "netrun-auth-server|" + client_nonce +
   server_nonce)}``, so the client knows the server holds the token too; or
   ``{"ok": false, "error": ...}`` followed by close code 4401.

Both sides then derive one key per direction from the token and both nonces. Every later
frame is ``seq (8 bytes) | HMAC-SHA256(direction_key, seq | payload) (32 bytes) | payload``;
``seq`` must be exactly one more than the previous frame's, so a frame cannot be replayed,
dropped or reordered within the session, and a frame from another session fails the MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import struct
import time
from typing import Any

from netrun.rpc.base import RPCError

TOKEN_ENV_VAR = "NETRUN_REMOTE_TOKEN"
PROTOCOL_VERSION = 1
MIN_TOKEN_BYTES = 16
MAX_HANDSHAKE_FRAME = 4096
AUTH_FAILED_CLOSE_CODE = 4401

_SEQ = struct.Struct(">Q")
_MAC_LEN = 32
_HEADER_LEN = _SEQ.size + _MAC_LEN


class AuthenticationFailed(RPCError, PermissionError):
    """The peer could not prove it holds the shared token, or a frame failed its signature."""


class TokenRequired(RPCError, ValueError):
    """No shared token was given, or it is too short to be safe."""


def resolve_token(token: str | bytes | None, who: str) -> bytes:
    """The shared token as bytes, from the argument or ``NETRUN_REMOTE_TOKEN``."""
    if token is None:
        token = os.environ.get(TOKEN_ENV_VAR)
    if token is None or token == "" or token == b"":
        raise TokenRequired(
            f"{who} needs a shared token: pass token=... or set the {TOKEN_ENV_VAR} environment "
            "variable (the same value on client and server; e.g. secrets.token_urlsafe(32))"
        )
    raw = token.encode() if isinstance(token, str) else bytes(token)
    if len(raw) < MIN_TOKEN_BYTES:
        raise TokenRequired(
            f"{who}: the shared token is {len(raw)} bytes long; use at least {MIN_TOKEN_BYTES} "
            "random bytes (e.g. secrets.token_urlsafe(32))"
        )
    return raw


def _mac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), hashlib.sha256).digest()


def _session_keys(token: bytes, server_nonce: bytes, client_nonce: bytes) -> tuple[bytes, bytes]:
    root = _mac(token, b"netrun-session|", server_nonce, client_nonce)
    return _mac(root, b"client-to-server"), _mac(root, b"server-to-client")


def parse_handshake(text: Any, expected_fields: tuple[str, ...]) -> dict[str, Any]:
    """Decode one handshake frame; any deviation raises :class:`AuthenticationFailed`."""
    if not isinstance(text, str) or len(text) > MAX_HANDSHAKE_FRAME:
        raise AuthenticationFailed("the peer did not follow the netrun handshake (bad frame)")
    try:
        obj = json.loads(text)
    except ValueError:
        raise AuthenticationFailed("the peer did not follow the netrun handshake (not JSON)") from None
    if not isinstance(obj, dict) or any(f not in obj for f in expected_fields):
        raise AuthenticationFailed(
            f"the peer did not follow the netrun handshake (expected fields {expected_fields})"
        )
    return obj


def _hex(obj: dict[str, Any], field: str, size: int | None = None) -> bytes:
    try:
        raw = bytes.fromhex(obj[field])
    except (TypeError, ValueError):
        raise AuthenticationFailed(f"handshake field {field!r} is not hex") from None
    if size is not None and len(raw) != size:
        raise AuthenticationFailed(f"handshake field {field!r} has the wrong length")
    return raw


class ServerHandshake:
    """Server side of the handshake: ``challenge()``, then ``verify(reply)``."""

    def __init__(self, token: bytes, max_clock_skew: float = 300.0) -> None:
        self._token = token
        self._nonce = secrets.token_bytes(32)
        self._max_skew = max_clock_skew

    def challenge(self) -> str:
        return json.dumps({"netrun": "remote-rpc", "version": PROTOCOL_VERSION, "nonce": self._nonce.hex()})

    def verify(self, reply_text: Any) -> tuple[str, FrameSealer, FrameOpener]:
        """Check the client's reply; return the acceptance frame and the session's sealers."""
        reply = parse_handshake(reply_text, ("version", "nonce", "ts", "mac"))
        if reply["version"] != PROTOCOL_VERSION:
            raise AuthenticationFailed(
                f"protocol version {reply['version']!r} is not supported (this server speaks "
                f"{PROTOCOL_VERSION}); use the same netrun version on both sides"
            )
        client_nonce = _hex(reply, "nonce", 32)
        mac = _hex(reply, "mac", _MAC_LEN)
        ts = reply["ts"]
        if not isinstance(ts, (int, float)):
            raise AuthenticationFailed("handshake field 'ts' is not a number")
        expected = _mac(self._token, b"netrun-auth-client|", self._nonce, client_nonce, repr(float(ts)).encode())
        if not hmac.compare_digest(mac, expected):
            raise AuthenticationFailed("wrong token")
        if abs(time.time() - float(ts)) > self._max_skew:
            raise AuthenticationFailed(
                f"the client's clock differs from the server's by more than {self._max_skew} s"
            )
        accept = json.dumps(
            {"ok": True, "mac": _mac(self._token, b"netrun-auth-server|", client_nonce, self._nonce).hex()}
        )
        c2s, s2c = _session_keys(self._token, self._nonce, client_nonce)
        return accept, FrameSealer(s2c), FrameOpener(c2s)

    @staticmethod
    def refusal(reason: str) -> str:
        return json.dumps({"ok": False, "error": reason})


class ClientHandshake:
    """Client side: ``answer(challenge)``, then ``finish(acceptance)``."""

    def __init__(self, token: bytes) -> None:
        self._token = token
        self._nonce = secrets.token_bytes(32)
        self._server_nonce = b""

    def answer(self, challenge_text: Any) -> str:
        challenge = parse_handshake(challenge_text, ("netrun", "version", "nonce"))
        if challenge["netrun"] != "remote-rpc":
            raise AuthenticationFailed("the server is not a netrun remote endpoint")
        if challenge["version"] != PROTOCOL_VERSION:
            raise AuthenticationFailed(
                f"the server speaks protocol version {challenge['version']!r}, this client "
                f"{PROTOCOL_VERSION}; use the same netrun version on both sides"
            )
        self._server_nonce = _hex(challenge, "nonce", 32)
        ts = time.time()
        mac = _mac(self._token, b"netrun-auth-client|", self._server_nonce, self._nonce, repr(float(ts)).encode())
        return json.dumps({"version": PROTOCOL_VERSION, "nonce": self._nonce.hex(), "ts": ts, "mac": mac.hex()})

    def finish(self, acceptance_text: Any) -> tuple[FrameSealer, FrameOpener]:
        acceptance = parse_handshake(acceptance_text, ("ok",))
        if acceptance["ok"] is not True:
            raise AuthenticationFailed(str(acceptance.get("error", "refused")))
        if "mac" not in acceptance:
            raise AuthenticationFailed("the server's acceptance carries no proof of the token")
        expected = _mac(self._token, b"netrun-auth-server|", self._nonce, self._server_nonce)
        if not hmac.compare_digest(_hex(acceptance, "mac", _MAC_LEN), expected):
            raise AuthenticationFailed(
                "the server could not prove it holds the same token (wrong server, or a "
                "different token configured there)"
            )
        c2s, s2c = _session_keys(self._token, self._server_nonce, self._nonce)
        return FrameSealer(c2s), FrameOpener(s2c)


class FrameSealer:
    """Signs outgoing frames with a direction key and a running sequence number."""

    __slots__ = ("_key", "_seq")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._seq = 0

    def seal(self, payload: bytes) -> bytes:
        self._seq += 1
        header = _SEQ.pack(self._seq)
        return header + hmac.new(self._key, header + payload, hashlib.sha256).digest() + payload


class FrameOpener:
    """Checks incoming frames: signature and exact sequence number, before any decoding."""

    __slots__ = ("_key", "_seq")

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._seq = 0

    def open(self, frame: Any) -> bytes:
        if not isinstance(frame, (bytes, bytearray)) or len(frame) < _HEADER_LEN:
            raise AuthenticationFailed("a frame is not a signed netrun frame")
        frame = bytes(frame)
        header, mac, payload = frame[: _SEQ.size], frame[_SEQ.size : _HEADER_LEN], frame[_HEADER_LEN:]
        expected = hmac.new(self._key, header + payload, hashlib.sha256).digest()
        if not hmac.compare_digest(mac, expected):
            raise AuthenticationFailed("a frame failed its signature check (tampered or forged)")
        (seq,) = _SEQ.unpack(header)
        if seq != self._seq + 1:
            raise AuthenticationFailed(
                f"a frame arrived out of sequence (got {seq}, expected {self._seq + 1}): replayed or dropped"
            )
        self._seq = seq
        return payload
