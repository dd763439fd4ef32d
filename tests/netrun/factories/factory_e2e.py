"""Run a NetConfig end to end on the runtime (``netrun.net.Net``) for the factory tests."""

from __future__ import annotations

from typing import Any

from netrun.config import NetConfig, resolve_node_funcs
from netrun.net import Net


def run_config(cfg: NetConfig, inputs: dict[tuple[str, str], list[Any]]) -> tuple[Net, dict[str, list[Any]]]:
    """Resolve ``cfg``, build a Net, register every node's functions, feed ``inputs``, run
    until blocked; returns the net (closed) and the flushed output queues."""
    resolved = cfg.resolve()
    net = Net(resolved.graph.to_graph())
    with net:
        for node in resolved.graph.nodes:
            funcs = resolve_node_funcs(node, resolved)
            if funcs.exec_node_func is not None:
                net.set_node_exec(node.name, *funcs)
        for (node, port), values in inputs.items():
            net.inject_data(node, port, values)
        net.start()
        outputs = net.flush_all_output_queues()
    return net, outputs
