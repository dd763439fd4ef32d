"""A RemotePoolServer run as a separate program (so tests can kill it).

Usage: python _remote_server.py PORT_FILE TOKEN [execution]
Writes the bound port to PORT_FILE once serving.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _workers

from netrun.pool.remote import RemotePoolServer


async def main(port_file: str, token: str, kind: str) -> None:
    if kind == "execution":
        from netrun.execution import create_execution_manager_server

        server = create_execution_manager_server(token=token)
    else:
        server = RemotePoolServer(token=token)
        server.register_worker("echo", _workers.echo_worker)
    async with server.serve_background("127.0.0.1", 0) as running:
        Path(port_file).write_text(str(running.port))
        await server.wait_for_shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "echo"))
