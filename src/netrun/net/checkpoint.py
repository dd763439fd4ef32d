"""Checkpoints: ``net.save_checkpoint(path)`` on a paused net and ``Net.load_checkpoint(path)``.

A checkpoint is a directory written all at once by the storage layer's
:class:`~netrun.storage.atomic.AtomicDirectoryWriter` (temporary sibling, ``fsync``, atomic
swap): a crash during a save leaves the previous checkpoint intact. Its ``manifest.json``
names the format (``netrun-checkpoint``) and version and the size and SHA-256 of every file,
so a damaged file or a checkpoint from a newer netrun raises
:class:`~netrun.storage.errors.CorruptManifestError` /
:class:`~netrun.storage.errors.ManifestVersionError` naming the file and the fix.

Files (format version 1):

==========================  ==============================================================
``metadata.json``           :class:`CheckpointMetadata`
``net_definition.toml``     ``net.to_toml()``: graph, options, functions as import paths or
                            factories. ``load_checkpoint`` rebuilds the net from it.
``net_state.json``          the engine's ``NetSim.snapshot()`` (packet IDs, locations,
                            epochs) and the epochs the runtime knew (startable ones).
``packets.pkl``             cloudpickle of the packet values still active and the values
                            waiting in output queues.
``history.jsonl``           the in-memory event history entries (empty without a history).
``node_configs.json``       informational: node options and port types as text.
==========================  ==============================================================

Unlike the original implementation, packets keep their IDs (the engine snapshot is restored
as it was) and packets inside startable epochs stay in those epochs. A loaded net is in state
``CREATED``; ``start()`` resumes it. Epochs are only ever startable in a checkpoint (the net
is paused, so none is running); their retry counters start again from zero. The history is
returned by :func:`load_checkpoint_state` but not put back into the new net's history.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointMetadata",
    "LoadedCheckpoint",
    "save_checkpoint_state",
    "load_checkpoint_state",
    "NetCheckpointMethods",
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
    """Contents of ``metadata.json``."""

    timestamp: str
    netrun_version: str = dataclasses.field(default_factory=_version)
    packet_count: int = 0
    has_history: bool = False
    epoch_count: int = 0


@dataclasses.dataclass
class LoadedCheckpoint:
    """Everything read back from a checkpoint directory (plain data; values unpickled)."""

    metadata: CheckpointMetadata
    net_definition_toml: str
    net_state: Dict[str, Any]
    packet_values: Dict[str, Any]
    output_queues: Dict[str, List[Any]]
    node_configs: Dict[str, Any]
    history_data: Optional[List[Dict[str, Any]]] = None


def _corrupt(path: Path, what: str, exc: BaseException) -> Exception:
    from netrun.storage.errors import CorruptManifestError

    err = CorruptManifestError(
        f"checkpoint file '{path}' {what}: {type(exc).__name__}: {exc}",
        fix="restore the checkpoint from a backup or save it again from a paused net",
    )
    err.__cause__ = exc
    return err


def save_checkpoint_state(checkpoint_dir: str | Path, net_definition_toml: str, net_state: Dict[str, Any],
                          packet_values: Dict[str, Any], output_queues: Optional[Dict[str, List[Any]]] = None,
                          node_configs: Optional[Dict[str, Any]] = None,
                          history_data: Optional[List[Dict[str, Any]]] = None,
                          metadata: Optional[CheckpointMetadata] = None, *, fsync: bool = True) -> None:
    """Write the checkpoint files atomically (see the module docstring).

    A value that cloudpickle cannot pickle raises ``TypeError`` naming the packet; the
    previous checkpoint (if any) is then left as it was. ``fsync=False`` skips the flushes
    (not crash-safe; for scratch data).
    """
    import cloudpickle

    from netrun.storage.atomic import AtomicDirectoryWriter

    values = dict(packet_values)
    queues = dict(output_queues or {})
    try:
        blob = cloudpickle.dumps({"values": values, "output_queues": queues})
    except Exception as exc:
        culprit = "?"
        for pid, value in values.items():
            try:
                cloudpickle.dumps(value)
            except Exception:
                culprit = f"packet {pid!r}"
                break
        else:
            culprit = "a value waiting in an output queue"
        raise TypeError(
            f"Cannot save checkpoint to '{checkpoint_dir}': the value of {culprit} cannot be "
            f"pickled with cloudpickle ({type(exc).__name__}: {exc}); make the value picklable "
            f"or consume it before saving. The previous checkpoint, if any, is unchanged."
        ) from exc
    if metadata is None:
        metadata = CheckpointMetadata(timestamp=datetime.datetime.now(datetime.timezone.utc).isoformat())
    metadata.packet_count = len(values)
    metadata.has_history = history_data is not None
    metadata.epoch_count = len(net_state.get("epochs", ()))
    history_text = "".join(json.dumps(entry, sort_keys=True) + "\n" for entry in (history_data or ()))
    with AtomicDirectoryWriter(checkpoint_dir, format=CHECKPOINT_FORMAT, format_version=CHECKPOINT_VERSION,
                               meta={"netrun_version": metadata.netrun_version}, fsync=fsync) as writer:
        writer.write_json("metadata.json", dataclasses.asdict(metadata))
        writer.write_text("net_definition.toml", net_definition_toml)
        writer.write_json("net_state.json", net_state)
        writer.write_bytes("packets.pkl", blob)
        writer.write_text("history.jsonl", history_text)
        writer.write_json("node_configs.json", node_configs or {})


def load_checkpoint_state(checkpoint_dir: str | Path) -> LoadedCheckpoint:
    """Read a checkpoint directory back, checking its manifest, versions and checksums.

    Raises ``CorruptManifestError`` (missing/damaged file, undecodable content) or
    ``ManifestVersionError`` (written by a newer format), each naming the file."""
    import pickle

    from netrun.storage.atomic import ManifestDirectory

    directory = ManifestDirectory(checkpoint_dir, format=CHECKPOINT_FORMAT, max_version=CHECKPOINT_VERSION)
    root = Path(checkpoint_dir)
    raw_meta = directory.read_json("metadata.json")
    try:
        metadata = CheckpointMetadata(**raw_meta)
    except TypeError as exc:
        raise _corrupt(root / "metadata.json", "has unexpected fields", exc) from exc
    blob = directory.read_bytes("packets.pkl")
    try:
        packets = pickle.loads(blob)
    except Exception as exc:
        raise _corrupt(root / "packets.pkl", "cannot be unpickled (a class or module its values "
                       "need may be missing)", exc) from exc
    history: List[Dict[str, Any]] = []
    for number, line in enumerate(directory.read_text("history.jsonl").splitlines(), 1):
        if line.strip():
            try:
                history.append(json.loads(line))
            except ValueError as exc:
                raise _corrupt(root / "history.jsonl", f"line {number} is not JSON", exc) from exc
    return LoadedCheckpoint(
        metadata=metadata,
        net_definition_toml=directory.read_text("net_definition.toml"),
        net_state=directory.read_json("net_state.json"),
        packet_values=dict(packets["values"]),
        output_queues=dict(packets["output_queues"]),
        node_configs=directory.read_json("node_configs.json"),
        history_data=history if metadata.has_history else None,
    )


class NetCheckpointMethods:
    """Mixed into :class:`netrun.net.Net`."""

    def save_checkpoint(self, path: str | Path) -> None:
        """Write this paused (or stopped, or never started) net's full state to the
        directory ``path``, atomically (a failed save leaves the previous checkpoint as it was).

        Raises ``NetNotPausedError`` while the net is ``RUNNING``. Deliberate difference from
        the original, which also refused ``CREATED``: a net that has not run yet has no
        running epoch either, so its state (injected packets, epochs made by
        ``run_step(start_epochs=False)``) is saved too, and a loaded net (``CREATED``) can be
        saved again."""
        from netrun.errors import NetNotPausedError
        from netrun.net.state import NetState

        if self.state is NetState.RUNNING or self._core.driving:  # type: ignore[attr-defined]
            raise NetNotPausedError(f"save_checkpoint to '{path}' (the net is {self.state.name})")  # type: ignore[attr-defined]
        core = self._core  # type: ignore[attr-defined]
        state = core.snapshot_state()
        if state["engine"] is None:
            from netrun.errors import NetrunRuntimeError

            raise NetrunRuntimeError(
                f"Cannot save checkpoint to '{path}': the installed engine has no NetSim.snapshot(); "
                f"use the netrun_sim engine shipped with netrun"
            )
        history = self._history  # type: ignore[attr-defined]
        history_data = [e.to_dict() for e in history.get_entries()] if history is not None else None
        node_configs = {name: {k: repr(v) for k, v in dataclasses.asdict(self.get_node_config(name)).items()}  # type: ignore[attr-defined]
                        for name in self.graph.nodes()}  # type: ignore[attr-defined]
        save_checkpoint_state(
            path, self.to_toml(),  # type: ignore[attr-defined]
            {"engine": state["engine"], "epochs": state["epochs"], "state": state["state"]},
            state["values"], state["output_queues"], node_configs, history_data,
        )

    @classmethod
    def load_checkpoint(cls, path: str | Path) -> Any:
        """A new net rebuilt from a checkpoint directory, in state ``CREATED``: packets, their
        values, startable epochs and waiting output-queue values as they were saved; call
        ``start()`` to resume. Node functions come back from the saved definition (import
        paths, factories)."""
        from netrun_sim import NetSim

        from netrun.net._records import waiting_epoch

        loaded = load_checkpoint_state(path)
        root = Path(path)
        net = cls.from_toml(loaded.net_definition_toml)  # type: ignore[attr-defined]
        core = net._core
        try:
            sim = NetSim.from_snapshot(net.graph, loaded.net_state["engine"])
        except Exception as exc:
            raise _corrupt(root / "net_state.json", "holds an engine state that does not fit the "
                           "saved net definition", exc) from exc
        engine = core.engine
        engine.sim = sim
        engine._do = sim.do_action
        engine.dirty = True
        now = time.monotonic()
        try:
            for epoch in loaded.net_state["epochs"]:
                name = epoch["node_name"]
                pairs = tuple((port, pid) for port, pid in epoch["packets"])
                item = waiting_epoch(epoch["epoch_id"], name, pairs, epoch["salvo_condition"], now)
                core.runs[item[0]] = item
                node = core.nodes[name]
                if node.exec_func is not None:
                    node.ready.append(item)
                    core.ready_nodes[name] = None
        except (KeyError, TypeError, ValueError) as exc:
            raise _corrupt(root / "net_state.json", "has an unreadable epoch list", exc) from exc
        for pid, entry in loaded.packet_values.items():
            core.store.store_entry(pid, entry)
        for queue, items in loaded.output_queues.items():
            if queue not in core.queues.names:
                raise _corrupt(root / "packets.pkl", f"has values for output queue {queue!r}, which the "
                               "saved definition does not create", KeyError(queue))
            # raw (value, packet_id, epoch_id, wall time) entries, as saved: a new net has no
            # readers waiting yet, so nobody needs waking
            core.queues._queues[queue].extend(tuple(item) for item in items)
        return net

    restore_checkpoint = load_checkpoint
