"""Remote channels are safe to expose: token handshake before any unpickling, signed
frames, TLS when certificates are given."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import pathlib
import pickle
import ssl
from pathlib import Path
from typing import Any

import pytest

from netrun.rpc import (
    AuthenticationFailed,
    TokenRequired,
    connect,
    connect_channel,
    serve_background,
)
from netrun.rpc.remote import client_ssl_context, server_ssl_context

TOKEN = "right-token-0123456789abcdef"
WRONG = "wrong-token-0123456789abcdef"


class _TouchOnUnpickle:
    """Unpickling this creates ``path``: the stand-in for arbitrary code execution."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (pathlib.Path.touch, (pathlib.Path(self.path),))


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


async def _echo(chan: Any) -> None:
    while True:
        key, data = await chan.recv(timeout=30)
        await chan.send(key, data)


def test_wrong_token_is_refused_with_clear_error_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    handled: list[Any] = []

    async def handler(chan: Any) -> None:
        handled.append(chan)
        await _echo(chan)

    async def main() -> None:
        async with serve_background(handler, "127.0.0.1", 0, token=TOKEN) as server:
            with pytest.raises(AuthenticationFailed, match="wrong token.*same shared token"):
                await connect_channel(server.url, token=WRONG)
            # The right token still works afterwards.
            async with connect(server.url, token=TOKEN) as chan:
                await chan.send("echo", 1)
                assert await chan.recv(timeout=10) == ("echo", 1)

    run(main())
    assert len(handled) == 1
    assert not marker.exists()


def test_pickle_sent_before_or_instead_of_handshake_is_never_unpickled(tmp_path: Path) -> None:
    from websockets.asyncio.client import connect as raw_connect

    marker = tmp_path / "pwned"
    evil = pickle.dumps(("run", _TouchOnUnpickle(marker)))

    async def main() -> None:
        async with serve_background(_echo, "127.0.0.1", 0, token=TOKEN) as server:
            # 1. Skip the handshake: answer the challenge with a pickle.
            async with raw_connect(server.url, proxy=None) as ws:
                json.loads(await ws.recv())
                await ws.send(evil)
                refusal = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert refusal == {"ok": False, "error": refusal["error"]}
                assert "authentication failed" in refusal["error"]
                await asyncio.wait_for(ws.wait_closed(), 5)
                assert ws.close_code == 4401
            # 2. A well-formed handshake with the wrong token, then the pickle anyway.
            async with raw_connect(server.url, proxy=None) as ws:
                challenge = await ws.recv()
                from netrun.rpc._secure import ClientHandshake

                await ws.send(ClientHandshake(WRONG.encode()).answer(challenge))
                assert json.loads(await ws.recv())["ok"] is False
                from websockets.exceptions import ConnectionClosed

                with pytest.raises(ConnectionClosed) as closed:
                    await ws.send(evil)
                    await ws.send(evil)
                    await asyncio.wait_for(ws.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
            await asyncio.sleep(0.1)

    run(main())
    assert not marker.exists()


def test_forged_or_replayed_frame_after_auth_is_rejected_before_unpickling(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = pickle.dumps(("run", _TouchOnUnpickle(marker)))

    async def main() -> None:
        async with serve_background(_echo, "127.0.0.1", 0, token=TOKEN) as server:
            # Forged: right sequence number, wrong signature.
            chan = await connect_channel(server.url, token=TOKEN)
            frame = (1).to_bytes(8, "big") + b"\0" * 32 + len(evil).to_bytes(4, "big") + evil
            await chan._ws.send(frame)
            await asyncio.wait_for(chan.wait_closed(), 5)
            await chan.close()
            # Replayed: a genuine frame sent twice.
            chan = await connect_channel(server.url, token=TOKEN)
            sent: list[bytes] = []
            real_send = chan._ws.send

            async def recording_send(data: Any) -> None:
                sent.append(data)
                await real_send(data)

            chan._ws.send = recording_send
            await chan.send("echo", 1)
            assert await chan.recv(timeout=5) == ("echo", 1)
            await real_send(sent[0])
            await asyncio.wait_for(chan.wait_closed(), 5)
            await chan.close()

    run(main())
    assert not marker.exists()


def test_client_refuses_a_server_that_does_not_know_the_token() -> None:
    from websockets.asyncio.server import serve as raw_serve

    async def impostor(ws: Any) -> None:
        await ws.send(json.dumps({"netrun": "remote-rpc", "version": 1, "nonce": "00" * 32}))
        await ws.recv()
        await ws.send(json.dumps({"ok": True, "mac": "00" * 32}))
        await asyncio.sleep(1)

    async def main() -> None:
        async with raw_serve(impostor, "127.0.0.1", 0) as srv:
            port = next(iter(srv.sockets)).getsockname()[1]
            with pytest.raises(AuthenticationFailed, match="could not prove it holds the same token"):
                await connect_channel(f"ws://127.0.0.1:{port}", token=TOKEN)

    run(main())


def test_missing_or_short_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NETRUN_REMOTE_TOKEN", raising=False)

    async def main() -> None:
        with pytest.raises(TokenRequired, match="needs a shared token: pass token=... or set the NETRUN_REMOTE_TOKEN"):
            async with serve_background(_echo, "127.0.0.1", 0):
                pass
        with pytest.raises(TokenRequired, match="at least 16"):
            async with serve_background(_echo, "127.0.0.1", 0, token="short"):
                pass
        monkeypatch.setenv("NETRUN_REMOTE_TOKEN", TOKEN)
        async with serve_background(_echo, "127.0.0.1", 0) as server:
            async with connect(server.url) as chan:
                await chan.send("echo", "env")
                assert await chan.recv(timeout=5) == ("echo", "env")

    run(main())


def _self_signed_cert(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netrun-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls_with_self_signed_certificate(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    cert, key = _self_signed_cert(tmp_path)

    async def main() -> None:
        async with serve_background(
            _echo, "127.0.0.1", 0, token=TOKEN, ssl_context=server_ssl_context(str(cert), str(key))
        ) as server:
            assert server.url.startswith("wss://")
            async with connect(server.url, token=TOKEN, ssl_context=client_ssl_context(str(cert))) as chan:
                await chan.send("echo", b"secret")
                assert await chan.recv(timeout=5) == ("echo", b"secret")
            # A client that does not trust the certificate refuses to talk.
            with pytest.raises(ssl.SSLCertVerificationError):
                await connect_channel(server.url, token=TOKEN, ssl_context=client_ssl_context())
            with pytest.raises(ValueError, match="not a wss:// URL; use wss://"):
                await connect_channel(
                    server.url.replace("wss", "ws"), token=TOKEN, ssl_context=client_ssl_context(str(cert))
                )

    run(main())


def test_control_the_marker_payload_really_runs_code_when_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(_TouchOnUnpickle(marker)))
    assert marker.exists()
