"""The original implementation's checkpoint layout, and packet locations as plain records.

:func:`netrun.net.checkpoint.save_checkpoint_state` writes one of two file sets:

* **net-state layout** (what ``net.save_checkpoint`` writes; ``net_state=`` keyword):
  ``net_state.json`` holds the engine snapshot, so packets keep their IDs and epochs their
  retry counters; ``packets.pkl`` the values, output queues and dead letters.
* **packet-state layout** (the original implementation's signature,
  ``save_checkpoint_state(dir, toml, packet_states, packet_values, node_configs,
  node_exec_paths, node_factories, port_types, history_data=None, metadata=None)``):
  ``packet_states.json`` (a :class:`PacketState` per packet), ``packet_values.pkl``
  (``{packet_id: value}``) and ``node_configs.json`` as
  ``{"node_configs", "node_exec_paths", "node_factories", "port_types"}``.

Both also hold ``metadata.json``, ``net_definition.toml``, ``history.jsonl`` and netrun's
``manifest.json`` (checksums, format version). :func:`load_checkpoint_state` reads either,
and also a packet-state directory written by the original implementation itself, which has
no manifest (read without checksums). ``Net.load_checkpoint`` resumes from a packet-state
checkpoint as the original did: the net is rebuilt from the definition, every packet is
created again **with a new ID** at its saved location, its value restored, and the engine
moves packets until blocked (startable epochs form again from the packets restored at their
input ports; with a salvo condition that takes every waiting packet, epochs that were
separate may form as one: the layout records no epochs, which is why ``net.save_checkpoint``
writes the net-state layout). Packets the original recorded
with the marker ``{"__value_func__": True}`` (a value function it could not save) come back
without a value, with a ``RuntimeWarning`` naming them.

This module also holds the packet-location helpers (:class:`PacketState`,
:func:`get_all_packet_states`, :func:`restore_packets_to_net`...).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = [
    "NODE_CONFIG_KEYS",
    "PacketState",
    "PlainDirectory",
    "VALUE_FUNC_MARKER",
    "deserialize_packet_location",
    "get_all_packet_states",
    "node_config_sections",
    "packet_states_from_snapshot",
    "restore_packets_to_net",
    "restore_packet_states_into",
    "serialize_packet_location",
]

#: The four sections of ``node_configs.json`` (original layout; netrun writes it so too).
NODE_CONFIG_KEYS = ("node_configs", "node_exec_paths", "node_factories", "port_types")
#: What the original stored instead of the value of a packet made by a value function.
VALUE_FUNC_MARKER = {"__value_func__": True}

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


def packet_states_from_snapshot(engine: dict) -> List[PacketState]:
    """:func:`get_all_packet_states` of every packet of an engine snapshot (``NetSim.snapshot()``
    data, as in ``net_state.json``), without building an engine or needing the graph."""
    epochs = {e["id"]: e for e in engine.get("epochs", ())}
    startable = set(engine.get("startable", ()))
    out: List[PacketState] = []
    for key, pids in engine.get("locations", ()):
        tag = key[0]
        if tag == "I":
            data = {"node_name": key[1], "port_name": key[2]}
            out.extend(PacketState(pid, "input_port", dict(data)) for pid in pids)
        elif tag == "O":
            data = {"epoch_id": key[1], "port_name": key[2]}
            out.extend(PacketState(pid, "output_port", dict(data)) for pid in pids)
        elif tag == "E":
            data = {"source_node": key[1][0], "source_port": key[1][2],
                    "target_node": key[2][0], "target_port": key[2][2]}
            out.extend(PacketState(pid, "edge", dict(data)) for pid in pids)
        elif tag == "N":
            epoch = epochs.get(key[1]) if key[1] in startable else None
            ports = {pid: port for port, pid in epoch["in_salvo"][1]} if epoch is not None else {}
            for pid in pids:
                port = ports.get(pid)
                if port is not None:
                    out.append(PacketState(pid, "input_port", {"node_name": epoch["node_name"], "port_name": port}))
                else:
                    out.append(PacketState(pid, "node", {"epoch_id": key[1]}))
        else:
            out.extend(PacketState(pid, "outside_net", {}) for pid in pids)
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


# --- node_configs.json ------------------------------------------------------------------

def node_config_sections(net: Any) -> dict[str, dict[str, Any]]:
    """The four informational sections of ``node_configs.json`` for ``net``: node options
    (as text), the import paths of node functions, factories, and port types (as text)."""
    from netrun.config.imports import get_import_path

    configs: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    factories: dict[str, Any] = {}
    types: dict[str, Any] = {}
    definition = getattr(net, "_definition", None)
    made = {}
    if definition is not None:
        for node in definition.graph.nodes:
            factory = getattr(node, "factory", None)
            if factory:
                made[node.name] = {"factory_path": factory if isinstance(factory, str) else factory.__name__,
                                   "factory_args": dict(node.factory_args)}
    for name, node in net.graph.nodes().items():
        configs[name] = {k: repr(v) for k, v in dataclasses.asdict(net.get_node_config(name)).items()}
        funcs = net.get_node_exec_funcs(name)
        if funcs is not None:
            found = {}
            for field in ("exec_func", "start_func", "stop_func", "failed_func"):
                func = getattr(funcs, field, None)
                path = get_import_path(func) if func is not None else None
                if path:
                    found[field] = path
            if found:
                paths[name] = found
        if name in made:
            factories[name] = made[name]
        ports = {}
        for port in node.in_ports:
            spec = net.get_input_port_type(name, port)
            if spec is not None:
                ports[f"in:{port}"] = repr(spec)
        for port in node.out_ports:
            spec = net.get_output_port_type(name, port)
            if spec is not None:
                ports[f"out:{port}"] = repr(spec)
        if ports:
            types[name] = ports
    return {"node_configs": configs, "node_exec_paths": paths, "node_factories": factories, "port_types": types}


def split_node_configs(data: Any) -> dict[str, dict[str, Any]]:
    """The four sections of a ``node_configs.json`` (a file of an older netrun checkpoint,
    which held only the node options, gives them as ``node_configs`` and empty others)."""
    if isinstance(data, dict) and set(data) == set(NODE_CONFIG_KEYS):
        return {k: dict(data[k] or {}) for k in NODE_CONFIG_KEYS}
    return {"node_configs": dict(data or {}), "node_exec_paths": {}, "node_factories": {}, "port_types": {}}


# --- reading a directory the original implementation wrote (no manifest) ----------------

class PlainDirectory:
    """A packet-state checkpoint directory written by the original implementation: the same
    files, no ``manifest.json`` (so no checksums to verify). Same reading API as
    :class:`~netrun.storage.atomic.ManifestDirectory`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def recognise(cls, path: Path) -> Optional["PlainDirectory"]:
        """The directory, when it is one (metadata.json and packet_states.json, no manifest)."""
        from netrun.storage.atomic import MANIFEST_NAME

        if path.is_dir() and not (path / MANIFEST_NAME).exists() and (path / "packet_states.json").is_file() \
                and (path / "metadata.json").is_file():
            return cls(path)
        return None

    def names(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir() if p.is_file())

    def read_bytes(self, name: str) -> bytes:
        from netrun.storage.errors import CorruptManifestError

        try:
            return (self.path / name).read_bytes()
        except OSError as exc:
            raise CorruptManifestError(f"cannot read '{self.path / name}': {exc}",
                                       fix="restore the checkpoint directory from a backup") from exc

    def read_text(self, name: str) -> str:
        from netrun.storage.errors import CorruptManifestError

        data = self.read_bytes(name)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptManifestError(f"'{self.path / name}' is not UTF-8 text: {exc}",
                                       fix="restore the checkpoint directory from a backup") from exc

    def read_json(self, name: str) -> Any:
        from netrun.storage.errors import CorruptManifestError

        try:
            return json.loads(self.read_text(name))
        except ValueError as exc:
            raise CorruptManifestError(f"'{self.path / name}' is not JSON: {exc}",
                                       fix="restore the checkpoint directory from a backup") from exc


# --- resuming a net from a packet-state checkpoint --------------------------------------

def restore_packet_states_into(net: Any, loaded: Any, where: Any) -> None:
    """Put a packet-state checkpoint's packets into a freshly built ``net`` (module
    docstring): new IDs, values restored, then the engine runs until blocked."""
    from netrun.net.checkpoint import _corrupt

    core = net._core
    engine = core.engine
    with engine.lock:
        try:
            mapping = restore_packets_to_net(engine.sim, loaded.packet_states, net.graph)
        except ValueError as exc:
            raise _corrupt(f"{where}/packet_states.json", "cannot be restored into the saved net definition "
                           "(a packet inside an epoch that was running, or an edge the definition lacks)",
                           exc) from exc
        engine.dirty = True
    store = core.store
    without: list[str] = []
    for old, new in mapping.items():
        if old not in loaded.packet_values:
            continue
        value = loaded.packet_values[old]
        if isinstance(value, dict) and value == VALUE_FUNC_MARKER:
            without.append(old)
            continue
        store.store_value(new, value)
    if without:
        warnings.warn(f"Checkpoint '{where}': packet(s) {', '.join(without)} had a value function the "
                      f"original runtime did not save; they are restored without a value (set one with "
                      f"the node that consumes them, or re-inject the data)", RuntimeWarning, stacklevel=3)
    core.advance()
