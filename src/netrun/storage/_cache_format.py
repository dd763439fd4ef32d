"""The stored form of epoch cache entries, the encoding of input salvos for keys, and the
diskcache directory of one node (used by :mod:`netrun.storage.cache`).

Entries are stored as a tuple of plain data (:func:`encode_entry`), which unpickles in
about half the time of the dataclasses; entries written by earlier versions as pickled
:class:`CachedEpochData` objects are still read (:func:`decode_entry`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netrun.storage.errors import CacheError
from netrun.storage.hashing import canonical_bytes
from netrun.storage.serialization import PicklingMethod, unpickle_data

__all__ = ["CachedEpochData", "CachedOutputSalvo", "NodeStore", "decode_entry", "encode_entry", "salvo_bytes",
           "PLAIN_TYPES", "META_NODE"]

META_NODE = "__meta__:node_name"


@dataclass
class CachedOutputSalvo:
    """One output salvo an epoch sent: its condition name and the values per port, in
    the order they were loaded."""

    salvo: str
    values_by_port: dict[str, list[Any]]


@dataclass
class CachedEpochData:
    """Everything recorded about one epoch (what a hit replays)."""

    input_salvo_hash: str
    node_name: str
    net_version: int
    node_version: int | None
    cache_what: str
    input_values_by_port: dict[str, list[Any]]
    output_salvos: list[CachedOutputSalvo] = field(default_factory=list)
    consumed_input_ports: set[str] = field(default_factory=set)
    original_epoch_id: str | None = None
    cached_at: str = ""

    @property
    def output_port_values(self) -> dict[str, list[Any]]:
        """All output values by port, across salvos (the published runtime's field)."""
        merged: dict[str, list[Any]] = {}
        for salvo in self.output_salvos:
            for port, values in salvo.values_by_port.items():
                merged.setdefault(port, []).extend(values)
        return merged

    @property
    def output_salvo_names(self) -> list[str]:
        """The names of the salvos sent, in order."""
        return [salvo.salvo for salvo in self.output_salvos]


# (pickles of entries written by earlier versions name the classes by this module path)
CachedOutputSalvo.__module__ = CachedEpochData.__module__ = "netrun.storage.cache"


# values that are never lazy (compute_key skips the lazy-value check for them)
PLAIN_TYPES = frozenset({int, str, float, bool, bytes, type(None), tuple, list, dict})


def _value_bytes(value: Any) -> bytes:
    cls = type(value)
    if cls is int:
        data = str(value).encode()
        return b"i" + len(data).to_bytes(8, "big") + data
    if cls is str:
        data = value.encode("utf-8", "surrogatepass")
        return b"s" + len(data).to_bytes(8, "big") + data
    return canonical_bytes(value)


def salvo_bytes(ports: list[tuple[str, list[Any]]]) -> bytes:
    """``canonical_bytes(ports)`` for ``[(port, [value, ...]), ...]``, the same bytes (so the
    same keys) built without the general encoder's dispatch for the list/tuple levels and
    for ``int`` / ``str`` values: a quarter of the time of the key of a small salvo."""
    body = b""
    for port, values in ports:
        name = port.encode("utf-8", "surrogatepass")
        encoded = b"".join([_value_bytes(v) for v in values])
        inner = b"s" + len(name).to_bytes(8, "big") + name + b"l" + len(encoded).to_bytes(8, "big") + encoded
        body += b"t" + len(inner).to_bytes(8, "big") + inner
    return b"l" + len(body).to_bytes(8, "big") + body


_ENTRY_TAG = "netrun.cache-entry/2"


def encode_entry(entry: CachedEpochData) -> tuple:
    """An entry as a tuple of plain data: unpickled in about half the time of the dataclasses
    (a disk hit reads one per epoch)."""
    return (_ENTRY_TAG, entry.input_salvo_hash, entry.node_name, entry.net_version, entry.node_version,
            entry.cache_what, entry.input_values_by_port,
            [(salvo.salvo, salvo.values_by_port) for salvo in entry.output_salvos],
            sorted(entry.consumed_input_ports), entry.original_epoch_id, entry.cached_at)


def decode_entry(data: bytes, pickling_method: PicklingMethod) -> CachedEpochData:
    """The entry stored as ``data`` (:func:`encode_entry`'s tuple; an entry written by an earlier
    netrun as the pickled dataclass is read too). Anything else raises ``CacheError``."""
    obj = unpickle_data(data, pickling_method)
    if type(obj) is tuple and obj and obj[0] == _ENTRY_TAG:
        return CachedEpochData(obj[1], obj[2], obj[3], obj[4], obj[5], obj[6],
                               [CachedOutputSalvo(name, values) for name, values in obj[7]], set(obj[8]),
                               obj[9], obj[10])
    if isinstance(obj, CachedEpochData):
        return obj
    raise CacheError(f"an entry holds a {type(obj).__name__}, not an epoch cache entry",
                     fix="clear the cache (net.cache.clear(node)); it was written by other code")


class NodeStore:
    """The diskcache directory of one node."""

    def __init__(self, directory: Path, node_name: str) -> None:
        import diskcache

        self.directory = directory
        # No eviction: entries leave only by clear() or sampling, never silently.
        self.cache = diskcache.Cache(str(directory), eviction_policy="none", timeout=30)
        if self.cache.get(META_NODE) is None:
            self.cache.set(META_NODE, node_name)

    def close(self) -> None:
        self.cache.close()

    def fetch_many(self, keys: list[str]) -> dict[str, bytes]:
        """The stored bytes of those ``keys`` that have an entry, in one SQLite query per 500
        keys (the row layout of diskcache 5's ``Cache.get`` fast path: string keys are stored
        raw, without expiry here). A diskcache without that layout is read key by key."""
        cache = self.cache
        sql = getattr(cache, "_sql", None)
        disk = getattr(cache, "_disk", None)
        if sql is None or disk is None or not hasattr(disk, "fetch"):
            return {k: v for k in keys if (v := cache.get(k)) is not None}
        found: dict[str, bytes] = {}
        now = time.time()
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = sql("SELECT key, mode, filename, value FROM Cache WHERE raw = 1 AND key IN ("
                       + ",".join("?" * len(chunk)) + ") AND (expire_time IS NULL OR expire_time > ?)",
                       (*chunk, now)).fetchall()
            for key, mode, filename, value in rows:
                if mode == 1 and type(value) is bytes:  # diskcache's MODE_RAW: the bytes themselves
                    found[key] = value
                    continue
                try:
                    found[key] = disk.fetch(mode, filename, value, False)
                except OSError:  # removed between the query and the read: a miss
                    continue
        return found
