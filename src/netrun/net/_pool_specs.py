"""Pool definitions given to ``Net(...)``, checked and normalised.

Three keywords define pools (names are unique across all of them, and ``"main"`` is the
event loop):

* ``thread_pools={"io": {"size": 4}}``: threads of this process (the in-house thread
  executor, which runs node functions live, like the main loop);
* ``process_pools={"cpu": {"size": 2, "threads_per_process": 1}}``: worker processes
  (``netrun.pool.MultiprocessPool``);
* ``pools={name: {"type": ..., ...}}`` for every kind, including those the two keywords
  cannot express: ``"thread"``, ``"process"`` (or ``"multiprocess"``), ``"remote"`` (a
  pool server reached over an authenticated WebSocket) and ``"dask"`` (a Dask cluster).
  A ``netrun.config`` ``PoolConfig`` (or its ``spec``) is accepted as well.

Keys of out-of-process pools (all optional unless said):

==================== =====================================================================
process              ``size`` / ``num_processes`` (4), ``threads_per_process`` (1),
                     ``start_method`` (``"spawn"`` or ``"forkserver"``)
remote               ``url`` (required, ``ws://host:port`` / ``wss://``), ``token`` (else
                     ``NETRUN_REMOTE_TOKEN``), ``worker_name`` (``"execution_manager"``),
                     ``num_processes`` (1), ``threads_per_process`` (1), ``cafile``,
                     ``by_value`` (ship node functions' code, for servers that cannot
                     import them; default False), ``request_timeout`` (30 s),
                     ``ping_interval`` (5 s) / ``ping_timeout`` (10 s): the keepalive
                     that notices a server gone without closing the connection
dask                 ``address`` / ``scheduler_address`` (else an embedded LocalCluster of
                     ``n_workers`` (1) × ``threads_per_worker`` (2), worker processes when
                     ``processes`` is true); ``keep_values``: values passed from one epoch
                     of the pool to another stay in the cluster (default: true for the
                     embedded thread cluster, false otherwise; see ``_pool_resident.py``)
every one            ``prefetch``: epochs in flight per worker (process 2, remote 16, Dask
                     32: enough that a worker never waits for the net between epochs;
                     nodes with a ``timeout`` only start on a free worker); ``allocation``: ``"least-busy"`` (default), ``"round-robin"``
                     or ``"random"``; ``on_stop``: ``"drain"`` (default: ``Net.stop()``
                     lets running epochs finish, at most ``drain_timeout`` seconds, 30)
                     or ``"cancel"`` (fail them at once with ``JobCancelled``: they follow
                     the node's retry/dead-letter policy); ``start_timeout`` (60 s)
==================== =====================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from netrun.errors import NodeConfigError

__all__ = ["PoolSpec", "parse_pools"]

_KINDS = {"thread": "thread", "process": "process", "multiprocess": "process", "remote": "remote",
          "dask": "dask"}
_COMMON = ("type", "prefetch", "allocation", "on_stop", "drain_timeout", "start_timeout",
           "print_flush_interval", "capture_prints")
_KEYS = {
    "thread": ("size", "num_workers"),
    "process": ("size", "num_processes", "threads_per_process", "start_method", "mp_context"),
    "remote": ("url", "token", "worker_name", "num_processes", "threads_per_process", "cafile", "by_value",
               "request_timeout", "ping_interval", "ping_timeout"),
    "dask": ("address", "scheduler_address", "n_workers", "threads_per_worker", "processes", "keep_values"),
}
_ALLOCATIONS = ("least-busy", "round-robin", "random")
# Epochs in flight per worker by default: enough to cover the round trip (a pipe for
# processes; a WebSocket and the server's pipe for remote pools; Dask's scheduler).
_PREFETCH = {"thread": 2, "process": 2, "remote": 16, "dask": 32}


@dataclass
class PoolSpec:
    """One pool, checked: its ``kind`` and the options of that kind."""

    name: str
    kind: str  # "thread" | "process" | "remote" | "dask"
    size: int  # workers (for Dask: the planned thread count; the cluster's real count wins)
    options: dict[str, Any] = field(default_factory=dict)
    prefetch: int = 2
    allocation: str = "least-busy"
    on_stop: str = "drain"
    drain_timeout: float = 30.0
    start_timeout: float = 60.0


def parse_pools(thread_pools: Optional[dict], process_pools: Optional[dict], pools: Optional[dict]) -> list[PoolSpec]:
    """Every pool of a net, checked (``NodeConfigError`` naming the pool and the fix)."""
    out: list[PoolSpec] = []
    seen: set[str] = set()
    for keyword, group, kind in (("thread_pools", thread_pools, "thread"), ("process_pools", process_pools, "process"),
                                 ("pools", pools, None)):
        if group is None:
            continue
        if not isinstance(group, dict):
            raise NodeConfigError(f"{keyword} must be a dict like {{'io': {{'size': 4}}}}, got {group!r}")
        for name, raw in group.items():
            if not isinstance(name, str) or not name or name == "main":
                raise NodeConfigError(
                    f"{keyword}: pool name {name!r} is not allowed; use a non-empty name other than 'main' "
                    f"(the event loop)")
            if name in seen:
                raise NodeConfigError(f"Pool name {name!r} is used twice; pool names must be unique")
            seen.add(name)
            out.append(_parse_one(keyword, name, _as_dict(keyword, name, raw), kind))
    return out


def _as_dict(keyword: str, name: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    dump = getattr(raw, "model_dump", None)
    if dump is not None:  # a netrun.config PoolConfig or pool spec model
        data = dump()
        spec = data.pop("spec", None)
        if isinstance(spec, dict):
            data.update(spec)
        return data
    raise NodeConfigError(
        f"Pool {name!r} must be configured with a dict like {{'size': 4}}"
        f"{' and a type' if keyword == 'pools' else ''}, got {raw!r}")


def _parse_one(keyword: str, name: str, data: dict[str, Any], kind: Optional[str]) -> PoolSpec:
    declared = data.get("type")
    if kind is None:
        if declared not in _KINDS:
            raise NodeConfigError(
                f"Pool {name!r} in pools=... needs a 'type': one of {sorted(_KINDS)}, got {declared!r} "
                f"(e.g. pools={{{name!r}: {{'type': 'remote', 'url': 'ws://127.0.0.1:8765'}}}})")
        kind = _KINDS[declared]
    elif declared is not None and _KINDS.get(declared) != kind:
        raise NodeConfigError(f"Pool {name!r} in {keyword} cannot have type {declared!r}; define it in pools=... instead")
    allowed = _COMMON + _KEYS[kind]
    unknown = sorted(k for k in data if k not in allowed)
    if unknown:
        raise NodeConfigError(
            f"Pool {name!r} ({kind}): unknown option(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
    spec = PoolSpec(name, kind, 1)
    spec.prefetch = _int(name, data, ("prefetch",), _PREFETCH[kind])
    allocation = data.get("allocation", "least-busy")
    allocation = str(getattr(allocation, "value", allocation)).replace("_", "-")
    if allocation not in _ALLOCATIONS:
        raise NodeConfigError(f"Pool {name!r}: allocation must be one of {_ALLOCATIONS}, got {data['allocation']!r}")
    spec.allocation = allocation
    on_stop = data.get("on_stop", "drain")
    if on_stop not in ("drain", "cancel"):
        raise NodeConfigError(f"Pool {name!r}: on_stop must be 'drain' or 'cancel', got {on_stop!r}")
    spec.on_stop = on_stop
    spec.drain_timeout = _float(name, data, "drain_timeout", 30.0)
    spec.start_timeout = _float(name, data, "start_timeout", 60.0)
    opts = spec.options
    if kind == "thread":
        spec.size = _int(name, data, ("size", "num_workers"), 4)
    elif kind == "process":
        spec.size = _int(name, data, ("size", "num_processes"), 4)
        tpp = _int(name, data, ("threads_per_process",), 1)
        method = data.get("start_method", data.get("mp_context", "spawn"))
        if method not in ("spawn", "forkserver"):
            raise NodeConfigError(
                f"Process pool {name!r}: start_method {method!r} is not available here; choose one of "
                f"['spawn', 'forkserver'] ('fork' is unsafe in a process that runs threads)")
        opts.update(num_processes=spec.size, threads_per_process=tpp, mp_context=method,
                    start_timeout=spec.start_timeout, name=f"pool {name!r}")
        spec.size *= tpp
    elif kind == "remote":
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise NodeConfigError(
                f"Remote pool {name!r} needs url='ws://host:port' (or wss:// with TLS), got {url!r}")
        nproc = _int(name, data, ("num_processes",), 1)
        tpp = _int(name, data, ("threads_per_process",), 1)
        opts.update(url=url, worker_name=data.get("worker_name") or "execution_manager", num_processes=nproc,
                    threads_per_process=tpp, request_timeout=_float(name, data, "request_timeout", 30.0),
                    name=f"remote pool {name!r} ({url})")
        for key in ("token", "cafile"):
            if data.get(key) is not None:
                opts[key] = data[key]
        opts["by_value"] = bool(data.get("by_value", False))
        # keepalive: a server gone without closing the connection is noticed within about
        # ping_interval + ping_timeout seconds (its epochs then fail with WorkerCrashed)
        opts["ping_interval"] = _float(name, data, "ping_interval", 5.0)
        opts["ping_timeout"] = _float(name, data, "ping_timeout", 10.0)
        spec.size = nproc * tpp
    else:  # dask
        address = data.get("address", data.get("scheduler_address"))
        if address is not None and not isinstance(address, str):
            raise NodeConfigError(f"Dask pool {name!r}: address must be a string like 'tcp://host:8786', got {address!r}")
        n = _int(name, data, ("n_workers",), 1)
        t = _int(name, data, ("threads_per_worker",), 2)
        processes = bool(data.get("processes", False))
        opts.update(address=address, n_workers=n, threads_per_worker=t, processes=processes,
                    start_timeout=spec.start_timeout, name=f"Dask pool {name!r}")
        # values passed between epochs of this pool stay in the cluster (_pool_resident.py);
        # by default only where the net can also read them on its loop: the in-process cluster
        keep = data.get("keep_values")
        opts["keep_values"] = (address is None and not processes) if keep is None else bool(keep)
        spec.size = n * t
    return spec


def _int(name: str, data: dict[str, Any], keys: tuple[str, ...], default: int) -> int:
    for key in keys:
        if key in data and data[key] is not None:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise NodeConfigError(f"Pool {name!r} needs an integer {key} >= 1, got {value!r}")
            return value
    return default


def _float(name: str, data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value <= 0:
        raise NodeConfigError(f"Pool {name!r} needs a number {key} > 0 (seconds), got {value!r}")
    return float(value)
