"""The PROJECT_SPEC DSL layout, translated to and from the config schema.

DSL layout (TOML shown; the same tree in JSON is accepted)::

    [net]                          # net-level settings: any NetConfig field, plus
    on_error = "continue"          #   thread_pools / process_pools / pools, meta, graph_meta
    [net.thread_pools.io]
    size = 10
    [net.meta]
    author = "..."

    [nodes.MyNode]                 # one table per node, keyed by name
    in_ports = ["in1", "in2"]      # or [nodes.MyNode.in_ports] in1 = { slots = 5, type = "X" }
    out_ports = ["out"]
    exec_node_func = "my_module.my_exec_func"   # also start/stop/exec_failed_node_func
    factory = "my_module.my_factory"            # or a factory and its arguments
    factory_args = { num_inputs = 3 }
    [nodes.MyNode.in_salvo_conditions.default]
    when = "nonempty(in1) and nonempty(in2)"
    ports = ["in1", "in2"]         # optional: all ports of the side; or { in1 = "all", in2 = 2 }
    max_salvos = 1                 # inputs: 1 (the default); outputs: "infinite" (default) or n
    [nodes.MyNode.options]         # execution settings (pool, retries, timeout, ...)
    pool = "io"
    [nodes.MyNode.meta]            # free-form (the schema's ``extra``)

    [[edges]]                      # or edges = [{ from = "A.out", to = "B.in" }, ...]
    from = "A.out"
    to = "B.in"
    [edges.meta]
    label = "main flow"

A subgraph is ``[nodes.S]`` with ``type = "subgraph"`` and its own ``nodes``/``edges`` (or a
``path``), ``exposed_in_ports`` and ``exposed_out_ports``.

:func:`dsl_to_data` turns a DSL tree into schema data, collecting *every* problem with its
DSL key path, and records where each schema path came from (for line numbers).
:func:`config_to_dsl` writes a model back; anything the short forms cannot express (a term
without a text form, a reference inside a count) is written in the schema's structured form,
which the reader also accepts, so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from netrun.config.errors import ConfigError, ExpressionParseError, Problem, did_you_mean
from netrun.config.expressions import parse_when, term_to_when

__all__ = [
    "DSL_EDGE_KEYS",
    "DSL_NODE_KEYS",
    "DSL_TOP_KEYS",
    "config_to_dsl",
    "dsl_to_data",
    "port_from_dsl",
    "salvo_condition_from_dsl",
]

DSL_TOP_KEYS = ("net", "nodes", "edges")
DSL_NODE_KEYS = (
    "type", "description", "in_ports", "out_ports", "in_salvo_conditions", "out_salvo_conditions",
    "exec_node_func", "start_node_func", "stop_node_func", "exec_failed_node_func",
    "factory", "factory_args", "options", "meta", "dependency_request",
)
DSL_SUBGRAPH_KEYS = ("type", "description", "nodes", "edges", "path", "exposed_in_ports",
                     "exposed_out_ports", "meta")
DSL_PORT_KEYS = ("slots", "type")
DSL_CONDITION_KEYS = ("when", "term", "ports", "max_salvos")
DSL_EDGE_KEYS = ("from", "to", "meta", "dependency", "source_node", "source_port", "target_node",
                 "target_port")
_THREAD_POOL_KEYS = ("size", "print_flush_interval", "capture_prints")
_PROCESS_POOL_KEYS = ("size", "threads_per_process", "print_flush_interval", "capture_prints")

#: Node-level function keys of the DSL → ``NodeExecutionConfig`` fields.
FUNC_KEYS = {
    "exec_node_func": "exec_node_func",
    "start_node_func": "init_node_func",
    "stop_node_func": "close_node_func",
    "exec_failed_node_func": "on_node_failure",
}
_FUNC_FIELDS = {v: k for k, v in FUNC_KEYS.items()}
#: ``options`` keys written with PROJECT_SPEC's names.
_OPTION_NAMES = {"pools": "pool", "capture_prints": "capture_stdout", "print_echo_stdout": "echo_stdout"}
_OPTION_FIELDS = {v: k for k, v in _OPTION_NAMES.items()}


def _net_keys() -> list[str]:
    from netrun.config.net_config import NetConfig

    keys = [k for k in NetConfig.model_fields if k not in ("graph", "pools", "extra")]
    return keys + ["consumed_storage_limit", "thread_pools", "process_pools", "pools", "meta",
                   "graph_meta"]


def _allowed(keys: Any) -> str:
    return ", ".join(keys)


class _Translator:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.origin: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def problem(self, dpath: tuple[Any, ...], msg: str, type_: str, value: Any = None,
                expected: str | None = None, column: int | None = None) -> None:
        self.problems.append(Problem(loc=list(dpath), msg=msg, type=type_, value=_short(value),
                                     expected=expected, column=column))

    def check_keys(self, table: dict[str, Any], allowed: Any, dpath: tuple[Any, ...], what: str) -> None:
        for key in table:
            if key not in allowed:
                self.problem(dpath + (key,), f"unknown key {key!r} in {what}{did_you_mean(key, allowed)}",
                             "unknown_key", key, "one of: " + _allowed(allowed))

    def table(self, value: Any, dpath: tuple[Any, ...], what: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(dpath, f"{what} must be a table", "type_error", value, "a table ({...} or [section])")
        return None

    # -- net ---------------------------------------------------------------------------

    def net(self, net: dict[str, Any], out: dict[str, Any]) -> dict[str, Any]:
        allowed = _net_keys()
        graph_extra: dict[str, Any] = {}
        pools: dict[str, Any] = {}
        for key, value in net.items():
            dpath = ("net", key)
            if key not in allowed:
                self.problem(dpath, f"unknown key {key!r} in [net]{did_you_mean(key, allowed)}",
                             "unknown_key", key, "one of: " + _allowed(allowed))
            elif key == "meta":
                out["extra"] = value
                self.origin[("extra",)] = dpath
            elif key == "graph_meta":
                graph_extra = value
            elif key in ("thread_pools", "process_pools", "pools"):
                table = self.table(value, dpath, f"[net.{key}]")
                for name, pool in (table or {}).items():
                    if name in pools:
                        self.problem(dpath + (name,), f"pool {name!r} is defined more than once",
                                     "duplicate_name", name, "unique pool names across thread_pools, "
                                     "process_pools and pools")
                        continue
                    converted = self.pool(key, name, pool, dpath + (name,))
                    if converted is not None:
                        pools[name] = converted
            else:
                field = "consumed_packet_storage_limit" if key == "consumed_storage_limit" else key
                if field in out:
                    self.problem(dpath, f"{key!r} repeats a setting given under another name",
                                 "duplicate_key", key, "one of consumed_packet_storage_limit or "
                                 "consumed_storage_limit")
                out[field] = value
                self.origin[(field,)] = dpath
        if pools:
            out["pools"] = pools
        return graph_extra

    def pool(self, kind: str, name: str, pool: Any, dpath: tuple[Any, ...]) -> dict[str, Any] | None:
        table = self.table(pool, dpath, f"pool {name!r}")
        if table is None:
            return None
        self.origin[("pools", name)] = dpath
        self.origin[("pools", name, "spec")] = dpath  # the DSL flattens the pool spec
        if kind == "pools":
            for key in table:
                self.origin[("pools", name, "spec", key)] = dpath + (key,)
            return dict(table)
        allowed = _THREAD_POOL_KEYS if kind == "thread_pools" else _PROCESS_POOL_KEYS
        self.check_keys(table, allowed, dpath, f"[net.{kind}.{name}]")
        spec: dict[str, Any] = {"type": "thread" if kind == "thread_pools" else "multiprocess"}
        size_field = "num_workers" if kind == "thread_pools" else "num_processes"
        if "size" in table:
            spec[size_field] = table["size"]
            self.origin[("pools", name, "spec", size_field)] = dpath + ("size",)
        if "threads_per_process" in table:
            spec["threads_per_process"] = table["threads_per_process"]
        out = {k: table[k] for k in ("print_flush_interval", "capture_prints") if k in table}
        out["spec"] = spec
        return out

    # -- nodes -------------------------------------------------------------------------

    def node(self, name: str, node: Any, dpath: tuple[Any, ...], cpath: tuple[Any, ...]) -> dict[str, Any]:
        self.origin[cpath] = dpath
        table = self.table(node, dpath, f"node {name!r}")
        if table is None:
            return {"name": name}
        kind = table.get("type", "node")
        if kind == "subgraph":
            return self.subgraph(name, table, dpath, cpath)
        if kind != "node":
            self.problem(dpath + ("type",), f"unknown node type {kind!r}", "invalid_value", kind,
                         '"node" (the default) or "subgraph"')
        self.check_keys(table, DSL_NODE_KEYS, dpath, f"node {name!r}")
        out: dict[str, Any] = {"name": name}
        exec_cfg: dict[str, Any] = {}
        for key, value in table.items():
            kpath, cp = dpath + (key,), cpath + (key,)
            if key in ("in_ports", "out_ports"):
                out[key] = self.ports(value, kpath, cp, key)
            elif key in ("in_salvo_conditions", "out_salvo_conditions"):
                conds = self.table(value, kpath, key)
                if conds is not None:
                    side = "in" if key.startswith("in") else "out"
                    converted = {c: self.condition(c, v, side, kpath + (c,), cp + (c,))
                                 for c, v in conds.items()}
                    out[key] = {c: v for c, v in converted.items() if v is not None}
            elif key in FUNC_KEYS:
                exec_cfg[FUNC_KEYS[key]] = value
                self.origin[cpath + ("execution_config", FUNC_KEYS[key])] = kpath
            elif key == "options":
                options = self.table(value, kpath, f"[nodes.{name}.options]")
                if options is not None:
                    self.origin[cpath + ("execution_config",)] = kpath
                    for opt, v in options.items():
                        if opt in FUNC_KEYS or opt in _FUNC_FIELDS:
                            self.problem(kpath + (opt,), f"{opt!r} belongs at the node level, not in options",
                                         "misplaced_key", opt,
                                         f"{_FUNC_FIELDS.get(opt, opt)} = \"...\" directly under [nodes.{name}]")
                            continue
                        if opt in ("pool", "pools") and ("pool" in options and "pools" in options):
                            self.problem(kpath + (opt,), "both 'pool' and 'pools' are given", "duplicate_key",
                                         opt, "one of them")
                            continue
                        exec_cfg[opt] = v
                        field = _OPTION_FIELDS.get(opt, opt)
                        if field != opt:
                            self.origin[cpath + ("execution_config", field)] = kpath + (opt,)
            elif key == "meta":
                out["extra"] = value
                self.origin[cpath + ("extra",)] = kpath
            elif key == "type":
                continue
            elif key in DSL_NODE_KEYS:
                out[key] = value
        if exec_cfg:
            out["execution_config"] = exec_cfg
        return out

    def subgraph(self, name: str, table: dict[str, Any], dpath: tuple[Any, ...], cpath: tuple[Any, ...]) -> dict[str, Any]:
        self.check_keys(table, DSL_SUBGRAPH_KEYS, dpath, f"subgraph {name!r}")
        out: dict[str, Any] = {"type": "subgraph", "name": name}
        for key, value in table.items():
            kpath, cp = dpath + (key,), cpath + (key,)
            if key == "nodes":
                nodes = self.table(value, kpath, f"nodes of subgraph {name!r}")
                if nodes is not None:
                    out["nodes"] = [self.node(n, v, kpath + (n,), cp + (i,)) for i, (n, v) in enumerate(nodes.items())]
            elif key == "edges":
                out["edges"] = self.edges(value, kpath, cp)
            elif key == "meta":
                out["extra"] = value
                self.origin[cpath + ("extra",)] = kpath
            elif key in ("description", "path", "exposed_in_ports", "exposed_out_ports"):
                out[key] = value
        return out

    def ports(self, value: Any, dpath: tuple[Any, ...], cpath: tuple[Any, ...], key: str) -> Any:
        if isinstance(value, list):
            out: dict[str, Any] = {}
            for i, port in enumerate(value):
                if not isinstance(port, str):
                    self.problem(dpath + (i,), f"{key} entries must be port names", "type_error", port, "a string")
                elif port in out:
                    self.problem(dpath + (i,), f"port {port!r} is listed twice in {key}", "duplicate_name",
                                 port, "unique port names")
                else:
                    out[port] = {}
            return out
        table = self.table(value, dpath, key)
        if table is None:
            return {}
        out = {}
        for port, spec in table.items():
            ppath = dpath + (port,)
            self.origin[cpath + (port, "slots_spec")] = ppath + ("slots",)
            self.origin[cpath + (port, "port_type")] = ppath + ("type",)
            try:
                out[port] = port_from_dsl(spec)
            except ConfigError as exc:
                kind = "unknown_key" if exc.message.startswith("unknown key") else "invalid_value"
                self.problem(ppath + tuple(exc.path), exc.message, kind, exc.value, exc.expected)
        return out

    def condition(self, name: str, value: Any, side: str, dpath: tuple[Any, ...], cpath: tuple[Any, ...]) -> Any:
        table = self.table(value, dpath, f"salvo condition {name!r}")
        if table is None:
            return None
        self.check_keys(table, DSL_CONDITION_KEYS, dpath, f"salvo condition {name!r}")
        if "when" in table:
            self.origin[cpath + ("term",)] = dpath + ("when",)
        data: dict[str, Any] = {}
        ok = True
        # Each part is checked on its own so that every problem is reported.
        try:
            data["term"] = _term_from_dsl(table)
        except ExpressionParseError as exc:
            ok = False
            self.problems.append(Problem(
                loc=list(dpath + ("when",)), msg=exc.message, type="expression_parse_error",
                value=exc.expression, expected=exc.expected, column=exc.expression_column))
        except ConfigError as exc:
            ok = False
            self.problem(dpath + tuple(exc.path), exc.message, "invalid_value", exc.value, exc.expected)
        for part, convert in (("max_salvos", _max_salvos_from_dsl), ("ports", _ports_from_dsl)):
            try:
                if part in table:
                    data[part] = convert(table[part])
            except ConfigError as exc:
                ok = False
                self.problem(dpath + tuple(exc.path), exc.message, "invalid_value", exc.value, exc.expected)
        if ok:
            data.setdefault("max_salvos", {"type": "finite", "max": 1} if side == "in" else {"type": "infinite"})
            return data
        return None  # reported; left out so the schema check does not report it again

    def edges(self, value: Any, dpath: tuple[Any, ...], cpath: tuple[Any, ...]) -> list[Any]:
        if not isinstance(value, list):
            self.problem(dpath, "edges must be a list", "type_error", value,
                         'edges = [{ from = "A.out", to = "B.in" }] or [[edges]] tables')
            return []
        return [self.edge(e, dpath + (i,), cpath + (i,)) for i, e in enumerate(value)]

    def edge(self, edge: Any, dpath: tuple[Any, ...], cpath: tuple[Any, ...]) -> dict[str, Any]:
        self.origin[cpath] = dpath
        table = self.table(edge, dpath, "an edge")
        if table is None:
            return {}
        self.check_keys(table, DSL_EDGE_KEYS, dpath, "an edge")
        out: dict[str, Any] = {}
        for key, (node_f, port_f) in (("from", ("source_node", "source_port")),
                                       ("to", ("target_node", "target_port"))):
            if key in table:
                self.origin[cpath + (node_f,)] = dpath + (key,)
                self.origin[cpath + (port_f,)] = dpath + (key,)
                text = table[key]
                if not isinstance(text, str) or "." not in text.strip("."):
                    self.problem(dpath + (key,), f"edge {key!r} must name a port as 'Node.port'",
                                 "invalid_value", text, f'{key} = "Node.port"')
                    # Placeholders keep the schema check from reporting the same edge again.
                    out[node_f], out[port_f] = "?", "?"
                    continue
                out[node_f], _, out[port_f] = text.rpartition(".")
        for key in ("source_node", "source_port", "target_node", "target_port", "dependency", "meta"):
            if key in table:
                out[key] = table[key]
        return out


def _short(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def port_from_dsl(spec: Any) -> dict[str, Any]:
    """A DSL port table (``{slots = n | "infinite", type = ...}``) as ``PortConfig`` data."""
    if spec is None or spec == {}:
        return {}
    if not isinstance(spec, dict):
        raise ConfigError("a port must be a table", value=spec, expected="{ slots = 5, type = \"int\" } or {}")
    unknown = [k for k in spec if k not in DSL_PORT_KEYS]
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} in a port", path=(unknown[0],), value=unknown[0],
                          expected="one of: " + _allowed(DSL_PORT_KEYS))
    out: dict[str, Any] = {}
    if "slots" in spec:
        slots = spec["slots"]
        if slots == "infinite":
            out["slots_spec"] = {"type": "infinite"}
        elif isinstance(slots, int) and not isinstance(slots, bool) and slots >= 0:
            out["slots_spec"] = {"type": "finite", "capacity": slots}
        elif isinstance(slots, dict):
            out["slots_spec"] = slots  # structured form (e.g. a reference in the capacity)
        else:
            raise ConfigError("invalid port slots", path=("slots",), value=slots,
                              expected='a non-negative integer or "infinite"')
    if "type" in spec:
        out["port_type"] = spec["type"]
    return out


def _max_salvos_from_dsl(value: Any) -> Any:
    if value == "infinite":
        return {"type": "infinite"}
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return {"type": "finite", "max": value}
    if isinstance(value, dict):
        return value
    raise ConfigError("invalid max_salvos", path=("max_salvos",), value=value,
                      expected='"infinite" or a non-negative integer')


def _ports_from_dsl(value: Any) -> Any:
    if isinstance(value, str):
        return {value: {"type": "all"}}
    if isinstance(value, list):
        if not all(isinstance(p, str) for p in value):
            raise ConfigError("salvo condition ports must be port names", path=("ports",), value=value,
                              expected='a list of port names or a table { port = "all" | n }')
        return {p: {"type": "all"} for p in value}
    if isinstance(value, dict):
        out = {}
        for port, count in value.items():
            if count == "all":
                out[port] = {"type": "all"}
            elif isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                out[port] = {"type": "count", "count": count}
            elif isinstance(count, dict):
                out[port] = count
            else:
                raise ConfigError(f"invalid packet count for port {port!r}", path=("ports", port),
                                  value=count, expected='"all" or a non-negative integer')
        return out
    raise ConfigError("invalid salvo condition ports", path=("ports",), value=value,
                      expected='a list of port names or a table { port = "all" | n }')


def _term_from_dsl(table: dict[str, Any]) -> Any:
    if "when" in table and "term" in table:
        raise ConfigError("give either 'when' (an expression) or 'term' (structured), not both",
                          path=("term",), value=None, expected="one of when / term")
    if "when" in table:
        return parse_when(table["when"])  # a term model: the schema accepts it as it is
    if "term" in table:
        return table["term"]
    raise ConfigError("a salvo condition needs a 'when' expression", path=("when",), value=None,
                      expected='when = "nonempty(port)" (or a structured term)')


def salvo_condition_from_dsl(table: dict[str, Any], *, side: str, data_only: bool = False) -> Any:
    """A DSL salvo condition (``when``/``ports``/``max_salvos``) as ``SalvoConditionConfig``
    (or its data with ``data_only``). Raises :class:`ExpressionParseError` / :class:`ConfigError`."""
    from netrun.config.salvo import SalvoConditionConfig

    data: dict[str, Any] = {"term": _term_from_dsl(table)}
    data["max_salvos"] = (_max_salvos_from_dsl(table["max_salvos"]) if "max_salvos" in table
                          else ({"type": "finite", "max": 1} if side == "in" else {"type": "infinite"}))
    if "ports" in table:
        data["ports"] = _ports_from_dsl(table["ports"])
    return data if data_only else SalvoConditionConfig.model_validate(data)


def dsl_to_data(dsl: dict[str, Any]) -> tuple[dict[str, Any], list[Problem], dict[tuple[Any, ...], tuple[Any, ...]]]:
    """DSL tree → schema data, every problem found (DSL paths), schema path → DSL path map."""
    t = _Translator()
    t.check_keys(dsl, DSL_TOP_KEYS, (), "the net file (top level)")
    out: dict[str, Any] = {}
    graph_extra: Any = {}
    if "net" in dsl:
        net = t.table(dsl["net"], ("net",), "[net]")
        if net is not None:
            graph_extra = t.net(net, out)
    nodes_out: list[Any] = []
    if "nodes" in dsl:
        nodes = t.table(dsl["nodes"], ("nodes",), "[nodes]")
        for i, (name, node) in enumerate((nodes or {}).items()):
            nodes_out.append(t.node(name, node, ("nodes", name), ("graph", "nodes", i)))
    edges_out = t.edges(dsl["edges"], ("edges",), ("graph", "edges")) if "edges" in dsl else []
    graph: dict[str, Any] = {"nodes": nodes_out, "edges": edges_out}
    if graph_extra:
        graph["extra"] = graph_extra
        t.origin[("graph", "extra")] = ("net", "graph_meta")
    out["graph"] = graph
    return out, t.problems, t.origin


# -- writing -------------------------------------------------------------------------------


def _condition_to_dsl(cond: Any, side: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    when = term_to_when(cond.term)
    if when is not None:
        out["when"] = when
    else:
        out["term"] = cond.term.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    if cond.ports is not None:
        dumped = {p: c.model_dump(mode="json", exclude_defaults=True, by_alias=True) for p, c in cond.ports.items()}
        if all(c == {"type": "all"} for c in dumped.values()):
            out["ports"] = list(dumped)
        else:
            out["ports"] = {p: ("all" if c == {"type": "all"} else
                                c["count"] if isinstance(c.get("count"), int) else c)
                            for p, c in dumped.items()}
    ms = cond.max_salvos.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    default = {"type": "finite", "max": 1} if side == "in" else {"type": "infinite"}
    if ms != default:
        if ms == {"type": "infinite"}:
            out["max_salvos"] = "infinite"
        elif isinstance(ms.get("max"), int):
            out["max_salvos"] = ms["max"]
        else:
            out["max_salvos"] = ms
    return out


def _ports_to_dsl(ports: dict[str, Any]) -> Any:
    dumped = {p: cfg.model_dump(mode="json", exclude_defaults=True, by_alias=True) for p, cfg in ports.items()}
    if all(not d for d in dumped.values()):
        return list(dumped)
    out: dict[str, Any] = {}
    for p, d in dumped.items():
        entry: dict[str, Any] = {}
        slots = d.get("slots_spec")
        if slots is not None:
            if slots == {"type": "infinite"}:
                entry["slots"] = "infinite"
            elif isinstance(slots.get("capacity"), int):
                entry["slots"] = slots["capacity"]
            else:
                entry["slots"] = slots
        if "port_type" in d:
            entry["type"] = d["port_type"]
        out[p] = entry
    return out


def _node_to_dsl(node: Any) -> dict[str, Any]:
    from netrun.config.nodes import SubgraphConfig

    dump = node.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    if isinstance(node, SubgraphConfig):
        out: dict[str, Any] = {"type": "subgraph"}
        for key in ("description", "path", "exposed_in_ports", "exposed_out_ports"):
            if key in dump:
                out[key] = dump[key]
        if node.nodes is not None:
            out["nodes"] = _nodes_to_dsl(node.nodes, f"subgraph {node.name!r}")
        if node.edges:
            out["edges"] = [_edge_to_dsl(e) for e in node.edges]
        if node.extra:
            out["meta"] = dump["extra"]
        return out
    out = {}
    if "description" in dump:
        out["description"] = dump["description"]
    for key in ("factory", "factory_args"):
        if key in dump:
            out[key] = dump[key]
    exec_dump = dump.get("execution_config") or {}
    for field, key in _FUNC_FIELDS.items():
        if field in exec_dump:
            out[key] = exec_dump.pop(field)
    for key in ("in_ports", "out_ports"):
        if getattr(node, key):
            out[key] = _ports_to_dsl(getattr(node, key))
    for key, side in (("in_salvo_conditions", "in"), ("out_salvo_conditions", "out")):
        conds = getattr(node, key)
        if conds is not None:
            out[key] = {n: _condition_to_dsl(c, side) for n, c in conds.items()}
    if exec_dump:
        options = {}
        for field, value in exec_dump.items():
            name = _OPTION_NAMES.get(field, field)
            if field == "pools" and isinstance(value, list) and len(value) == 1:
                value = value[0]
            options[name] = value
        out["options"] = options
    if "dependency_request" in dump:
        out["dependency_request"] = dump["dependency_request"]
    if node.extra:
        out["meta"] = dump["extra"]
    return out


def _nodes_to_dsl(nodes: list[Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for node in nodes:
        if node.name in out:
            raise ConfigError(
                f"two nodes of {where} are called {node.name!r}; the DSL layout keys nodes by name",
                value=node.name, expected="unique node names (or write the graph layout)")
        out[node.name] = _node_to_dsl(node)
    return out


def _edge_to_dsl(edge: Any) -> dict[str, Any]:
    dump = edge.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    if "." in edge.source_port or "." in edge.target_port or not edge.source_node or not edge.target_node:
        out = {k: dump[k] for k in ("source_node", "source_port", "target_node", "target_port")}
    else:
        out = {"from": f"{edge.source_node}.{edge.source_port}", "to": f"{edge.target_node}.{edge.target_port}"}
    if edge.dependency:
        out["dependency"] = True
    if edge.meta:
        out["meta"] = dump["meta"]
    return out


def config_to_dsl(cfg: Any) -> dict[str, Any]:
    """A ``NetConfig`` as a DSL tree (key order fixed by the schema, nodes in graph order)."""
    dump = cfg.model_dump(mode="json", exclude_defaults=True, by_alias=True, exclude={"graph"})
    net: dict[str, Any] = {}
    for key, value in dump.items():
        if key in ("pools", "extra"):
            continue
        net[key] = value
    if cfg.pools:
        groups: dict[str, dict[str, Any]] = {"thread_pools": {}, "process_pools": {}, "pools": {}}
        for name, pool in cfg.pools.items():
            pdump = pool.model_dump(mode="json", exclude_defaults=True, by_alias=True)
            spec = pdump.pop("spec", {"type": "main"})
            kind = spec.get("type")
            if kind == "thread":
                entry = {"size": spec["num_workers"]} if "num_workers" in spec else {}
                groups["thread_pools"][name] = {**entry, **pdump}
            elif kind == "multiprocess":
                entry = {"size": spec["num_processes"]} if "num_processes" in spec else {}
                if "threads_per_process" in spec:
                    entry["threads_per_process"] = spec["threads_per_process"]
                groups["process_pools"][name] = {**entry, **pdump}
            else:
                groups["pools"][name] = {**spec, **pdump}
        for key, group in groups.items():
            if group:
                net[key] = group
    if cfg.extra:
        net["meta"] = dump["extra"]
    if cfg.graph.extra:
        net["graph_meta"] = cfg.graph.model_dump(mode="json", include={"extra"})["extra"]
    out: dict[str, Any] = {}
    if net:
        out["net"] = net
    if cfg.graph.nodes:
        out["nodes"] = _nodes_to_dsl(cfg.graph.nodes, "the net")
    if cfg.graph.edges:
        out["edges"] = [_edge_to_dsl(e) for e in cfg.graph.edges]
    return out
