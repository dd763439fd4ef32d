"""Serving ExecutionManager workers to remote managers.

On the worker machine::

    server = create_execution_manager_server(token=TOKEN)
    asyncio.run(server.serve("0.0.0.0", 8765))   # expose deliberately, preferably with TLS

On the manager's side, a pool ``(RemotePoolClient, {"url": "ws://host:8765", "token": TOKEN,
"num_processes": 2})`` then runs jobs there (functions are shipped to it once per worker).
"""

from __future__ import annotations

import functools
import ssl as _ssl

from netrun.execution.worker import (
    FuncDoneCallback,
    FuncPreprocessor,
    JobLog,
    remote_execution_manager_worker,
)
from netrun.pool.remote import RemotePoolServer

__all__ = ["create_execution_manager_server"]


def create_execution_manager_server(
    worker_name: str = "execution_manager",
    func_preprocessor: FuncPreprocessor | None = None,
    func_done_callback: FuncDoneCallback | None = None,
    *,
    token: str | bytes | None = None,
    ssl_context: _ssl.SSLContext | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    job_log: JobLog | None = None,
) -> RemotePoolServer:
    """A :class:`RemotePoolServer` with the ExecutionManager worker registered as ``worker_name``.

    ``token`` (or ``NETRUN_REMOTE_TOKEN``) must be shared with the clients; ``certfile``
    (and ``keyfile``) or ``ssl_context`` turn on TLS. ``job_log`` (picklable: it travels to
    the worker processes) is called after each job with its outcome and captured output.
    """
    server = RemotePoolServer(token=token, ssl_context=ssl_context, certfile=certfile, keyfile=keyfile)
    server.register_worker(
        worker_name,
        functools.partial(
            remote_execution_manager_worker, func_preprocessor=func_preprocessor, func_done_callback=func_done_callback,
            job_log=job_log,
        ),
    )
    return server
