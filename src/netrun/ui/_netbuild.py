"""Build a runnable ``Net`` from a ``NetConfig``, for "Run" in the editor.

The translation itself is the config layer's (:func:`netrun.config.runtime.runtime_setup`,
the same bridge ``netrun run`` uses); this module only applies it to a ``Net`` the way the
editor needs one: no SIGINT handling (the editor runs nets off the main thread), and
nodes with ``run_on_init`` returned so the caller can fire them.

Remote and Dask pools cannot be run from the editor: they raise :class:`RunError`.
"""

from __future__ import annotations

from typing import Any

from netrun.config import NetConfig, NodeConfig
from netrun.config.runtime import runtime_setup
from netrun.net import Net
from netrun.ui.errors import RunError

__all__ = ["net_from_config"]


def net_from_config(cfg: NetConfig) -> tuple[Any, list[str]]:
    """``(net, run_on_init_nodes)`` for a config. Raises the config layer's errors for a net
    that does not resolve and :class:`RunError` for what the editor cannot run."""
    setup = runtime_setup(cfg)
    if setup.other_pools:
        name, pool = next(iter(setup.other_pools.items()))
        raise RunError(
            f"pool {name!r} is a {pool.spec.type} pool, which the editor cannot run; run the net "
            "from Python and attach the editor to its monitor (netrun.ui.monitor.serve_monitor)",
            pool=name, status=422,
        )
    net = Net(setup.graph, **setup.net_kwargs, handle_sigint=False)
    for name, funcs in setup.node_funcs.items():
        net.set_node_exec(name, *funcs)
    for name, options in setup.node_options.items():
        net.set_node_config(name, **options)
    for (node, port), spec in setup.input_port_types.items():
        net.set_input_port_type(node, port, spec)
    for (node, port), spec in setup.output_port_types.items():
        net.set_output_port_type(node, port, spec)
    run_on_init = [node.name for node in setup.config.graph.nodes
                   if isinstance(node, NodeConfig) and node.exec_config.run_on_init and node.exec_config.enabled]
    return net, run_on_init
