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
                            epochs) and the epochs the runtime knew, with their retry
                            counters and the times of their failed attempts.
``packets.pkl``             cloudpickle of the packet values still active, the values
                            waiting in output queues, the dead-letter queue's entries and
                            the exceptions of failed attempts of epochs still to run.
``history.jsonl``           the in-memory event history entries (empty without a history).
``node_configs.json``       informational: node options and port types as text.
==========================  ==============================================================

Unlike the original implementation, packets keep their IDs (the engine snapshot is restored
as it was) and packets inside startable epochs stay in those epochs. A loaded net is in state
``CREATED``; ``start()`` resumes it. Epochs waiting for a retry keep their retry count, so
``retries`` is not granted afresh after a resume. Dead-letter entries come back into the
new net's queue (in ``"file"`` mode they are not appended to the file again). The history is
returned by :func:`load_checkpoint_state` but not put back into the new net's history.

Periodic checkpoints of a running net (``Net(checkpoint_path=..., checkpoint_every_epochs=
...)``) are described in :mod:`netrun.net._periodic_checkpoint`; the original runtime's
packet-location helpers (:class:`PacketState`, :func:`get_all_packet_states`,
:func:`restore_packets_to_net`...) are at the end of this module.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

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
    """Everything read back from a checkpoint (plain data; values unpickled)."""

    metadata: CheckpointMetadata
    net_definition_toml: str
    net_state: Dict[str, Any]
    packet_values: Dict[str, Any]
    output_queues: Dict[str, List[Any]]
    node_configs: Dict[str, Any]
    history_data: Optional[List[Dict[str, Any]]] = None
    dead_letters: List[Any] = dataclasses.field(default_factory=list)
    retry_exceptions: Dict[str, List[BaseException]] = dataclasses.field(default_factory=dict)


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
    return ManifestDirectory(path, format=CHECKPOINT_FORMAT, max_version=CHECKPOINT_VERSION), Path(path)


def save_checkpoint_state(checkpoint_dir: Any, net_definition_toml: str, net_state: Dict[str, Any],
                          packet_values: Dict[str, Any], output_queues: Optional[Dict[str, List[Any]]] = None,
                          node_configs: Optional[Dict[str, Any]] = None,
                          history_data: Optional[List[Dict[str, Any]]] = None,
                          metadata: Optional[CheckpointMetadata] = None, *, fsync: bool = True,
                          dead_letters: Optional[List[Any]] = None,
                          retry_exceptions: Optional[Dict[str, List[BaseException]]] = None,
                          backend: Any = None, storage_options: Optional[dict] = None) -> None:
    """Write the checkpoint files atomically (see the module docstring).

    ``checkpoint_dir`` is a local directory, an fsspec URL (with ``storage_options``) or,
    with ``backend=`` (a backend config or object), a key prefix on that backend. A value
    that cloudpickle cannot pickle raises ``TypeError`` naming the packet; the previous
    checkpoint (if any) is then left as it was. ``fsync=False`` skips the local flushes
    (not crash-safe; for scratch data).
    """
    values = dict(packet_values)
    queues = dict(output_queues or {})
    letters = list(dead_letters or ())
    failures = {eid: [_picklable_exception(e) for e in excs] for eid, excs in (retry_exceptions or {}).items()}
    letters = [dataclasses.replace(e, exception=_picklable_exception(e.exception),
                                   retry_exceptions=[_picklable_exception(x) for x in e.retry_exceptions])
               for e in letters]
    blob = _pickle_payload(checkpoint_dir, values, queues, letters, failures)
    if metadata is None:
        metadata = CheckpointMetadata(timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat())
    metadata.packet_count = len(values)
    metadata.has_history = history_data is not None
    metadata.epoch_count = len(net_state.get("epochs", ()))
    metadata.dead_letter_count = len(letters)
    history_text = "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in (history_data or ()))
    with _writer(checkpoint_dir, backend, storage_options, {"netrun_version": metadata.netrun_version},
                 fsync) as writer:
        writer.write_json("metadata.json", dataclasses.asdict(metadata))
        writer.write_text("net_definition.toml", net_definition_toml)
        writer.write_json("net_state.json", net_state)
        writer.write_bytes("packets.pkl", blob)
        writer.write_text("history.jsonl", history_text)
        writer.write_json("node_configs.json", node_configs or {})


def load_checkpoint_state(checkpoint_dir: Any, *, backend: Any = None,
                          storage_options: Optional[dict] = None) -> LoadedCheckpoint:
    """Read a checkpoint back (local directory, URL or backend prefix, as for saving),
    checking its manifest, versions and checksums.

    Raises ``CorruptManifestError`` (missing/damaged file, undecodable content),
    ``IncompleteManifestError`` (files but no manifest: an unfinished save) or
    ``ManifestVersionError`` (written by a newer format), each naming the file."""
    import pickle

    directory, root = _reader(checkpoint_dir, backend, storage_options)
    raw_meta = directory.read_json("metadata.json")
    try:
        metadata = CheckpointMetadata(**raw_meta)
    except TypeError as exc:
        raise _corrupt(_child(root, "metadata.json"), "has unexpected fields", exc) from exc
    blob = directory.read_bytes("packets.pkl")
    try:
        packets = pickle.loads(blob)
    except Exception as exc:
        raise _corrupt(_child(root, "packets.pkl"), "cannot be unpickled (a class or module its values "
                       "need may be missing)", exc) from exc
    history: List[Dict[str, Any]] = []
    for number, line in enumerate(directory.read_text("history.jsonl").splitlines(), 1):
        if line.strip():
            try:
                history.append(json.loads(line))
            except ValueError as exc:
                raise _corrupt(_child(root, "history.jsonl"), f"line {number} is not JSON", exc) from exc
    return LoadedCheckpoint(
        metadata=metadata,
        net_definition_toml=directory.read_text("net_definition.toml"),
        net_state=directory.read_json("net_state.json"),
        packet_values=dict(packets["values"]),
        output_queues=dict(packets["output_queues"]),
        node_configs=directory.read_json("node_configs.json"),
        history_data=history if metadata.has_history else None,
        dead_letters=list(packets.get("dead_letters", ())),
        retry_exceptions=dict(packets.get("retry_exceptions", {})),
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
        extra ``Net(...)`` keywords (e.g. ``checkpoint_path=`` to keep checkpointing)."""
        from netrun.config import ConfigValidationFailed, NetConfig, validate_config
        from netrun.config.runtime import runtime_setup

        loaded = load_checkpoint_state(path, backend=backend, storage_options=storage_options)
        where = path if backend is None else f"{path} on {backend!r}"
        cfg = NetConfig.from_toml(loaded.net_definition_toml)
        problems = validate_config(cfg)
        if problems:
            raise ConfigValidationFailed(problems)
        net = cls.from_setup(runtime_setup(cfg), **net_options)  # type: ignore[attr-defined]
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


# --- the original runtime's packet-location helpers -------------------------------------

_KINDS = ("outside_net", "input_port", "output_port", "edge", "node")


@dataclasses.dataclass
class PacketState:
    """Serialisable location of one packet (the original runtime's checkpoint record).

    ``location_kind`` is ``"outside_net"``, ``"input_port"`` (data ``node_name``,
    ``port_name``), ``"output_port"`` (``epoch_id``, ``port_name``), ``"edge"``
    (``source_node``, ``source_port``, ``target_node``, ``target_port``) or ``"node"``
    (``epoch_id``)."""

    packet_id: str
    location_kind: str
    location_data: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"packet_id": self.packet_id, "location_kind": self.location_kind,
                "location_data": dict(self.location_data)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PacketState":
        return cls(str(data["packet_id"]), str(data["location_kind"]), dict(data.get("location_data") or {}))


def serialize_packet_location(location: Any) -> PacketState:
    """A ``PacketLocation`` as a :class:`PacketState` with an empty ``packet_id`` (the
    caller fills it in)."""
    kind = location.kind
    if kind == "InputPort":
        return PacketState("", "input_port", {"node_name": location.node_name, "port_name": location.port_name})
    if kind == "OutputPort":
        return PacketState("", "output_port", {"epoch_id": str(location.epoch_id), "port_name": location.port_name})
    if kind == "Node":
        return PacketState("", "node", {"epoch_id": str(location.epoch_id)})
    if kind == "Edge":
        edge = location.get_edge()
        return PacketState("", "edge", {"source_node": edge.source.node_name, "source_port": edge.source.port_name,
                                        "target_node": edge.target.node_name, "target_port": edge.target.port_name})
    return PacketState("", "outside_net", {})


def deserialize_packet_location(state: PacketState, graph: Any) -> Any:
    """The ``PacketLocation`` a :class:`PacketState` describes. An ``edge`` is looked up in
    ``graph``; an edge that is not there, or an unknown kind, raises ``ValueError``."""
    from netrun_sim import PacketLocation

    kind, data = state.location_kind, state.location_data
    try:
        if kind == "outside_net":
            return PacketLocation.outside_net()
        if kind == "input_port":
            return PacketLocation.input_port(data["node_name"], data["port_name"])
        if kind == "output_port":
            return PacketLocation.output_port(data["epoch_id"], data["port_name"])
        if kind == "node":
            return PacketLocation.node(data["epoch_id"])
    except KeyError as exc:
        raise ValueError(f"PacketState of packet {state.packet_id!r} ({kind}) lacks {exc.args[0]!r}") from None
    if kind == "edge":
        wanted = (data.get("source_node"), data.get("source_port"), data.get("target_node"), data.get("target_port"))
        for edge in graph.edges():
            if (edge.source.node_name, edge.source.port_name, edge.target.node_name, edge.target.port_name) == wanted:
                return PacketLocation.edge(edge)
        raise ValueError(f"PacketState of packet {state.packet_id!r}: the graph has no edge "
                         f"{wanted[0]}.{wanted[1]} -> {wanted[2]}.{wanted[3]}")
    raise ValueError(f"PacketState of packet {state.packet_id!r} has unknown location kind {kind!r}; "
                     f"expected one of {', '.join(_KINDS)}")


def get_all_packet_states(net_sim: Any, packet_ids: List[str], graph: Any) -> List[PacketState]:
    """The locations of the given packets (unknown IDs are skipped).

    A packet inside a *startable* epoch is reported at the input port it arrived on (from
    the epoch's input salvo), so that restoring it lets the engine form the epoch again.
    (The original reported the node's first input port, which is wrong for multi-port
    nodes; this is a deliberate fix.)"""
    from netrun_sim import EpochState

    out: List[PacketState] = []
    for pid in packet_ids:
        try:
            packet = net_sim.get_packet(pid)
        except Exception:  # not a packet ID at all
            packet = None
        if packet is None:
            continue
        location = packet.location
        state = serialize_packet_location(location)
        if location.kind == "Node":
            epoch = net_sim.get_epoch(location.epoch_id)
            if epoch is not None and epoch.state == EpochState.Startable:
                port = next((p for p, q in epoch.in_salvo.packets if str(q) == str(pid)), None)
                if port is not None:
                    state = PacketState("", "input_port", {"node_name": epoch.node_name, "port_name": port})
        state.packet_id = str(pid)
        out.append(state)
    return out


def restore_packets_to_net(net_sim: Any, packet_states: List[PacketState], graph: Any) -> Dict[str, str]:
    """Create a fresh packet per state, move it to its saved location; returns
    ``{old_id: new_id}``. A ``node`` / ``output_port`` location needs its epoch to exist in
    ``net_sim``; otherwise ``ValueError`` names the packet and the epoch."""
    from netrun_sim import NetAction

    mapping: Dict[str, str] = {}
    for state in packet_states:
        location = deserialize_packet_location(state, graph)
        epoch_id = state.location_data.get("epoch_id")
        if epoch_id is not None and net_sim.get_epoch(epoch_id) is None:
            raise ValueError(f"Cannot restore packet {state.packet_id!r}: its epoch {epoch_id} does not "
                             f"exist in this net (restore the epoch first, or record the packet at an input port)")
        resp, _ = net_sim.do_action(NetAction.create_packet(None))
        new_id = str(resp.packet_id)
        if state.location_kind != "outside_net":
            net_sim.do_action(NetAction.transport_packet_to_location(new_id, location))
        mapping[state.packet_id] = new_id
    return mapping
