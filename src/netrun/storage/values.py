"""Packet values: the runtime keeps them here, apart from the engine's packet bookkeeping.

The engine (``netrun_sim``) knows where every packet is but never holds a value. The
:class:`PacketValueStore` maps packet IDs to either a direct value or a *value function*
(called lazily when the packet is consumed). Optionally it keeps consumed values (bounded,
oldest dropped first) and pickles every direct value to ``<storage_path>/<packet_id>.pkl``.

>>> store = PacketValueStore()
>>> store.store_value("P1", 42)
>>> store.consume("P1")
42
>>> store.has_value("P1")
False
"""

from __future__ import annotations

import inspect
import os
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from netrun._util.aio import run_coroutine_blocking
from netrun.errors import PacketValueNotPicklable, ValueFunctionFailed

__all__ = ["PacketValueStore", "StoredValue"]

_MISSING = object()


@dataclass(slots=True)
class StoredValue:
    """One entry of the store: a direct value, or a value function called on demand."""

    value: Any = None
    value_func: Optional[Callable[[], Any]] = None
    is_value_func: bool = False

    def get_value(self) -> Any:
        """The value (calling the value function; an async one is run to completion)."""
        if not self.is_value_func:
            return self.value
        result = self.value_func()  # type: ignore[misc]
        if inspect.isawaitable(result):
            return run_coroutine_blocking(_await(result))
        return result

    async def async_get_value(self) -> Any:
        """The value, awaiting an async value function."""
        if not self.is_value_func:
            return self.value
        result = self.value_func()  # type: ignore[misc]
        if inspect.isawaitable(result):
            result = await result
        return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


class PacketValueStore:
    """Values of the packets in a net, by packet ID.

    Direct values are stored as they are (no wrapper object), value functions as a
    :class:`StoredValue`, so a net holding many waiting packets costs one dict slot each.
    Thread-safe for the runtime's use: every operation is a single dict operation.
    """

    def __init__(
        self,
        consumed_storage: bool = False,
        consumed_storage_limit: Optional[int] = None,
        storage_path: Optional[str | Path] = None,
    ) -> None:
        if consumed_storage_limit is not None and consumed_storage_limit < 0:
            raise ValueError(
                f"consumed_storage_limit must be >= 0 or None, got {consumed_storage_limit}"
            )
        self._active: dict[str, Any] = {}
        self._consumed: Optional[OrderedDict[str, Any]] = OrderedDict() if consumed_storage else None
        self._limit = consumed_storage_limit
        self._path = Path(storage_path) if storage_path is not None else None
        if self._path is not None:
            self._path.mkdir(parents=True, exist_ok=True)

    # -- properties -------------------------------------------------------------------
    @property
    def consumed_storage(self) -> bool:
        """Whether consumed values are kept (see :meth:`get_consumed_value`)."""
        return self._consumed is not None

    @property
    def consumed_storage_limit(self) -> Optional[int]:
        """Most consumed values kept (oldest dropped first); ``None`` = unbounded."""
        return self._limit

    @property
    def storage_path(self) -> Optional[Path]:
        """Folder where direct values are pickled as ``<packet_id>.pkl``, if any."""
        return self._path

    def __len__(self) -> int:
        return len(self._active)

    def __contains__(self, packet_id: object) -> bool:
        return packet_id in self._active

    # -- storing ----------------------------------------------------------------------
    def store_value(self, packet_id: str, value: Any) -> None:
        """Store a direct value (and pickle it to the storage folder, if one is set)."""
        if self._path is not None:
            self._write_pickle(packet_id, value)
        self._active[packet_id] = StoredValue(value) if type(value) is StoredValue else value

    def store_value_func(self, packet_id: str, func: Callable[[], Any]) -> None:
        """Store a value function (sync or async), called when the value is read."""
        if not callable(func):
            raise TypeError(
                f"The value function for packet {packet_id} must be callable, got "
                f"{type(func).__name__}; pass e.g. lambda: compute()"
            )
        self._active[packet_id] = StoredValue(None, func, True)

    def store_entry(self, packet_id: str, entry: Any) -> None:
        """Put back an entry taken with :meth:`pop_entry` (a raw value or a StoredValue)."""
        self._active[packet_id] = entry

    # -- reading ----------------------------------------------------------------------
    def has_value(self, packet_id: str) -> bool:
        """Whether the packet has an active (not yet consumed) entry."""
        return packet_id in self._active

    def peek_entry(self, packet_id: str) -> Any:
        """The raw entry (value or :class:`StoredValue`), without removing it."""
        entry = self._active.get(packet_id, _MISSING)
        if entry is _MISSING:
            raise self._missing(packet_id)
        return entry

    def pop_entry(self, packet_id: str) -> Any:
        """Remove and return the raw entry."""
        entry = self._active.pop(packet_id, _MISSING)
        if entry is _MISSING:
            raise self._missing(packet_id)
        return entry

    @staticmethod
    def is_value_func_entry(entry: Any) -> bool:
        """Whether a raw entry holds a value function."""
        return type(entry) is StoredValue and entry.is_value_func

    @staticmethod
    def resolve_entry(packet_id: str, entry: Any, node_name: Optional[str] = None) -> Any:
        """The value of a raw entry, calling a value function (``ValueFunctionFailed``)."""
        if type(entry) is not StoredValue:
            return entry
        try:
            return entry.get_value()
        except Exception as exc:
            raise ValueFunctionFailed(packet_id, exc, node_name=node_name) from exc

    @staticmethod
    async def async_resolve_entry(packet_id: str, entry: Any, node_name: Optional[str] = None) -> Any:
        """Async form of :meth:`resolve_entry`."""
        if type(entry) is not StoredValue:
            return entry
        try:
            return await entry.async_get_value()
        except Exception as exc:
            raise ValueFunctionFailed(packet_id, exc, node_name=node_name) from exc

    def get_value(self, packet_id: str) -> Any:
        """Read a value without removing it: the active entry (calling a value function),
        else consumed storage, else the pickle file. ``KeyError`` if none has it."""
        entry = self._active.get(packet_id, _MISSING)
        if entry is not _MISSING:
            return self.resolve_entry(packet_id, entry)
        return self._fallback(packet_id)

    async def async_get_value(self, packet_id: str) -> Any:
        """Async form of :meth:`get_value` (awaits async value functions)."""
        entry = self._active.get(packet_id, _MISSING)
        if entry is not _MISSING:
            return await self.async_resolve_entry(packet_id, entry)
        return self._fallback(packet_id)

    def consume(self, packet_id: str) -> Any:
        """Read the value and remove the active entry (kept in consumed storage if enabled).
        If a value function fails, the entry stays so that the packet keeps its value."""
        entry = self.pop_entry(packet_id)
        try:
            value = self.resolve_entry(packet_id, entry)
        except BaseException:
            self._active[packet_id] = entry
            raise
        self.remember_consumed(packet_id, value)
        return value

    async def async_consume(self, packet_id: str) -> Any:
        """Async form of :meth:`consume`."""
        entry = self.pop_entry(packet_id)
        try:
            value = await self.async_resolve_entry(packet_id, entry)
        except BaseException:
            self._active[packet_id] = entry
            raise
        self.remember_consumed(packet_id, value)
        return value

    def unconsume(self, packet_id: str, value: Any) -> None:
        """Put a consumed value back as a direct value (before a retry)."""
        if self._consumed is not None:
            self._consumed.pop(packet_id, None)
        self._active[packet_id] = StoredValue(value) if type(value) is StoredValue else value

    def remember_consumed(self, packet_id: str, value: Any) -> None:
        """Record a consumed value in consumed storage (no-op when disabled)."""
        consumed = self._consumed
        if consumed is None:
            return
        consumed[packet_id] = value
        if self._limit is not None:
            while len(consumed) > self._limit:
                consumed.popitem(last=False)

    def get_consumed_value(self, packet_id: str) -> Optional[Any]:
        """A value from consumed storage, or ``None``."""
        if self._consumed is None:
            return None
        return self._consumed.get(packet_id)

    def remove(self, packet_id: str) -> None:
        """Drop the active and consumed entries (and the pickle file) of a packet."""
        self._active.pop(packet_id, None)
        if self._consumed is not None:
            self._consumed.pop(packet_id, None)
        if self._path is not None:
            try:
                os.remove(self._path / f"{packet_id}.pkl")
            except FileNotFoundError:
                pass

    def clear(self) -> None:
        """Drop every entry (files in the storage folder are kept)."""
        self._active.clear()
        if self._consumed is not None:
            self._consumed.clear()

    def active_ids(self) -> list[str]:
        """IDs of packets with an active entry (for checkpoints and inspection)."""
        return list(self._active)

    # -- internals --------------------------------------------------------------------
    def _fallback(self, packet_id: str) -> Any:
        if self._consumed is not None and packet_id in self._consumed:
            return self._consumed[packet_id]
        if self._path is not None:
            file = self._path / f"{packet_id}.pkl"
            if file.exists():
                with open(file, "rb") as fh:
                    return pickle.load(fh)
        raise self._missing(packet_id)

    def _missing(self, packet_id: str) -> KeyError:
        return KeyError(
            f"No value stored for packet {packet_id}: it was never given a value through the "
            f"runtime, or it was already consumed (enable consumed_packet_storage=True on the "
            f"Net to keep consumed values)."
        )

    def _write_pickle(self, packet_id: str, value: Any) -> None:
        assert self._path is not None
        try:
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise PacketValueNotPicklable(
                f"The value of packet {packet_id} (type {type(value).__name__}), which "
                f"packet_storage_path={str(self._path)!r} asks to save,",
                exc,
            ) from exc
        with open(self._path / f"{packet_id}.pkl", "wb") as fh:
            fh.write(data)
