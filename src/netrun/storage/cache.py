"""The epoch cache: remember what a node's epochs received and produced, and replay it.

The cache only records and returns data; the runtime decides when to consult it, replays a
hit through the engine and records the hit in its history. One :class:`EpochCache` serves a
net; entries live in **diskcache** directories under ``CacheConfig.storage_path`` (one per
node), so several ``Net`` instances and processes share them.

Cache key = stable hash of: the net's and the node's ``version``; the node's **code**
(:func:`~netrun.storage.hashing.code_fingerprint` of its function, or a fingerprint the
runtime gives) and **config** (the data the runtime passes to :meth:`EpochCache.register_node`,
e.g. factory, factory arguments, node variables); and the input values by port (ports
filtered by ``include_ports`` / ``exclude_ports``), hashed with the order-independent,
type-tagged :func:`~netrun.storage.hashing.stable_hash`. Editing the function or its
configuration therefore misses, instead of replaying outputs of old code (the published
runtime keyed on inputs only). Lazy values are hashed as their spec (or, for stored values,
their checksum) unless ``evaluate_lazy_value_for_cache`` is set.

Modes (``cache_what``): ``both`` memoises — :meth:`EpochCache.lookup` returns hits;
``output`` records inputs and outputs without ever replaying; ``input`` records only inputs.
``sample_size`` keeps a uniform sample (reservoir sampling) of at most that many entries.

The inspection API (``stats``, ``entries``, ``clear``, ``input_salvos``, ``output_salvos``,
``output_for_input``, ``clear_for_input``, ``is_enabled``) is what ``net.cache`` exposes.
Hit and miss counts are kept in memory and added to the totals stored with the entries on
:meth:`EpochCache.flush_stats` / :meth:`EpochCache.close`.
"""

from __future__ import annotations

import datetime
import errno
import logging
import random
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netrun.storage.config import CacheConfig, CacheWhat, NodeCacheConfig, matches_any
from netrun.storage.errors import (
    CacheError,
    StorageConfigError,
    StorageError,
    StorageFullError,
    ValueNotSerializableError,
)
from netrun.storage.hashing import HashMethod, canonical_bytes, code_fingerprint, hash_bytes, stable_hash
from netrun.storage.lazy import LazyPacketValueSpec, StoredValueRef, resolve_value
from netrun.storage._cache_format import (
    META_NODE,
    PLAIN_TYPES,
    CachedEpochData,
    CachedOutputSalvo,
    NodeStore,
    decode_entry,
    encode_entry,
    salvo_bytes,
)
from netrun.storage.serialization import PicklingMethod, pickle_data

__all__ = ["CachedOutputSalvo", "CachedEpochData", "EffectiveCacheConfig", "EpochCache", "NetCacheStore"]

_log = logging.getLogger(__name__)

_KEY_FORMAT = "netrun-epoch-cache/1"
_META_NODE = META_NODE
_META_EPOCHS = "__meta__:epoch_count"
_META_HITS = "__meta__:hits"
_META_MISSES = "__meta__:misses"
_META_STORES = "__meta__:stores"
_SLOT = "__slot__:"


@dataclass(frozen=True)
class EffectiveCacheConfig:
    """A node's cache settings after merging the net's and the node's configs."""

    enabled: bool
    cache_what: CacheWhat
    net_version: int
    node_version: int | None
    include_ports: tuple[str, ...] | None
    exclude_ports: tuple[str, ...] | None
    hash_method: HashMethod
    pickling_method: PicklingMethod
    pickling_args: dict[str, Any]
    evaluate_lazy_value_for_cache: bool
    sample_size: int | None

    def port_in_key(self, port: str) -> bool:
        """Whether ``port``'s values enter the cache key."""
        if self.include_ports is not None and not matches_any(port, list(self.include_ports)):
            return False
        return not matches_any(port, list(self.exclude_ports or ()))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _node_dir_name(node_name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", node_name)[:60] or "node"
    return f"{slug}-{stable_hash(node_name)[:10]}"


class EpochCache:
    """The net's epoch cache (``net.cache``).

    >>> cache = EpochCache(CacheConfig(enabled=True, include_all_nodes=True))
    >>> cache.register_node("double", func=lambda x: 2 * x)
    >>> key = cache.compute_key("double", {"x": [21]})
    >>> cache.lookup("double", key) is None
    True
    >>> _ = cache.store("double", key, inputs_by_port={"x": [21]},
    ...                 output_salvos=[CachedOutputSalvo("send", {"out": [42]})])
    >>> cache.lookup("double", key).output_port_values
    {'out': [42]}
    >>> cache.close()
    """

    def __init__(self, config: CacheConfig | None = None) -> None:
        self.config = config or CacheConfig()
        unresolved = self.config.unresolved_refs()
        if unresolved:
            raise StorageConfigError(
                f"cache config has unresolved references: {', '.join(p for p, _ in unresolved)}",
                fix="resolve the config (NetConfig.resolve) before creating the cache",
            )
        self._lock = threading.RLock()
        self._owns_directory = self.config.storage_path is None
        self._directory: Path | None = (
            None if self.config.storage_path is None else Path(self.config.storage_path).expanduser()
        )
        self._stores: dict[str, NodeStore] = {}
        self._nodes: dict[str, tuple[NodeCacheConfig | None, str]] = {}
        self._session: dict[str, dict[str, int]] = {}
        self._effective: dict[str, EffectiveCacheConfig] = {}
        self._static: dict[str, tuple[bytes, EffectiveCacheConfig]] = {}
        self._closed = False

    # --- configuration ------------------------------------------------------------------

    @property
    def directory(self) -> Path:
        """Where the entries live (a temporary directory is created on first use if the
        config names none, and removed by :meth:`close`)."""
        with self._lock:
            if self._directory is None:
                self._directory = Path(tempfile.mkdtemp(prefix="netrun-cache-"))
            return self._directory

    def register_node(
        self,
        node_name: str,
        *,
        func: Any = None,
        code: str | None = None,
        config_data: Any = None,
        node_config: NodeCacheConfig | None = None,
    ) -> None:
        """Tell the cache what ``node_name`` runs, so its keys depend on it.

        ``func`` is the node's function (fingerprinted from its source or bytecode), or
        ``code`` an already computed fingerprint (e.g. of a factory path and arguments);
        ``config_data`` any data whose change must invalidate entries (node config, node
        variables, port types). ``node_config`` holds the node's cache overrides.
        """
        if func is None and code is None:
            raise CacheError(
                "register_node needs the node's function (func=) or a code fingerprint (code=)",
                fix="pass func=the node's exec function, or code=a string that changes when its code does",
                node=node_name,
            )
        fingerprint = stable_hash((code if code is not None else code_fingerprint(func), config_data))
        with self._lock:
            self._nodes[node_name] = (node_config, fingerprint)
            self._effective.pop(node_name, None)
            self._static.pop(node_name, None)

    def _node(self, node_name: str) -> tuple[NodeCacheConfig | None, str]:
        try:
            return self._nodes[node_name]
        except KeyError:
            raise CacheError(
                "node is not registered with the epoch cache, so its code and config "
                "cannot be part of the key",
                fix="call cache.register_node(node_name, func=..., config_data=...) when the net starts",
                node=node_name,
            ) from None

    def is_enabled(self, node_name: str) -> bool:
        """Whether epochs of ``node_name`` are cached.

        A node's own ``enabled`` wins; otherwise the net's ``enabled`` applies to nodes
        matching ``include_nodes`` (or all with ``include_all_nodes``) and not
        ``exclude_nodes``.
        """
        node_config = self._nodes.get(node_name, (None, ""))[0]
        if node_config is not None and node_config.enabled is not None:
            return bool(node_config.enabled)
        config = self.config
        if not config.enabled or matches_any(node_name, config.exclude_nodes):
            return False
        return bool(config.include_all_nodes) or matches_any(node_name, config.include_nodes)

    def check_selection(self, node_names: Iterable[str]) -> None:
        """Raise if the net enables caching but no node is selected (a silent no-op in the
        published runtime)."""
        names = list(node_names)
        if self.config.enabled and names and not any(self.is_enabled(n) for n in names):
            raise StorageConfigError(
                "the epoch cache is enabled but selects no node "
                f"(include_nodes={self.config.include_nodes}, exclude_nodes={self.config.exclude_nodes})",
                fix="set include_nodes (e.g. ['*']), include_all_nodes=true, or enabled=true on a node's cache config",
            )

    def effective_config(self, node_name: str) -> EffectiveCacheConfig:
        """The merged net + node settings for ``node_name``."""
        effective = self._effective.get(node_name)
        if effective is None:
            effective = self._effective[node_name] = self._merge(node_name)
        return effective

    def _merge(self, node_name: str) -> EffectiveCacheConfig:
        node_config = self._nodes.get(node_name, (None, ""))[0] or NodeCacheConfig()
        net = self.config

        def pick(name: str) -> Any:
            value = getattr(node_config, name)
            return getattr(net, name) if value is None else value

        include, exclude = pick("include_ports"), pick("exclude_ports")
        return EffectiveCacheConfig(
            enabled=self.is_enabled(node_name),
            cache_what=CacheWhat(pick("cache_what")),
            net_version=int(net.version),
            node_version=node_config.version,
            include_ports=tuple(include) if include is not None else None,
            exclude_ports=tuple(exclude) if exclude is not None else None,
            hash_method=HashMethod(pick("hash_method")),
            pickling_method=PicklingMethod(pick("pickling_method")),
            pickling_args=dict(pick("pickling_args") or {}),
            evaluate_lazy_value_for_cache=bool(pick("evaluate_lazy_value_for_cache")),
            sample_size=pick("sample_size"),
        )

    # --- keys ---------------------------------------------------------------------------

    def compute_key(self, node_name: str, inputs_by_port: dict[str, list[Any]]) -> str:
        """The cache key of an input salvo of ``node_name`` (values by port, in order).

        It hashes the canonical encoding of ``(format, node, net version, node version,
        code + config fingerprint)`` followed by that of the input values by port; the first
        part is encoded once per node registration."""
        static = self._static.get(node_name)
        if static is None:
            _, fingerprint = self._node(node_name)
            effective = self.effective_config(node_name)
            static = self._static[node_name] = (canonical_bytes(
                (_KEY_FORMAT, node_name, effective.net_version, effective.node_version, fingerprint)), effective)
        prefix, effective = static
        ports = []
        every_port = effective.include_ports is None and not effective.exclude_ports
        hashable = self._hashable
        for port in sorted(inputs_by_port) if len(inputs_by_port) > 1 else inputs_by_port:
            if every_port or effective.port_in_key(port):
                values = [v if type(v) in PLAIN_TYPES else hashable(v, effective) for v in inputs_by_port[port]]
                ports.append((port, values))
        try:
            return hash_bytes(prefix + salvo_bytes(ports), effective.hash_method)
        except TypeError as exc:
            raise CacheError(str(exc), fix="exclude the port from the key (exclude_ports)", node=node_name) from exc

    @staticmethod
    def _hashable(value: Any, effective: EffectiveCacheConfig) -> Any:
        if isinstance(value, (LazyPacketValueSpec, StoredValueRef)):
            if effective.evaluate_lazy_value_for_cache:
                return resolve_value(value)
            ref = value if isinstance(value, StoredValueRef) else value.stored_ref
            if ref is not None and ref.sha256 is not None:
                return ("netrun.stored-value", ref.sha256)
        return value

    # --- entries ------------------------------------------------------------------------

    def _store(self, node_name: str) -> NodeStore:
        with self._lock:
            if self._closed:
                raise CacheError("the epoch cache is closed", fix="create a new EpochCache", node=node_name)
            store = self._stores.get(node_name)
            if store is None:
                store = self._stores[node_name] = NodeStore(self.directory / _node_dir_name(node_name), node_name)
            return store

    def _count(self, node_name: str, what: str) -> None:
        with self._lock:
            counts = self._session.setdefault(node_name, {"hits": 0, "misses": 0, "stores": 0})
            counts[what] += 1

    def lookup(self, node_name: str, key: str) -> CachedEpochData | None:
        """The entry to replay for ``key``, or ``None``.

        Only ``cache_what="both"`` replays; other modes always return ``None`` (and count
        nothing). An entry that cannot be read (written by incompatible code) is removed,
        logged and treated as a miss.
        """
        effective = self.effective_config(node_name)
        if not effective.enabled or effective.cache_what is not CacheWhat.BOTH:
            return None
        store = self._store(node_name)
        try:
            data = store.cache.get(key)
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(f"the cache could not be read ({type(exc).__name__}: {exc})",
                             fix="check that storage_path is readable and not damaged (clear the cache if it is)",
                             node=node_name, backend=f"epoch cache '{store.directory}'") from exc
        if data is None:
            self._count(node_name, "misses")
            return None
        try:
            entry = decode_entry(data, effective.pickling_method)
        except StorageError as exc:
            _log.warning("node %r: dropping unreadable cache entry %s: %s", node_name, key, exc)
            self._store(node_name).cache.delete(key)
            self._count(node_name, "misses")
            return None
        self._count(node_name, "hits")
        return entry

    def lookup_many(self, node_name: str, keys: list[str]) -> dict[str, CachedEpochData]:
        """The entries to replay for several keys, read in one batch (the runtime prefetches
        the keys of a node's waiting epochs with it). Keys without an entry are left out;
        nothing is counted (count with :meth:`count` when an entry is used). An unreadable
        entry is left out too (:meth:`lookup` removes it when its epoch comes)."""
        effective = self.effective_config(node_name)
        if not effective.enabled or effective.cache_what is not CacheWhat.BOTH or not keys:
            return {}
        store = self._store(node_name)
        try:
            raw = store.fetch_many(list(keys))
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(f"the cache could not be read ({type(exc).__name__}: {exc})",
                             fix="check that storage_path is readable and not damaged (clear the cache if it is)",
                             node=node_name, backend=f"epoch cache '{store.directory}'") from exc
        found: dict[str, CachedEpochData] = {}
        for key, data in raw.items():
            try:
                found[key] = decode_entry(data, effective.pickling_method)
            except StorageError:
                continue
        return found

    def count(self, node_name: str, what: str) -> None:
        """Count a ``"hits"`` / ``"misses"`` / ``"stores"`` the caller served itself (an
        entry it already had, or knew to be absent)."""
        self._count(node_name, what)

    def store(
        self,
        node_name: str,
        key: str,
        *,
        inputs_by_port: dict[str, list[Any]],
        output_salvos: list[CachedOutputSalvo] | None = None,
        consumed_input_ports: Iterable[str] | None = None,
        epoch_id: str | None = None,
    ) -> CachedEpochData | None:
        """Record a successful epoch; returns the entry, or ``None`` if sampling skipped it.

        In ``input`` mode the outputs are dropped. A value that cannot be pickled raises
        :class:`ValueNotSerializableError` naming the node and port; nothing is stored.
        """
        effective = self.effective_config(node_name)
        if not effective.enabled:
            return None
        record_outputs = effective.cache_what is not CacheWhat.INPUT_ONLY
        entry = CachedEpochData(
            input_salvo_hash=key,
            node_name=node_name,
            net_version=effective.net_version,
            node_version=effective.node_version,
            cache_what=effective.cache_what.value,
            input_values_by_port={p: list(v) for p, v in inputs_by_port.items()},
            output_salvos=list(output_salvos or []) if record_outputs else [],
            consumed_input_ports=set(consumed_input_ports or inputs_by_port) if record_outputs else set(),
            original_epoch_id=None if epoch_id is None else str(epoch_id),
            cached_at=_now(),
        )
        data = self._pickle(entry, effective)
        store = self._store(node_name)
        try:
            with store.cache.transact():
                count = store.cache.incr(_META_EPOCHS)
                if key in store.cache or effective.sample_size is None:
                    store.cache.set(key, data)
                else:
                    slot = count if count <= effective.sample_size else random.randint(1, count)
                    if slot > effective.sample_size:
                        self._count(node_name, "stores")
                        return None
                    evicted = store.cache.get(f"{_SLOT}{slot}")
                    if evicted is not None:
                        store.cache.delete(evicted)
                    store.cache.set(f"{_SLOT}{slot}", key)
                    store.cache.set(key, data)
        except (sqlite3.Error, OSError) as exc:
            raise self._write_error(node_name, store, exc) from exc
        self._count(node_name, "stores")
        return entry

    @staticmethod
    def _write_error(node_name: str, store: NodeStore, exc: BaseException) -> StorageError:
        """A failed diskcache write as a storage error naming the node and the directory."""
        where = f"epoch cache '{store.directory}'"
        text = f"{type(exc).__name__}: {exc}"
        if getattr(exc, "errno", None) in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)) \
                or "full" in str(exc).lower():
            err: StorageError = StorageFullError(
                f"no space left to store the epoch ({text})",
                fix=f"free space on the volume of '{store.directory}' or point storage_path at a larger one",
                node=node_name, backend=where)
            err.errno = errno.ENOSPC  # type: ignore[attr-defined]
            return err
        return CacheError(f"the entry could not be written ({text})",
                          fix="check that storage_path is writable and not damaged (clear the cache if it is)",
                          node=node_name, backend=where)

    def _pickle(self, entry: CachedEpochData, effective: EffectiveCacheConfig) -> bytes:
        try:
            return pickle_data(encode_entry(entry), effective.pickling_method, **effective.pickling_args)
        except ValueNotSerializableError as exc:
            port, direction = self._unpicklable_port(entry, effective)
            where = f"epoch cache '{self.directory}'"
            if port is None:
                exc.with_context(node=entry.node_name, backend=where)
                raise
            raise ValueNotSerializableError(
                f"an {direction} value cannot be stored in the epoch cache: {exc.what}",
                fix=f"{exc.fix}; or leave the node out of the cache",
                node=entry.node_name,
                port=port,
                backend=where,
            ) from exc

    @staticmethod
    def _unpicklable_port(entry: CachedEpochData, effective: EffectiveCacheConfig) -> tuple[str | None, str]:
        candidates = [("input", p, v) for p, v in entry.input_values_by_port.items()]
        candidates += [("output", p, v) for s in entry.output_salvos for p, v in s.values_by_port.items()]
        for direction, port, values in candidates:
            try:
                pickle_data(values, effective.pickling_method, **effective.pickling_args)
            except ValueNotSerializableError:
                return port, direction
        return None, ""

    def entries(self, node_name: str) -> list[CachedEpochData]:
        """Every stored entry of ``node_name`` (oldest first)."""
        effective = self.effective_config(node_name)
        store = self._store(node_name)
        found = []
        for key in list(store.cache.iterkeys()):
            if isinstance(key, str) and key.startswith("__"):
                continue
            data = store.cache.get(key)
            if data is None:
                continue
            try:
                found.append(decode_entry(data, effective.pickling_method))
            except StorageError as exc:
                _log.warning("node %r: skipping unreadable cache entry %s: %s", node_name, key, exc)
        return sorted(found, key=lambda e: e.cached_at)

    def input_salvos(self, node_name: str) -> list[dict[str, list[Any]]]:
        """The input salvos of every entry."""
        return [e.input_values_by_port for e in self.entries(node_name)]

    def output_salvos(self, node_name: str) -> list[dict[str, list[Any]]]:
        """The outputs (by port) of every entry."""
        return [e.output_port_values for e in self.entries(node_name)]

    def output_for_input(self, node_name: str, inputs_by_port: dict[str, list[Any]]) -> CachedEpochData | None:
        """The stored entry for these input values, if any (not counted as a hit or miss)."""
        data = self._store(node_name).cache.get(self.compute_key(node_name, inputs_by_port))
        return None if data is None else decode_entry(data, self.effective_config(node_name).pickling_method)

    def clear_for_input(self, node_name: str, inputs_by_port: dict[str, list[Any]]) -> bool:
        """Remove the entry for these input values; whether one existed."""
        return bool(self._store(node_name).cache.delete(self.compute_key(node_name, inputs_by_port)))

    def clear(self, node_name: str | None = None) -> None:
        """Remove every entry (and counter) of ``node_name``, or of every node."""
        names = [node_name] if node_name is not None else self._known_nodes()
        for name in names:
            store = self._store(name)
            store.cache.clear()
            store.cache.set(_META_NODE, name)
            with self._lock:
                self._session.pop(name, None)

    # --- statistics ---------------------------------------------------------------------

    def _known_nodes(self) -> list[str]:
        names = set(self._stores) | set(self._nodes)
        if self._directory is not None and self._directory.exists():
            import diskcache

            for child in self._directory.iterdir():
                if child.is_dir() and child.name not in {_node_dir_name(n) for n in names}:
                    with diskcache.Cache(str(child), eviction_policy="none") as other:
                        name = other.get(_META_NODE)
                    if isinstance(name, str):
                        names.add(name)
        return sorted(names)

    def stats(self, node_name: str | None = None) -> dict[str, Any]:
        """Per-node statistics, or one node's.

        Each has ``entry_count``, ``epoch_count`` (epochs offered for storing), ``hits``,
        ``misses``, ``stores`` (totals over every process that flushed, plus this one's
        unflushed counts), ``hit_rate`` and ``sample_size``.
        """
        if node_name is not None:
            return self._node_stats(node_name)
        return {name: self._node_stats(name) for name in self._known_nodes()}

    def _node_stats(self, node_name: str) -> dict[str, Any]:
        cache = self._store(node_name).cache
        with self._lock:
            session = dict(self._session.get(node_name, {"hits": 0, "misses": 0, "stores": 0}))
        entry_count = sum(1 for k in cache.iterkeys() if not (isinstance(k, str) and k.startswith("__")))
        hits = int(cache.get(_META_HITS, 0)) + session["hits"]
        misses = int(cache.get(_META_MISSES, 0)) + session["misses"]
        return {
            "entry_count": entry_count,
            "epoch_count": int(cache.get(_META_EPOCHS, 0)),
            "hits": hits,
            "misses": misses,
            "stores": int(cache.get(_META_STORES, 0)) + session["stores"],
            "hit_rate": hits / (hits + misses) if hits + misses else 0.0,
            "sample_size": self.effective_config(node_name).sample_size,
        }

    def flush_stats(self) -> None:
        """Add this object's hit / miss / store counts to the shared totals."""
        with self._lock:
            session, self._session = self._session, {}
            for node_name, counts in session.items():
                cache = self._store(node_name).cache
                with cache.transact():
                    cache.incr(_META_HITS, counts["hits"])
                    cache.incr(_META_MISSES, counts["misses"])
                    cache.incr(_META_STORES, counts["stores"])

    def close(self) -> None:
        """Flush statistics, close the node stores, remove a temporary directory."""
        with self._lock:
            if self._closed:
                return
            self.flush_stats()
            self._closed = True
            stores, self._stores = self._stores, {}
        for store in stores.values():
            store.close()
        if self._owns_directory and self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> EpochCache:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


NetCacheStore = EpochCache
"""The published runtime's name for the net-level cache store."""
