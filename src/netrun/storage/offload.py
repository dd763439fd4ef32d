"""Keeping large packet values in a storage backend instead of memory.

With ``value_storage`` configured (net or node level, :class:`ValueStorageConfig`), the
runtime passes each new packet value through :meth:`ValueOffloader.offload`: values whose
size reaches ``min_size_bytes`` are written to the backend and replaced by a
:class:`~netrun.storage.lazy.StoredValueRef`, which the consuming worker loads itself
(:func:`~netrun.storage.lazy.resolve_value`). Small values are returned unchanged.

Measuring a value by serializing it would cost as much as storing it, so the size is first
*estimated* from what is cheap to know — ``len`` of bytes and strings, ``nbytes`` of numpy
arrays, pandas' and polars' own size estimates — walking containers until the threshold is
reached or 10,000 objects were seen (then the value is serialized to decide). A value is
offloaded when its serialized form is at least ``min_size_bytes``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from netrun.storage.backends import get_backend
from netrun.storage.compression import compress, get_compression_extension
from netrun.storage.config import StorageConfig, ValueStorageConfig
from netrun.storage.errors import StorageConfigError, StorageError
from netrun.storage.lazy import StoredValueRef, store_value
from netrun.storage.serialization import get_file_extension, serialize

__all__ = ["ValueOffloader", "estimate_size"]

_WALK_LIMIT = 10_000


def estimate_size(value: Any, threshold: int) -> int | None:
    """A lower bound of ``value``'s size in bytes, or ``None`` if it cannot be estimated
    cheaply. Stops early once ``threshold`` is reached."""
    total = 0
    stack = [value]
    seen = 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > _WALK_LIMIT:
            return None
        if isinstance(item, (bytes, bytearray, memoryview)):
            total += len(item)
        elif isinstance(item, str):
            total += len(item)
        elif isinstance(item, (int, float, bool, type(None))):
            total += 8
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
        elif hasattr(item, "nbytes") and isinstance(getattr(item, "nbytes", None), int):  # numpy
            total += item.nbytes
        elif type(item).__module__.startswith("pandas") and hasattr(item, "memory_usage"):
            usage = item.memory_usage(deep=True)
            total += int(usage.sum() if hasattr(usage, "sum") else usage)
        elif hasattr(item, "estimated_size"):  # polars
            total += int(item.estimated_size())
        else:
            return None
        if total >= threshold:
            return total
    return total


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", name) or "_"


class ValueOffloader:
    """Decides, per value, whether it lives in memory or in the configured backend.

    ``storage`` resolves a backend given by name; ``node`` is the default node for keys and
    error messages.
    """

    def __init__(
        self, config: ValueStorageConfig, storage: StorageConfig | None = None, *, node: str | None = None
    ) -> None:
        unresolved = config.unresolved_refs()
        if unresolved:
            raise StorageConfigError(
                f"value storage config has unresolved references: {', '.join(p for p, _ in unresolved)}",
                fix="resolve the config (NetConfig.resolve) before using it",
                node=node,
            )
        self.config = config
        self.node = node
        name = config.backend if isinstance(config.backend, str) else None
        backend_config = (storage or StorageConfig()).get_backend_config(config.backend, node=node)
        self.backend = get_backend(backend_config, name=name)
        self._ext = get_file_extension(config.serialization) + get_compression_extension(config.compression)

    def should_offload(self, value: Any) -> bool:
        """Whether ``value`` is at least ``min_size_bytes`` (estimated, else serialized)."""
        if not self.config.enabled or isinstance(value, StoredValueRef):
            return False
        threshold = int(self.config.min_size_bytes)
        estimate = estimate_size(value, threshold)
        if estimate is not None:
            return estimate >= threshold
        data = serialize(value, self.config.serialization, pickling_method=self.config.pickling_method)
        return len(compress(data, self.config.compression)) >= threshold

    def offload(
        self, value: Any, *, node: str | None = None, port: str | None = None, packet_id: str | None = None
    ) -> Any:
        """``value`` itself if small, else a :class:`StoredValueRef` to its stored copy.

        Failures (unreachable backend, full disk, unserializable value) raise the storage
        error with node and port filled in; the value is then still the caller's.
        """
        node = node or self.node
        try:
            if not self.should_offload(value):
                return value
        except StorageError as exc:
            exc.with_context(node=node, port=port, backend=self.backend.description)
            raise
        name = packet_id if packet_id is not None else uuid.uuid4().hex
        key = f"{self.config.prefix.strip('/')}/{_safe(node or 'net')}/{_safe(str(name))}{self._ext}"
        return store_value(
            value,
            self.backend,
            key,
            serialization=self.config.serialization,
            pickling_method=self.config.pickling_method,
            compression=self.config.compression,
            node=node,
            port=port,
        )

