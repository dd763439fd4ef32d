"""Node definitions: ports, salvo conditions, execution settings, factories; edges; subgraphs.

The field names follow the published 0.5.0 JSON schema. PROJECT_SPEC's names are accepted
as aliases where they differ: ``start_node_func``/``stop_node_func``/``exec_failed_node_func``
for ``init_node_func``/``close_node_func``/``on_node_failure``, ``pool`` (a name or a list)
for ``pools``, ``capture_stdout``/``echo_stdout`` for ``capture_prints``/``print_echo_stdout``.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Callable, Literal, Union

from pydantic import (
    AliasChoices,
    Discriminator,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Tag,
    field_serializer,
    PrivateAttr,
    field_validator,
    model_validator,
)

from netrun.config._model import ConfigModel
from netrun.config.errors import ConfigError, Problem
from netrun.config.imports import _get_callable_import_path
from netrun.config.node_vars import NodeVariable
from netrun.config.ports import PortConfig
from netrun.config.salvo import (
    MaxSalvosFiniteConfig,
    PacketCountAllConfig,
    PortStateNonEmptyConfig,
    SalvoConditionConfig,
    SalvoConditionTermAndConfig,
    SalvoConditionTermPortConfig,
    SalvoConditionTermTrueConfig,
    term_port_names,
)
from netrun.config.signals import (
    VALID_CONTROL_TYPES,
    VALID_SIGNAL_TYPES,
    is_control_port,
    is_reserved_name,
    is_signal_port,
)
from netrun.config.var_ref import Var, VarRef
from netrun.storage.config import NodeStorageConfig

__all__ = [
    "ALLOCATION_METHODS",
    "DependencyRequestConfig",
    "EdgeConfig",
    "ExposedPortConfig",
    "GraphNodeConfig",
    "NodeConfig",
    "NodeExecutionConfig",
    "NodeExecutionFunc",
    "NodeStartFunc",
    "NodeStopFunc",
    "OnNodeFailureFunc",
    "PacketID",
    "PortRefConfig",
    "SubgraphConfig",
    "default_in_salvo_conditions",
    "default_out_salvo_conditions",
    "serialize_callable",
]

#: Type names of the node functions (any callable; the published runtime's aliases).
NodeExecutionFunc = Callable
NodeStartFunc = Callable
NodeStopFunc = Callable
OnNodeFailureFunc = Callable
PacketID = str

#: Worker selection methods for a node listing several pools.
ALLOCATION_METHODS = ("round-robin", "random", "least-busy")

_FuncField = Var[Union[Callable, str, None]]


#: Attribute set on functions a factory returned: they are not written to files (the
#: factory makes them again when the net is loaded).
FACTORY_MADE = "__netrun_factory_made__"


def serialize_callable(value: Any) -> Any:
    """A callable as its import path (for files); other values unchanged.

    Functions made by a node factory are written as ``None`` (left out): the node's
    ``factory``/``factory_args`` make them again.
    """
    if callable(value) and not isinstance(value, (str, type(None), VarRef)):
        if getattr(value, FACTORY_MADE, False):
            return None
        return _get_callable_import_path(value)
    return value


class NodeExecutionConfig(ConfigModel):
    """How a node runs: its functions, pools, retries, limits, variables, signals/controls.

    Fields left ``None`` inherit the net-level value (``NetConfig.retries`` etc.).
    """

    enabled: Var[bool] = True
    pools: Var[list[str]] = Field(
        default_factory=lambda: ["main"], validation_alias=AliasChoices("pools", "pool")
    )
    exec_node_func: _FuncField = None
    init_node_func: _FuncField = Field(
        default=None, validation_alias=AliasChoices("init_node_func", "start_node_func")
    )
    close_node_func: _FuncField = Field(
        default=None, validation_alias=AliasChoices("close_node_func", "stop_node_func")
    )
    on_node_failure: _FuncField = Field(
        default=None, validation_alias=AliasChoices("on_node_failure", "exec_failed_node_func")
    )
    defer_init: Var[bool] = False
    run_on_init: Var[bool] = False
    max_parallel_epochs: Var[PositiveInt | None] = None
    max_epochs: Var[int | None] = None
    rate_limit_per_second: Var[PositiveFloat | None] = None
    defer_net_actions: Var[bool | None] = None
    retries: Var[NonNegativeInt | None] = None
    retry_wait: Var[NonNegativeFloat | None] = None
    retry_backoff: Var[Annotated[float, Field(ge=1.0)] | None] = None
    retry_max_wait: Var[NonNegativeFloat | None] = None
    retry_jitter: Var[NonNegativeFloat | None] = None
    timeout: Var[PositiveFloat | None] = None
    capture_prints: Var[bool] = Field(
        default=True, validation_alias=AliasChoices("capture_prints", "capture_stdout")
    )
    print_flush_interval: Var[NonNegativeFloat] = 0.1
    print_buffer_max_size: Var[PositiveInt | None] = None
    print_echo_stdout: Var[bool | None] = Field(
        default=None, validation_alias=AliasChoices("print_echo_stdout", "echo_stdout")
    )
    pool_allocation_method: Var[Literal["round-robin", "random", "least-busy"] | None] = None
    pool_init_mode: Var[Literal["per_worker", "global"] | None] = None
    dead_letter_queue: Var[bool | None] = None
    node_vars: dict[str, NodeVariable] | None = None
    type_checking_enabled: Var[bool | None] = None
    propagate_exceptions: Var[bool | None] = None
    print_exceptions: Var[bool | None] = None
    storage: NodeStorageConfig | None = None
    signals: Var[list[str] | None] = None
    controls: Var[list[str] | None] = None

    @field_validator("pools", mode="before")
    @classmethod
    def _pool_shorthand(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("pool_allocation_method", mode="before")
    @classmethod
    def _allocation_spelling(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip().lower().replace("_", "-")
        return getattr(value, "value", value)  # an enum member

    @field_validator("signals")
    @classmethod
    def _check_signals(cls, value: Any) -> Any:
        if isinstance(value, list):
            bad = [t for t in value if t not in VALID_SIGNAL_TYPES]
            if bad:
                raise ValueError(
                    f"unknown signal type(s) {bad}; valid: {', '.join(sorted(VALID_SIGNAL_TYPES))}"
                )
        return value

    @field_validator("controls")
    @classmethod
    def _check_controls(cls, value: Any) -> Any:
        if isinstance(value, list):
            bad = [t for t in value if t not in VALID_CONTROL_TYPES]
            if bad:
                raise ValueError(
                    f"unknown control type(s) {bad}; valid: {', '.join(sorted(VALID_CONTROL_TYPES))}"
                )
        return value

    @field_serializer(
        "exec_node_func", "init_node_func", "close_node_func", "on_node_failure", when_used="json"
    )
    def serialize_func(self, value: Any) -> Any:
        if isinstance(value, VarRef):
            return value.model_dump(by_alias=True)
        return serialize_callable(value)

    # PROJECT_SPEC's names for the function fields.
    @property
    def start_node_func(self) -> Any:
        return self.init_node_func

    @property
    def stop_node_func(self) -> Any:
        return self.close_node_func

    @property
    def exec_failed_node_func(self) -> Any:
        return self.on_node_failure

    def func_fields(self) -> dict[str, Any]:
        """The four function slots by their field names."""
        return {
            "exec_node_func": self.exec_node_func,
            "init_node_func": self.init_node_func,
            "close_node_func": self.close_node_func,
            "on_node_failure": self.on_node_failure,
        }

    def resolve(self, project_root: Any = None) -> "NodeExecutionConfig":
        """A copy whose function import paths are replaced by the functions."""
        from netrun.config.imports import import_from_path

        changes = {}
        for name, value in self.func_fields().items():
            if isinstance(value, str):
                try:
                    changes[name] = import_from_path(value, project_root)
                except ConfigError as exc:
                    raise exc.with_location(path=("execution_config", name))
        return self.model_copy(update=changes) if changes else self


class DependencyRequestConfig(ConfigModel):
    """When a node (target of a dependency edge) requests data from upstream."""

    triggers: list[Literal["on_startup", "on_no_salvo_triggered"]] = Field(
        default_factory=lambda: ["on_startup"]
    )
    label: str = "main"

    def to_netrun_sim(self) -> Any:
        """The engine's ``DependencyRequestConfig``."""
        import netrun_sim

        T = netrun_sim.DependencyRequestTrigger
        triggers = [T.on_startup() if t == "on_startup" else T.on_no_salvo_triggered() for t in self.triggers]
        return netrun_sim.DependencyRequestConfig(triggers, self.label)


class PortRefConfig(ConfigModel):
    """One port of one node."""

    node_name: str
    port_type: Literal["input", "output"]
    port_name: str

    def to_netrun_sim(self) -> Any:
        import netrun_sim

        side = netrun_sim.PortType.Input if self.port_type == "input" else netrun_sim.PortType.Output
        return netrun_sim.PortRef(self.node_name, side, self.port_name)

    def __str__(self) -> str:
        return f"{self.node_name}.{self.port_name}"


def _split_port_text(text: Any, key: str) -> tuple[str, str]:
    if not isinstance(text, str) or "." not in text.strip(".") :
        raise ValueError(
            f"edge {key!r} must be 'Node.port' (node name, a dot, port name); got {text!r}"
        )
    node, _, port = text.rpartition(".")
    if not node or not port:
        raise ValueError(f"edge {key!r} must be 'Node.port'; got {text!r}")
    return node, port


class EdgeConfig(ConfigModel):
    """A connection from an output port to an input port.

    ``{"from": "A.out", "to": "B.in"}`` (PROJECT_SPEC) is accepted and becomes the four
    fields. ``dependency`` marks a dependency edge; ``meta`` is free-form (labels...).
    """

    source_node: str
    source_port: str
    target_node: str
    target_port: str
    dependency: bool = False
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_to_form(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("from" in data or "to" in data):
            data = dict(data)
            if "from" in data:
                data["source_node"], data["source_port"] = _split_port_text(data.pop("from"), "from")
            if "to" in data:
                data["target_node"], data["target_port"] = _split_port_text(data.pop("to"), "to")
        return data

    @property
    def source(self) -> PortRefConfig:
        return PortRefConfig(node_name=self.source_node, port_type="output", port_name=self.source_port)

    @property
    def target(self) -> PortRefConfig:
        return PortRefConfig(node_name=self.target_node, port_type="input", port_name=self.target_port)

    def __str__(self) -> str:
        return f"{self.source_node}.{self.source_port} -> {self.target_node}.{self.target_port}"

    def to_netrun_sim(self) -> Any:
        """The engine's ``Edge``."""
        import netrun_sim

        return netrun_sim.Edge(self.source.to_netrun_sim(), self.target.to_netrun_sim())

    @classmethod
    def from_netrun_sim(cls, edge: Any, *, dependency: bool = False) -> "EdgeConfig":
        return cls(
            source_node=edge.source.node_name,
            source_port=edge.source.port_name,
            target_node=edge.target.node_name,
            target_port=edge.target.port_name,
            dependency=dependency,
        )


def _ports_shorthand(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return {name: PortConfig() for name in value}
    return value


def default_in_salvo_conditions(in_ports: dict[str, PortConfig]) -> dict[str, SalvoConditionConfig]:
    """The input condition a node gets when it declares none.

    ``default``: every (non-control) input port non-empty, taking all their packets. A node
    without inputs gets a condition that is always true and takes nothing (a source); a node
    with only control ports gets none.
    """
    data_ports = [p for p in in_ports if not is_control_port(p)]
    if not data_ports:
        if in_ports:
            return {}
        return {
            "default": SalvoConditionConfig(
                max_salvos=MaxSalvosFiniteConfig(max=1), ports={}, term=SalvoConditionTermTrueConfig()
            )
        }
    terms = [
        SalvoConditionTermPortConfig(port_name=p, state=PortStateNonEmptyConfig()) for p in data_ports
    ]
    return {
        "default": SalvoConditionConfig(
            max_salvos=MaxSalvosFiniteConfig(max=1),
            ports={p: PacketCountAllConfig() for p in data_ports},
            term=terms[0] if len(terms) == 1 else SalvoConditionTermAndConfig(terms=terms),
        )
    }


def default_out_salvo_conditions(out_ports: dict[str, PortConfig]) -> dict[str, SalvoConditionConfig]:
    """``default``: one salvo per epoch, always allowed, carrying every (non-signal) output port."""
    data_ports = [p for p in out_ports if not is_signal_port(p)]
    if not data_ports:
        return {}
    return {
        "default": SalvoConditionConfig(
            max_salvos=MaxSalvosFiniteConfig(max=1),
            ports={p: PacketCountAllConfig() for p in data_ports},
            term=SalvoConditionTermTrueConfig(),
        )
    }


class NodeConfig(ConfigModel):
    """A node: ports, salvo conditions, execution settings, optionally built by a factory.

    Salvo conditions left ``None`` get defaults when the node is resolved
    (:func:`default_in_salvo_conditions`, :func:`default_out_salvo_conditions`).
    """

    _empty_means_none = frozenset({"execution_config"})

    type: Literal["node"] = "node"
    name: str = ""
    description: str | None = None
    in_ports: dict[str, PortConfig] = Field(default_factory=dict)
    out_ports: dict[str, PortConfig] = Field(default_factory=dict)
    in_salvo_conditions: dict[str, SalvoConditionConfig] | None = None
    out_salvo_conditions: dict[str, SalvoConditionConfig] | None = None
    execution_config: NodeExecutionConfig | None = None
    dependency_request: DependencyRequestConfig | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    factory: str | types.ModuleType | None = None
    factory_args: dict[str, Any] = Field(default_factory=dict)

    #: Set on the output of :meth:`resolve` (factory applied, defaults generated).
    _resolved: bool = PrivateAttr(default=False)

    @property
    def is_resolved(self) -> bool:
        return self._resolved

    @field_validator("in_ports", "out_ports", mode="before")
    @classmethod
    def _port_list_shorthand(cls, value: Any) -> Any:
        return _ports_shorthand(value)

    @model_validator(mode="after")
    def _normalize_execution_config(self) -> "NodeConfig":
        # An execution config with nothing but defaults means the same as none; keeping one
        # form makes file round trips exact (the DSL cannot tell them apart).
        if self.execution_config is not None and self.execution_config == _DEFAULT_EXEC:
            self.execution_config = None
        return self

    @field_serializer("factory")
    def serialize_factory(self, value: Any) -> Any:
        if isinstance(value, types.ModuleType):
            return value.__name__
        return value

    @field_serializer("factory_args", when_used="json")
    def _serialize_factory_args(self, value: dict[str, Any]) -> dict[str, Any]:
        return {k: _json_factory_arg(self.name, k, v) for k, v in value.items()}

    # -- queries --------------------------------------------------------------------------

    @property
    def exec_config(self) -> NodeExecutionConfig:
        """``execution_config``, or an all-defaults one."""
        return self.execution_config or NodeExecutionConfig()

    def data_in_ports(self) -> list[str]:
        """Input port names without control ports."""
        return [p for p in self.in_ports if not is_control_port(p)]

    def data_out_ports(self) -> list[str]:
        """Output port names without signal ports."""
        return [p for p in self.out_ports if not is_signal_port(p)]

    # -- validation -----------------------------------------------------------------------

    def validate(self, *, path: tuple[Any, ...] = ()) -> list[Problem]:  # type: ignore[override]
        """Problems inside this node: salvo conditions naming missing ports, wrong limits,
        empty or reserved names. Conditions left ``None`` are not checked (defaults are
        generated at resolve time).

        A factory node's ports are known only once it is resolved: before that, its salvo
        conditions are checked for everything but the ports they name; after
        (:meth:`resolve`, ``is_resolved``), against the resolved ports, which hold the
        factory's ports as well as the explicit ones.
        """
        check_ports = self.factory is None or self.is_resolved
        problems: list[Problem] = []
        if not self.name:
            problems.append(
                Problem(loc=[*path, "name"], msg="the node has no name", type="empty_name",
                        expected="a non-empty, unique node name")
            )
        for side, ports, conds in (
            ("in", self.in_ports, self.in_salvo_conditions),
            ("out", self.out_ports, self.out_salvo_conditions),
        ):
            for port in ports:
                if not port:
                    problems.append(Problem(loc=[*path, f"{side}_ports"], msg="a port has an empty name",
                                            type="empty_name", value=port))
            for cname, cond in (conds or {}).items():
                loc = [*path, f"{side}_salvo_conditions", cname]
                problems.extend(_check_condition(self.name, side, ports, cname, cond, loc,
                                                 check_ports=check_ports))
        return problems

    # -- engine conversion ----------------------------------------------------------------

    def to_netrun_sim(self) -> Any:
        """The engine's ``Node``. Conditions left ``None`` get their defaults here."""
        import netrun_sim

        ins = self.in_salvo_conditions
        if ins is None:
            ins = default_in_salvo_conditions(self.in_ports)
        outs = self.out_salvo_conditions
        if outs is None:
            outs = default_out_salvo_conditions(self.out_ports)
        data_in, data_out = self.data_in_ports(), self.data_out_ports()
        return netrun_sim.Node(
            self.name,
            in_ports={n: p.to_netrun_sim() for n, p in self.in_ports.items()},
            out_ports={n: p.to_netrun_sim() for n, p in self.out_ports.items()},
            in_salvo_conditions={n: c.to_netrun_sim(data_in) for n, c in ins.items()},
            out_salvo_conditions={n: c.to_netrun_sim(data_out) for n, c in outs.items()},
            dependency_request_config=(
                self.dependency_request.to_netrun_sim() if self.dependency_request else None
            ),
        )

    @classmethod
    def from_netrun_sim(cls, node: Any, **fields: Any) -> "NodeConfig":
        """A config from the engine's ``Node`` (extra fields such as ``execution_config``
        may be given as keywords)."""
        dep = node.dependency_request_config
        dep_cfg = None
        if dep is not None:
            dep_cfg = DependencyRequestConfig(
                triggers=["on_startup" if "Startup" in str(t) else "on_no_salvo_triggered" for t in dep.triggers],
                label=dep.label,
            )
        return cls(
            name=node.name,
            in_ports={n: PortConfig.from_netrun_sim(p) for n, p in node.in_ports.items()},
            out_ports={n: PortConfig.from_netrun_sim(p) for n, p in node.out_ports.items()},
            in_salvo_conditions={
                n: SalvoConditionConfig.from_netrun_sim(c) for n, c in node.in_salvo_conditions.items()
            },
            out_salvo_conditions={
                n: SalvoConditionConfig.from_netrun_sim(c) for n, c in node.out_salvo_conditions.items()
            },
            dependency_request=dep_cfg,
            **fields,
        )

    # -- resolution (see netrun.config.resolve) -------------------------------------------

    def resolve(self, net_config: Any = None, *, resolve_imports: bool = True) -> "NodeConfig | SubgraphConfig":
        """The node as the runtime uses it: factory applied, signal/control ports added,
        default salvo conditions generated, function import paths imported."""
        from netrun.config.resolve import resolve_node

        return resolve_node(self, net_config, resolve_imports=resolve_imports)

    @classmethod
    def from_factory(
        cls,
        factory: Any,
        args: dict[str, Any] | None = None,
        name: str | None = None,
        project_root: Any = None,
        net_config: Any = None,
    ) -> "NodeConfig":
        """A complete node from a factory: ports and conditions from its node config, and an
        execution config holding the functions it returns."""
        from netrun.config.factory import node_config_from_factory

        return node_config_from_factory(factory, args or {}, name=name, project_root=project_root,
                                        net_config=net_config)


_DEFAULT_EXEC = NodeExecutionConfig()


def _json_factory_arg(node: str, key: str, value: Any) -> Any:
    from netrun.config.factory import factory_arg_to_json

    return factory_arg_to_json(value, where=f"factory_args.{key} of node {node!r}")


def _check_condition(
    node: str, side: str, ports: dict[str, Any], cname: str, cond: SalvoConditionConfig, loc: list[Any],
    *, check_ports: bool = True,
) -> list[Problem]:
    problems: list[Problem] = []
    label = "input" if side == "in" else "output"
    known = ", ".join(ports) or "none"
    if not cname:
        problems.append(Problem(loc=loc, msg=f"an {label} salvo condition has an empty name",
                                type="empty_name"))
    if is_reserved_name(cname) and cname not in ports:
        problems.append(Problem(
            loc=loc, type="reserved_name", value=cname,
            msg=f"{label} salvo condition name {cname!r} uses a reserved prefix "
                "(__signal_/__control_)",
            expected="a name that does not start with __signal_ or __control_"))
    if side == "in" and cond.max_salvos_limit() != 1:
        problems.append(Problem(
            loc=[*loc, "max_salvos"], type="invalid_max_salvos",
            value=cond.max_salvos_limit() if cond.max_salvos_limit() is not None else "infinite",
            msg=f"input salvo condition {cname!r} of node {node!r} must fire once per epoch",
            expected="max_salvos = 1 (finite(1)) for input salvo conditions"))
    if not check_ports:
        return problems
    for port in (cond.ports or {}):
        if port not in ports:
            problems.append(Problem(
                loc=[*loc, "ports", port], type="unknown_port", value=port,
                msg=f"{label} salvo condition {cname!r} of node {node!r} takes packets from "
                    f"port {port!r}, {_why_not_usable(port)}",
                expected=f"one of the node's {label} ports: {known}"))
    for port in term_port_names(cond.term):
        if port not in ports:
            problems.append(Problem(
                loc=[*loc, "term"], type="unknown_port", value=port,
                msg=f"{label} salvo condition {cname!r} of node {node!r} tests port {port!r}, "
                    f"{_why_not_usable(port)}",
                expected=f"one of the node's {label} ports: {known}"))
    return problems


def _why_not_usable(port: str) -> str:
    """Why a salvo condition may not name ``port`` (a reserved or an unknown port)."""
    if is_control_port(port):
        return ("a control port: the runtime applies controls itself, so user salvo conditions "
                "cannot use it (send controls with net.send_control)")
    if is_signal_port(port):
        return "a signal port: the runtime sends signals itself, so user salvo conditions cannot use it"
    return "which the node does not have"


class ExposedPortConfig(ConfigModel):
    """A subgraph port exposed outside: which inner node/port it is."""

    internal_node: str
    internal_port: str
    rename: str | None = None


class SubgraphConfig(ConfigModel):
    """A group of nodes used as one: inline ``nodes`` or a ``path`` to a JSON/TOML file.

    Inner nodes are flattened into the graph with names ``"<subgraph>.<inner>"``; edges to
    the subgraph's exposed ports are rewired to the inner ports.
    """

    type: Literal["subgraph"] = "subgraph"
    name: str
    description: str | None = None
    nodes: list["GraphNodeConfig"] | None = None
    edges: list[EdgeConfig] = Field(default_factory=list)
    path: str | None = None
    exposed_in_ports: dict[str, ExposedPortConfig] = Field(default_factory=dict)
    exposed_out_ports: dict[str, ExposedPortConfig] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def validate_inline_or_path(self) -> "SubgraphConfig":
        if (self.nodes is None) == (self.path is None):
            raise ValueError(
                f"subgraph {self.name!r} needs exactly one of 'nodes' (inline) or 'path' (a file)"
            )
        return self


def _graph_node_tag(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("type", "node")
    return getattr(value, "type", "node")


#: A graph entry: a node, or a subgraph (``type = "subgraph"``); no ``type`` means a node.
GraphNodeConfig = Annotated[
    Union[Annotated[NodeConfig, Tag("node")], Annotated[SubgraphConfig, Tag("subgraph")]],
    Discriminator(_graph_node_tag),
]

SubgraphConfig.model_rebuild()
