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
    net = Net.from_setup(setup, handle_sigint=False)
    run_on_init = [node.name for node in setup.config.graph.nodes
                   if isinstance(node, NodeConfig) and node.exec_config.run_on_init and node.exec_config.enabled]
    return net, run_on_init
