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
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from netrun.config._locate import SourceIndex, index_source
from netrun.config._problems import validation_problems
from netrun.config.toml_writer import to_toml_text, update_toml_text
from netrun.config.errors import (
    ConfigError,
    ConfigFileError,
    ConfigValidationFailed,
    Problem,
    UnknownNodeVariableError,
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


def dump_net_config(cfg: Any, fmt: str, layout: str | None = None) -> str:
    """The config as TOML or JSON text (deterministic)."""
    layout = layout or _default_layout(cfg, fmt)
    data = net_config_to_data(cfg, layout)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return to_toml_text(data)


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
            text = update_toml_text(old, net_config_to_data(cfg, layout))  # keeps comments
            path.write_text(text, encoding="utf-8")
            return
    path.write_text(dump_net_config(cfg, fmt, layout), encoding="utf-8")
