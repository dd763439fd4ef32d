"""Build a runnable ``Net`` from a ``NetConfig``, for "Run" in the editor.

Stop-gap: the runtime's ``Net`` takes a ``netrun_sim.Graph`` plus options and node
functions (PROJECT_SPEC front door); until it also accepts a ``NetConfig`` this adapter
translates one, with public APIs only:

* ``cfg.resolve()`` → ``resolved.to_graph()`` → ``Net(graph, ...)`` with the net options
  (``on_error``, dead-letter queue, thread/process pools from ``pools``);
* per node: ``resolve_node_funcs`` → ``net.set_node_exec``; execution settings →
  ``net.set_node_config`` (net-level ``retries``/``retry_wait``/``timeout`` as defaults);
  port types → ``net.set_input_port_type`` / ``set_output_port_type`` when type checking is on;
* nodes with ``run_on_init`` are returned so the caller can start them with
  ``net.inject_source_epoch``.

Remote and Dask pools cannot be run from the editor this way: they raise :class:`RunError`.
"""

from __future__ import annotations

from typing import Any

from netrun.config import NetConfig, NodeConfig
from netrun.config.resolve import resolve_node_funcs
from netrun.net import Net
from netrun.ui.errors import RunError

__all__ = ["net_from_config"]


def _pools(cfg: NetConfig) -> tuple[dict[str, dict], dict[str, dict]]:
    threads: dict[str, dict] = {}
    processes: dict[str, dict] = {}
    for name, pool in (cfg.pools or {}).items():
        spec = pool.spec
        if spec.type == "main":
            continue
        if name == "main":
            raise RunError(f"pool 'main' must be of type main (the event loop), not {spec.type!r}; rename the pool",
                           status=422)
        if spec.type == "thread":
            threads[name] = {"size": spec.num_workers}
        elif spec.type == "multiprocess":
            processes[name] = {"size": spec.num_processes * spec.threads_per_process}
        else:
            raise RunError(
                f"pool {name!r} is a {spec.type} pool, which the editor cannot run; run the net "
                "from Python and attach the editor to its monitor (netrun.ui.monitor.serve_monitor)",
                pool=name, status=422,
            )
    return threads, processes


def _options(node: NodeConfig, cfg: NetConfig, main_pools: set[str]) -> dict[str, Any]:
    ec = node.exec_config
    options: dict[str, Any] = {}
    pools = [p for p in (ec.pools or []) if p not in main_pools]
    if pools:
        options["pool"] = pools if len(pools) > 1 else pools[0]
    retries = ec.retries if ec.retries is not None else cfg.retries
    if retries:
        options["retries"] = retries
        options["defer_net_actions"] = True
    elif ec.defer_net_actions:
        options["defer_net_actions"] = True
    retry_wait = ec.retry_wait if ec.retry_wait is not None else cfg.retry_wait
    if retry_wait:
        options["retry_wait"] = retry_wait
    timeout = ec.timeout if ec.timeout is not None else cfg.timeout
    if timeout is not None:
        options["timeout"] = timeout
    for field in ("max_parallel_epochs", "rate_limit_per_second", "pool_init_mode"):
        value = getattr(ec, field)
        if value is not None:
            options[field] = value
    if ec.dead_letter_queue is not None:
        options["dead_letter_queue"] = ec.dead_letter_queue
    options["capture_stdout"] = bool(ec.capture_prints)
    options["echo_stdout"] = False  # prints are shown in the editor, not echoed to its terminal
    return options


def net_from_config(cfg: NetConfig) -> tuple[Net, list[str]]:
    """``(net, run_on_init_nodes)`` for a config. Raises the config layer's errors for a net
    that does not resolve and :class:`RunError` for what the editor cannot run."""
    resolved = cfg.resolve()
    threads, processes = _pools(resolved)
    main_pools = {name for name, pool in (resolved.pools or {}).items() if pool.spec.type == "main"}
    dlq = resolved.dead_letter_queue
    net = Net(
        resolved.to_graph(),
        on_error=resolved.on_error,
        dead_letter_queue="memory" if dlq is True or dlq is False else dlq,
        dead_letter_path=resolved.dead_letter_path,
        thread_pools=threads or None,
        process_pools=processes or None,
        output_queues=True,
        handle_sigint=False,  # the editor runs nets off the main thread
    )
    run_on_init = []
    for node in resolved.graph.nodes:
        if not isinstance(node, NodeConfig):
            continue
        funcs = resolve_node_funcs(node, resolved)
        net.set_node_exec(node.name, funcs[0], funcs[1], funcs[2], funcs[3])
        net.set_node_config(node.name, **_options(node, resolved, main_pools))
        ec = node.exec_config
        checking = ec.type_checking_enabled if ec.type_checking_enabled is not None else resolved.type_checking_enabled
        if checking:
            for port_name, port in node.in_ports.items():
                if port.port_type is not None:
                    net.set_input_port_type(node.name, port_name, port.port_type)
            for port_name, port in node.out_ports.items():
                if port.port_type is not None:
                    net.set_output_port_type(node.name, port_name, port.port_type)
        if ec.run_on_init and ec.enabled:
            run_on_init.append(node.name)
    return net, run_on_init
