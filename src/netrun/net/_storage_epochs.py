"""The epoch cache, per-node file storage and stored values *inside* Net epochs.

Configuration (the published 0.5.0 schema, :mod:`netrun.storage.config`):

* net level — ``Net(graph, storage=StorageConfig(...))`` (or ``[storage]`` in a net file):
  named ``backends``, the epoch ``cache`` (``enabled``, ``include_nodes`` globs,
  ``storage_path`` shared by every net and process, ``version``...), ``value_storage``;
* node level — ``net.set_node_config(name, storage=NodeStorageConfig(...))`` (or a dict,
  or ``[nodes.X.options.storage]``): ``cache`` overrides (``enabled`` wins over the net's
  selection), ``file_storage``, ``value_storage``.

What happens to an epoch of a node that uses any of them (``node.storage`` is a
:class:`NodeStoragePlan`; every other node pays one attribute check per epoch):

1. **Before the function runs** (:meth:`NodeStoragePlan.launch`): the input values are
   collected (a value function is evaluated here, once, and its value kept; a stored value
   is hashed by its checksum, not loaded) and the cache key is computed — inputs by port,
   the node's **code** fingerprint and **config** (ports, port types, factory and its
   arguments), the versions. In ``cache_what="both"`` mode a hit **replays** the recorded
   epoch: the inputs are consumed, the recorded outputs created, loaded and sent salvo by
   salvo, the epoch finished — without calling the function. The epoch ends with outcome
   ``"cache_hit"`` (``EpochLog.was_cache_hit``) and a ``CacheHit`` action in the history.
   File storage is looked up the same way; its hit (``"file_storage_hit"``) replays the
   outputs as stored values that the consuming worker loads itself.
2. **Otherwise the function runs** as usual. Such a node always defers its net actions
   (``defer_net_actions`` is switched on), so its outputs are known before they reach the
   engine: just before the commit (:meth:`NodeStoragePlan.before_commit`) the epoch is
   recorded in the cache, its outputs are written to file storage, and output values of at
   least ``value_storage.min_size_bytes`` are moved to the value-storage backend (the
   packet then holds a reference loaded on consumption, by the worker that consumes it).

Lookups and stores run on the net's event loop (a local cache or backend costs
milliseconds; a slow remote backend for file storage delays the loop by its latency).

**Failures.** An unreachable backend, missing credentials, a full disk or a value the
chosen method cannot serialize raise the storage layer's error, completed with the node,
the port (when one is involved), the epoch and the backend, *inside* the epoch: it goes
through the epoch's retry and dead-letter path like any failure of the function, and since
nothing was committed its inputs (with their values) are retried or kept in the DLQ —
nothing is lost. A failed lookup is retried without the lookup.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any, Optional

from netrun.net.deferred import DeferredActionType
from netrun.net.epoch_log import EpochOutcome
from netrun.storage.values import StoredValue

__all__ = ["NetStorage", "NodeStoragePlan", "attach_net_storage", "refresh_node_storage", "NetStorageMethods"]

_CREATE = DeferredActionType.CREATE_PACKET
_CREATE_FUNC = DeferredActionType.CREATE_PACKET_FROM_FUNC
_CONSUME = DeferredActionType.CONSUME_PACKET
_LOAD = DeferredActionType.LOAD_OUTPUT_PORT
_SEND = DeferredActionType.SEND_OUTPUT_SALVO
_MEMO_LIMIT = 4096  # replayable entries kept in memory per node (the disk holds them all)
_PREFETCH = 255  # waiting epochs of the node whose entries are read with a missing one
_NO_VALUE = object()


_REF_CLASS: list = []


def _stored_value_ref() -> type:
    """``netrun.storage.lazy.StoredValueRef``, imported on first use (not at ``netrun`` import)."""
    if not _REF_CLASS:
        from netrun.storage.lazy import StoredValueRef

        _REF_CLASS.append(StoredValueRef)
    return _REF_CLASS[0]


def _close_cache(cache: Any) -> None:
    try:
        cache.close()
    except Exception:  # a finalizer must not raise
        pass


class NetStorage:
    """The net-level part: the storage config, the epoch cache, file storage, value storage."""

    def __init__(self, config: Any) -> None:
        from netrun.storage.backends import register_backend
        from netrun.storage.cache import EpochCache
        from netrun.storage.config import CacheConfig
        from netrun.storage.file_storage import FileStorage

        self.config = config
        self.cache = EpochCache(config.cache or CacheConfig())
        weakref.finalize(self, _close_cache, self.cache)
        self.files = FileStorage(config)
        for name, backend in config.backends.items():  # references resolve with credentials here
            register_backend(name, backend)


def _as_storage_config(value: Any) -> Any:
    from pydantic import ValidationError

    from netrun.errors import NodeConfigError
    from netrun.storage.config import StorageConfig

    if isinstance(value, StorageConfig):
        return value
    if not isinstance(value, dict):
        raise NodeConfigError(f"Net(storage=...) must be a StorageConfig or a dict, got {type(value).__name__}")
    try:
        return StorageConfig.model_validate(value)
    except ValidationError as exc:
        raise NodeConfigError(f"Net(storage=...) is not valid: {exc}") from None


def attach_net_storage(core: Any, storage: Any) -> None:
    """``Net(storage=...)``: build the net-level storage and plan every node."""
    from netrun.storage.config import matches_any

    config = _as_storage_config(storage)
    cache = config.cache
    if cache is not None and cache.enabled and cache.include_nodes and not any(
            matches_any(name, cache.include_nodes) for name in core.nodes):
        # (without include_nodes, only nodes whose own cache config says enabled=true are
        # cached: their node options come later, so that cannot be checked here)
        from netrun.storage.errors import StorageConfigError

        raise StorageConfigError(
            f"the epoch cache is enabled but include_nodes={cache.include_nodes} selects no node "
            f"(nodes: {', '.join(sorted(core.nodes))})",
            fix="fix the globs in include_nodes, or set include_all_nodes=true")
    core.storage = _new_net_storage(core, config)
    for node in core.nodes.values():
        refresh_node_storage(core, node)


def _new_net_storage(core: Any, config: Any) -> NetStorage:
    storage = NetStorage(config)

    def types_changed(name: str) -> None:  # port types are part of the key: register again
        node = core.nodes.get(name)
        if node is not None and node.storage is not None:
            node.storage._func = None

    core.types.add_listener(types_changed)
    return storage


def refresh_node_storage(core: Any, node: Any) -> None:
    """(Re)build ``node.storage`` after the net's or the node's storage settings changed."""
    node_config = node.config.storage
    if core.storage is None:
        if node_config is None:
            node.storage = None
            return
        from netrun.storage.config import StorageConfig

        core.storage = _new_net_storage(core, StorageConfig())
    plan = NodeStoragePlan(core, node, core.storage, node_config)
    node.storage = plan if plan.active else None
    if node.storage is not None and not node.config.defer_net_actions:
        # outputs must be known before they reach the engine (module docstring)
        node.config = dataclasses.replace(node.config, defer_net_actions=True)


class NodeStoragePlan:
    """What one node does with the cache, file storage and value storage."""

    def __init__(self, core: Any, node: Any, net: NetStorage, node_config: Any) -> None:
        from netrun.storage.offload import ValueOffloader

        self.name = node.name
        self.net = net
        self.node_config = node_config
        cache_config = node_config.cache if node_config is not None else None
        net.cache.register_node(node.name, code="unregistered", node_config=cache_config)
        self.cache = net.cache if net.cache.is_enabled(node.name) else None
        mode = net.cache.effective_config(node.name).cache_what.value if self.cache is not None else None
        self.replay_cache = mode == "both"
        file_config = node_config.file_storage if node_config is not None else None
        self.file_config = file_config if net.files.is_enabled(file_config) else None
        self.files: Any = None
        value_config = (node_config.value_storage if node_config is not None else None) or net.config.value_storage
        self.offloader = (ValueOffloader(value_config, net.config, node=node.name)
                          if value_config is not None and value_config.enabled else None)
        self.active = self.cache is not None or self.file_config is not None or self.offloader is not None
        self.looks_up = self.replay_cache or self.file_config is not None
        self._func: Any = None
        self._pending: dict[str, tuple] = {}
        self._memo: dict[str, list] = {}
        self._keys: dict[str, tuple] = {}  # epoch ID -> (key, inputs), computed by _prefetch
        self._absent: set[str] = set()  # keys _prefetch found no entry for

    # ------------------------------------------------------------------ registration
    def _register(self, core: Any, node: Any) -> None:
        """Key the cache and file storage on the node's current function and config."""
        from netrun.storage.hashing import code_fingerprint, stable_hash

        func = node.exec_func
        if func is self._func:
            return
        config_data = _config_data(core, node)
        cache_config = self.node_config.cache if self.node_config is not None else None
        fingerprint = code_fingerprint(func)
        self.net.cache.register_node(node.name, code=fingerprint, config_data=config_data, node_config=cache_config)
        if self.file_config is not None:
            self.files = self.net.files.for_node(node.name, self.file_config,
                                                 code_fingerprint=stable_hash((fingerprint, config_data)))
        self._memo.clear()
        self._keys.clear()
        self._absent.clear()
        self._func = func

    # ------------------------------------------------------------------ before the attempt
    def launch(self, core: Any, run: Any) -> bool:
        """Look the epoch up; on a hit replay it and return ``True`` (the epoch is over)."""
        try:
            if run.node.exec_func is not self._func:  # new function or port types: new key
                self._register(core, run.node)
            known = self._keys.pop(run.id, None) if self._keys else None
            if known is not None:  # computed when the epoch's entry was prefetched
                key, inputs = known
            else:
                inputs = self._inputs(core, run)
                key = self.cache.compute_key(self.name, inputs) if self.cache is not None else None
            file_hash = self.files.compute_input_hash(inputs) if self.files is not None else None
            if self.looks_up:
                salvos, outcome = None, None
                if self.replay_cache:
                    outcome = EpochOutcome.CACHE_HIT
                    salvos = self._memo.get(key)  # type: ignore[arg-type]
                    if salvos is not None:
                        self.cache.count(self.name, "hits")  # type: ignore[union-attr]
                    elif key in self._absent:  # the prefetch found no entry
                        self._absent.discard(key)
                        self.cache.count(self.name, "misses")  # type: ignore[union-attr]
                    else:
                        salvos = self._prefetch(core, run, key)  # type: ignore[arg-type]
                if salvos is None and self.files is not None:
                    manifest = self.files.lookup(file_hash)
                    if manifest is not None:
                        salvos, outcome = self.files.replay(manifest, lazy=True), EpochOutcome.FILE_STORAGE_HIT
                if salvos is not None:
                    self._replay(core, run, salvos, key if outcome == EpochOutcome.CACHE_HIT else file_hash,
                                 outcome)  # type: ignore[arg-type]
                    return True
            if len(self._pending) > 1024:  # entries of epochs that failed for good
                self._pending = {k: v for k, v in self._pending.items() if k in core.runs}
            self._pending[run.id] = (key, file_hash, inputs)
            return False
        except Exception as exc:
            self._fail(core, run, exc)
        return True

    def _prefetch(self, core: Any, run: Any, key: str) -> Optional[list]:
        """Look ``key`` up together with the keys of the node's next waiting epochs, in one
        read of the cache directory (a disk read per epoch costs more than a cache-free
        epoch); entries found go to the in-memory index, keys without one are remembered as
        misses, and the keys are kept for those epochs' launch. Returns ``key``'s outputs
        (counted as a hit or a miss)."""
        cache = self.cache
        keys = [key]
        found_keys = self._keys
        if len(found_keys) > _PREFETCH * 8 or len(self._absent) > _PREFETCH * 8:  # epochs cancelled meanwhile
            found_keys.clear()
            self._absent.clear()
        count = 0
        for item in run.node.ready:
            if count >= _PREFETCH:
                break
            tup = type(item) is tuple
            epoch_id = item[0] if tup else item.id
            if epoch_id in found_keys:
                continue
            inputs = self._plain_inputs(core, item[2] if tup else item.pairs)
            if inputs is None:  # a value function or stored value: resolved at its launch
                continue
            other = cache.compute_key(self.name, inputs)  # type: ignore[union-attr]
            found_keys[epoch_id] = (other, inputs)
            if other not in self._memo:
                keys.append(other)
            count += 1
        entries = cache.lookup_many(self.name, keys)  # type: ignore[union-attr]
        for other in keys[1:]:
            entry = entries.get(other)
            if entry is not None:
                self._remember(other, entry.output_salvos)
            else:
                self._absent.add(other)
        entry = entries.get(key)
        if entry is None:
            entry = cache.lookup(self.name, key)  # type: ignore[union-attr]  # counts; drops a bad entry
            return None if entry is None else self._remember(key, entry.output_salvos)
        cache.count(self.name, "hits")  # type: ignore[union-attr]
        return self._remember(key, entry.output_salvos)

    @staticmethod
    def _plain_inputs(core: Any, pairs: Any) -> Optional[dict[str, list[Any]]]:
        """Input values by port when every value is a plain one (else ``None``)."""
        active = core.store._active
        by_port: dict[str, list[Any]] = {}
        for port, pid in pairs:
            entry = active.get(pid, _NO_VALUE)
            if entry is _NO_VALUE or type(entry) is StoredValue:
                return None
            by_port.setdefault(port, []).append(entry)
        return by_port

    def _remember(self, key: str, salvos: list) -> list:
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.pop(next(iter(self._memo)))
        self._memo[key] = salvos
        return salvos

    def _inputs(self, core: Any, run: Any) -> dict[str, list[Any]]:
        StoredValueRef = _stored_value_ref()
        store = core.store
        by_port: dict[str, list[Any]] = {}
        for port, pid in run.pairs:
            entry = store.peek_entry(pid)
            if type(entry) is StoredValue:
                ref = getattr(entry.value_func, "__self__", None)
                if isinstance(ref, StoredValueRef):
                    value = ref  # hashed by its checksum; the consumer loads it
                else:
                    value = store.resolve_entry(pid, entry, run.node.name)
                    store.store_entry(pid, value)  # evaluated once, here
            else:
                value = entry
            by_port.setdefault(port, []).append(value)
        return by_port

    def _replay(self, core: Any, run: Any, salvos: list, key: Any, outcome: str) -> None:
        """Do what the recorded epoch did, through the engine: outputs created, loaded and
        sent salvo by salvo, then the inputs consumed and the epoch finished (inputs last:
        should anything fail, they are still there, with their values, for the DLQ)."""
        StoredValueRef = _stored_value_ref()
        engine = core.engine
        store = core.store
        node = run.node
        orphans: list = []
        consumed = []
        with engine.lock:
            if not run.in_engine:
                engine.start_epoch(run.id)
                run.in_engine = True
            for salvo in salvos:
                for port, values in salvo.values_by_port.items():
                    for value in values:
                        pid = engine.create_packet_held(run.id)
                        if type(value) is StoredValueRef:
                            store.store_value_func(pid, value.load)  # loaded by its consumer
                        else:
                            store.store_value(pid, value)
                        engine.load_output_port_held(pid, port)
                orphans.extend(engine.send_output_salvo_held(run.id, salvo.salvo, node.may_orphan))
            for _, pid in run.pairs:
                engine.consume_packet_held(pid)
                consumed.append(pid)
            engine.finish_epoch(run.id)
        for pid in consumed:
            store.remember_consumed(pid, store.pop_entry(pid))
        if orphans:
            core.route_orphans(node.name, run.id, orphans)
        self._pending.pop(run.id, None)
        if core.history is not None:
            core.history.record_action("CacheHit" if outcome == EpochOutcome.CACHE_HIT else "FileStorageHit",
                                       {"node": self.name, "epoch_id": run.id, "key": key})
        core._epoch_ended(run, outcome)

    def _fail(self, core: Any, run: Any, exc: BaseException) -> None:
        """A lookup or replay failed: fail this attempt (retry without lookup, or DLQ)."""
        from netrun.net.context import NodeExecutionContext

        _add_context(exc, self.name, run.id)
        ctx = NodeExecutionContext._for_attempt(core, run, True)
        run.ctx = ctx
        core._attempt_outcome(run, ctx, exc)

    # ------------------------------------------------------------------ after the attempt
    def before_commit(self, core: Any, run: Any, ctx: Any) -> None:
        """Record / store / offload the attempt's outputs before they are committed; a
        failure raises (with node, port, epoch, backend) and fails the attempt instead."""
        queue = ctx._queue
        actions = queue._actions if queue is not None else []
        pending = self._pending.pop(run.id, None)
        try:
            if pending is None:  # planned after the epoch launched (or a lookup failed)
                self._register(core, run.node)
                inputs = {port: [ctx.packet_values.get(pid)] for port, pid in run.pairs}
                key = self.cache.compute_key(self.name, inputs) if self.cache is not None else None
                file_hash = self.files.compute_input_hash(inputs) if self.files is not None else None
            else:
                key, file_hash, inputs = pending
            if self.cache is not None or self.files is not None:
                salvos, consumed_ports = _outputs(run, actions)
                if self.cache is not None:
                    self.cache.store(self.name, key, inputs_by_port=inputs, output_salvos=salvos,
                                     consumed_input_ports=consumed_ports, epoch_id=run.id)
                    if self.replay_cache:
                        self._remember(key, salvos)
                if self.files is not None:
                    try:
                        self.files.store(file_hash, salvos, inputs_by_port=inputs, epoch_id=run.id)
                    except Exception as exc:  # e.g. the backend is unreachable: the outputs are at stake
                        ports = sorted({p for salvo in salvos for p in salvo.values_by_port})
                        _add_context(exc, self.name, run.id, ", ".join(ports) or None)
                        raise
            if self.offloader is not None:
                self._offload(actions)
        except Exception as exc:
            if pending is not None:
                self._pending[run.id] = pending  # a retry stores with the same key
            _add_context(exc, self.name, run.id)
            raise

    def _offload(self, actions: list) -> None:
        ports = {}
        for action in actions:
            if action.action_type is _LOAD:
                ports[id(action.packet)] = action.port_name
        for action in actions:
            if action.action_type is _CREATE:
                port = ports.get(id(action.deferred_packet))
                stored = self.offloader.offload(action.value, node=self.name, port=port)  # type: ignore[union-attr]
                if stored is not action.value:  # a StoredValueRef: loaded on consumption
                    action.action_type = _CREATE_FUNC
                    action.value_func = stored.load
                    action.value = None


def _outputs(run: Any, actions: list) -> tuple[list, set]:
    """The output salvos (condition, values by port) and consumed input ports of an attempt,
    from its deferred actions."""
    from netrun.storage.cache import CachedOutputSalvo
    from netrun.storage.values import PacketValueStore

    values: dict[int, Any] = {}
    loaded: dict[str, list[Any]] = {}
    salvos = []
    consumed: set[str] = set()
    for action in actions:
        kind = action.action_type
        if kind is _CREATE:
            values[id(action.deferred_packet)] = action.value
        elif kind is _CREATE_FUNC:
            func = action.value_func
            ref = getattr(func, "__self__", None)
            from netrun.storage.lazy import StoredValueRef

            values[id(action.deferred_packet)] = ref if isinstance(ref, StoredValueRef) else \
                PacketValueStore.resolve_entry(str(action.deferred_packet), StoredValue(None, func, True), run.node.name)
        elif kind is _LOAD:
            loaded.setdefault(action.port_name, []).append(values.get(id(action.packet)))
        elif kind is _SEND:
            salvos.append(CachedOutputSalvo(action.salvo_condition_name, loaded))
            loaded = {}
        elif kind is _CONSUME:
            port = run.port_of(str(action.packet))
            if port is not None:
                consumed.add(port)
    return salvos, consumed


def _add_context(exc: BaseException, node: str, epoch: str, port: Optional[str] = None) -> None:
    from netrun.storage.errors import StorageError

    if isinstance(exc, StorageError):
        exc.with_context(node=node, epoch=epoch, port=port)


def _config_data(core: Any, node: Any) -> dict[str, Any]:
    """The node's configuration that enters its cache key (besides its code)."""
    types = core.types
    data: dict[str, Any] = {
        "in_ports": list(node.in_ports),
        "out_ports": list(node.out_ports),
        "out_conditions": list(node.out_conditions),
        "in_types": {p: repr(types.get_input_port_type(node.name, p)) for p in node.in_ports},
        "out_types": {p: repr(types.get_output_port_type(node.name, p)) for p in node.out_ports},
    }
    net = core.net
    definition = getattr(net, "_definition", None) if net is not None else None
    if definition is not None:
        for cfg in definition.graph.nodes:
            factory = getattr(cfg, "factory", None)
            if cfg.name == node.name and factory:  # the same key whether built in Python or from a file
                data["factory"] = factory if isinstance(factory, str) else repr(factory)
                data["factory_args"] = repr(getattr(cfg, "factory_args", None))
                break
    return data


class NetStorageMethods:
    """Mixed into :class:`netrun.net.Net` (through the checkpoint mixin)."""

    @property
    def cache(self) -> Optional[Any]:
        """The net's :class:`~netrun.storage.cache.EpochCache` (``stats()``, ``entries(node)``,
        ``clear()``...), or ``None`` when no storage is configured."""
        storage = self._core.storage  # type: ignore[attr-defined]
        return None if storage is None else storage.cache

    @property
    def storage_config(self) -> Optional[Any]:
        """The net-level :class:`~netrun.storage.config.StorageConfig` (``None`` if unset)."""
        storage = self._core.storage  # type: ignore[attr-defined]
        return None if storage is None else storage.config
