"""The original implementation's ``netrun.dsl`` names, as thin wrappers over :mod:`netrun.config`.

Same names and signatures as the original, without its faults:

* ``when`` expressions tokenise words whole (ports named ``order``, ``note``... work);
* :func:`salvo_term_to_expr` always writes text that parses back to the same term
  (``count(p) >= 2``, grouping kept), and ``nonfull(p)`` is accepted;
* an omitted ``ports`` means every port of the side (not ``""``), and input conditions
  default to ``max_salvos = 1``;
* :func:`net_config_to_toml` keeps pools, ``meta``, port types and every node option.

:class:`NetDSLConfig` is the original's flat view of a net file; ``net_config`` carries the
full :class:`~netrun.config.NetConfig` it was read from, so writing it back loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

from netrun.config.errors import ConfigError, ExpressionParseError
from netrun.config.expressions import (
    ExpressionLexer,
    ExpressionParser,
    Token,
    parse_when,
    port_state_to_text,
    term_to_when,
)
from netrun.config.imports import get_import_path, resolve_import_path
from netrun.config.ports import _int_attr

__all__ = [
    "ExpressionLexer",
    "ExpressionParseError",
    "ExpressionParser",
    "NetDSLConfig",
    "Token",
    "dict_to_edge",
    "dict_to_graph",
    "dict_to_node",
    "dict_to_port",
    "dict_to_salvo_condition",
    "edge_to_dict",
    "get_import_path",
    "graph_to_dict",
    "net_config_to_toml",
    "node_to_dict",
    "parse_salvo_condition_expr",
    "parse_toml_file",
    "parse_toml_string",
    "port_state_to_expr",
    "port_to_dict",
    "resolve_import_path",
    "salvo_condition_to_dict",
    "salvo_term_to_expr",
    "save_toml_file",
]

_EXEC_KEYS = {"exec_node_func": "exec_func", "init_node_func": "start_func",
              "close_node_func": "stop_func", "on_node_failure": "failed_func"}
_OPTION_KEYS = {"pools": "pool", "capture_prints": "capture_stdout", "print_echo_stdout": "echo_stdout"}


@dataclass
class NetDSLConfig:
    """Everything a net file describes, in the original's flat form (see module docs)."""

    graph: Any
    on_error: str = "continue"
    consumed_packet_storage: bool = False
    consumed_storage_limit: Optional[int] = None
    history_file: Optional[str] = None
    history_max_size: int = 10000
    history_chunk_size: int = 100
    thread_pools: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    process_pools: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    node_configs: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    node_exec_paths: Dict[str, Dict[str, str]] = field(default_factory=dict)
    node_factories: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    port_types: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    meta: Dict[str, Any] = field(default_factory=dict)
    net_config: Any = field(default=None, repr=False, compare=False)
    _snapshot: Any = field(default=None, init=False, repr=False, compare=False)
    _loaded_graph: Any = field(default=None, init=False, repr=False, compare=False)

    def _flat(self) -> dict[str, Any]:
        import copy

        return {f: copy.deepcopy(getattr(self, f)) for f in _FLAT_FIELDS}

    @classmethod
    def from_net_config(cls, cfg: Any) -> "NetDSLConfig":
        """The flat view of a ``NetConfig`` (factories are called to know their ports)."""
        from netrun.config.nodes import NodeConfig
        from netrun.config.ports import port_type_to_text

        resolved = cfg.resolve(resolve_imports=False)
        out = cls(
            graph=resolved.graph.to_graph(),
            on_error=cfg.on_error if "on_error" in cfg.model_fields_set else "continue",
            consumed_packet_storage=cfg.consumed_packet_storage,
            consumed_storage_limit=cfg.consumed_packet_storage_limit,
            history_file=cfg.history_file,
            history_max_size=cfg.history_max_size if cfg.history_max_size is not None else 10000,
            history_chunk_size=cfg.history_chunk_size,
            meta=dict(cfg.extra),
            net_config=cfg,
        )
        for name, pool in (cfg.pools or {}).items():
            if pool.spec.type == "thread":
                out.thread_pools[name] = {"size": pool.spec.num_workers}
            elif pool.spec.type == "multiprocess":
                out.process_pools[name] = {"size": pool.spec.num_processes}
        for node in cfg.graph.nodes:
            if not isinstance(node, NodeConfig):
                continue
            if node.factory is not None:
                out.node_factories[node.name] = {"factory": node.model_dump(mode="json")["factory"],
                                                 "factory_args": dict(node.factory_args)}
            ec = node.execution_config
            if ec is not None:
                dumped = ec.model_dump(mode="json", exclude_defaults=True)
                paths = {_EXEC_KEYS[k]: dumped.pop(k) for k in list(dumped) if k in _EXEC_KEYS}
                if paths:
                    out.node_exec_paths[node.name] = paths
                options = {_OPTION_KEYS.get(k, k): v for k, v in dumped.items()}
                if isinstance(options.get("pool"), list) and len(options["pool"]) == 1:
                    options["pool"] = options["pool"][0]
                if options:
                    out.node_configs[node.name] = options
            types = {f"in.{p}": port_type_to_text(c.port_type) for p, c in node.in_ports.items() if c.port_type is not None}
            types.update({f"out.{p}": port_type_to_text(c.port_type) for p, c in node.out_ports.items()
                          if c.port_type is not None})
            if types:
                out.port_types[node.name] = types
        out._snapshot = out._flat()
        out._loaded_graph = out.graph
        return out

    def to_net_config(self) -> Any:
        """A ``NetConfig`` holding these fields (on top of ``net_config`` when present)."""
        from netrun.config.graph import GraphConfig
        from netrun.config.net_config import NetConfig
        from netrun.config.nodes import NodeConfig, NodeExecutionConfig
        from netrun.config.pools import MultiprocessPoolConfig, PoolConfig, ThreadPoolConfig

        base = self.net_config
        if base is not None:
            changed = {k for k, v in self._flat().items() if self._snapshot is None or self._snapshot.get(k) != v}
            if self.graph is not self._loaded_graph:
                changed.add("graph")
            if not changed:
                return base
            # A replaced engine graph replaces the node definitions (factories, types... kept
            # only through the flat fields); otherwise the loaded definitions are the base.
            graph = GraphConfig.from_graph(self.graph) if "graph" in changed else base.graph
        else:
            changed = set(_FLAT_FIELDS)
            graph = GraphConfig.from_graph(self.graph)
        nodes = []
        for node in graph.nodes:
            if isinstance(node, NodeConfig):
                update: dict[str, Any] = {}
                factory = self.node_factories.get(node.name)
                if factory is not None:
                    update["factory"] = factory["factory"]
                    update["factory_args"] = dict(factory.get("factory_args") or {})
                exec_data: dict[str, Any] = {}
                for field_name, key in _EXEC_KEYS.items():
                    path = self.node_exec_paths.get(node.name, {}).get(key)
                    if path is not None:
                        exec_data[field_name] = path
                exec_data.update(self.node_configs.get(node.name, {}))
                if exec_data:
                    update["execution_config"] = NodeExecutionConfig.model_validate(exec_data)
                types = self.port_types.get(node.name, {})
                if types:
                    update["in_ports"] = {p: c.model_copy(update={"port_type": types.get(f"in.{p}", c.port_type)})
                                          for p, c in node.in_ports.items()}
                    update["out_ports"] = {p: c.model_copy(update={"port_type": types.get(f"out.{p}", c.port_type)})
                                           for p, c in node.out_ports.items()}
                node = node.model_copy(update=update)
            nodes.append(node)
        pools = dict(base.pools or {}) if base is not None else {}
        pools = {n: p for n, p in pools.items() if p.spec.type not in ("thread", "multiprocess")}
        for name, spec in self.thread_pools.items():
            pools[name] = PoolConfig(spec=ThreadPoolConfig(num_workers=spec.get("size", 4)))
        for name, spec in self.process_pools.items():
            pools[name] = PoolConfig(spec=MultiprocessPoolConfig(num_processes=spec.get("size", 4)))
        fields: dict[str, Any] = {
            "on_error": self.on_error,
            "consumed_packet_storage": self.consumed_packet_storage,
            "consumed_packet_storage_limit": self.consumed_storage_limit,
            "history_file": self.history_file,
            "history_max_size": self.history_max_size,
            "history_chunk_size": self.history_chunk_size,
            "extra": dict(self.meta),
            "pools": pools or None,
            "graph": graph.model_copy(update={"nodes": nodes}),
        }
        sources = {"consumed_packet_storage_limit": "consumed_storage_limit", "extra": "meta",
                   "pools": "thread_pools", "graph": "node_configs"}
        if base is not None:
            node_level = {"node_configs", "node_exec_paths", "node_factories", "port_types", "graph"}
            keep = {k: v for k, v in fields.items()
                    if sources.get(k, k) in changed or (k == "pools" and "process_pools" in changed)
                    or (k == "graph" and changed & node_level)}
            return base.model_copy(update=keep)
        return NetConfig(**fields)


_FLAT_FIELDS = ("on_error", "consumed_packet_storage", "consumed_storage_limit", "history_file",
                "history_max_size", "history_chunk_size", "thread_pools", "process_pools", "node_configs",
                "node_exec_paths", "node_factories", "port_types", "meta")


def parse_toml_string(toml_str: str) -> NetDSLConfig:
    """Parse net TOML (either layout) into a :class:`NetDSLConfig`."""
    from netrun.config.net_config import NetConfig

    return NetDSLConfig.from_net_config(NetConfig.from_toml(toml_str))


def parse_toml_file(path: str | Path) -> NetDSLConfig:
    """Parse a net TOML file into a :class:`NetDSLConfig` (errors name the file and line)."""
    from netrun.config.net_config import NetConfig

    return NetDSLConfig.from_net_config(NetConfig.from_file(path))


def net_config_to_toml(config: NetDSLConfig) -> str:
    """A :class:`NetDSLConfig` as DSL TOML text."""
    return config.to_net_config().to_toml(layout="dsl")


def save_toml_file(config: NetDSLConfig, path: str | Path) -> None:
    """Write :func:`net_config_to_toml` to ``path``."""
    Path(path).write_text(net_config_to_toml(config), encoding="utf-8")


# -- expressions ---------------------------------------------------------------------------


def parse_salvo_condition_expr(expr: str) -> Any:
    """A ``when`` expression as the engine's ``SalvoConditionTerm``."""
    from netrun.config.salvo import term_to_netrun_sim

    return term_to_netrun_sim(parse_when(expr))


def _term_config(term: Any) -> Any:
    from netrun.config.salvo import term_from_netrun_sim

    if hasattr(term, "kind") and callable(getattr(term, "get_terms", None)):
        return term_from_netrun_sim(term)
    return term


def salvo_term_to_expr(term: Any) -> str:
    """A term (engine or config) as ``when`` text that parses back to the same term.

    Raises :class:`ConfigError` for a term without a text form (``and``/``or`` of fewer than
    two terms).
    """
    text = term_to_when(_term_config(term))
    if text is None:
        raise ConfigError("this salvo condition term has no 'when' text form (an and/or with fewer than "
                          "two terms)", value=repr(term), expected="a term the expression language can write")
    return text


def port_state_to_expr(state: Any) -> str:
    """A port state as the original's fragment: ``"nonempty"``, ``">=2"``..."""
    from netrun.config.salvo import _state_from_netrun_sim

    cfg = state if hasattr(state, "type") and isinstance(getattr(state, "type"), str) else _state_from_netrun_sim(state)
    text = port_state_to_text(cfg, "p")
    if text is None:
        raise ConfigError("port state has an unresolved reference", value=repr(state))
    if text.startswith("count(p) "):
        return text[len("count(p) "):].replace(" ", "")
    return text.split("(")[0]


# -- dict conversions ----------------------------------------------------------------------


def port_to_dict(port: Any) -> Dict[str, Any]:
    """``{"slots": n}`` for a finite port, ``{}`` otherwise."""
    capacity = _int_attr(port.slots_spec, "capacity")
    return {} if capacity is None else {"slots": capacity}


def dict_to_port(data: Optional[Dict[str, Any]]) -> Any:
    """An engine ``Port`` from ``{"slots": n}`` (or ``{}``/``None`` for unbounded)."""
    from netrun.config.dsl import port_from_dsl
    from netrun.config.ports import PortConfig

    spec = {k: v for k, v in (data or {}).items() if k != "type"}
    return PortConfig.model_validate(port_from_dsl(spec)).to_netrun_sim()


def salvo_condition_to_dict(cond: Any) -> Dict[str, Any]:
    """``{"max_salvos": "infinite" | n, "ports": ..., "when": expr}`` for an engine condition."""
    limit = _int_attr(cond.max_salvos, "max")
    ports: Any = {}
    for name, count in cond.ports.items():
        n = _int_attr(count, "count")
        ports[name] = "all" if n is None else n
    if all(v == "all" for v in ports.values()):
        ports = list(ports)
    return {"max_salvos": "infinite" if limit is None else limit, "ports": ports,
            "when": salvo_term_to_expr(cond.term)}


def dict_to_salvo_condition(data: Dict[str, Any], *, side_ports: Optional[list[str]] = None,
                            is_input: bool = False) -> Any:
    """An engine ``SalvoCondition`` from a DSL dict.

    ``max_salvos`` defaults to 1 for input conditions and ``"infinite"`` for output ones;
    an omitted ``ports`` means ``side_ports`` (required then).
    """
    from netrun.config.dsl import salvo_condition_from_dsl

    return salvo_condition_from_dsl(data, side="in" if is_input else "out").to_netrun_sim(side_ports)


def node_to_dict(node: Any) -> Dict[str, Any]:
    """An engine ``Node`` as a DSL dict (empty parts left out)."""
    out: Dict[str, Any] = {"name": node.name}
    for key in ("in_ports", "out_ports"):
        ports = getattr(node, key)
        if ports:
            specs = {n: port_to_dict(p) for n, p in ports.items()}
            out[key] = list(specs) if not any(specs.values()) else specs
    for key in ("in_salvo_conditions", "out_salvo_conditions"):
        conds = getattr(node, key)
        if conds:
            out[key] = {n: salvo_condition_to_dict(c) for n, c in conds.items()}
    return out


def dict_to_node(name: str, data: Dict[str, Any]) -> Any:
    """An engine ``Node`` from a DSL node dict (ports as a list of names or tables)."""
    from netrun.config.factory import node_spec_to_config

    spec = {k: v for k, v in data.items() if k in ("in_ports", "out_ports", "in_salvo_conditions",
                                                     "out_salvo_conditions")}
    spec["name"] = name
    return node_spec_to_config(spec, where=f"node {name!r}").to_netrun_sim()


def edge_to_dict(edge: Any) -> Dict[str, str]:
    """``{"from": "Node.port", "to": "Node.port"}``."""
    return {"from": f"{edge.source.node_name}.{edge.source.port_name}",
            "to": f"{edge.target.node_name}.{edge.target.port_name}"}


def dict_to_edge(data: Dict[str, Any]) -> Any:
    """An engine ``Edge`` from ``{"from": "A.out", "to": "B.in"}`` (split at the last dot)."""
    from netrun.config.nodes import EdgeConfig

    return EdgeConfig.model_validate({k: v for k, v in data.items() if k in ("from", "to")}).to_netrun_sim()


def graph_to_dict(graph: Any) -> Dict[str, Any]:
    """``{"nodes": {name: node_dict}, "edges": [edge_dict]}``."""
    return {"nodes": {name: {k: v for k, v in node_to_dict(n).items() if k != "name"}
                      for name, n in graph.nodes().items()},
            "edges": [edge_to_dict(e) for e in graph.edges()]}


def dict_to_graph(data: Dict[str, Any]) -> Any:
    """An engine ``Graph`` from ``{"nodes": {...}, "edges": [...]}``."""
    import netrun_sim

    nodes = [dict_to_node(name, spec) for name, spec in (data.get("nodes") or {}).items()]
    edges = [dict_to_edge(e) for e in data.get("edges") or []]
    return netrun_sim.Graph(nodes, edges)
