"""Net files: reading (TOML/JSON, either layout), load-time overrides, writing, updating.

* Reading uses ``tomllib``/``json``. Malformed text raises :class:`ConfigFileError` with the
  file, line and column. Schema problems are *all* collected and raised together as
  :class:`ConfigValidationFailed`, each with the file, line (and column), key path, the
  offending value and what was expected; unknown keys name the allowed keys.
* Writing is deterministic: keys in schema order, nodes and edges in graph order, so a
  net file diffs cleanly. TOML is written with ``tomlkit``; an existing TOML file is
  updated in place so its comments survive wherever the content is unchanged.
* Layouts: ``"graph"`` (published 0.5.0 schema: ``graph.nodes`` list) and ``"dsl"``
  (PROJECT_SPEC: ``[net]``, ``[nodes.X]``, ``edges``). Both load into the same ``NetConfig``
  and parse → write → parse gives an equal model.
"""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ValidationError

from netrun.config._locate import SourceIndex, index_source
from netrun.config.var_ref import is_var_ref_data
from netrun.config.errors import (
    ConfigError,
    ConfigFileError,
    ConfigValidationFailed,
    Problem,
    UnknownNodeVariableError,
    did_you_mean,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "LAYOUTS",
    "SourceInfo",
    "detect_layout",
    "dump_net_config",
    "format_of",
    "load_graph_file",
    "load_net_config",
    "net_config_from_data",
    "net_config_to_data",
    "parse_net_text",
    "read_config_data",
    "save_net_config",
    "update_toml_text",
    "validation_problems",
]

LAYOUTS = ("graph", "dsl")


class SourceInfo:
    """Where a config came from: file, text, format, layout, and the DSL path map."""

    def __init__(self, *, file: Path | None, text: str | None, fmt: str | None, layout: str,
                 origin: dict[tuple[Any, ...], tuple[Any, ...]] | None = None) -> None:
        self.file = file
        self.text = text
        self.fmt = fmt
        self.layout = layout
        self.origin = origin or {}
        self._index: SourceIndex | None = None

    @property
    def index(self) -> SourceIndex | None:
        if self._index is None and self.text is not None and self.fmt is not None:
            self._index = index_source(self.text, self.fmt)
        return self._index

    def source_path(self, loc: list[Any] | tuple[Any, ...]) -> tuple[Any, ...]:
        """A schema key path as the path in the source file (DSL names for the DSL layout)."""
        loc = tuple(loc)
        if self.layout != "dsl":
            return loc
        for cut in range(len(loc), 0, -1):
            mapped = self.origin.get(loc[:cut])
            if mapped is not None:
                return mapped + loc[cut:]
        return loc

    def locate(self, problem: Problem, *, schema_path: bool = True) -> Problem:
        """The problem with ``file``/``line``/``column`` filled in (and DSL key names)."""
        loc = self.source_path(problem.loc) if schema_path else tuple(problem.loc)
        update: dict[str, Any] = {"loc": list(loc)}
        if self.file is not None:
            update["file"] = str(self.file)
        index = self.index
        if index is not None:
            found = index.find(loc)
            if found is not None:
                path, pos = found
                if problem.type == "expression_parse_error" and path and path[-1] == "when":
                    update["line"] = pos.value_line
                    # +1 skips the opening quote; the expression column is 1-based.
                    update["column"] = pos.value_column + (problem.column or 1)
                elif problem.type == "unknown_key" and len(path) == len(loc):
                    update["line"], update["column"] = pos.line, pos.column
                else:
                    update["line"], update["column"] = pos.value_line, pos.value_column
        return problem.model_copy(update=update)


# -- reading -------------------------------------------------------------------------------


def format_of(path: str | Path) -> str:
    """``"toml"`` or ``"json"`` from the file name (``*.netrun.toml`` etc.)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".toml":
        return "toml"
    if suffix == ".json":
        return "json"
    raise ConfigFileError(f"unsupported net file type {suffix or '(no suffix)'!r}", file=str(path),
                          value=str(path), expected="a .toml or .json file")


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse(text: str, fmt: str, file: Path | None) -> dict[str, Any]:
    name = None if file is None else str(file)
    if fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = str(exc)
            m = _TOML_POS.search(msg)
            line = int(m.group(1)) if m else None
            column = int(m.group(2)) if m else None
            clean = _TOML_POS.sub("", msg).strip()
            snippet = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else None
            raise ConfigFileError(
                f"malformed TOML: {clean}" + (f" in line {snippet.strip()!r}" if snippet else ""),
                file=name, line=line, column=column, value=snippet,
                expected="valid TOML (https://toml.io)") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigFileError(f"malformed JSON: {exc.msg}", file=name, line=exc.lineno,
                                  column=exc.colno, value=exc.doc[max(0, exc.pos - 20):exc.pos + 20],
                                  expected="valid JSON") from None
    if not isinstance(data, dict):
        raise ConfigFileError(f"the top level of a net file must be a table/object, not "
                              f"{type(data).__name__}", file=name, line=1, column=1,
                              expected="a table/object")
    return data


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError("net file not found", file=str(path), value=str(path),
                              expected="an existing .toml or .json file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"cannot read the net file: {exc}", file=str(path)) from None


def read_config_data(path: str | Path) -> dict[str, Any]:
    """The parsed contents of a TOML/JSON file (no schema check)."""
    path = Path(path)
    return _parse(_read(path), format_of(path), path)


def detect_layout(data: Mapping[str, Any]) -> str:
    """``"graph"`` when there is a ``graph`` key, ``"dsl"`` when there are ``net``/``nodes``/
    ``edges`` keys (an empty file counts as the DSL)."""
    has_graph = "graph" in data
    has_dsl = any(k in data for k in ("net", "nodes", "edges"))
    if has_graph and has_dsl:
        raise ConfigError(
            "the file mixes the two layouts: 'graph' (0.5.0 schema) with "
            + ", ".join(repr(k) for k in ("net", "nodes", "edges") if k in data) + " (DSL)",
            expected="either graph = {nodes = [...], edges = [...]} or [net]/[nodes.X]/edges")
    return "graph" if has_graph or (data and not has_dsl) else "dsl"


# -- overrides -----------------------------------------------------------------------------


def _merge_var(existing: dict[str, Any] | None, override: Any) -> dict[str, Any]:
    from netrun.config.node_vars import normalize_node_var

    new = normalize_node_var(override)
    base = dict(existing or {})
    base.update(new)
    if base.get("inherit") and "type" in new:
        # A typed override replaces the declaration (it no longer inherits the type).
        base["inherit"] = False
    return base


def _apply_global_vars(data: dict[str, Any], overrides: Mapping[str, Any], file: str | None) -> None:
    declared = data.get("node_vars") or {}
    if not isinstance(declared, dict):
        return
    for name, value in overrides.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise UnknownNodeVariableError(
                f"cannot fill net-level node variable {name!r}: the file does not declare it "
                f"(declared: {known})", file=file, path=("node_vars", name), value=name,
                expected="a variable declared under node_vars in the file")
        declared[name] = _merge_var(declared[name], value)
    data["node_vars"] = declared


def _find_node(nodes: list[Any], parts: list[str], file: str | None) -> dict[str, Any]:
    for node in nodes:
        if isinstance(node, dict) and node.get("name") == parts[0]:
            if len(parts) == 1:
                return node
            if node.get("type") != "subgraph":
                raise ConfigError(f"node {parts[0]!r} is not a subgraph", file=file, value=parts)
            if node.get("nodes") is None:
                raise ConfigError(
                    f"subgraph {parts[0]!r} is loaded from {node.get('path')!r}; node variables "
                    "of file-based subgraphs cannot be overridden", file=file, value=parts)
            return _find_node(node["nodes"], parts[1:], file)
    known = ", ".join(str(n.get("name")) for n in nodes if isinstance(n, dict)) or "none"
    raise UnknownNodeVariableError(f"no node {parts[0]!r} to set node variables on (nodes: {known})",
                                   file=file, value=parts[0], expected="a node of the net")


def _set_node_vars_in_data(nodes_list: list[dict[str, Any]], parts: list[str], vars_dict: Mapping[str, Any],
                           file: str | None = None) -> None:
    """Fill node-level variables of the node at ``parts`` (a name, or subgraph path)."""
    node = _find_node(nodes_list, parts, file)
    exec_cfg = node.setdefault("execution_config", {}) or {}
    node["execution_config"] = exec_cfg
    declared = exec_cfg.get("node_vars") or {}
    for name, value in vars_dict.items():
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise UnknownNodeVariableError(
                f"cannot fill node variable {name!r} of node {'.'.join(parts)!r}: it is not "
                f"declared on that node (declared: {known})", file=file, value=name,
                expected="a variable declared in the node's node_vars")
        declared[name] = _merge_var(declared[name], value)
    exec_cfg["node_vars"] = declared


def _apply_overrides(data: dict[str, Any], *, data_overrides: Mapping[str, Any] | None,
                     global_node_vars: Mapping[str, Any] | None,
                     node_vars: Mapping[Any, Mapping[str, Any]] | None, file: str | None) -> None:
    if data_overrides:
        data.update(data_overrides)
    if global_node_vars:
        _apply_global_vars(data, global_node_vars, file)
    if node_vars:
        graph = data.get("graph") or {}
        nodes = graph.get("nodes") or []
        for key, vars_dict in node_vars.items():
            parts = list(key) if isinstance(key, tuple) else [key]
            _set_node_vars_in_data(nodes, parts, vars_dict, file)


# -- schema problems -----------------------------------------------------------------------


def _unwrap(tp: Any, data: Any) -> Any:
    """Strip Annotated/Optional/unions down to the type that ``data`` belongs to."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)
                      or typing.get_origin(m) is typing.Annotated]
            chosen = None
            if isinstance(data, dict) and "type" in data:
                for m in members:
                    inner = _unwrap(m, None)
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        field = inner.model_fields.get("type")
                        if field is not None and field.default == data["type"]:
                            chosen = m
                            break
            if chosen is None:
                containers = [m for m in members if typing.get_origin(m) in (list, dict)]
                if isinstance(data, dict):
                    chosen = next((m for m in models if _unwrap(m, None) is not None), None) or \
                        next((m for m in containers if typing.get_origin(m) is dict), None)
                elif isinstance(data, list):
                    chosen = next((m for m in containers if typing.get_origin(m) is list), None)
            if chosen is None:
                return None
            tp = chosen
            continue
        return tp


def _field_by_key(cls: type[BaseModel], key: Any) -> Any:
    if key in cls.model_fields:
        return cls.model_fields[key]
    for field in cls.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
        if key in choices or key == field.alias:
            return field
    return None


def _allowed_keys(root: type[BaseModel], data: Any, loc: tuple[Any, ...]) -> list[str] | None:
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp, data)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = _field_by_key(tp, part)
            if field is None:
                return None
            tp = field.annotation
            for meta in field.metadata:
                if type(meta).__name__ == "VarTarget":
                    tp = meta.type
        elif typing.get_origin(tp) in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
        data = data.get(part) if isinstance(data, dict) else (
            data[part] if isinstance(data, list) and isinstance(part, int) and part < len(data) else None)
    tp = _unwrap(tp, data)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        keys = []
        for name, field in tp.model_fields.items():
            keys.append(name)
            choices = getattr(field.validation_alias, "choices", None) or []
            keys += [c for c in choices if isinstance(c, str) and c != name]
            if field.alias and field.alias != name:
                keys.append(field.alias)
        return keys
    return None


def _clean_loc(loc: tuple[Any, ...], data: Any, keep_last: bool) -> tuple[Any, ...]:
    """Drop pydantic's union-branch markers: keep only the parts that index into the data."""
    out: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
        elif last and keep_last and isinstance(part, (str, int)):
            out.append(part)
    return tuple(out)


def validation_problems(exc: ValidationError, data: Any, root: type[BaseModel]) -> list[Problem]:
    """Pydantic's errors as :class:`Problem` s with clean key paths and helpful messages."""
    problems: list[Problem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in exc.errors(include_url=False):
        kind = err["type"]
        loc = _clean_loc(tuple(err["loc"]), data, keep_last=kind in ("missing", "extra_forbidden"))
        key = (loc, kind)
        if key in seen:
            continue
        seen.add(key)
        value = err.get("input")
        expected = None
        if kind == "extra_forbidden":
            keys = _allowed_keys(root, data, loc[:-1])
            msg = f"unknown key {loc[-1]!r}" if loc else "unknown key"
            if loc and keys:
                msg += did_you_mean(str(loc[-1]), keys)
            expected = "one of: " + ", ".join(keys) if keys else None
            value = loc[-1] if loc else value
            kind = "unknown_key"
        elif kind == "missing":
            msg = f"required key {loc[-1]!r} is missing" if loc else "a required key is missing"
            value = None
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx") or {}
            loc = loc + (str(ctx.get("discriminator", "type")).strip("'"),)
            msg = f"unknown type {ctx.get('tag')!r}"
            expected = "one of: " + str(ctx.get("expected_tags", "")).replace("'", "")
            value = ctx.get("tag")
        elif kind == "union_tag_not_found":
            msg = "the table has no 'type' key, which tells what it is"
            expected = "a 'type' key"
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            msg = msg[0].lower() + msg[1:] if msg else msg
            expected = _expected_for(kind, err.get("ctx") or {})
        problems.append(Problem(loc=list(loc), msg=msg, type=kind, value=_short(value), expected=expected))
    return problems


_EXPECTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "text (a string)", "dict_type": "a table",
    "list_type": "a list", "model_type": "a table", "model_attributes_type": "a table",
    "callable_type": "a function or an import path string", "tuple_type": "a list",
}


def _expected_for(kind: str, ctx: dict[str, Any]) -> str | None:
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        op = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
        bound = next(iter(ctx.values()), "?")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"a number {op} {bound}"
    if kind == "literal_error":
        return "one of " + str(ctx.get("expected", ""))
    return None


def _short(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _sort_key(p: Problem) -> tuple[int, int]:
    return (p.line if p.line is not None else 10**9, p.column or 0)


def net_config_from_data(
    data: dict[str, Any],
    *,
    file: str | Path | None = None,
    text: str | None = None,
    fmt: str | None = None,
    layout: str | None = None,
    data_overrides: Mapping[str, Any] | None = None,
    global_node_vars: Mapping[str, Any] | None = None,
    node_vars: Mapping[Any, Mapping[str, Any]] | None = None,
) -> Any:
    """A ``NetConfig`` from parsed data of either layout (every problem reported at once)."""
    from netrun.config.dsl import dsl_to_data
    from netrun.config.net_config import NetConfig

    file_path = None if file is None else Path(file)
    file_name = None if file is None else str(file)
    try:
        layout = layout or detect_layout(data)
    except ConfigError as exc:
        raise exc.with_location(file=file_name)
    source = SourceInfo(file=file_path, text=text, fmt=fmt, layout=layout)
    if layout == "dsl":
        canonical, dsl_problems, origin = dsl_to_data(data)
        source.origin = origin
        located = [source.locate(p, schema_path=False) for p in dsl_problems]
    else:
        canonical, located = data, []
    _apply_overrides(canonical, data_overrides=data_overrides, global_node_vars=global_node_vars,
                     node_vars=node_vars, file=file_name)
    config = None
    try:
        config = NetConfig.model_validate(canonical)
    except ValidationError as exc:
        located += [source.locate(p) for p in validation_problems(exc, canonical, NetConfig)]
    if located:
        raise ConfigValidationFailed(sorted(located, key=_sort_key), file=file_name)
    assert config is not None
    config._file_path = file_path
    config._source = source
    return config


def load_net_config(
    path: str | Path,
    *,
    keep_symlinks: bool = False,
    data_overrides: Mapping[str, Any] | None = None,
    global_node_vars: Mapping[str, Any] | None = None,
    node_vars: Mapping[Any, Mapping[str, Any]] | None = None,
) -> Any:
    """``NetConfig.from_file``: read, detect the layout, apply overrides, validate."""
    path = Path(path).expanduser()
    path = path.absolute() if keep_symlinks else path.resolve()
    fmt = format_of(path)
    text = _read(path)
    data = _parse(text, fmt, path)
    return net_config_from_data(data, file=path, text=text, fmt=fmt, data_overrides=data_overrides,
                                global_node_vars=global_node_vars, node_vars=node_vars)


def parse_net_text(text: str, fmt: str, **overrides: Any) -> Any:
    """A ``NetConfig`` from TOML/JSON text."""
    data = _parse(text, fmt, None)
    return net_config_from_data(data, text=text, fmt=fmt, **overrides)


def load_graph_file(path: str | Path) -> Any:
    """The graph of a subgraph file: a net file of either layout, or a bare graph."""
    from netrun.config.graph import GraphConfig

    path = Path(path)
    fmt = format_of(path)
    text = _read(path)
    data = _parse(text, fmt, path)
    if isinstance(data.get("nodes"), list):
        try:
            return GraphConfig.model_validate(data)
        except ValidationError as exc:
            source = SourceInfo(file=path, text=text, fmt=fmt, layout="graph")
            raise ConfigValidationFailed(
                [source.locate(p) for p in validation_problems(exc, data, GraphConfig)], file=str(path))
    return net_config_from_data(data, file=path, text=text, fmt=fmt).graph


# -- writing -------------------------------------------------------------------------------


def net_config_to_data(cfg: Any, layout: str = "graph") -> dict[str, Any]:
    """Plain (JSON-compatible) data of a config in ``layout``."""
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}", value=layout, expected="'graph' or 'dsl'")
    if layout == "dsl":
        from netrun.config.dsl import config_to_dsl

        return config_to_dsl(cfg)
    data = cfg.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    data.setdefault("graph", {"nodes": []})
    return data


def _default_layout(cfg: Any, fmt: str) -> str:
    source = getattr(cfg, "_source", None)
    if source is not None and source.layout in LAYOUTS:
        return source.layout
    return "dsl" if fmt == "toml" else "graph"


def _no_nulls(value: Any, path: tuple[Any, ...]) -> None:
    if value is None:
        from netrun.config.errors import format_path

        raise ConfigError("TOML has no null value", path=path, value=None,
                          expected="write this net as JSON, or give a value instead of null")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_nulls(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_nulls(v, path + (i,))


def _is_flat(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) or (isinstance(v, list) and all(
            not isinstance(x, (dict, list)) for x in v)) for v in value.values())
    return False


def _toml_item(value: Any, *, inline_tables: bool = False) -> Any:
    import tomlkit

    if isinstance(value, dict):
        if inline_tables:
            table = tomlkit.inline_table()
            for k, v in value.items():
                table[k] = _toml_item(v, inline_tables=True)
            return table
        table = tomlkit.table()
        _fill_table(table, value)
        return table
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            arr = tomlkit.array()
            for v in value:
                arr.append(_toml_item(v, inline_tables=True))
            arr.multiline(True)
            return arr
        arr = tomlkit.array()
        for v in value:
            arr.append(_toml_item(v, inline_tables=True))
        return arr
    return tomlkit.item(value)


# Keys whose table values are written inline (one line each) rather than as sections.
_INLINE_KEYS = {"factory_args", "ports", "exposed_in_ports", "exposed_out_ports", "term",
                "max_salvos", "slots_spec", "state", "dependency_request", "in_ports", "out_ports"}


def _fill_table(table: Any, data: dict[str, Any], *, parent: str = "") -> None:
    import tomlkit

    scalars = [(k, v) for k, v in data.items() if not isinstance(v, dict) and not (
        isinstance(v, list) and v and all(isinstance(x, dict) for x in v) and k in ("nodes", "edges"))]
    tables = [(k, v) for k, v in data.items() if (k, v) not in scalars]
    for k, v in scalars:
        table[k] = _toml_item(v, inline_tables=True)
    for k, v in tables:
        if isinstance(v, list):  # [[nodes]] / [[edges]]
            aot = tomlkit.aot()
            for entry in v:
                sub = tomlkit.table()
                _fill_table(sub, entry, parent=k)
                aot.append(sub)
            table[k] = aot
        elif k in ("in_ports", "out_ports"):
            sub = tomlkit.table()
            for port, spec in v.items():
                sub[port] = _toml_item(spec, inline_tables=True)
            table[k] = sub
        elif is_var_ref_data(v) or (k in _INLINE_KEYS and _is_flat(v) and len(v) <= 6):
            table[k] = _toml_item(v, inline_tables=True)
        else:
            sub = tomlkit.table()
            _fill_table(sub, v, parent=k)
            table[k] = sub


def _to_toml_text(data: dict[str, Any]) -> str:
    import tomlkit

    _no_nulls(data, ())
    doc = tomlkit.document()
    _fill_table(doc, data)
    return doc.as_string()


def dump_net_config(cfg: Any, fmt: str, layout: str | None = None) -> str:
    """The config as TOML or JSON text (deterministic)."""
    layout = layout or _default_layout(cfg, fmt)
    data = net_config_to_data(cfg, layout)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return _to_toml_text(data)


def update_toml_text(old_text: str, new_data: dict[str, Any]) -> str:
    """``old_text`` changed to hold ``new_data``, keeping comments and formatting of
    everything that did not change (tables and keys are updated, added, or removed)."""
    import tomlkit

    _no_nulls(new_data, ())
    doc = tomlkit.parse(old_text)
    _sync(doc, new_data)
    return doc.as_string()


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _sync(container: Any, new: dict[str, Any]) -> None:
    import tomlkit
    from tomlkit.items import AoT, InlineTable, Table

    for key in [k for k in list(container.keys()) if k not in new]:
        del container[key]
    for key, value in new.items():
        if key not in container:
            if isinstance(value, dict) and not isinstance(container, InlineTable):
                sub = tomlkit.table()
                _fill_table(sub, value)
                sub.add(tomlkit.nl())  # a blank line before whatever follows
                container[key] = sub
            else:
                container[key] = _toml_item(value, inline_tables=True)
            continue
        old = container[key]
        if _plain(old) == value:
            continue
        if isinstance(value, dict) and isinstance(old, (Table, InlineTable)) or (
                isinstance(value, dict) and hasattr(old, "keys") and not isinstance(old, AoT)):
            _sync(old, value)
        elif isinstance(old, AoT) and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            tables = list(old.body)
            for i, entry in enumerate(value):
                if i < len(tables):
                    _sync(tables[i], entry)
                else:
                    sub = tomlkit.table()
                    _fill_table(sub, entry)
                    old.append(sub)
            for _ in range(len(tables) - len(value)):
                old.body.pop()
                # keep tomlkit's internal list in step with the body
            if len(tables) > len(value):
                container[key] = old
        else:
            container[key] = _toml_item(value, inline_tables=True)


def save_net_config(cfg: Any, path: str | Path, *, layout: str | None = None,
                    preserve_comments: bool = True) -> None:
    """Write a config to ``path`` (``.toml``/``.json``); updates an existing TOML file in place."""
    path = Path(path)
    fmt = format_of(path)
    layout = layout or _default_layout(cfg, fmt)
    if fmt == "toml" and preserve_comments and path.exists():
        old = path.read_text(encoding="utf-8")
        try:
            old_layout = detect_layout(tomllib.loads(old))
        except (tomllib.TOMLDecodeError, ConfigError):
            old_layout = None
        if old_layout == layout:
            text = update_toml_text(old, net_config_to_data(cfg, layout))
            path.write_text(text, encoding="utf-8")
            return
    path.write_text(dump_net_config(cfg, fmt, layout), encoding="utf-8")
