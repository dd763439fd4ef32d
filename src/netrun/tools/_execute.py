"""Running actions: a shell command with the action's variables in its environment.

The command given to the shell is the *original* text: the shell expands ``$VAR`` itself
from the environment, so quoting behaves exactly as the user wrote it. The resolved text is
only returned for display. Running never raises for a failing command: a non-zero exit, a
timeout or a command that cannot start comes back as ``ActionResult(success=False, ...)``.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from netrun.tools._models import ActionConfig, ActionContext, ActionResult
from netrun.tools._template import build_template_vars, environment_for, resolve_template

__all__ = ["execute_action", "execute_action_sync", "execute_command", "execute_command_sync"]


def _working_directory(context: ActionContext) -> str | None:
    if context.working_directory:
        return context.working_directory
    if context.project_root:
        return context.project_root
    if context.net_file_path:
        return str(Path(context.net_file_path).resolve().parent)
    return None


async def execute_command(command: str, context: ActionContext, timeout: float = 30.0) -> ActionResult:
    """Run ``command`` in a shell with the context's variables; kill it after ``timeout`` s."""
    variables = build_template_vars(context)
    resolved = resolve_template(command, variables)
    cwd = _working_directory(context)
    if cwd is not None and not Path(cwd).is_dir():
        return ActionResult(
            success=False, exit_code=None, stdout="", stderr="", resolved_command=resolved,
            error=f"working directory {cwd!r} does not exist; fix 'working_directory' or the project root",
        )
    try:
        proc = await asyncio.create_subprocess_shell(
            command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            cwd=cwd,
            env=environment_for(variables),
            start_new_session=True,  # so a timeout can kill the whole process group
        )
    except OSError as exc:
        return ActionResult(success=False, exit_code=None, stdout="", stderr="",
                            resolved_command=resolved, error=f"could not start the command: {exc}")
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = await proc.communicate()
        return ActionResult(
            success=False, exit_code=proc.returncode, stdout=out.decode(errors="replace"),
            stderr=err.decode(errors="replace"), resolved_command=resolved, timed_out=True,
            error=f"the command did not finish within {timeout} s and was killed",
        )
    return ActionResult(
        success=proc.returncode == 0, exit_code=proc.returncode,
        stdout=out.decode(errors="replace"), stderr=err.decode(errors="replace"),
        resolved_command=resolved,
    )


async def execute_action(action: ActionConfig, context: ActionContext, timeout: float = 30.0) -> ActionResult:
    """Run one configured action (its ``command``) in ``context``."""
    return await execute_command(action.command, context, timeout)


def _run_sync(coro):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    coro.close()
    raise RuntimeError(
        "execute_*_sync() was called from inside a running event loop; await execute_command() instead"
    )


def execute_command_sync(command: str, context: ActionContext, timeout: float = 30.0) -> ActionResult:
    """Blocking form of :func:`execute_command`, for scripts and the CLI."""
    return _run_sync(execute_command(command, context, timeout))


def execute_action_sync(action: ActionConfig, context: ActionContext, timeout: float = 30.0) -> ActionResult:
    """Blocking form of :func:`execute_action`."""
    return _run_sync(execute_action(action, context, timeout))
