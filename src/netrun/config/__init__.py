"""Net definitions: config models, the TOML/JSON DSL, ``when`` expressions, node variables,
and the node-factory protocol.

The models follow the published 0.5.0 schema (``netrun.net.config`` there; every name it
exported is exported here); PROJECT_SPEC's DSL layout loads into the same models.

>>> from netrun.config import NetConfig
>>> cfg = NetConfig.from_toml('[nodes.A]\\nout_ports = ["out"]\\n')
>>> cfg.graph.nodes[0].name
'A'
"""

from __future__ import annotations

from netrun.config._model import ConfigModel, EnvVarResolvableModel, VarResolvableModel
from netrun.config.errors import (
    ConfigError,
    ConfigFileError,
    ConfigValidationError,
    ConfigValidationFailed,
    ExpressionParseError,
    FactoryError,
    FactoryNotFoundError,
    ImportPathError,
    InvalidFactoryError,
    MissingEnvVarError,
    NodeVariableError,
    Problem,
    UnfilledPlaceholderError,
    UnknownNodeVariableError,
)
from netrun.config.expressions import (
    ExpressionLexer,
    ExpressionParser,
    Token,
    parse_when,
    term_to_when,
)
from netrun.config.factory import (
    NodeConfigFactory,
    NodeFactory,
    NodeFactoryResult,
    NodeFuncs,
    call_get_node_config,
    call_get_node_funcs,
    create_node_from_factory,
    get_factory_info,
    import_factory,
    is_json_serializable,
    load_factory,
    node_config_to_spec,
    node_spec_to_config,
    validate_factory_args,
)
from netrun.config.files import (
    detect_layout,
    load_net_config,
    save_net_config,
    update_toml_text,
)
from netrun.config.graph import GraphConfig
from netrun.config.imports import (
    _get_callable_import_path,
    _get_type_import_path,
    _import_from_file_path,
    _import_from_path,
    _is_file_path_ref,
    get_import_path,
    import_from_path,
    resolve_import_path,
)
from netrun.config.net_config import NetConfig, default_output_queues
from netrun.config.node_vars import (
    NodeVariable,
    NodeVarValue,
    _normalize_node_var_to_dict,
    merge_node_vars,
    resolve_node_vars,
)
from netrun.config.nodes import (
    DependencyRequestConfig,
    EdgeConfig,
    ExposedPortConfig,
    GraphNodeConfig,
    NodeConfig,
    NodeExecutionConfig,
    NodeExecutionFunc,
    NodeStartFunc,
    NodeStopFunc,
    OnNodeFailureFunc,
    PacketID,
    PortRefConfig,
    SubgraphConfig,
    default_in_salvo_conditions,
    default_out_salvo_conditions,
)
from netrun.config.pools import (
    DaskPoolConfig,
    MainPoolConfig,
    MultiprocessPoolConfig,
    OutputQueueConfig,
    PoolConfig,
    PoolSpecConfig,
    RemotePoolConfig,
    ThreadPoolConfig,
    output_queue_name,
)
from netrun.config.ports import (
    PortConfig,
    PortSlotSpecConfig,
    PortSlotSpecFiniteConfig,
    PortSlotSpecInfiniteConfig,
    PortTypeConfig,
    PortTypeSpec,
    resolve_port_type,
)
from netrun.config.resolve import LazyVars, resolve_node_funcs
from netrun.config.salvo import (
    MaxSalvosConfig,
    MaxSalvosFiniteConfig,
    MaxSalvosInfiniteConfig,
    PacketCountAllConfig,
    PacketCountConfig,
    PacketCountNConfig,
    PortStateConfig,
    PortStateEmptyConfig,
    PortStateEqualsConfig,
    PortStateEqualsOrGreaterThanConfig,
    PortStateEqualsOrLessThanConfig,
    PortStateFullConfig,
    PortStateGreaterThanConfig,
    PortStateLessThanConfig,
    PortStateNonEmptyConfig,
    PortStateNonFullConfig,
    SalvoConditionConfig,
    SalvoConditionTermAndConfig,
    SalvoConditionTermConfig,
    SalvoConditionTermFalseConfig,
    SalvoConditionTermNotConfig,
    SalvoConditionTermOrConfig,
    SalvoConditionTermPortConfig,
    SalvoConditionTermTrueConfig,
)
from netrun.config.signals import (
    CONTROL_PORT_PREFIX,
    CONTROL_PORT_SUFFIX,
    CONTROL_TYPES,
    SIGNAL_PORT_PREFIX,
    SIGNAL_PORT_SUFFIX,
    VALID_CONTROL_TYPES,
    VALID_SIGNAL_TYPES,
    ControlType,
    EpochFailedSignalValue,
    EpochSignalValue,
    SignalValue,
    control_port_name,
    control_type_from_port,
    generate_control_ports,
    generate_control_salvo_conditions,
    generate_signal_ports,
    generate_signal_salvo_conditions,
    is_control_port,
    is_control_salvo_condition,
    is_signal_port,
    resolve_effective_controls,
    resolve_effective_signals,
    signal_port_name,
    signal_type_from_port,
    validate_control_types,
    validate_signal_types,
)
from netrun.config.runtime import (
    RuntimeSetup,
    config_from_runtime,
    load_runtime_setup,
    runtime_setup,
)
from netrun.config.validation import load_net_definition, validate_config
from netrun.config.var_ref import EnvVar, Var, VarRef

# The published runtime's private helper names (exported there as well).
_generate_default_in_salvo_conditions = default_in_salvo_conditions
_generate_default_out_salvo_conditions = default_out_salvo_conditions
from netrun.config.files import _set_node_vars_in_data  # noqa: E402
from netrun.config import _base, _graph, _net_config, _nodes  # noqa: E402,F401  (0.5.0 module paths)

__all__ = [
    # models
    "ConfigModel", "VarResolvableModel", "EnvVarResolvableModel",
    "NetConfig", "GraphConfig", "NodeConfig", "SubgraphConfig", "GraphNodeConfig",
    "NodeExecutionConfig", "DependencyRequestConfig", "EdgeConfig", "PortRefConfig",
    "ExposedPortConfig", "NodeVariable", "NodeVarValue", "VarRef", "EnvVar", "Var",
    "PoolConfig", "PoolSpecConfig", "MainPoolConfig", "ThreadPoolConfig", "MultiprocessPoolConfig",
    "RemotePoolConfig", "DaskPoolConfig", "OutputQueueConfig",
    "PortConfig", "PortTypeConfig", "PortTypeSpec", "PortSlotSpecConfig",
    "PortSlotSpecFiniteConfig", "PortSlotSpecInfiniteConfig",
    "SalvoConditionConfig", "SalvoConditionTermConfig", "SalvoConditionTermTrueConfig",
    "SalvoConditionTermFalseConfig", "SalvoConditionTermPortConfig", "SalvoConditionTermAndConfig",
    "SalvoConditionTermOrConfig", "SalvoConditionTermNotConfig",
    "MaxSalvosConfig", "MaxSalvosFiniteConfig", "MaxSalvosInfiniteConfig",
    "PacketCountConfig", "PacketCountAllConfig", "PacketCountNConfig",
    "PortStateConfig", "PortStateEmptyConfig", "PortStateFullConfig", "PortStateNonEmptyConfig",
    "PortStateNonFullConfig", "PortStateEqualsConfig", "PortStateLessThanConfig",
    "PortStateGreaterThanConfig", "PortStateEqualsOrLessThanConfig",
    "PortStateEqualsOrGreaterThanConfig",
    "NodeExecutionFunc", "NodeStartFunc", "NodeStopFunc", "OnNodeFailureFunc", "PacketID",
    # signals and controls
    "SIGNAL_PORT_PREFIX", "SIGNAL_PORT_SUFFIX", "CONTROL_PORT_PREFIX", "CONTROL_PORT_SUFFIX",
    "VALID_SIGNAL_TYPES", "VALID_CONTROL_TYPES", "CONTROL_TYPES", "ControlType", "SignalValue",
    "EpochSignalValue", "EpochFailedSignalValue", "signal_port_name", "control_port_name",
    "is_signal_port", "is_control_port", "signal_type_from_port", "control_type_from_port",
    "is_control_salvo_condition", "generate_signal_ports", "generate_control_ports",
    "generate_signal_salvo_conditions", "generate_control_salvo_conditions",
    "resolve_effective_signals", "resolve_effective_controls", "validate_signal_types",
    "validate_control_types",
    # errors and problems
    "ConfigError", "ConfigFileError", "ConfigValidationError", "ConfigValidationFailed", "Problem",
    "ExpressionParseError", "MissingEnvVarError", "NodeVariableError", "UnfilledPlaceholderError",
    "UnknownNodeVariableError", "ImportPathError", "FactoryError", "FactoryNotFoundError",
    "InvalidFactoryError",
    # expressions
    "parse_when", "term_to_when", "ExpressionLexer", "ExpressionParser", "Token",
    # files, validation, resolution
    "load_net_config", "load_net_definition", "save_net_config", "update_toml_text",
    "detect_layout", "validate_config", "resolve_node_funcs", "LazyVars", "default_output_queues",
    "resolve_port_type", "merge_node_vars", "resolve_node_vars", "output_queue_name",
    "default_in_salvo_conditions", "default_out_salvo_conditions",
    # imports and factories
    "import_from_path", "resolve_import_path", "get_import_path",
    "NodeFactory", "NodeConfigFactory", "NodeFactoryResult", "NodeFuncs", "load_factory",
    "create_node_from_factory", "call_get_node_config", "call_get_node_funcs", "import_factory",
    "get_factory_info", "is_json_serializable", "validate_factory_args", "node_spec_to_config",
    "node_config_to_spec",
    # the runtime bridge
    "RuntimeSetup", "runtime_setup", "load_runtime_setup", "config_from_runtime",
]
