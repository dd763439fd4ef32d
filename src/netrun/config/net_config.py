"""``NetConfig``: a whole net (pools, graph, variables, queues, net-level settings).

The fields are the published 0.5.0 schema plus PROJECT_SPEC's net-level options
(``on_error``, ``error_callback``, consumed-packet storage, history). Both file layouts —
PROJECT_SPEC's DSL (``[net]``, ``[nodes.X]``, ``edges``) and the 0.5.0 schema (``graph.nodes``
list) — load into this one model, in TOML or JSON, and are written back without loss:

>>> cfg = NetConfig.from_toml('''
... [nodes.A]
... out_ports = ["out"]
... [nodes.B]
... in_ports = ["in"]
... [[edges]]
... from = "A.out"
... to = "B.in"
... ''')
>>> [n.name for n in cfg.graph.nodes]
['A', 'B']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Union

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    field_serializer,
    field_validator,
    model_validator,
)

from netrun.config._model import ConfigModel
from netrun.config.errors import ConfigError, Problem
from netrun.config.graph import GraphConfig
from netrun.config.node_vars import NodeVariable
from netrun.config.nodes import NodeConfig, serialize_callable
from netrun.config.pools import MainPoolConfig, OutputQueueConfig, PoolConfig, output_queue_name
from netrun.config.signals import VALID_CONTROL_TYPES, VALID_SIGNAL_TYPES, is_signal_port
from netrun.config.var_ref import Var, VarRef
from netrun.storage.config import StorageConfig

__all__ = ["NetConfig"]

_PATH_FIELDS = ("dead_letter_path", "history_file", "packet_storage_path")


class NetConfig(ConfigModel):
    """A net definition. See the module docstring; file I/O in :mod:`netrun.config.files`."""

    _var_scope_boundary = frozenset({"graph", "node_vars"})

    # -- published 0.5.0 fields -----------------------------------------------------------
    project_root_override: Var[str | None] = None
    pools: dict[str, PoolConfig] | None = None
    graph: GraphConfig = Field(default_factory=GraphConfig)
    extra: dict[str, Any] = Field(default_factory=dict)
    default_pool_allocation_method: Var[Literal["round-robin", "random", "least-busy"]] = "round-robin"
    node_vars: dict[str, NodeVariable] | None = None
    dead_letter_queue: Var[Union[bool, Literal["memory", "file", "callback"]]] = True
    dead_letter_path: Var[str | None] = None
    dead_letter_callback: Var[Union[Callable, str, None]] = None
    output_queues: dict[str, OutputQueueConfig] | None = None
    error_on_undeclared_output: Var[bool] = False
    print_echo_stdout: Var[bool] = True
    type_checking_enabled: Var[bool] = True
    propagate_exceptions: Var[bool] = True
    print_exceptions: Var[bool] = False
    max_epochs: Var[int] = -1
    retries: Var[NonNegativeInt] = 0
    retry_wait: Var[NonNegativeFloat] = 0.0
    timeout: Var[PositiveFloat | None] = None
    storage: StorageConfig | None = None
    retain_epoch_logs: Var[bool] = False
    retain_net_action_logs: Var[bool] = False
    epoch_log_echo_stdout: Var[bool] = False
    default_signals: Var[list[str]] = Field(default_factory=list)
    default_controls: Var[list[str]] = Field(default_factory=list)

    # -- PROJECT_SPEC net options ---------------------------------------------------------
    on_error: Var[Literal["continue", "pause", "raise"]] = "pause"
    error_callback: Var[Union[Callable, str, None]] = None
    consumed_packet_storage: Var[bool] = False
    consumed_packet_storage_limit: Var[PositiveInt | None] = Field(
        default=None,
        validation_alias=AliasChoices("consumed_packet_storage_limit", "consumed_storage_limit"),
    )
    packet_storage_path: Var[str | None] = None
    history_max_size: Var[PositiveInt | None] = None
    history_file: Var[str | None] = None
    history_chunk_size: Var[PositiveInt] = 100
    history_flush_on_pause: Var[bool] = True

    _file_path: Path | None = PrivateAttr(default=None)
    _source: Any = PrivateAttr(default=None)
    _resolved: bool = PrivateAttr(default=False)

    def __eq__(self, other: object) -> bool:
        # Equal content is equal config: where it was loaded from does not count.
        if not isinstance(other, NetConfig):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    @field_validator("default_pool_allocation_method", mode="before")
    @classmethod
    def _allocation_spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().lower().replace("_", "-")
        return getattr(value, "value", value)

    @field_validator("default_signals")
    @classmethod
    def validate_default_signals(cls, value: Any) -> Any:
        if isinstance(value, list):
            bad = [t for t in value if t not in VALID_SIGNAL_TYPES]
            if bad:
                raise ValueError(f"unknown signal type(s) {bad}; valid: {', '.join(sorted(VALID_SIGNAL_TYPES))}")
        return value

    @field_validator("default_controls")
    @classmethod
    def validate_default_controls(cls, value: Any) -> Any:
        if isinstance(value, list):
            bad = [t for t in value if t not in VALID_CONTROL_TYPES]
            if bad:
                raise ValueError(f"unknown control type(s) {bad}; valid: {', '.join(sorted(VALID_CONTROL_TYPES))}")
        return value

    @model_validator(mode="after")
    def validate_single_main_pool(self) -> "NetConfig":
        if self.pools:
            mains = [n for n, p in self.pools.items() if p.spec.type == "main"]
            if len(mains) > 1:
                raise ValueError(
                    f"at most one pool can be of type 'main' (the net's event loop); found {mains}")
            if "main" in self.pools and self.pools["main"].spec.type != "main":
                raise ValueError(
                    "the pool name 'main' is reserved for the event-loop pool (type 'main'); "
                    f"rename the {self.pools['main'].spec.type} pool")
        return self

    @field_serializer("dead_letter_callback", "error_callback", when_used="json")
    def serialize_dead_letter_callback(self, value: Any) -> Any:
        if isinstance(value, VarRef):
            return value.model_dump(by_alias=True)
        return serialize_callable(value)

    # -- where the net lives --------------------------------------------------------------

    @property
    def file_path(self) -> Path | None:
        """The file this config was loaded from, if any."""
        return self._file_path

    @property
    def project_root_path(self) -> Path:
        """``project_root_override`` (relative to the file's directory), else the file's
        directory, else the current directory."""
        base = self._file_path.parent if self._file_path is not None else Path.cwd()
        override = self.project_root_override
        if isinstance(override, str) and override:
            path = Path(override).expanduser()
            return path if path.is_absolute() else (base / path).resolve()
        return base

    # -- loading and writing (implemented in netrun.config.files) --------------------------

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        keep_symlinks: bool = False,
        data_overrides: dict[str, Any] | None = None,
        global_node_vars: Mapping[str, Any] | None = None,
        node_vars: Mapping[Any, Mapping[str, Any]] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> "NetConfig":
        """Load a ``.toml`` or ``.json`` net file (either layout), applying overrides.

        ``global_node_vars={"name": value}`` fills net-level variables;
        ``node_vars={"node": {"name": value}}`` (or ``{("subgraph", "node"): ...}``) fills
        node-level ones. Overridden variables must be declared in the file. Errors name
        the file, line, key and what was expected.
        """
        from netrun.config.files import load_net_config

        return load_net_config(path, keep_symlinks=keep_symlinks, data_overrides=data_overrides,
                               global_node_vars=global_node_vars, node_vars=node_vars)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, file: str | Path | None = None, **overrides: Any) -> "NetConfig":
        """A config from already-parsed data (either layout)."""
        from netrun.config.files import net_config_from_data

        return net_config_from_data(dict(data), file=file, **overrides)

    @classmethod
    def from_toml(cls, text: str, **overrides: Any) -> "NetConfig":
        """A config from TOML text (either layout)."""
        from netrun.config.files import parse_net_text

        return parse_net_text(text, "toml", **overrides)

    @classmethod
    def from_json(cls, text: str, **overrides: Any) -> "NetConfig":
        """A config from JSON text (either layout)."""
        from netrun.config.files import parse_net_text

        return parse_net_text(text, "json", **overrides)

    def to_data(self, layout: str = "graph") -> dict[str, Any]:
        """Plain data in ``layout`` ``"graph"`` (0.5.0 schema) or ``"dsl"`` (PROJECT_SPEC)."""
        from netrun.config.files import net_config_to_data

        return net_config_to_data(self, layout)

    def to_toml(self, layout: str | None = None) -> str:
        """TOML text; the layout defaults to the one the config was read in, else ``"dsl"``."""
        from netrun.config.files import dump_net_config

        return dump_net_config(self, "toml", layout)

    def to_json(self, layout: str | None = None) -> str:
        """JSON text; the layout defaults to the one the config was read in, else ``"graph"``."""
        from netrun.config.files import dump_net_config

        return dump_net_config(self, "json", layout)

    def to_file(self, path: str | Path, *, layout: str | None = None, preserve_comments: bool = True) -> None:
        """Write to ``path`` (format from the suffix). An existing TOML file is updated in
        place, keeping its comments where the content did not change."""
        from netrun.config.files import save_net_config

        save_net_config(self, path, layout=layout, preserve_comments=preserve_comments)

    # -- resolution and the engine --------------------------------------------------------

    @property
    def is_resolved(self) -> bool:
        return self._resolved

    def resolve(self, base_path: Path | None = None, *, resolve_imports: bool = True,
                environ: Mapping[str, str] | None = None, origins: Any = None) -> "NetConfig":
        """The config the runtime runs (see :mod:`netrun.config.resolve` for the steps).

        Errors (a missing environment variable, an unfilled placeholder, a factory that
        fails...) name the file and line when the config was loaded from a file. An
        :class:`~netrun.config.resolve.Origins` passed as ``origins`` is filled with where each
        node and edge of the resolved graph was written (nothing is added when this config is
        already resolved).
        """
        if self._resolved:
            return self
        try:
            return self._resolve(base_path, resolve_imports=resolve_imports, environ=environ,
                                 origins=origins)
        except ConfigError as exc:
            raise self._locate(exc)

    def _locate(self, exc: ConfigError) -> ConfigError:
        """Fill in the file/line of an error raised for a key path of this config."""
        source = self._source
        if source is None or exc.line is not None:
            return exc
        path = list(exc.path)
        if len(path) >= 3 and path[:2] == ["graph", "nodes"] and isinstance(path[2], str):
            names = [n.name for n in self.graph.nodes]
            if path[2] in names:  # resolution names nodes; the file indexes them
                path[2] = names.index(path[2])
        problem = source.locate(Problem(loc=path, msg=exc.message, type="resolve_error"))
        exc.path = tuple(problem.loc)  # the key path as written in the file
        exc.with_location(file=problem.file, line=problem.line, column=problem.column)
        return exc

    def _resolve(self, base_path: Path | None, *, resolve_imports: bool,
                 environ: Mapping[str, str] | None, origins: Any = None) -> "NetConfig":
        from netrun.config.resolve import resolve_graph

        cfg = self.resolve_env_vars(environ)
        global_vars = {}
        if cfg.node_vars:
            from netrun.config.resolve import LazyVars

            global_vars = LazyVars(cfg.node_vars)
        cfg = cfg.resolve_var_refs(global_vars)  # the graph is resolved per node, below
        root = (base_path or self.project_root_path)
        cfg._file_path = self._file_path
        updates: dict[str, Any] = {}
        for name in _PATH_FIELDS:
            value = getattr(cfg, name)
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                updates[name] = str((root / value).resolve())
        if cfg.storage is not None:
            updates["storage"] = cfg.storage.with_absolute_paths(root)
        pools = dict(cfg.pools or {})
        if "main" not in pools:
            pools = {"main": PoolConfig(spec=MainPoolConfig()), **pools}
        updates["pools"] = pools
        if resolve_imports:
            from netrun.config.imports import import_from_path

            for name in ("dead_letter_callback", "error_callback"):
                value = getattr(cfg, name)
                if isinstance(value, str):
                    updates[name] = import_from_path(value, root)
        resolved_graph = resolve_graph(cfg.graph, net_config=cfg, base_path=root,
                                       resolve_imports=resolve_imports, origins=origins)
        updates["graph"] = resolved_graph
        if cfg.output_queues is None:
            updates["output_queues"] = default_output_queues(resolved_graph)
        out = cfg.model_copy(update=updates)
        out._file_path = self._file_path
        out._source = self._source
        out._resolved = True
        return out

    def to_graph(self) -> Any:
        """The engine's ``netrun_sim.Graph`` for this net (resolving it first if needed)."""
        cfg = self if self._resolved else self.resolve(resolve_imports=False)
        return cfg.graph.to_graph()

    def node_funcs(self, node_name: str) -> Any:
        """``NodeFuncs(exec, start, stop, failed)`` of a node of the resolved net."""
        from netrun.config.resolve import resolve_node_funcs

        cfg = self if self._resolved else self.resolve(resolve_imports=False)
        node = cfg.graph.get_node(node_name)
        return resolve_node_funcs(node, cfg)  # type: ignore[arg-type]

    def get_node(self, node_name: str) -> Any:
        """The graph entry called ``node_name``."""
        return self.graph.get_node(node_name)

    @classmethod
    def from_graph(cls, graph: Any, **fields: Any) -> "NetConfig":
        """A config around an engine ``netrun_sim.Graph`` (net-level fields as keywords)."""
        return cls(graph=GraphConfig.from_graph(graph), **fields)


def default_output_queues(graph: GraphConfig) -> dict[str, OutputQueueConfig]:
    """One ``"node::port"`` queue per output port that no edge leaves (signals excluded)."""
    connected = {(e.source_node, e.source_port) for e in graph.edges}
    queues: dict[str, OutputQueueConfig] = {}
    for node in graph.nodes:
        if not isinstance(node, NodeConfig):
            continue
        for port in node.out_ports:
            if is_signal_port(port) or (node.name, port) in connected:
                continue
            queues[output_queue_name(node.name, port)] = OutputQueueConfig(ports=[(node.name, port)])
    return queues
