"""What the runtime needs to build a ``Net`` from a net definition (no import of ``netrun.net``).

``Net.from_file`` / ``from_toml`` / ``load_definition`` are thin methods on the runtime's
``Net``; they call :func:`runtime_setup` (or :func:`load_runtime_setup`) and apply it::

    setup = load_runtime_setup(path)                  # load, validate (all problems), resolve
    net = Net(setup.graph, **setup.net_kwargs)
    for name, funcs in setup.node_funcs.items():
        net.set_node_exec(name, *funcs)
    for name, options in setup.node_options.items():
        net.set_node_config(name, **options)
    for (node, port), spec in setup.input_port_types.items():
        net.set_input_port_type(node, port, spec)
    for (node, port), spec in setup.output_port_types.items():
        net.set_output_port_type(node, port, spec)

Mapping choices (documented where the two schemas differ):

* pools: ``thread`` pools → ``thread_pools={name: {"size": n}}``, ``multiprocess`` pools →
  ``process_pools={name: {"size": n}}`` (``threads_per_process`` is carried along);
  ``remote`` and ``dask`` pools are passed as ``pools={name: PoolConfig}`` (the runtime's
  keyword for every pool kind) and also listed in ``other_pools``;
* node ``retries``/``retry_wait``/``timeout`` left unset inherit the net-level values;
  ``defer_net_actions`` left unset is ``True`` when the node retries (a retried attempt must
  not have committed its packet operations) and the runtime default otherwise;
* ``pools = ["main"]`` (the default) means no pool: the node runs on the event loop;
* a node listing several pools without its own ``pool_allocation_method`` gets the net's
  ``default_pool_allocation_method`` (it picks the pool, then the worker); a single-pool
  node keeps its pool's own ``allocation`` (least-busy unless set);
* a port type given as ``{name = "pkg.Class", isinstance_check = false}`` (0.5.0) is
  matched by class name, with ``isinstance_check = true`` imported and checked with
  ``isinstance``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from netrun.config.factory import NodeFuncs
from netrun.config.net_config import NetConfig
from netrun.config.nodes import NodeConfig
from netrun.config.ports import PortTypeConfig
from netrun.config.resolve import LazyVars, node_var_scope, resolve_node_funcs
from netrun.config.validation import load_net_definition

__all__ = [
    "RuntimeSetup",
    "config_from_runtime",
    "load_runtime_setup",
    "net_kwargs",
    "node_options",
    "runtime_setup",
]


@dataclass
class RuntimeSetup:
    """A resolved net definition, in the shape of the runtime's ``Net`` API."""

    config: NetConfig
    graph: Any
    net_kwargs: dict[str, Any]
    node_funcs: dict[str, NodeFuncs]
    node_options: dict[str, dict[str, Any]]
    input_port_types: dict[tuple[str, str], Any] = field(default_factory=dict)
    output_port_types: dict[tuple[str, str], Any] = field(default_factory=dict)
    other_pools: dict[str, Any] = field(default_factory=dict)


def net_kwargs(cfg: NetConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """``Net(graph, **kwargs)`` keyword arguments of a resolved config, and the pools the
    keywords cannot express (remote, dask)."""
    thread_pools: dict[str, dict[str, Any]] = {}
    process_pools: dict[str, dict[str, Any]] = {}
    other: dict[str, Any] = {}
    for name, pool in (cfg.pools or {}).items():
        spec = pool.spec
        if spec.type == "thread":
            thread_pools[name] = {"size": spec.num_workers}
        elif spec.type == "multiprocess":
            process_pools[name] = {"size": spec.num_processes, "threads_per_process": spec.threads_per_process}
        elif spec.type != "main":
            other[name] = pool
    dlq = cfg.dead_letter_queue
    kwargs: dict[str, Any] = {
        "on_error": cfg.on_error,
        "consumed_packet_storage": cfg.consumed_packet_storage,
        "consumed_packet_storage_limit": cfg.consumed_packet_storage_limit,
        "packet_storage_path": cfg.packet_storage_path,
        "dead_letter_queue": "memory" if isinstance(dlq, bool) else dlq,
        "dead_letter_path": cfg.dead_letter_path,
        "dead_letter_callback": cfg.dead_letter_callback,
        "error_callback": cfg.error_callback,
        "history_max_size": cfg.history_max_size,
        "history_file": cfg.history_file,
        "history_chunk_size": cfg.history_chunk_size,
        "history_flush_on_pause": cfg.history_flush_on_pause,
    }
    if thread_pools:
        kwargs["thread_pools"] = thread_pools
    if cfg.retain_epoch_logs:
        kwargs["retain_epoch_logs"] = True
    if cfg.retain_net_action_logs:
        kwargs["retain_net_action_logs"] = True
    if process_pools:
        kwargs["process_pools"] = process_pools
    if other:
        kwargs["pools"] = dict(other)
    if cfg.storage is not None:
        kwargs["storage"] = cfg.storage
    if cfg.output_queues is not None:
        kwargs["output_queues"] = {f"{node}::{port}": name for name, queue in cfg.output_queues.items()
                                   for node, port in queue.ports}
    return kwargs, other


def node_options(node: NodeConfig, cfg: NetConfig) -> dict[str, Any]:
    """``net.set_node_config(name, **options)`` keywords for a resolved node (see module docs)."""
    ec = node.exec_config
    options: dict[str, Any] = {}
    if ec.pools != ["main"]:
        options["pool"] = ec.pools[0] if len(ec.pools) == 1 else list(ec.pools)
    retries = ec.retries if ec.retries is not None else cfg.retries
    if retries:
        options["retries"] = retries
    retry_wait = ec.retry_wait if ec.retry_wait is not None else cfg.retry_wait
    if retry_wait:
        options["retry_wait"] = retry_wait
    timeout = ec.timeout if ec.timeout is not None else cfg.timeout
    if timeout is not None:
        options["timeout"] = timeout
    if ec.defer_net_actions is not None:
        options["defer_net_actions"] = ec.defer_net_actions
    elif retries:
        options["defer_net_actions"] = True
    for name in ("max_parallel_epochs", "rate_limit_per_second", "pool_init_mode", "retry_backoff",
                 "retry_max_wait", "retry_jitter", "pool_allocation_method"):
        value = getattr(ec, name)
        if value is not None:
            options[name] = value
    if len(ec.pools) > 1 and ec.pool_allocation_method is None:
        # the config-level default decides between a node's pools (and their workers)
        options["pool_allocation_method"] = cfg.default_pool_allocation_method
    if ec.dead_letter_queue is not None:
        options["dead_letter_queue"] = ec.dead_letter_queue
    elif cfg.dead_letter_queue is False:
        options["dead_letter_queue"] = False
    if "capture_prints" in ec.model_fields_set or not ec.capture_prints:
        options["capture_stdout"] = ec.capture_prints
    if ec.print_echo_stdout is not None:
        options["echo_stdout"] = ec.print_echo_stdout
    if ec.storage is not None:
        options["storage"] = ec.storage
    return options


def _runtime_port_type(spec: Any) -> Any:
    if isinstance(spec, PortTypeConfig):
        if spec.isinstance_check:
            return spec.name
        return str(spec.name).rsplit(".", 1)[-1]
    return spec


def runtime_setup(cfg: NetConfig, *, environ: Mapping[str, str] | None = None) -> RuntimeSetup:
    """Resolve ``cfg`` (if needed) and describe the ``Net`` to build from it."""
    resolved = cfg if cfg.is_resolved else cfg.resolve(environ=environ)
    kwargs, other = net_kwargs(resolved)
    funcs: dict[str, NodeFuncs] = {}
    options: dict[str, dict[str, Any]] = {}
    in_types: dict[tuple[str, str], Any] = {}
    out_types: dict[tuple[str, str], Any] = {}
    variables: dict[str, Any] = {}
    for node in resolved.graph.nodes:
        scope = node_var_scope(node, resolved)
        if scope:  # ctx.vars: each variable resolved once, on first use
            variables[node.name] = LazyVars(scope, node=node.name)
        node_funcs = resolve_node_funcs(node, resolved)
        if any(f is not None for f in node_funcs):
            funcs[node.name] = node_funcs
        opts = node_options(node, resolved)
        if opts:
            options[node.name] = opts
        for port, pc in node.in_ports.items():
            if pc.port_type is not None:
                in_types[(node.name, port)] = _runtime_port_type(pc.port_type)
        for port, pc in node.out_ports.items():
            if pc.port_type is not None:
                out_types[(node.name, port)] = _runtime_port_type(pc.port_type)
    if variables:
        kwargs["node_vars"] = variables
    return RuntimeSetup(config=resolved, graph=controls_first(resolved.graph.to_graph()), net_kwargs=kwargs, node_funcs=funcs,
                        node_options=options, input_port_types=in_types, output_port_types=out_types,
                        other_pools=other)


def controls_first(graph: Any) -> Any:
    """The engine graph with each node's control salvo conditions (``__control_<type>__``)
    listed before its data conditions, so that when a control and data wait at a node the
    engine fires the control first (the runtime then applies it before any data epoch runs).
    Returns ``graph`` itself when nothing needs moving."""
    import netrun_sim

    from netrun.config.signals import is_control_port

    rebuilt = []
    changed = False
    for name, node in graph.nodes().items():
        conditions = dict(node.in_salvo_conditions)
        order = [c for c in conditions if is_control_port(c)]
        order += [c for c in conditions if not is_control_port(c)]
        if order != list(conditions):
            changed = True
            node = netrun_sim.Node(name, dict(node.in_ports), dict(node.out_ports), {c: conditions[c] for c in order},
                                   dict(node.out_salvo_conditions), node.dependency_request_config)
        rebuilt.append(node)
    if not changed:
        return graph
    deps = list(graph.dependency_edges()) if hasattr(graph, "dependency_edges") else []
    return netrun_sim.Graph(rebuilt, list(graph.edges()), deps) if deps else netrun_sim.Graph(rebuilt, list(graph.edges()))


def load_runtime_setup(
    path: str | Path,
    *,
    global_node_vars: Mapping[str, Any] | None = None,
    node_vars: Mapping[Any, Mapping[str, Any]] | None = None,
) -> RuntimeSetup:
    """Load a net file, validate it (every problem at once), and describe its ``Net``."""
    cfg = load_net_definition(path, global_node_vars=global_node_vars, node_vars=node_vars)
    return runtime_setup(cfg)


_NET_OPTION_FIELDS = ("on_error", "consumed_packet_storage", "consumed_packet_storage_limit", "packet_storage_path",
                      "dead_letter_queue", "dead_letter_path", "dead_letter_callback", "error_callback",
                      "history_max_size", "history_file", "history_chunk_size", "history_flush_on_pause",
                      "storage")
_OPTION_FIELDS = {"pool": "pools", "capture_stdout": "capture_prints", "echo_stdout": "print_echo_stdout"}


def _saved_pool(spec: Any) -> Any:
    """A ``Net(pools=...)`` entry as a ``PoolConfig``: runtime-only keys (``token``,
    ``prefetch``, ``on_stop``...) are not written; secrets never reach a definition file."""
    from netrun.config.pools import DaskPoolConfig, MultiprocessPoolConfig, PoolConfig, RemotePoolConfig, ThreadPoolConfig

    if isinstance(spec, PoolConfig):
        return spec
    data = dict(getattr(spec, "model_dump", lambda: spec)() or {})
    kind = {"process": "multiprocess"}.get(data.get("type"), data.get("type"))
    classes = {"thread": ThreadPoolConfig, "multiprocess": MultiprocessPoolConfig, "remote": RemotePoolConfig,
               "dask": DaskPoolConfig}
    cls = classes.get(kind, ThreadPoolConfig)
    renames = {"size": "num_processes" if kind == "multiprocess" else "num_workers", "address": "scheduler_address"}
    data = {renames.get(k, k): v for k, v in data.items()}
    fields = {k: v for k, v in data.items() if k in cls.model_fields and k != "type"}
    return PoolConfig(spec=cls(**fields))


def config_from_runtime(
    graph: Any,
    *,
    net_options: Mapping[str, Any] | None = None,
    node_funcs: Mapping[str, Any] | None = None,
    node_options: Mapping[str, Mapping[str, Any]] | None = None,
    input_port_types: Mapping[tuple[str, str], Any] | None = None,
    output_port_types: Mapping[tuple[str, str], Any] | None = None,
    node_factories: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
) -> NetConfig:
    """The definition of a ``Net`` built in Python (for ``save_definition``).

    ``net_options`` are ``Net(...)`` keywords (``thread_pools``/``process_pools`` included),
    ``node_funcs`` ``{node: (exec, start, stop, failed)}``, ``node_options``
    ``set_node_config`` keywords, ``node_factories`` ``{node: (factory_path, args)}`` for
    nodes made by a factory (their functions are then not written). Functions are written
    as import paths; one that has none raises :class:`ConfigError` naming the node.
    """
    from netrun.config.errors import ConfigError
    from netrun.config.graph import GraphConfig
    from netrun.config.imports import get_import_path
    from netrun.config.nodes import NodeExecutionConfig
    from netrun.config.pools import MultiprocessPoolConfig, PoolConfig, ThreadPoolConfig

    net_options = dict(net_options or {})
    variables = net_options.pop("node_vars", None) or {}
    pools: dict[str, PoolConfig] = {}
    for name, spec in (net_options.pop("thread_pools", None) or {}).items():
        pools[name] = PoolConfig(spec=ThreadPoolConfig(num_workers=(spec or {}).get("size", 4)))
    for name, spec in (net_options.pop("process_pools", None) or {}).items():
        spec = spec or {}
        pools[name] = PoolConfig(spec=MultiprocessPoolConfig(num_processes=spec.get("size", 4),
                                                             threads_per_process=spec.get("threads_per_process", 1)))
    for name, spec in (net_options.pop("pools", None) or {}).items():
        pools[name] = _saved_pool(spec)
    fields = {k: v for k, v in net_options.items() if k in _NET_OPTION_FIELDS and v is not None}
    nodes = []
    for node in GraphConfig.from_graph(graph).nodes:
        name = node.name
        update: dict[str, Any] = {}
        exec_data: dict[str, Any] = {}
        factory = (node_factories or {}).get(name)
        if factory is not None:
            update["factory"], update["factory_args"] = factory[0], dict(factory[1])
        else:
            labels = ("exec_node_func", "start_node_func", "stop_node_func", "exec_failed_node_func")
            fields_of = ("exec_node_func", "init_node_func", "close_node_func", "on_node_failure")
            for label, field_name, func in zip(labels, fields_of, (node_funcs or {}).get(name) or ()):
                if func is None:
                    continue
                if get_import_path(func) is None or get_import_path(func).startswith("__main__."):
                    raise ConfigError(
                        f"node {name!r}: its {label} {func!r} cannot be saved: it has no import path",
                        path=("nodes", name, label), value=repr(func),
                        expected="a function defined at the top level of an importable module "
                                 "(not a lambda, a nested function or __main__)")
                exec_data[field_name] = func
        for key, value in ((node_options or {}).get(name) or {}).items():
            exec_data[_OPTION_FIELDS.get(key, key)] = value
        if variables.get(name):
            exec_data["node_vars"] = _declared_vars(variables[name])
        if exec_data:
            update["execution_config"] = NodeExecutionConfig.model_validate(exec_data)
        types_in = {p: t for (n, p), t in (input_port_types or {}).items() if n == name}
        types_out = {p: t for (n, p), t in (output_port_types or {}).items() if n == name}
        if types_in:
            update["in_ports"] = {p: c.model_copy(update={"port_type": types_in.get(p, c.port_type)})
                                  for p, c in node.in_ports.items()}
        if types_out:
            update["out_ports"] = {p: c.model_copy(update={"port_type": types_out.get(p, c.port_type)})
                                   for p, c in node.out_ports.items()}
        nodes.append(node.model_copy(update=update))
    graph_cfg = GraphConfig.from_graph(graph).model_copy(update={"nodes": nodes})
    return NetConfig(graph=graph_cfg, pools=pools or None, **fields)


def _declared_vars(variables: Mapping[str, Any]) -> dict[str, Any]:
    """A node's variables as ``NodeVariable`` declarations (for saving a definition): the
    declarations of config variables as they were, plain values with their type."""
    import json

    from netrun.config.node_vars import NodeVariable

    declared = getattr(variables, "_declared", None)  # config variables (LazyVars)
    if declared is not None:
        return dict(declared)
    out: dict[str, Any] = {}
    for name, value in variables.items():
        if isinstance(value, bool):
            out[name] = NodeVariable(value=value, type="bool")
        elif isinstance(value, int):
            out[name] = NodeVariable(value=value, type="int")
        elif isinstance(value, float):
            out[name] = NodeVariable(value=value, type="float")
        elif isinstance(value, str):
            out[name] = NodeVariable(value=value, type="str")
        else:
            out[name] = NodeVariable(value=json.dumps(value), type="json")
    return out
