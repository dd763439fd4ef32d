"""Helpers of the config front door's run methods (``_compat_api.py``): building a net from
a config, running chosen epochs inside a drive, creating an epoch for given values, and
executing a node outside the net."""

from __future__ import annotations

import time
from typing import Any

from netrun.errors import (
    EpochCancelled,
    EpochNotFoundError,
    InputPortNotFoundError,
    NetStateError,
    NodeConfigError,
)
from netrun.net._compat_policy import epoch_error
from netrun.net._detached import AsyncDetachedContext, DetachedContext
from netrun.net._records import EpochRun

__all__ = ["check_inputs", "check_startable", "create_epoch", "execute_outside", "net_from_config",
           "run_selected"]


def check_inputs(runtime: Any, inputs: dict[str, list[Any]] | None) -> dict[str, list[Any]]:
    values: dict[str, list[Any]] = {}
    for port, vals in (inputs or {}).items():
        if port not in runtime.in_ports:
            raise InputPortNotFoundError(
                f"Node '{runtime.name}' has no input port {port!r}; its input ports are: "
                f"{', '.join(runtime.in_ports) or 'none'}")
        if isinstance(vals, (str, bytes)) or not hasattr(vals, "__iter__"):
            raise TypeError(f"execute_node inputs are {{port: [values]}}; port {port!r} of node "
                            f"'{runtime.name}' got {type(vals).__name__} (wrap it in a list)")
        values[port] = list(vals)
    return values


def check_startable(core: Any, epoch_id: str) -> None:
    item = core.runs.get(epoch_id)
    if item is None:
        raise EpochNotFoundError(f"Epoch {epoch_id} is not a startable epoch of this net; "
                                 f"net.get_startable_epochs() lists them")
    if type(item) is not tuple and item.started:
        raise NetStateError(f"Epoch {epoch_id} is already running")
    name = item[1] if type(item) is tuple else item.node.name
    if core.nodes[name].exec_func is None:
        raise NodeConfigError(f"Epoch {epoch_id} belongs to node '{name}', which has no exec "
                              f"function; set one with net.set_node_exec('{name}', func)")


def _take(core: Any, epoch_id: str) -> Any:
    """Take a startable epoch out of its node's ready queue, as an ``EpochRun``."""
    check_startable(core, epoch_id)
    item = core.runs[epoch_id]
    name = item[1] if type(item) is tuple else item.node.name
    node = core.nodes[name]
    try:
        node.ready.remove(item)
    except ValueError:
        pass
    if not node.ready:
        core.ready_nodes.pop(name, None)
    if type(item) is tuple:
        item = EpochRun(item[0], node, item[2], item[3], item[4], item[5])
        core.runs[epoch_id] = item
    return item


async def run_selected(core: Any, epoch_ids: list[str]) -> dict[str, Any]:
    """Inside a drive: launch exactly these epochs, wait for them (and what they spawned)
    to end; returns ``{epoch_id: EpochLog}``."""
    wanted = set(epoch_ids)
    logs: dict[str, Any] = {}

    def collect(node_name: str, epoch_id: str, log: Any) -> None:
        if epoch_id in wanted:
            logs[epoch_id] = log

    core.epoch_end_callbacks.append(collect)
    try:
        for epoch_id in epoch_ids:
            run = _take(core, epoch_id)
            executor = core._pick_executor(run.node)
            while executor is None:
                await core._wait()
                executor = core._pick_executor(run.node)
            core.launch(run, executor)
        while len(logs) < len(wanted) and core.run_error is None:
            if core.running == 0 and not core.tasks and not core._done:
                break
            await core._wait()
        await core._drain()
    finally:
        core.epoch_end_callbacks.remove(collect)
    return logs


def create_epoch(core: Any, runtime: Any, values: dict[str, list[Any]], condition: str) -> str:
    """Packets for ``values`` on the node's input ports and a startable epoch holding them."""
    engine = core.engine
    pairs: list[tuple[str, str]] = []
    with engine.lock:
        for port, vals in values.items():
            for value in vals:
                pid = engine.inject_to_input(runtime.name, port, 1)[0]
                core.store.store_value(pid, value)
                pairs.append((port, pid))
        epoch_id = engine.create_epoch(runtime.name, pairs, condition)
    core.runs[epoch_id] = EpochRun(epoch_id, runtime, tuple(pairs), condition, time.monotonic())
    return epoch_id


async def execute_outside(core: Any, runtime: Any, graph_node: Any, values: dict[str, list[Any]]) -> dict[str, list[Any]]:
    from netrun.net._compat_policy import initialize_node

    if not runtime.started_funcs and runtime.start_func is not None:
        await initialize_node(core, runtime)
    cls = AsyncDetachedContext if runtime.exec_async else DetachedContext
    ctx = cls(runtime, f"outside-{runtime.name}-{time.monotonic_ns()}", values,
              graph_node.out_salvo_conditions)
    try:
        result = runtime.exec_func(ctx, ctx.packets)
        if hasattr(result, "__await__"):
            await result
    except EpochCancelled:
        return {}
    except Exception as exc:
        raise epoch_error(_OutsideRun(runtime, ctx.epoch_id), exc) from exc
    return ctx.outputs


class _OutsideRun:
    """What :func:`epoch_error` reads, for an execution outside the net."""

    executor = None
    worker = None
    attempt = 0

    def __init__(self, node: Any, epoch_id: str) -> None:
        self.node = node
        self.id = epoch_id


def net_from_config(net: Any, source: Any, options: dict[str, Any], base_init: Any) -> None:
    """``Net(config)``: build ``net`` from a ``NetConfig`` or a ``.toml`` / ``.json`` path.

    ``options`` are the ``Net(...)`` keywords as given; those that differ from their
    defaults override the config's own net-level settings.
    """
    import inspect
    from pathlib import Path

    from netrun.config import ConfigValidationFailed, NetConfig, validate_config
    from netrun.config.runtime import load_runtime_setup, runtime_setup

    if isinstance(source, NetConfig):
        problems = validate_config(source)
        if problems:
            raise ConfigValidationFailed(problems)
        setup = runtime_setup(source)
    elif isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".toml", ".json"):
        setup = load_runtime_setup(source)
    else:
        shown = f" {source!r}" if isinstance(source, (str, Path)) else ""
        raise TypeError(f"Net needs a netrun_sim Graph, a netrun.config.NetConfig or the path of a "
                        f".toml / .json net file, got {type(source).__name__}{shown}")
    defaults = {name: p.default for name, p in inspect.signature(base_init).parameters.items()
                if p.default is not inspect.Parameter.empty}
    run_init_nodes = options.pop("run_init_nodes", True)
    given = {k: v for k, v in options.items() if not _is_default(v, defaults.get(k, inspect.Parameter.empty))}
    base_init(net, setup.graph, **{**setup.net_kwargs, **given})
    net._run_init_nodes = bool(run_init_nodes)
    net._compat_config = source if isinstance(source, NetConfig) else setup.config
    net._apply_setup(setup)


def _is_default(value: Any, default: Any) -> bool:
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except Exception:
        return False
