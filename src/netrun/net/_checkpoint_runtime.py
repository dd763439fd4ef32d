"""The runtime's own node state in a checkpoint (``net_state.json``, key ``"runtime"``).

The engine snapshot holds packets, epochs and dependency requests (pending requests, request
tokens, whether the startup requests were sent). The definition (``net_definition.toml``)
holds the graph, functions and options, and with them the signal and control ports. What is
left lives only in the runtime and is saved here, so that a resumed net behaves as the saved
one would have:

* per node: ``enabled`` (``disable_node`` / ``enable_node`` / the ``enable`` / ``disable``
  controls; the value a ``run_to_targets`` hold returns to), the ``epoch_count`` counted for
  ``max_epochs`` (the ``set_epoch_count`` / ``reset_epoch_count`` controls write it),
  ``max_epochs`` and ``defer_init`` (config front door settings the TOML definition does not
  keep);
* the config front door's failure policy (``propagate_exceptions`` / ``print_exceptions``,
  net default and per node), ``on_error``, ``error_on_undeclared_output``, the
  ``run_on_init`` nodes and whether they already fired (a resumed net does not fire them
  again);
* nodes closed by a ``close_node`` control (a run does not start them again);
* the send order of control packets still waiting (controls sent with ``send_control``
  that wait together are applied in the order they were sent, also after a resume).

Not saved: ``net.exception_queue`` (reports of epochs that failed for good; their packets
are in the dead-letter queue, which is saved) and callbacks, which are code given to
``Net(...)`` (pass them again to ``Net.load_checkpoint(path, **net_options)``).

In a periodic checkpoint, epochs that were in flight are rewound (they run again after a
resume), so they are taken off the ``epoch_count`` they had already been counted in.

Older checkpoints have no ``"runtime"`` key; they load with the definition's settings.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Optional

__all__ = ["capture_runtime", "restore_runtime"]


def capture_runtime(net: Any, rewound: Iterable[Any] = ()) -> dict[str, Any]:
    """The runtime node state of ``net`` as JSON-able data; ``rewound`` are the epoch runs a
    periodic checkpoint rewinds (not counted for ``max_epochs``)."""
    core = net._core
    uncount = Counter(run.node.name for run in rewound)
    definition = getattr(net, "_definition", None)
    configured = {n.name: n.exec_config for n in definition.graph.nodes} if definition is not None else {}
    held = core.target_holds or {}
    nodes: dict[str, dict[str, Any]] = {}
    for name, node in core.nodes.items():
        entry: dict[str, Any] = {}
        enabled = held.get(name, node.enabled)
        if not enabled:
            entry["enabled"] = False
        count = max(0, node.epoch_count - uncount.get(name, 0))
        if count:
            entry["epoch_count"] = count
        compat = node.compat
        if compat is not None:
            ec = configured.get(name)
            entry["max_epochs"] = compat.max_epochs
            entry["defer_init"] = bool(getattr(ec, "defer_init", False)) if ec is not None else compat.init_pending
        if entry:
            nodes[name] = entry
    policy = core.failure_policy
    controls = core.controls
    waiting_controls: list[str] = []
    if controls is not None and controls.sent:
        waiting_controls = [pid for pid, _ in sorted(controls.sent.items(), key=lambda item: item[1])]
    return {
        "nodes": nodes,
        "on_error": core.on_error,
        "failure_policy": None if policy is None else {
            "propagate": policy.propagate, "print_exceptions": policy.print_exceptions,
            "node_propagate": dict(policy.node_propagate), "node_print": dict(policy.node_print)},
        "undeclared_error": None if core.undeclared is None else bool(core.undeclared.error),
        "init_nodes": list(getattr(net, "_compat_init_nodes", ())),
        "init_fired": bool(getattr(net, "_compat_inited", False)),
        "closed_nodes": sorted(controls.closed) if controls is not None else [],
        "waiting_controls": waiting_controls,
    }


def restore_runtime(net: Any, data: Optional[dict[str, Any]], where: Any) -> None:
    """Put saved runtime node state (:func:`capture_runtime`) into a freshly built ``net``.
    A node the definition does not have raises ``CorruptManifestError`` naming the file."""
    if not data:
        return
    from netrun.net._compat_policy import CompatNode, FailurePolicy, fire_init_nodes
    from netrun.net._controls import _send_order
    from netrun.net.checkpoint import _corrupt

    core = net._core
    saved = data.get("nodes") or {}
    unknown = sorted(set(saved) - set(core.nodes))
    if unknown:
        raise _corrupt(f"{where}/net_state.json", "holds runtime state of nodes the saved definition does not "
                       f"have ({', '.join(unknown)})", KeyError(unknown[0]))
    for name, node in core.nodes.items():
        entry = saved.get(name, {})
        node.enabled = bool(entry.get("enabled", True))
        node.epoch_count = int(entry.get("epoch_count", 0))
        if "max_epochs" in entry:
            node.compat = CompatNode(entry["max_epochs"], bool(entry.get("defer_init", False)))
        else:
            node.compat = None
    if "on_error" in data:
        core.on_error = data["on_error"]
    policy = data.get("failure_policy")
    core.failure_policy = None if policy is None else FailurePolicy(
        bool(policy["propagate"]), bool(policy["print_exceptions"]),
        dict(policy.get("node_propagate") or {}), dict(policy.get("node_print") or {}))
    undeclared = data.get("undeclared_error")
    if core.undeclared is not None and undeclared is not None:
        core.undeclared.error = bool(undeclared)
    init_nodes = [n for n in data.get("init_nodes") or () if n in core.nodes]
    net._compat_init_nodes = init_nodes
    if data.get("init_fired"):
        net._compat_inited = True
        core.on_started = None
    elif init_nodes and getattr(net, "_run_init_nodes", True):
        core.on_started = lambda: fire_init_nodes(net)
    else:
        core.on_started = None
    controls = core.controls
    if controls is not None:
        controls.closed = {n for n in data.get("closed_nodes") or () if n in core.nodes}
        for pid in data.get("waiting_controls") or ():
            controls.sent[pid] = next(_send_order)
