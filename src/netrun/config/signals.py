"""Signal (output) and control (input) ports: names, types, generated ports and conditions.

A node that enables a *signal* type gets an output port ``__signal_<type>__`` on which the
runtime sends a :class:`SignalValue` when the event happens (epoch started, finished...).
A node that enables a *control* type gets an input port ``__control_<type>__``; a packet
arriving there makes the runtime act on the node (start an epoch, disable it...). Both come
with a salvo condition of the same name as the port. The names are reserved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from netrun.config.errors import ConfigError

if TYPE_CHECKING:
    from netrun.config.nodes import NodeExecutionConfig
    from netrun.config.ports import PortConfig
    from netrun.config.salvo import SalvoConditionConfig

__all__ = [
    "CONTROL_PORT_PREFIX",
    "CONTROL_PORT_SUFFIX",
    "CONTROL_TYPES",
    "ControlType",
    "EpochFailedSignalValue",
    "EpochSignalValue",
    "SIGNAL_PORT_PREFIX",
    "SIGNAL_PORT_SUFFIX",
    "SignalValue",
    "VALID_CONTROL_TYPES",
    "VALID_SIGNAL_TYPES",
    "control_port_name",
    "control_type_from_port",
    "generate_control_ports",
    "generate_control_salvo_conditions",
    "generate_signal_ports",
    "generate_signal_salvo_conditions",
    "is_control_port",
    "is_control_salvo_condition",
    "is_reserved_name",
    "is_signal_port",
    "resolve_effective_controls",
    "resolve_effective_signals",
    "signal_port_name",
    "signal_type_from_port",
    "validate_control_types",
    "validate_signal_types",
]

SIGNAL_PORT_PREFIX = "__signal_"
SIGNAL_PORT_SUFFIX = "__"
CONTROL_PORT_PREFIX = "__control_"
CONTROL_PORT_SUFFIX = "__"

#: Events a node can signal on an output port.
VALID_SIGNAL_TYPES: frozenset[str] = frozenset(
    {
        "epoch_started",
        "epoch_finished",
        "epoch_failed",
        "epoch_cancelled",
        "node_initialized",
        "node_closed",
    }
)


@dataclass(frozen=True)
class ControlType:
    """A control a node can accept: its name, the type of value it carries, what it does."""

    name: str
    value_type: type | None = None
    description: str = ""


#: Every control type, with the value type its packet must carry (``None``: no value).
CONTROL_TYPES: dict[str, ControlType] = {
    c.name: c
    for c in (
        ControlType("start_epoch", None, "Trigger a new epoch on a source node"),
        ControlType("cancel_epoch", str, "Cancel a specific running epoch by ID"),
        ControlType("cancel_all_epochs", None, "Cancel all running epochs"),
        ControlType("init_node", None, "Call the node's init function"),
        ControlType("close_node", None, "Call the node's close function"),
        ControlType("enable", None, "Enable a disabled node"),
        ControlType("disable", None, "Disable a node"),
        ControlType("set_epoch_count", int, "Set the node's epoch count"),
        ControlType("reset_epoch_count", None, "Reset the node's epoch count to 0"),
    )
}
VALID_CONTROL_TYPES: frozenset[str] = frozenset(CONTROL_TYPES)


@dataclass
class SignalValue:
    """The value sent on a signal port."""

    signal: str
    node_name: str
    timestamp: datetime | None = None

    def __post_init__(self) -> None:
        if self.timestamp is None:
            self.timestamp = datetime.now(timezone.utc)


@dataclass
class EpochSignalValue(SignalValue):
    """A signal about one epoch."""

    epoch_id: str = field(default="", kw_only=True)


@dataclass
class EpochFailedSignalValue(EpochSignalValue):
    """The ``epoch_failed`` signal: carries the error text."""

    error: str = field(default="", kw_only=True)


def signal_port_name(signal_type: str) -> str:
    """``"epoch_started"`` → ``"__signal_epoch_started__"``."""
    return f"{SIGNAL_PORT_PREFIX}{signal_type}{SIGNAL_PORT_SUFFIX}"


def control_port_name(control_type: str) -> str:
    """``"disable"`` → ``"__control_disable__"``."""
    return f"{CONTROL_PORT_PREFIX}{control_type}{CONTROL_PORT_SUFFIX}"


def is_signal_port(port_name: str) -> bool:
    """True for a ``__signal_<type>__`` name."""
    return (
        port_name.startswith(SIGNAL_PORT_PREFIX)
        and port_name.endswith(SIGNAL_PORT_SUFFIX)
        and len(port_name) > len(SIGNAL_PORT_PREFIX) + len(SIGNAL_PORT_SUFFIX)
    )


def is_control_port(port_name: str) -> bool:
    """True for a ``__control_<type>__`` name."""
    return (
        port_name.startswith(CONTROL_PORT_PREFIX)
        and port_name.endswith(CONTROL_PORT_SUFFIX)
        and len(port_name) > len(CONTROL_PORT_PREFIX) + len(CONTROL_PORT_SUFFIX)
    )


def is_reserved_name(name: str) -> bool:
    """True when ``name`` uses the reserved signal or control prefix."""
    return name.startswith(SIGNAL_PORT_PREFIX) or name.startswith(CONTROL_PORT_PREFIX)


def signal_type_from_port(port_name: str) -> str | None:
    """The signal type of a signal port name, else ``None``."""
    if not is_signal_port(port_name):
        return None
    return port_name[len(SIGNAL_PORT_PREFIX) : -len(SIGNAL_PORT_SUFFIX)]


def control_type_from_port(port_name: str) -> str | None:
    """The control type of a control port name, else ``None``."""
    if not is_control_port(port_name):
        return None
    return port_name[len(CONTROL_PORT_PREFIX) : -len(CONTROL_PORT_SUFFIX)]


def is_control_salvo_condition(salvo_condition_name: str) -> bool:
    """True for the salvo condition generated for a control port (same name as the port)."""
    return is_control_port(salvo_condition_name)


def validate_signal_types(signal_types: list[str]) -> None:
    """Raise :class:`ConfigError` for an unknown signal type, listing the valid ones."""
    for t in signal_types:
        if t not in VALID_SIGNAL_TYPES:
            raise ConfigError(
                f"unknown signal type {t!r}",
                value=t,
                expected="one of " + ", ".join(sorted(VALID_SIGNAL_TYPES)),
            )


def validate_control_types(control_types: list[str]) -> None:
    """Raise :class:`ConfigError` for an unknown control type, listing the valid ones."""
    for t in control_types:
        if t not in VALID_CONTROL_TYPES:
            raise ConfigError(
                f"unknown control type {t!r}",
                value=t,
                expected="one of " + ", ".join(sorted(VALID_CONTROL_TYPES)),
            )


def generate_signal_ports(signal_types: list[str]) -> "dict[str, PortConfig]":
    """One unbounded output port per signal type."""
    if not signal_types:
        return {}
    from netrun.config.ports import PortConfig

    return {signal_port_name(t): PortConfig() for t in signal_types}


def generate_control_ports(control_types: list[str]) -> "dict[str, PortConfig]":
    """One unbounded input port per control type."""
    if not control_types:
        return {}
    from netrun.config.ports import PortConfig

    return {control_port_name(t): PortConfig() for t in control_types}


def generate_signal_salvo_conditions(signal_types: list[str]) -> "dict[str, SalvoConditionConfig]":
    """Per signal port: an output condition of the same name, unlimited, sending when non-empty."""
    if not signal_types:
        return {}
    from netrun.config.salvo import (
        MaxSalvosInfiniteConfig,
        PacketCountAllConfig,
        PortStateNonEmptyConfig,
        SalvoConditionConfig,
        SalvoConditionTermPortConfig,
    )

    out = {}
    for t in signal_types:
        name = signal_port_name(t)
        out[name] = SalvoConditionConfig(
            max_salvos=MaxSalvosInfiniteConfig(),
            ports={name: PacketCountAllConfig()},
            term=SalvoConditionTermPortConfig(port_name=name, state=PortStateNonEmptyConfig()),
        )
    return out


def generate_control_salvo_conditions(
    control_types: list[str],
) -> "dict[str, SalvoConditionConfig]":
    """Per control port: an input condition of the same name taking its packets when non-empty."""
    if not control_types:
        return {}
    from netrun.config.salvo import (
        MaxSalvosFiniteConfig,
        PacketCountAllConfig,
        PortStateNonEmptyConfig,
        SalvoConditionConfig,
        SalvoConditionTermPortConfig,
    )

    out = {}
    for t in control_types:
        name = control_port_name(t)
        out[name] = SalvoConditionConfig(
            max_salvos=MaxSalvosFiniteConfig(max=1),
            ports={name: PacketCountAllConfig()},
            term=SalvoConditionTermPortConfig(port_name=name, state=PortStateNonEmptyConfig()),
        )
    return out


def _effective(value: Any, default: list[str]) -> list[str]:
    return list(default) if value is None else list(value)


def resolve_effective_signals(
    execution_config: "NodeExecutionConfig | None", default_signals: list[str]
) -> list[str]:
    """The node's signal types: its own list if set (``[]`` opts out), else the net default."""
    return _effective(getattr(execution_config, "signals", None), default_signals)


def resolve_effective_controls(
    execution_config: "NodeExecutionConfig | None", default_controls: list[str]
) -> list[str]:
    """The node's control types: its own list if set (``[]`` opts out), else the net default."""
    return _effective(getattr(execution_config, "controls", None), default_controls)
