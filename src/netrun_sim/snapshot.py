"""Full state snapshots as plain JSON-able data (extension to the published API).

``NetSim.snapshot()`` returns a dict that ``json.dumps`` accepts; ``NetSim.from_snapshot(
graph, data)`` (alias ``NetSim.restore``) rebuilds a net with identical queries and
identical future behaviour (new IDs are random, as always). The snapshot holds:

* ``format``/``version``: ``"netrun_sim.snapshot"`` / ``1``;
* ``graph``: a signature of the topology (node names with their port and condition names,
  edges, dependency edges), checked on restore;
* ``epochs``: live epochs in creation order (id, node, state, in_salvo, out_salvos,
  orphaned packets);
* ``startable``: the order of ``get_startable_epochs()``;
* ``locations``: every non-empty location with its packet IDs in queue order;
* ``pending_requests``, ``request_tokens``, ``startup_requests_sent``.

The engine keeps no undo history; a runtime persists ``(action.to_dict(), [e.to_dict()
for e in events])`` pairs itself and undoes with ``NetAction.from_dict`` /
``NetEvent.from_dict``.
"""

from __future__ import annotations

from ._ids import parse_id
from ._state import RUNNING, STARTABLE
from .errors import SnapshotError
from .events import snapshot_from_data, snapshot_to_data
from .locations import key_from_data, key_to_data

__all__ = ["SnapshotError", "FORMAT", "VERSION", "graph_signature", "take_snapshot", "restore_snapshot"]

FORMAT = "netrun_sim.snapshot"
VERSION = 1


def graph_signature(graph) -> dict:
    """The parts of a graph a snapshot depends on, as JSON-able data."""
    return {
        "nodes": [
            {
                "name": n._name,
                "in_ports": list(n._in_ports),
                "out_ports": list(n._out_ports),
                "in_salvo_conditions": list(n._in_conds),
                "out_salvo_conditions": list(n._out_conds),
            }
            for n in graph._nodes.values()
        ],
        "edges": [str(e) for e in graph._edges],
        "dependency_edges": [str(e) for e in graph._dep_edges],
    }


def _all_locations(s):
    yield from s.locs.values()
    for ep in s.epochs.values():
        yield ep
        yield from ep.olocs


def take_snapshot(net) -> dict:
    """The complete state of ``net`` as JSON-able data (see the module docstring)."""
    s = net._s
    return {
        "format": FORMAT,
        "version": VERSION,
        "graph": graph_signature(net._graph),
        "epochs": [snapshot_to_data(ep.snapshot()) for ep in s.epochs.values()],
        "startable": list(s.startable),
        "locations": [[key_to_data(loc.key), list(loc.q)] for loc in _all_locations(s) if loc.q],
        "pending_requests": [[node, label] for node, label in s.pending],
        "request_tokens": dict(s.tokens),
        "startup_requests_sent": s.startup_sent,
    }


def restore_snapshot(graph, data):
    """A new ``NetSim`` on ``graph`` in the state recorded by ``data``.

    Raises ``SnapshotError`` if ``data`` is not a snapshot of this format version, was taken
    on a different graph, or is inconsistent (unknown nodes/locations, duplicate packets...).
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError(f"not a netrun_sim snapshot (expected a dict with format={FORMAT!r})")
    if data.get("version") != VERSION:
        raise SnapshotError(
            f"unsupported snapshot version {data.get('version')!r}; this engine reads version {VERSION}"
        )
    from .net import NetSim

    net = NetSim(graph)
    if data.get("graph") != graph_signature(net._graph):
        raise SnapshotError(
            "the snapshot was taken on a different graph (nodes, ports, conditions or edges differ); "
            "restore it with the graph it was taken on"
        )
    try:
        _fill(net, data)
    except SnapshotError:
        raise
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SnapshotError(f"malformed snapshot: {exc!r}") from None
    return net


def _fill(net, data: dict) -> None:
    s = net._s
    for raw in data["epochs"]:
        snap = snapshot_from_data(raw)
        eid, node = snap[0], snap[1]
        if eid in s.epochs:
            raise SnapshotError(f"malformed snapshot: epoch {eid} appears twice")
        rt = s.rt_by_name.get(node)
        if rt is None:
            raise SnapshotError(f"malformed snapshot: epoch {eid} belongs to unknown node '{node}'")
        if snap[2] not in (STARTABLE, RUNNING):
            raise SnapshotError(f"malformed snapshot: epoch {eid} has state {snap[2]} (live epochs are 0 or 1)")
        s.new_epoch(eid, rt, snap[2], snap[3], snap[4], snap[5])
    startable = [parse_id(e) for e in data["startable"]]
    expected = {eid for eid, ep in s.epochs.items() if ep.state == STARTABLE}
    if set(startable) != expected or len(startable) != len(expected):
        raise SnapshotError("malformed snapshot: 'startable' does not list exactly the Startable epochs")
    s.startable.clear()
    s.startable.update(dict.fromkeys(startable))
    for key_data, pids in data["locations"]:
        key = key_from_data(key_data)
        loc = s.resolve(key)
        if loc is None:
            raise SnapshotError(f"malformed snapshot: location {key_data!r} does not exist in this net")
        for pid in pids:
            pid = parse_id(pid)
            if pid in s.where:
                raise SnapshotError(f"malformed snapshot: packet {pid} appears twice")
            s.add(loc, pid)
    pending = []
    for node, label in data["pending_requests"]:
        if node not in s.rt_by_name or not isinstance(label, str):
            raise SnapshotError(f"malformed snapshot: pending request ({node!r}, {label!r})")
        pending.append((node, label))
    s.pending = pending
    tokens = data["request_tokens"]
    if set(tokens) != set(s.tokens) or not all(isinstance(v, bool) for v in tokens.values()):
        raise SnapshotError("malformed snapshot: 'request_tokens' must map each OnNoSalvoTriggered node to a bool")
    s.tokens.update(tokens)
    if not isinstance(data["startup_requests_sent"], bool):
        raise SnapshotError("malformed snapshot: 'startup_requests_sent' must be a bool")
    s.startup_sent = data["startup_requests_sent"]
    s.dirty.update(s.rts)
