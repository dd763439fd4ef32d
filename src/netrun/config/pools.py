"""Pool configs (where node code runs) and output queue configs.

A pool is ``PoolConfig(spec=...)`` with ``spec`` one of ``main`` (the net's event loop),
``thread``, ``multiprocess``, ``remote`` (a pool server reached over a WebSocket) or ``dask``
(a Dask cluster: an embedded ``LocalCluster`` unless ``scheduler_address`` is given). The flat
form ``{"type": "thread", "num_workers": 4}`` is accepted for ``PoolConfig`` too.

The pool named ``"main"`` always exists (a main-loop pool is added when it is not declared),
so nodes that name no pool run on the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, NonNegativeFloat, PositiveInt, field_validator, model_validator

from netrun.config._model import ConfigModel
from netrun.config.var_ref import Var

__all__ = [
    "DaskPoolConfig",
    "MainPoolConfig",
    "MultiprocessPoolConfig",
    "OutputQueueConfig",
    "PoolConfig",
    "PoolSpecConfig",
    "RemotePoolConfig",
    "ThreadPoolConfig",
    "output_queue_name",
]


class MainPoolConfig(ConfigModel):
    """Run on the net's own event loop (sync functions block it while they run)."""

    type: Literal["main"] = "main"


class ThreadPoolConfig(ConfigModel):
    """``num_workers`` threads in this process."""

    type: Literal["thread"] = "thread"
    num_workers: Var[PositiveInt] = 1


class MultiprocessPoolConfig(ConfigModel):
    """``num_processes`` subprocesses with ``threads_per_process`` worker threads each."""

    type: Literal["multiprocess"] = "multiprocess"
    num_processes: Var[PositiveInt] = 1
    threads_per_process: Var[PositiveInt] = 1


class RemotePoolConfig(ConfigModel):
    """A pool hosted by a remote pool server (``url`` like ``ws://host:port``)."""

    type: Literal["remote"] = "remote"
    url: Var[str | None] = None
    worker_name: Var[str | None] = None
    num_processes: Var[PositiveInt] = 1
    threads_per_process: Var[PositiveInt] = 1


class DaskPoolConfig(ConfigModel):
    """A Dask cluster: ``scheduler_address`` (``tcp://host:8786``) or, when it is ``None``,
    an embedded ``LocalCluster`` with ``n_workers`` × ``threads_per_worker`` (worker
    processes when ``processes`` is true, threads otherwise)."""

    type: Literal["dask"] = "dask"
    scheduler_address: Var[str | None] = None
    n_workers: Var[PositiveInt] = 1
    threads_per_worker: Var[PositiveInt] = 1
    processes: Var[bool] = True


PoolSpecConfig = Annotated[
    Union[MainPoolConfig, ThreadPoolConfig, MultiprocessPoolConfig, RemotePoolConfig, DaskPoolConfig],
    Field(discriminator="type"),
]


class PoolConfig(ConfigModel):
    """A named pool: its ``spec`` plus print-capture settings."""

    print_flush_interval: Var[NonNegativeFloat] = 0.1
    capture_prints: Var[bool] = True
    spec: PoolSpecConfig = Field(default_factory=MainPoolConfig)

    @model_validator(mode="before")
    @classmethod
    def _flat_form(cls, data: Any) -> Any:
        if isinstance(data, dict) and "type" in data and "spec" not in data:
            own = {k: data[k] for k in ("print_flush_interval", "capture_prints") if k in data}
            spec = {k: v for k, v in data.items() if k not in own}
            return {**own, "spec": spec}
        return data

    @property
    def kind(self) -> str:
        """The pool's type name (``main``, ``thread``, ``multiprocess``, ``remote``, ``dask``)."""
        return self.spec.type


def output_queue_name(node: str, port: str) -> str:
    """The automatic output queue of an unconnected output port: ``"node::port"``."""
    return f"{node}::{port}"


class OutputQueueConfig(ConfigModel):
    """A named queue collecting packets sent to unconnected output ports.

    ``ports`` lists ``(node, port)`` pairs; ``"node.port"`` text is accepted too.
    """

    ports: Var[list[tuple[str, str]]]

    @field_validator("ports", mode="before")
    @classmethod
    def _text_form(cls, value: Any) -> Any:
        if isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, str):
                    node, sep, port = item.rpartition(".")
                    if not sep or not node or not port:
                        raise ValueError(f"output queue port {item!r} must be 'node.port' or [node, port]")
                    out.append((node, port))
                else:
                    out.append(item)
            return out
        return value
