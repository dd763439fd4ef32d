"""Checkpoints: ``net.save_checkpoint(path)`` on a paused net and ``Net.load_checkpoint(path)``.

A checkpoint goes to a local directory or to any storage backend:

* a local path is written by the storage layer's
  :class:`~netrun.storage.atomic.AtomicDirectoryWriter` (temporary sibling, ``fsync``,
  atomic swap): a crash during a save leaves the previous checkpoint intact;
* an fsspec URL (``"s3://bucket/run1"``, ``"memory://ckpt"``, with ``storage_options=``) or
  a key prefix on a configured backend (``backend=S3BackendConfig(...)``) is written by
  :class:`~netrun.storage.manifest_store.BackendManifestWriter`: the files go under a new
  generation prefix and ``manifest.json`` is written last, so the previous checkpoint stays
  loadable until the new one is complete. Files without a manifest raise
  :class:`~netrun.storage.errors.IncompleteManifestError` ("the save did not complete").

Either way ``manifest.json`` names the format (``netrun-checkpoint``) and version and the
size and SHA-256 of every file, so a damaged file or a checkpoint from a newer netrun raises
:class:`~netrun.storage.errors.CorruptManifestError` /
:class:`~netrun.storage.errors.ManifestVersionError` naming the file and the fix.

Files (format version 1):

==========================  ==============================================================
``metadata.json``           :class:`CheckpointMetadata`
``net_definition.toml``     ``net.to_toml()``: graph, options, functions as import paths or
                            factories. ``load_checkpoint`` rebuilds the net from it.
``net_state.json``          the engine's ``NetSim.snapshot()`` (packet IDs, locations,
                            epochs, dependency requests) and the epochs the runtime knew,
                            with their retry counters and the times of their failed
                            attempts; under ``"runtime"`` the node state only the runtime
                            holds (enabled, ``max_epochs`` counts, closed nodes, waiting
                            controls...: :mod:`netrun.net._checkpoint_runtime`).
``packets.pkl``             cloudpickle of the packet values still active, the values
                            waiting in output queues, the dead-letter queue's entries and
                            the exceptions of failed attempts of epochs still to run.
``history.jsonl``           the in-memory event history entries (empty without a history).
``node_configs.json``       informational: ``node_configs`` (options as text),
                            ``node_exec_paths``, ``node_factories``, ``port_types``.
==========================  ==============================================================

Unlike the original implementation, packets keep their IDs (the engine snapshot is restored
as it was) and packets inside startable epochs stay in those epochs. A loaded net is in state
``CREATED``; ``start()`` resumes it. Epochs waiting for a retry keep their retry count, so
``retries`` is not granted afresh after a resume. Dead-letter entries come back into the
new net's queue (in ``"file"`` mode they are not appended to the file again). The history is
returned by :func:`load_checkpoint_state` but not put back into the new net's history.

Periodic checkpoints of a running net (``Net(checkpoint_path=..., checkpoint_every_epochs=
...)``) are described in :mod:`netrun.net._periodic_checkpoint`.

:func:`save_checkpoint_state` also takes the original implementation's arguments
(``packet_states``, ``packet_values``, ``node_configs``, ``node_exec_paths``,
``node_factories``, ``port_types``) and then writes the original's file set
(``packet_states.json``, ``packet_values.pkl``...); :func:`load_checkpoint_state` and
``Net.load_checkpoint`` read both (see :mod:`netrun.net._checkpoint_files`, which also
holds the packet-location helpers :class:`PacketState`, :func:`get_all_packet_states`,
:func:`restore_packets_to_net`...).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from netrun.net._checkpoint_files import (
    NODE_CONFIG_KEYS,
    PacketState,
    PlainDirectory,
    deserialize_packet_location,
    get_all_packet_states,
    packet_states_from_snapshot,
    restore_packet_states_into,
    restore_packets_to_net,
    serialize_packet_location,
    split_node_configs,
)
from netrun.net._checkpoint_runtime import restore_runtime
from netrun.net._storage_epochs import NetStorageMethods

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointMetadata",
    "LoadedCheckpoint",
    "RestoredException",
    "save_checkpoint_state",
    "load_checkpoint_state",
    "NetCheckpointMethods",
    "PacketState",
    "serialize_packet_location",
    "deserialize_packet_location",
    "get_all_packet_states",
    "restore_packets_to_net",
    "NODE_CONFIG_KEYS",
]

CHECKPOINT_FORMAT = "netrun-checkpoint"
CHECKPOINT_VERSION = 1


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("netrun")
    except Exception:  # not installed as a distribution (source checkout)
        return "0+unknown"


@dataclasses.dataclass
class CheckpointMetadata:
    """Contents of ``metadata.json``. ``in_flight_epochs`` counts the epochs that were
    running when a periodic checkpoint was taken (they re-run after a resume)."""

    timestamp: str
    netrun_version: str = dataclasses.field(default_factory=_version)
    packet_count: int = 0
    has_history: bool = False
    epoch_count: int = 0
    in_flight_epochs: int = 0
    dead_letter_count: int = 0
    periodic: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CheckpointMetadata":
        return cls(**data)


@dataclasses.dataclass
class LoadedCheckpoint:
    """Everything read back from a checkpoint (plain data; values unpickled).

    The first nine fields are the original implementation's, in its order. ``packet_states``
    lists every packet and where it is (from the engine snapshot of a net-state checkpoint).
    ``node_configs`` / ``node_exec_paths`` / ``node_factories`` / ``port_types`` are
    informational. The remaining fields are filled only by a net-state checkpoint (the one
    ``net.save_checkpoint`` writes): ``net_state`` (engine snapshot, runtime epochs and node
    state), ``output_queues``, ``dead_letters`` and ``retry_exceptions``; ``layout`` says
    which file set was read (``"net_state"`` or ``"packet_states"``)."""

    metadata: CheckpointMetadata
    net_definition_toml: str
    packet_states: List[PacketState]
    packet_values: Dict[str, Any]
    node_configs: Dict[str, Dict[str, Any]] = dataclasses.field(default_factory=dict)
    node_exec_paths: Dict[str, Dict[str, str]] = dataclasses.field(default_factory=dict)
    node_factories: Dict[str, Dict[str, Any]] = dataclasses.field(default_factory=dict)
    port_types: Dict[str, Dict[str, Any]] = dataclasses.field(default_factory=dict)
    history_data: Optional[List[Dict[str, Any]]] = None
    net_state: Optional[Dict[str, Any]] = None
    output_queues: Dict[str, List[Any]] = dataclasses.field(default_factory=dict)
    dead_letters: List[Any] = dataclasses.field(default_factory=list)
    retry_exceptions: Dict[str, List[BaseException]] = dataclasses.field(default_factory=dict)
    layout: str = "net_state"


class RestoredException(Exception):
    """Stands in for an exception of a failed attempt that could not be pickled into a
    checkpoint: keeps its type name (``original_type``) and message."""

    def __init__(self, original_type: str, message: str) -> None:
        super().__init__(f"{original_type}: {message}")
        self.original_type = original_type
        self.message = message

    def __reduce__(self) -> tuple:
        return (RestoredException, (self.original_type, self.message))


def _picklable_exception(exc: BaseException) -> BaseException:
    import cloudpickle

    try:
        cloudpickle.loads(cloudpickle.dumps(exc))
        return exc
    except Exception:
        return RestoredException(type(exc).__name__, str(exc))


def _corrupt(where: Any, what: str, exc: BaseException) -> Exception:
    from netrun.storage.errors import CorruptManifestError

    err = CorruptManifestError(
        f"checkpoint file '{where}' {what}: {type(exc).__name__}: {exc}",
        fix="restore the checkpoint from a backup or save it again from a paused net",
    )
    err.__cause__ = exc
    return err


def _pickle_payload(target: Any, values: dict, queues: dict, dead_letters: list,
                    retry_exceptions: dict) -> bytes:
    """cloudpickle of the pickled part; an unpicklable value raises ``TypeError`` naming it."""
    import cloudpickle

    payload = {"values": values, "output_queues": queues, "dead_letters": dead_letters,
               "retry_exceptions": retry_exceptions}
    try:
        return cloudpickle.dumps(payload)
    except Exception as exc:
        culprit = _find_unpicklable(values, queues, dead_letters)
        raise TypeError(
            f"Cannot save checkpoint to '{target}': the value of {culprit} cannot be "
            f"pickled with cloudpickle ({type(exc).__name__}: {exc}); make the value picklable "
            f"or consume it before saving. The previous checkpoint, if any, is unchanged."
        ) from exc


def _find_unpicklable(values: dict, queues: dict, dead_letters: list) -> str:
    import cloudpickle

    def fails(obj: Any) -> bool:
        try:
            cloudpickle.dumps(obj)
            return False
        except Exception:
            return True

    for pid, value in values.items():
        if fails(value):
            return f"packet {pid!r}"
    for name, items in queues.items():
        for item in items:
            if fails(item):
                return f"packet {item[1]!r} waiting in output queue {name!r}"
    for entry in dead_letters:
        if fails(entry):
            return f"the dead-letter entry of epoch {entry.epoch_id} (node '{entry.node_name}')"
    return "an unknown part of the state"


def _writer(target: Any, backend: Any, storage_options: Any, meta: dict, fsync: bool) -> Any:
    from netrun.storage.manifest_store import BackendManifestWriter, is_url, open_backend_target

    if backend is not None or is_url(target):
        store, prefix = open_backend_target(target, backend=backend, storage_options=storage_options)
        return BackendManifestWriter(store, prefix, format=CHECKPOINT_FORMAT,
                                     format_version=CHECKPOINT_VERSION, meta=meta)
    from netrun.storage.atomic import AtomicDirectoryWriter

    path = str(target)[len("file://"):] if str(target).startswith("file://") else target
    return AtomicDirectoryWriter(path, format=CHECKPOINT_FORMAT, format_version=CHECKPOINT_VERSION,
                                 meta=meta, fsync=fsync)


def _reader(target: Any, backend: Any, storage_options: Any) -> tuple[Any, Any]:
    """The manifest reader of a checkpoint and a description of where it is."""
    from netrun.storage.manifest_store import BackendManifestDirectory, is_url, open_backend_target

    if backend is not None or is_url(target):
        store, prefix = open_backend_target(target, backend=backend, storage_options=storage_options)
        reader = BackendManifestDirectory(store, prefix, format=CHECKPOINT_FORMAT, max_version=CHECKPOINT_VERSION)
        return reader, f"{target}"
    from netrun.storage.atomic import ManifestDirectory

    path = str(target)[len("file://"):] if str(target).startswith("file://") else target
    plain = PlainDirectory.recognise(Path(path))  # written by the original implementation
    if plain is not None:
        return plain, Path(path)
    return ManifestDirectory(path, format=CHECKPOINT_FORMAT, max_version=CHECKPOINT_VERSION), Path(path)


def save_checkpoint_state(checkpoint_dir: Any, net_definition_toml: str,
                          packet_states: Optional[List[PacketState]] = None,
                          packet_values: Optional[Dict[str, Any]] = None,
                          node_configs: Optional[Dict[str, Dict[str, Any]]] = None,
                          node_exec_paths: Optional[Dict[str, Dict[str, str]]] = None,
                          node_factories: Optional[Dict[str, Dict[str, Any]]] = None,
                          port_types: Optional[Dict[str, Dict[str, Any]]] = None,
                          history_data: Optional[List[Dict[str, Any]]] = None,
                          metadata: Optional[CheckpointMetadata] = None, *,
                          net_state: Optional[Dict[str, Any]] = None,
                          output_queues: Optional[Dict[str, List[Any]]] = None,
                          dead_letters: Optional[List[Any]] = None,
                          retry_exceptions: Optional[Dict[str, List[BaseException]]] = None,
                          fsync: bool = True, backend: Any = None,
                          storage_options: Optional[dict] = None) -> None:
    """Write the checkpoint files atomically (see the module docstring).

    Two forms, told apart by ``net_state``:

    * the original implementation's: ``save_checkpoint_state(dir, toml, packet_states,
      packet_values, node_configs, node_exec_paths, node_factories, port_types,
      history_data=None, metadata=None)`` writes ``packet_states.json`` (a
      :class:`PacketState` or its ``to_dict()`` per packet) and ``packet_values.pkl``;
      ``Net.load_checkpoint`` recreates those packets with new IDs;
    * netrun's (``net.save_checkpoint`` uses it): ``net_state=`` (engine snapshot and
      runtime epochs, ``{"engine", "epochs", ...}``) with ``packet_values`` and the keywords
      ``output_queues``, ``dead_letters``, ``retry_exceptions``; packets keep their IDs.

    ``checkpoint_dir`` is a local directory, an fsspec URL (with ``storage_options``) or,
    with ``backend=`` (a backend config or object), a key prefix on that backend. A value
    that cloudpickle cannot pickle raises ``TypeError`` naming the packet; the previous
    checkpoint (if any) is then left as it was. ``fsync=False`` skips the local flushes
    (not crash-safe; for scratch data).
    """
    if net_state is None:
        if isinstance(packet_states, dict):
            raise TypeError(
                f"save_checkpoint_state('{checkpoint_dir}', ...): the third argument is a dict, but "
                f"in the original form it is the list of PacketState records; pass a net state "
                f"(engine snapshot and epochs) as net_state=...")
        if packet_states is None or packet_values is None:
            raise TypeError(
                f"save_checkpoint_state('{checkpoint_dir}', ...) needs packet_states and packet_values "
                f"(the original form), or net_state= with packet_values (netrun's form)")
    elif packet_states is not None:
        raise TypeError(f"save_checkpoint_state('{checkpoint_dir}', ...): give either packet_states (the "
                        f"original form) or net_state= (netrun's form), not both")
    values = dict(packet_values or {})
    queues = dict(output_queues or {})
    letters = list(dead_letters or ())
    failures = {eid: [_picklable_exception(e) for e in excs] for eid, excs in (retry_exceptions or {}).items()}
    letters = [dataclasses.replace(e, exception=_picklable_exception(e.exception),
                                   retry_exceptions=[_picklable_exception(x) for x in e.retry_exceptions])
               for e in letters]
    if metadata is None:
        metadata = CheckpointMetadata(timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat())
    metadata.has_history = history_data is not None
    metadata.dead_letter_count = len(letters)
    sections = {"node_configs": node_configs or {}, "node_exec_paths": node_exec_paths or {},
                "node_factories": node_factories or {}, "port_types": port_types or {}}
    history_text = "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in (history_data or ()))
    if net_state is None:
        states = [s if isinstance(s, PacketState) else PacketState.from_dict(s) for s in packet_states or ()]
        blob = _pickle_values(checkpoint_dir, values)
        metadata.packet_count = len(states)
        layout = {"netrun_version": metadata.netrun_version, "layout": "packet_states"}
        with _writer(checkpoint_dir, backend, storage_options, layout, fsync) as writer:
            writer.write_json("metadata.json", dataclasses.asdict(metadata))
            writer.write_text("net_definition.toml", net_definition_toml)
            writer.write_json("packet_states.json", [s.to_dict() for s in states])
            writer.write_bytes("packet_values.pkl", blob)
            writer.write_json("node_configs.json", sections)
            writer.write_text("history.jsonl", history_text)
        return
    blob = _pickle_payload(checkpoint_dir, values, queues, letters, failures)
    metadata.packet_count = len(values)
    metadata.epoch_count = len(net_state.get("epochs", ()))
    with _writer(checkpoint_dir, backend, storage_options, {"netrun_version": metadata.netrun_version},
                 fsync) as writer:
        writer.write_json("metadata.json", dataclasses.asdict(metadata))
        writer.write_text("net_definition.toml", net_definition_toml)
        writer.write_json("net_state.json", net_state)
        writer.write_bytes("packets.pkl", blob)
        writer.write_text("history.jsonl", history_text)
        writer.write_json("node_configs.json", sections)


def _pickle_values(target: Any, values: dict) -> bytes:
    import cloudpickle

    try:
        return cloudpickle.dumps(values)
    except Exception as exc:
        culprit = _find_unpicklable(values, {}, [])
        raise TypeError(
            f"Cannot save checkpoint to '{target}': the value of {culprit} cannot be pickled with "
            f"cloudpickle ({type(exc).__name__}: {exc}); make the value picklable or leave the packet "
            f"out. The previous checkpoint, if any, is unchanged.") from exc


def load_checkpoint_state(checkpoint_dir: Any, *, backend: Any = None,
                          storage_options: Optional[dict] = None) -> LoadedCheckpoint:
    """Read a checkpoint back (local directory, URL or backend prefix, as for saving),
    checking its manifest, versions and checksums. Either file set (module docstring) is
    read; a packet-state directory the original implementation wrote (no manifest) too.
    ``history_data`` is ``None`` when the checkpoint has no history.

    Raises ``CorruptManifestError`` (missing/damaged file, undecodable content),
    ``IncompleteManifestError`` (files but no manifest: an unfinished save) or
    ``ManifestVersionError`` (written by a newer format), each naming the file."""
    return _read_checkpoint(checkpoint_dir, backend, storage_options, with_packet_states=True)


def _read_checkpoint(checkpoint_dir: Any, backend: Any, storage_options: Any, *,
                     with_packet_states: bool) -> LoadedCheckpoint:
    import pickle

    directory, root = _reader(checkpoint_dir, backend, storage_options)
    names = set(directory.names())
    raw_meta = directory.read_json("metadata.json")
    try:
        metadata = CheckpointMetadata(**raw_meta)
    except TypeError as exc:
        raise _corrupt(_child(root, "metadata.json"), "has unexpected fields", exc) from exc
    packed = "packets.pkl" if "net_state.json" in names else "packet_values.pkl"
    if packed == "packet_values.pkl" and "packet_states.json" not in names:
        raise _corrupt(_child(root, "net_state.json"), "is missing (and so is packet_states.json)",
                       FileNotFoundError("net_state.json"))
    blob = directory.read_bytes(packed)
    try:
        packets = pickle.loads(blob)
    except Exception as exc:
        raise _corrupt(_child(root, packed), "cannot be unpickled (a class or module its values "
                       "need may be missing)", exc) from exc
    history: Optional[List[Dict[str, Any]]] = None
    if "history.jsonl" in names:
        history = []
        for number, line in enumerate(directory.read_text("history.jsonl").splitlines(), 1):
            if line.strip():
                try:
                    history.append(json.loads(line))
                except ValueError as exc:
                    raise _corrupt(_child(root, "history.jsonl"), f"line {number} is not JSON", exc) from exc
        if not metadata.has_history and not history:
            history = None
    sections = split_node_configs(directory.read_json("node_configs.json") if "node_configs.json" in names
                                  else {})
    common = dict(metadata=metadata, net_definition_toml=directory.read_text("net_definition.toml"),
                  history_data=history, **sections)
    if packed == "packet_values.pkl":
        try:
            states = [PacketState.from_dict(d) for d in directory.read_json("packet_states.json")]
        except (KeyError, TypeError, AttributeError) as exc:
            raise _corrupt(_child(root, "packet_states.json"), "holds a record that is not a packet state",
                           exc) from exc
        if not isinstance(packets, dict):
            raise _corrupt(_child(root, packed), "does not hold a {packet_id: value} dict",
                           TypeError(type(packets).__name__))
        return LoadedCheckpoint(packet_states=states, packet_values=dict(packets), layout="packet_states",
                                **common)
    net_state = directory.read_json("net_state.json")
    states = []
    if with_packet_states:
        try:
            states = packet_states_from_snapshot(net_state.get("engine") or {})
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise _corrupt(_child(root, "net_state.json"), "holds an unreadable engine snapshot", exc) from exc
    return LoadedCheckpoint(
        packet_states=states,
        packet_values=dict(packets["values"]),
        net_state=net_state,
        output_queues=dict(packets["output_queues"]),
        dead_letters=list(packets.get("dead_letters", ())),
        retry_exceptions=dict(packets.get("retry_exceptions", {})),
        **common,
    )


def _child(root: Any, name: str) -> Any:
    return root / name if isinstance(root, Path) else f"{root}/{name}"


class NetCheckpointMethods(NetStorageMethods):
    """Mixed into :class:`netrun.net.Net` (with the storage properties ``net.cache`` and
    ``net.storage_config``, :class:`~netrun.net._storage_epochs.NetStorageMethods`)."""

    def save_checkpoint(self, path: Any, *, backend: Any = None, storage_options: Optional[dict] = None) -> None:
        """Write this paused (or stopped, or never started) net's full state, atomically (a
        failed save leaves the previous checkpoint as it was).

        ``path`` is a local directory, an fsspec URL such as ``"s3://bucket/run1"`` (with
        ``storage_options`` for fsspec, e.g. credentials and ``client_kwargs``) or, with
        ``backend=`` (a backend config such as ``S3BackendConfig(...)``), a key prefix on
        that backend.

        Raises ``NetNotPausedError`` while the net is ``RUNNING`` (periodic checkpoints,
        ``Net(checkpoint_path=...)``, are the way to checkpoint a running net). Deliberate
        difference from the original, which also refused ``CREATED``: a net that has not run
        yet has no running epoch either, so its state is saved too, and a loaded net
        (``CREATED``) can be saved again."""
        from netrun.errors import NetNotPausedError
        from netrun.net._periodic_checkpoint import capture_checkpoint

        if self.state.name == "RUNNING" or self._core.driving:  # type: ignore[attr-defined]
            raise NetNotPausedError(f"save_checkpoint to '{path}' (the net is {self.state.name})")  # type: ignore[attr-defined]
        capture_checkpoint(self, live=False).write(path, backend=backend, storage_options=storage_options)

    @classmethod
    def load_checkpoint(cls, path: Any, *, backend: Any = None, storage_options: Optional[dict] = None,
                        **net_options: Any) -> Any:
        """A new net rebuilt from a checkpoint, in state ``CREATED``: packets, their values,
        startable epochs (with their retry counters), waiting output-queue values and
        dead-letter entries as they were saved; call ``start()`` to resume. Node functions
        come back from the saved definition (import paths, factories). ``net_options`` are
        extra ``Net(...)`` keywords (e.g. ``checkpoint_path=`` to keep checkpointing).

        A checkpoint in the original implementation's layout (``packet_states.json``) is
        resumed as the original did: packets recreated at their locations with new IDs, then
        the engine runs until blocked (see :mod:`netrun.net._checkpoint_files`)."""
        from netrun.config import ConfigValidationFailed, NetConfig, validate_config
        from netrun.config.runtime import runtime_setup

        loaded = _read_checkpoint(path, backend, storage_options, with_packet_states=False)
        where = path if backend is None else f"{path} on {backend!r}"
        cfg = NetConfig.from_toml(loaded.net_definition_toml)
        problems = validate_config(cfg)
        if problems:
            raise ConfigValidationFailed(problems)
        net = cls.from_setup(runtime_setup(cfg), **net_options)  # type: ignore[attr-defined]
        if loaded.layout == "packet_states":
            restore_packet_states_into(net, loaded, where)
        else:
            restore_into(net, loaded, where)
        return net

    restore_checkpoint = load_checkpoint

    @property
    def checkpoint_count(self) -> int:
        """Periodic checkpoints written so far (0 without ``checkpoint_path``)."""
        periodic = self._core.periodic  # type: ignore[attr-defined]
        return 0 if periodic is None else periodic.count

    @property
    def last_checkpoint_error(self) -> Optional[BaseException]:
        """Why the last periodic checkpoint could not be written (``None`` after a success)."""
        periodic = self._core.periodic  # type: ignore[attr-defined]
        return None if periodic is None else periodic.last_error

    def wait_for_checkpoint(self, timeout: float = 30.0) -> None:
        """Wait until a periodic checkpoint being written in the background is on disk."""
        periodic = self._core.periodic  # type: ignore[attr-defined]
        if periodic is not None:
            periodic.wait(timeout)


def restore_into(net: Any, loaded: LoadedCheckpoint, where: Any) -> None:
    """Put a loaded checkpoint's run state into a freshly built ``net``."""
    from netrun_sim import NetSim

    from netrun.net._records import EpochRun, waiting_epoch

    core = net._core
    try:
        sim = NetSim.from_snapshot(net.graph, loaded.net_state["engine"])
    except Exception as exc:
        raise _corrupt(f"{where}/net_state.json", "holds an engine state that does not fit the "
                       "saved net definition", exc) from exc
    engine = core.engine
    engine.sim = sim
    engine._do = sim.do_action
    engine.dirty = True
    now = time.monotonic()
    try:
        for epoch in loaded.net_state["epochs"]:
            name = epoch["node_name"]
            node = core.nodes[name]
            pairs = tuple((port, pid) for port, pid in epoch["packets"])
            stamps = epoch.get("retry_timestamps") or []
            if epoch.get("attempt", 0) or stamps:
                item: Any = EpochRun(epoch["epoch_id"], node, pairs, epoch["salvo_condition"], now)
                item.attempt = int(epoch.get("attempt", 0))
                item.retry_timestamps = [datetime.datetime.fromisoformat(t) for t in stamps]
                excs = list(loaded.retry_exceptions.get(item.id, ()))
                item.retry_exceptions = excs + [RestoredException("unknown", "not saved")] * (len(stamps) - len(excs))
                key = item.id
            else:
                item = waiting_epoch(epoch["epoch_id"], name, pairs, epoch["salvo_condition"], now)
                key = item[0]
            core.runs[key] = item
            if node.exec_func is not None:
                node.ready.append(item)
                core.ready_nodes[name] = None
    except (KeyError, TypeError, ValueError) as exc:
        raise _corrupt(f"{where}/net_state.json", "has an unreadable epoch list", exc) from exc
    # An epoch the engine made but the runtime had not indexed yet when a periodic
    # checkpoint was captured (an injected source epoch on its way to the loop): index it.
    for eid in sim.get_startable_epochs():
        eid = str(eid)
        if eid not in core.runs:
            epoch = sim.get_epoch(eid)
            salvo = epoch.in_salvo
            item = waiting_epoch(eid, epoch.node_name, tuple(salvo.packets), salvo.salvo_condition, now)
            core.runs[eid] = item
            node = core.nodes[epoch.node_name]
            if node.exec_func is not None:
                node.ready.append(item)
                core.ready_nodes[node.name] = None
    for pid, entry in loaded.packet_values.items():
        core.store.store_entry(pid, entry)
    try:
        core.queues.restore(loaded.output_queues)
    except KeyError as exc:
        raise _corrupt(f"{where}/packets.pkl", "has values for an output queue the saved definition "
                       "does not create", exc) from exc
    net.dead_letter_queue.restore(loaded.dead_letters)
    restore_runtime(net, loaded.net_state.get("runtime"), where)
