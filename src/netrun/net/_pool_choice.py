"""Which of a node's pools runs its next epoch, when the node lists several.

The node's ``pool_allocation_method`` decides (for nets built from a config it defaults to
the config's ``default_pool_allocation_method``, see ``netrun.config.runtime``):

* ``"least-busy"`` (also when the method is unset): the pool with the most free workers;
* ``"round-robin"``: the pools take turns, in the order the node lists them; a pool
  without a free slot is skipped for this turn;
* ``"random"``: any pool with a free slot, uniformly.

Within the chosen pool the same method picks the worker (out-of-process pools; thread pools
hand work to whichever thread is free). The scheduler calls :func:`pick_pool` only for
nodes with several pools and a method other than least-busy, so single-pool nodes pay
nothing.
"""

from __future__ import annotations

import random
from typing import Any

from netrun.errors import NodeConfigError

__all__ = ["pick_pool", "pick_executor", "pool_size"]

_random = random.Random()


def pick_pool(turns: dict[str, int], node: Any, method: str) -> Any | None:
    """The executor of ``node`` (several pools) that takes its next epoch, or ``None``
    when none has capacity. ``turns`` keeps each node's round-robin position."""
    executors = node.executors
    if method == "random":
        free = [e for e in executors if e.has_capacity(node)]
        return _random.choice(free) if free else None
    count = len(executors)
    start = turns.get(node.name, 0)
    for step in range(count):  # round-robin: the next pool in turn that has a free slot
        index = (start + step) % count
        executor = executors[index]
        if executor.has_capacity(node):
            turns[node.name] = index + 1
            return executor
    return None


def pick_executor(turns: dict[str, int], node: Any) -> Any | None:
    """The executor that takes ``node``'s next epoch (``None``: none has capacity):
    its only one, else by the node's ``pool_allocation_method`` (see the module docs)."""
    executors = node.executors
    if len(executors) == 1:
        executor = executors[0]
        return executor if executor.has_capacity(node) else None
    method = node.config.pool_allocation_method
    if method is not None and method != "least-busy":
        return pick_pool(turns, node, method)
    best, best_free = None, None
    for executor in executors:  # "least busy": the pool with most free workers
        if not executor.has_capacity(node):
            continue
        free = executor.available()
        if best_free is None or free > best_free:
            best, best_free = executor, free
    return best


def pool_size(name: str, spec: Any) -> int:
    """The size of a thread pool from its ``{"size": n}`` spec (default 4), checked."""
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise NodeConfigError(f"Pool {name!r} must be configured with a dict like {{'size': 4}}, got {spec!r}")
    size = spec.get("size", 4)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise NodeConfigError(f"Pool {name!r} needs an integer size >= 1, got {size!r}")
    return size
