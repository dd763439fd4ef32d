"""Packet values (the published runtime's ``netrun.packets`` module path).

``LazyPacketValueSpec`` and ``LazyPacketValueEvaluationError`` come from
:mod:`netrun.storage.lazy`; ``PacketStore`` is the runtime's packet value store
(:class:`netrun.storage.values.PacketValueStore`), resolved on first access.
"""

from __future__ import annotations

from typing import Any

from netrun.storage.errors import LazyPacketValueEvaluationError
from netrun.storage.lazy import LazyPacketValueSpec, StoredValueRef, resolve_value

__all__ = ["PacketStore", "LazyPacketValueSpec", "LazyPacketValueEvaluationError", "StoredValueRef", "resolve_value"]


def __getattr__(name: str) -> Any:
    if name == "PacketStore":
        from netrun.storage.values import PacketValueStore

        globals()["PacketStore"] = PacketValueStore
        return PacketValueStore
    raise AttributeError(f"module 'netrun.packets' has no attribute {name!r}")
