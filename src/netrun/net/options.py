"""Per-node options (``NodeConfig``) and the functions registered for a node (``NodeExecFuncs``).

``NodeConfig``'s field names are exactly the keywords ``net.set_node_config`` accepts (the
original implementation's names). It is also exported as ``NodeOptions``, because the
config layer has its own ``NodeConfig`` (the pydantic node *definition*).

>>> NodeConfig(retries=2, defer_net_actions=True, retry_wait=0.1).retries
2
>>> NodeConfig(retries=2)
Traceback (most recent call last):
...
netrun.errors.NodeConfigError: retries=2 needs defer_net_actions=True ...
"""

from __future__ import annotations

import enum
import math
import random
from dataclasses import dataclass, fields
from typing import Any, Callable, List, Optional, Union

from netrun.errors import NodeConfigError

__all__ = ["NodeConfig", "NodeOptions", "NodeExecFuncs", "PoolInitMode", "NODE_OPTION_NAMES"]


class PoolInitMode(str, enum.Enum):
    """Where a pooled node's start/stop functions run: once per worker, or once globally."""

    PER_WORKER = "per_worker"
    GLOBAL = "global"


def _check_number(name: str, value: Any, *, minimum: float, allow_none: bool, strict: bool = False,
                  integer: bool = False) -> None:
    if value is None:
        if allow_none:
            return
        raise NodeConfigError(f"Node option {name} must not be None")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        integer and not isinstance(value, int)
    ):
        kind = "an integer" if integer else "a number"
        raise NodeConfigError(f"Node option {name} must be {kind}, got {value!r}")
    if math.isnan(value) or (value <= minimum if strict else value < minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise NodeConfigError(f"Node option {name} must be {bound}, got {value!r}")


@dataclass
class NodeConfig:
    """Execution options of one node (see PROJECT_SPEC "Node Configuration").

    ``retry_backoff``, ``retry_max_wait`` and ``retry_jitter`` extend ``retry_wait`` into an
    exponential backoff with jitter: the wait before retry *k* (1-based) is
    ``min(retry_wait * retry_backoff**(k-1), retry_max_wait)``, multiplied by a random
    factor in ``[1 - retry_jitter, 1 + retry_jitter]``. The defaults give a constant wait.
    """

    pool: Optional[Union[str, List[str]]] = None
    max_parallel_epochs: Optional[int] = None
    rate_limit_per_second: Optional[float] = None
    defer_net_actions: bool = False
    retries: int = 0
    retry_wait: float = 0.0
    timeout: Optional[float] = None
    dead_letter_queue: bool = True
    capture_stdout: bool = True
    echo_stdout: bool = False
    pool_init_mode: str = "per_worker"
    pool_allocation_method: Optional[str] = None  # worker choice in a pool (default: the pool's)
    retry_backoff: float = 1.0
    retry_max_wait: Optional[float] = None
    retry_jitter: float = 0.0
    storage: Optional[Any] = None

    def __post_init__(self) -> None:
        pool = self.pool
        if pool is not None:
            names = [pool] if isinstance(pool, str) else pool
            if not isinstance(names, (list, tuple)) or not names or not all(
                isinstance(p, str) and p for p in names
            ):
                raise NodeConfigError(
                    f"Node option pool must be a pool name or a non-empty list of pool names, "
                    f"got {pool!r}"
                )
            if not isinstance(pool, str):
                self.pool = list(pool)
        if self.max_parallel_epochs is not None:
            _check_number("max_parallel_epochs", self.max_parallel_epochs, minimum=1,
                          allow_none=True, integer=True)
        _check_number("rate_limit_per_second", self.rate_limit_per_second, minimum=0,
                      allow_none=True, strict=True)
        _check_number("retries", self.retries, minimum=0, allow_none=False, integer=True)
        _check_number("retry_wait", self.retry_wait, minimum=0, allow_none=False)
        _check_number("timeout", self.timeout, minimum=0, allow_none=True, strict=True)
        _check_number("retry_backoff", self.retry_backoff, minimum=1, allow_none=False)
        _check_number("retry_max_wait", self.retry_max_wait, minimum=0, allow_none=True)
        _check_number("retry_jitter", self.retry_jitter, minimum=0, allow_none=False)
        if self.retry_jitter > 1:
            raise NodeConfigError(f"Node option retry_jitter must be <= 1, got {self.retry_jitter!r}")
        for flag in ("defer_net_actions", "dead_letter_queue", "capture_stdout", "echo_stdout"):
            if not isinstance(getattr(self, flag), bool):
                raise NodeConfigError(
                    f"Node option {flag} must be True or False, got {getattr(self, flag)!r}"
                )
        mode = self.pool_init_mode
        if isinstance(mode, PoolInitMode):
            self.pool_init_mode = mode.value
        elif mode not in ("per_worker", "global"):
            raise NodeConfigError(
                f"Node option pool_init_mode must be 'per_worker' or 'global', got {mode!r}"
            )
        if self.pool_allocation_method is not None:
            method = str(getattr(self.pool_allocation_method, "value", self.pool_allocation_method))
            if method.replace("_", "-") not in ("round-robin", "random", "least-busy"):
                raise NodeConfigError(
                    f"Node option pool_allocation_method must be 'round-robin', 'random' or "
                    f"'least-busy', got {self.pool_allocation_method!r}"
                )
            self.pool_allocation_method = method.replace("_", "-")
        if self.storage is not None:
            self.storage = _node_storage(self.storage)
            # its outputs are recorded before they are committed (netrun.net._storage_epochs)
            self.defer_net_actions = True
        if self.retries > 0 and not self.defer_net_actions:
            raise NodeConfigError(
                f"retries={self.retries} needs defer_net_actions=True, so that a failed "
                f"attempt leaves no packets behind; pass both, e.g. "
                f"set_node_config(node, retries={self.retries}, defer_net_actions=True)"
            )

    @property
    def pools(self) -> list[str]:
        """The pool names as a list (empty when the node runs on the main loop)."""
        if self.pool is None:
            return []
        return [self.pool] if isinstance(self.pool, str) else list(self.pool)

    def retry_delay(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (1 = the first retry)."""
        delay = self.retry_wait * (self.retry_backoff ** max(0, retry_number - 1))
        if self.retry_max_wait is not None:
            delay = min(delay, self.retry_max_wait)
        if self.retry_jitter and delay > 0:
            delay *= 1 + self.retry_jitter * (2 * (rng or random).random() - 1)
        return max(0.0, delay)

    def merged(self, **options: Any) -> "NodeConfig":
        """A copy with ``options`` applied; unknown names raise ``NodeConfigError``."""
        unknown = sorted(set(options) - set(NODE_OPTION_NAMES))
        if unknown:
            raise NodeConfigError(
                f"Unknown node option(s) {', '.join(map(repr, unknown))}; valid options: "
                f"{', '.join(NODE_OPTION_NAMES)}"
            )
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(options)
        return NodeConfig(**values)

    def to_dict(self, *, exclude_defaults: bool = False) -> dict[str, Any]:
        """Plain-data form (for definitions and checkpoints)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if exclude_defaults and value == f.default:
                continue
            if f.name == "storage" and value is not None:
                value = value.model_dump(mode="json", exclude_none=True)
            out[f.name] = list(value) if isinstance(value, list) else value
        return out


def _node_storage(value: Any) -> Any:
    """The ``storage`` node option as a :class:`~netrun.storage.config.NodeStorageConfig`
    (cache overrides, file storage, value storage; a dict is validated)."""
    from pydantic import ValidationError

    from netrun.storage.config import NodeStorageConfig

    if isinstance(value, NodeStorageConfig):
        return value
    if not isinstance(value, dict):
        raise NodeConfigError(
            f"Node option storage must be a NodeStorageConfig or a dict like "
            f"{{'cache': {{'enabled': True}}}}, got {type(value).__name__}")
    try:
        return NodeStorageConfig.model_validate(value)
    except ValidationError as exc:
        raise NodeConfigError(f"Node option storage is not valid: {exc}") from None


NodeOptions = NodeConfig
NODE_OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in fields(NodeConfig))


@dataclass
class NodeExecFuncs:
    """The functions registered for a node with ``net.set_node_exec``.

    The field names are the original implementation's; the PROJECT_SPEC names are available
    as read-only aliases (``exec_node_func`` ...).
    """

    exec_func: Optional[Callable[..., Any]] = None
    start_func: Optional[Callable[..., Any]] = None
    stop_func: Optional[Callable[..., Any]] = None
    failed_func: Optional[Callable[..., Any]] = None

    @property
    def exec_node_func(self) -> Optional[Callable[..., Any]]:
        return self.exec_func

    @property
    def start_node_func(self) -> Optional[Callable[..., Any]]:
        return self.start_func

    @property
    def stop_node_func(self) -> Optional[Callable[..., Any]]:
        return self.stop_func

    @property
    def exec_failed_node_func(self) -> Optional[Callable[..., Any]]:
        return self.failed_func
