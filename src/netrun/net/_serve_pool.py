"""Serving a net's pool to other machines: ``Net.serve_pool`` and ``Net.request_pool_shutdown``.

On the worker machine (the same net definition, so the node functions import there)::

    async with Net.serve_pool("pipeline.netrun.toml", port=8765, log_file="exec.jsonl") as server:
        await server.wait_until_stopped()    # until a client calls net.request_pool_shutdown()

On the net's machine, the definition's remote pool (``type = "remote"``,
``url = "ws://host:8765"``) then runs its nodes there; ``await
net.request_pool_shutdown("far")`` stops the server.

Choices (where the 0.5.0 runtime differs or is silent):

* the server binds ``127.0.0.1`` unless another host is given; ``"0.0.0.0"`` only when asked
  (then give it a certificate: ``certfile``/``keyfile`` turn on TLS);
* a shared token is required (``token=...`` or ``NETRUN_REMOTE_TOKEN``), checked when
  ``serve_pool`` is called, so a server never starts unauthenticated;
* the node functions travel from the net (each node's runner, once per worker), as for
  every out-of-process pool. The server loads the definition first: that puts its project
  root on ``sys.path`` (inherited by the worker processes) and imports every node
  function, so a definition whose functions do not import on this machine fails at once,
  not at the first epoch;
* ``log_file`` is a JSON-lines file: one line per job run by a worker process, with the
  node, epoch id, outcome (``success``/``error``), error, duration and the lines the job
  printed (each with its timestamp and stream). Each line is written with one ``write``
  in append mode, so the worker processes can share the file.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["ExecutionLogFile", "PoolServerContext", "request_pool_shutdown"]


class ExecutionLogFile:
    """The ``log_file`` of a served pool: a picklable job log (``netrun.execution.worker.JobLog``)
    that appends one JSON line per job; see the module docstring."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(Path(path).expanduser().resolve())

    def __call__(self, key: str, run_id: Any, ok: bool, value: Any, output: list, started: float,
                 completed: float) -> None:
        from netrun.net._pool_worker import WorkerResult
        from netrun.rpc import _codec

        node = key[len("net:node:"):] if key.startswith("net:node:") else None
        error: BaseException | None = None if ok else value
        if ok and isinstance(value, bytes) and node is not None:
            try:  # a node's epoch: its outcome is inside the runner's result
                result = _codec.loads(value)
            except Exception:
                result = None
            if isinstance(result, WorkerResult):
                error = result.exception
        record = {
            "timestamp": datetime.fromtimestamp(completed, timezone.utc).isoformat(),
            "pid": os.getpid(),
            "function": key,
            "node": node,
            "epoch_id": run_id,
            "outcome": "success" if error is None else "error",
            "error": None if error is None else f"{type(error).__name__}: {error}",
            "duration_ms": round((completed - started) * 1000.0, 3),
            "prints": [{"timestamp": line.timestamp.isoformat(), "stream": "stderr" if line.is_stderr else "stdout",
                        "text": line.text} for line in output],
        }
        data = (json.dumps(record, default=repr) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    @staticmethod
    def load(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """The records of a log file, in the order they were written."""
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


class PoolServerContext:
    """A pool server for a net definition (``Net.serve_pool``): ``await start()``,
    ``await stop()``, ``await wait_until_stopped()``, or ``async with``. ``url`` and
    ``port`` are known once started (port ``0`` picks a free one)."""

    def __init__(self, config_or_path: Any, host: str = "127.0.0.1", port: int = 8080, *,
                 log_file: str | os.PathLike[str] | None = None, worker_name: str = "execution_manager",
                 token: str | bytes | None = None, certfile: str | None = None,
                 keyfile: str | None = None) -> None:
        from netrun.execution.server import create_execution_manager_server
        from netrun.rpc._secure import resolve_token

        if not isinstance(host, str) or not host:
            raise ValueError(f"Net.serve_pool: host must be an address like '127.0.0.1', got {host!r}")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"Net.serve_pool: port must be an integer 0..65535 (0 picks a free port), got {port!r}")
        if not isinstance(worker_name, str) or not worker_name:
            raise ValueError(f"Net.serve_pool: worker_name must be a non-empty string, got {worker_name!r}")
        resolve_token(token, "Net.serve_pool")  # no server without a token: fail here, not at start()
        self.config = _load_config(config_or_path)
        self.host = host
        self._port = port
        self.worker_name = worker_name
        self.log_file = None if log_file is None else ExecutionLogFile(log_file)
        self.server = create_execution_manager_server(
            worker_name, token=token, certfile=certfile, keyfile=keyfile, job_log=self.log_file)
        self._cm: Any = None
        self._running: Any = None

    @property
    def url(self) -> str:
        """``ws://host:port`` (``wss://`` with TLS) once started."""
        if self._running is None:
            raise RuntimeError("Net.serve_pool: the server is not running; await start() (or use async with) first")
        return self._running.url

    @property
    def port(self) -> int:
        return self._running.port if self._running is not None else self._port

    @property
    def is_running(self) -> bool:
        return self._running is not None

    async def start(self) -> PoolServerContext:
        """Listen (returns once the socket is bound)."""
        if self._cm is not None:
            raise RuntimeError(f"Net.serve_pool: the server is already running at {self.url}")
        cm = self.server.serve_background(self.host, self._port)
        self._running = await cm.__aenter__()
        self._cm = cm
        return self

    async def stop(self) -> None:
        """Stop listening, close every client's pool (its processes stop). Idempotent."""
        cm, self._cm = self._cm, None
        if cm is not None:
            try:
                await cm.__aexit__(None, None, None)
            finally:
                self._running = None

    async def wait_until_stopped(self, timeout: float | None = None) -> None:
        """Serve until a client asks for shutdown (``net.request_pool_shutdown``), then stop.
        ``timeout`` (seconds) raises ``TimeoutError`` and leaves the server running."""
        if self._cm is None:
            raise RuntimeError("Net.serve_pool: the server is not running; await start() (or use async with) first")
        await asyncio.wait_for(self.server.wait_for_shutdown(), timeout)
        await self.stop()

    async def __aenter__(self) -> PoolServerContext:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _load_config(config_or_path: Any) -> Any:
    """The resolved definition (its project root on ``sys.path``, its functions imported)."""
    from netrun.config import NetConfig
    from netrun.config.runtime import runtime_setup
    from netrun.config.validation import load_net_definition

    if isinstance(config_or_path, (str, os.PathLike)):
        path = Path(config_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"Net.serve_pool: no net definition file at {str(path)!r}; give the path of "
                                    f"a .toml/.json net definition or a NetConfig")
        cfg = load_net_definition(path)
    elif isinstance(config_or_path, NetConfig):
        cfg = config_or_path
    else:
        raise TypeError(f"Net.serve_pool needs a NetConfig or the path of a net definition file, "
                        f"got {type(config_or_path).__name__}")
    return runtime_setup(cfg).config


async def request_pool_shutdown(core: Any, pool_id: str, timeout: float = 10.0) -> None:
    """Ask the server of remote pool ``pool_id`` to stop serving (see ``Net.request_pool_shutdown``)."""
    from netrun.execution import ExecutionError, UnknownPool
    from netrun.pool.remote import RemotePoolClient

    executor = core.executors.get(pool_id)
    if executor is None:
        defined = sorted(name for name in core.executors if name != "main")
        raise UnknownPool(f"Net.request_pool_shutdown: this net has no pool {pool_id!r} (pools: "
                          f"{', '.join(defined) or 'none'}); give the name of a remote pool")
    kind = getattr(executor, "kind", "main")
    if kind != "remote":
        what = "the event loop ('main')" if kind == "main" else f"a {kind} pool"
        raise TypeError(f"Net.request_pool_shutdown: pool {pool_id!r} is {what}, not a remote pool; only a "
                        f"remote pool (pools={{'far': {{'type': 'remote', 'url': 'ws://host:port'}}}}) has a "
                        f"server to shut down")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"Net.request_pool_shutdown: timeout must be a number of seconds > 0, got {timeout!r}")
    options = executor.spec.options
    url = options["url"]
    # a connection of its own: the pool's may live on another loop, or not be open at all
    client = RemotePoolClient(url, token=options.get("token"), cafile=options.get("cafile"),
                              request_timeout=timeout, name=f"remote pool {pool_id!r} ({url})")
    try:
        await asyncio.wait_for(client.request_shutdown(timeout), timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"Net.request_pool_shutdown: the server of remote pool {pool_id!r} at {url} did not "
                           f"acknowledge the shutdown within {timeout:g} s") from None
    except OSError as exc:
        raise ExecutionError(f"Net.request_pool_shutdown: cannot reach the server of remote pool {pool_id!r} at "
                             f"{url} ({type(exc).__name__}: {exc}); is it running?") from exc
    finally:
        await client.close(timeout=0)
