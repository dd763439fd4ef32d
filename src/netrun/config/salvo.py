"""Salvo conditions as config: port states, packet counts, max salvos, terms, conditions.

These mirror the engine's ``SalvoCondition`` (``netrun_sim``) in the published 0.5.0 JSON
schema: tagged unions on ``type``. ``SalvoConditionConfig.ports`` may be left out (``None``),
meaning *all* ports of the condition's side, resolved when the node is resolved (the
PROJECT_SPEC DSL's "ports omitted = all input ports").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, NonNegativeInt, field_validator

from netrun.config._model import ConfigModel
from netrun.config.errors import ConfigError
from netrun.config.ports import _int_attr
from netrun.config.var_ref import Var, VarRef

__all__ = [
    "MaxSalvosConfig",
    "MaxSalvosFiniteConfig",
    "MaxSalvosInfiniteConfig",
    "PacketCountAllConfig",
    "PacketCountConfig",
    "PacketCountNConfig",
    "PortStateConfig",
    "PortStateEmptyConfig",
    "PortStateEqualsConfig",
    "PortStateEqualsOrGreaterThanConfig",
    "PortStateEqualsOrLessThanConfig",
    "PortStateFullConfig",
    "PortStateGreaterThanConfig",
    "PortStateLessThanConfig",
    "PortStateNonEmptyConfig",
    "PortStateNonFullConfig",
    "SalvoConditionConfig",
    "SalvoConditionTermAndConfig",
    "SalvoConditionTermConfig",
    "SalvoConditionTermFalseConfig",
    "SalvoConditionTermNotConfig",
    "SalvoConditionTermOrConfig",
    "SalvoConditionTermPortConfig",
    "SalvoConditionTermTrueConfig",
    "term_from_netrun_sim",
    "term_port_names",
]


def _plain(value: Any, what: str) -> Any:
    if isinstance(value, VarRef):
        raise ConfigError(
            f"{what} is still a reference ({value.describe()}); resolve the config first",
            value=value.describe(),
        )
    return value


# -- port states ---------------------------------------------------------------------------


class PortStateEmptyConfig(ConfigModel):
    """The port holds no packet."""

    type: Literal["empty"] = "empty"


class PortStateFullConfig(ConfigModel):
    """The port is at capacity (never true for an unbounded port)."""

    type: Literal["full"] = "full"


class PortStateNonEmptyConfig(ConfigModel):
    """The port holds at least one packet."""

    type: Literal["non_empty"] = "non_empty"


class PortStateNonFullConfig(ConfigModel):
    """The port is below capacity (always true for an unbounded port)."""

    type: Literal["non_full"] = "non_full"


class PortStateEqualsConfig(ConfigModel):
    """The port holds exactly ``value`` packets."""

    type: Literal["equals"] = "equals"
    value: Var[NonNegativeInt]


class PortStateLessThanConfig(ConfigModel):
    """The port holds fewer than ``value`` packets."""

    type: Literal["less_than"] = "less_than"
    value: Var[NonNegativeInt]


class PortStateGreaterThanConfig(ConfigModel):
    """The port holds more than ``value`` packets."""

    type: Literal["greater_than"] = "greater_than"
    value: Var[NonNegativeInt]


class PortStateEqualsOrLessThanConfig(ConfigModel):
    """The port holds at most ``value`` packets."""

    type: Literal["equals_or_less_than"] = "equals_or_less_than"
    value: Var[NonNegativeInt]


class PortStateEqualsOrGreaterThanConfig(ConfigModel):
    """The port holds at least ``value`` packets."""

    type: Literal["equals_or_greater_than"] = "equals_or_greater_than"
    value: Var[NonNegativeInt]


PortStateConfig = Annotated[
    Union[
        PortStateEmptyConfig,
        PortStateFullConfig,
        PortStateNonEmptyConfig,
        PortStateNonFullConfig,
        PortStateEqualsConfig,
        PortStateLessThanConfig,
        PortStateGreaterThanConfig,
        PortStateEqualsOrLessThanConfig,
        PortStateEqualsOrGreaterThanConfig,
    ],
    Field(discriminator="type"),
]

_SIMPLE_STATES = {
    "empty": "empty",
    "full": "full",
    "non_empty": "non_empty",
    "non_full": "non_full",
}


def _state_to_netrun_sim(state: Any) -> Any:
    import netrun_sim

    kind = state.type
    if kind in _SIMPLE_STATES:
        return getattr(netrun_sim.PortState, kind)()
    return getattr(netrun_sim.PortState, kind)(_plain(state.value, "a port state's value"))


_STATE_BY_KIND: dict[str, type] = {
    "empty": PortStateEmptyConfig,
    "full": PortStateFullConfig,
    "non_empty": PortStateNonEmptyConfig,
    "non_full": PortStateNonFullConfig,
    "equals": PortStateEqualsConfig,
    "less_than": PortStateLessThanConfig,
    "greater_than": PortStateGreaterThanConfig,
    "equals_or_less_than": PortStateEqualsOrLessThanConfig,
    "equals_or_greater_than": PortStateEqualsOrGreaterThanConfig,
}
_ENGINE_SIMPLE = {"Empty": "empty", "Full": "full", "NonEmpty": "non_empty", "NonFull": "non_full"}


def _state_from_netrun_sim(state: Any) -> Any:
    kind = getattr(state, "kind", None)
    if isinstance(kind, str) and hasattr(state, "value"):
        return _STATE_BY_KIND[kind](value=state.value)
    name = str(state).rsplit(".", 1)[-1]
    return _STATE_BY_KIND[_ENGINE_SIMPLE[name]]()


# -- packet counts and max salvos ----------------------------------------------------------


class PacketCountAllConfig(ConfigModel):
    """Take every packet waiting at the port."""

    type: Literal["all"] = "all"


class PacketCountNConfig(ConfigModel):
    """Take at most ``count`` packets (the oldest first)."""

    type: Literal["count"] = "count"
    count: Var[NonNegativeInt]


PacketCountConfig = Annotated[
    Union[PacketCountAllConfig, PacketCountNConfig], Field(discriminator="type")
]


def _packet_count_shorthand(value: Any) -> Any:
    """``"all"`` and a bare integer are accepted for a packet count."""
    if value == "all":
        return PacketCountAllConfig()
    if isinstance(value, int) and not isinstance(value, bool):
        return PacketCountNConfig(count=value)
    return value


class MaxSalvosInfiniteConfig(ConfigModel):
    """No limit on the number of salvos per epoch."""

    type: Literal["infinite"] = "infinite"


class MaxSalvosFiniteConfig(ConfigModel):
    """At most ``max`` salvos per epoch (input conditions must use 1)."""

    type: Literal["finite"] = "finite"
    max: Var[NonNegativeInt]


MaxSalvosConfig = Annotated[
    Union[MaxSalvosInfiniteConfig, MaxSalvosFiniteConfig], Field(discriminator="type")
]


# -- terms ---------------------------------------------------------------------------------


class SalvoConditionTermTrueConfig(ConfigModel):
    """Always true."""

    type: Literal["true"] = "true"


class SalvoConditionTermFalseConfig(ConfigModel):
    """Never true."""

    type: Literal["false"] = "false"


class SalvoConditionTermPortConfig(ConfigModel):
    """True when port ``port_name`` is in ``state``."""

    type: Literal["port"] = "port"
    port_name: Var[str]
    state: PortStateConfig


class SalvoConditionTermAndConfig(ConfigModel):
    """True when every sub-term is (an empty list is true)."""

    type: Literal["and"] = "and"
    terms: list["SalvoConditionTermConfig"]


class SalvoConditionTermOrConfig(ConfigModel):
    """True when some sub-term is (an empty list is false)."""

    type: Literal["or"] = "or"
    terms: list["SalvoConditionTermConfig"]


class SalvoConditionTermNotConfig(ConfigModel):
    """True when the sub-term is false."""

    type: Literal["not"] = "not"
    term: "SalvoConditionTermConfig"


SalvoConditionTermConfig = Annotated[
    Union[
        SalvoConditionTermTrueConfig,
        SalvoConditionTermFalseConfig,
        SalvoConditionTermPortConfig,
        SalvoConditionTermAndConfig,
        SalvoConditionTermOrConfig,
        SalvoConditionTermNotConfig,
    ],
    Field(discriminator="type"),
]

SalvoConditionTermAndConfig.model_rebuild()
SalvoConditionTermOrConfig.model_rebuild()
SalvoConditionTermNotConfig.model_rebuild()


def term_to_netrun_sim(term: Any) -> Any:
    """The engine's ``SalvoConditionTerm`` for a term config."""
    import netrun_sim

    T = netrun_sim.SalvoConditionTerm
    kind = term.type
    if kind == "true":
        return T.true_()
    if kind == "false":
        return T.false_()
    if kind == "port":
        return T.port(_plain(term.port_name, "a term's port name"), _state_to_netrun_sim(term.state))
    if kind == "and":
        return T.and_([term_to_netrun_sim(t) for t in term.terms])
    if kind == "or":
        return T.or_([term_to_netrun_sim(t) for t in term.terms])
    return T.not_(term_to_netrun_sim(term.term))


def term_from_netrun_sim(term: Any) -> Any:
    """A term config from the engine's ``SalvoConditionTerm``."""
    kind = term.kind
    if kind == "True":
        return SalvoConditionTermTrueConfig()
    if kind == "False":
        return SalvoConditionTermFalseConfig()
    if kind == "Port":
        return SalvoConditionTermPortConfig(
            port_name=term.get_port_name(), state=_state_from_netrun_sim(term.get_port_state())
        )
    if kind == "And":
        return SalvoConditionTermAndConfig(terms=[term_from_netrun_sim(t) for t in term.get_terms()])
    if kind == "Or":
        return SalvoConditionTermOrConfig(terms=[term_from_netrun_sim(t) for t in term.get_terms()])
    return SalvoConditionTermNotConfig(term=term_from_netrun_sim(term.get_inner()))


def term_port_names(term: Any) -> list[str]:
    """Every port name mentioned in a term, in first-mention order."""
    seen: dict[str, None] = {}

    def walk(t: Any) -> None:
        if t.type == "port":
            if isinstance(t.port_name, str):
                seen.setdefault(t.port_name, None)
        elif t.type in ("and", "or"):
            for sub in t.terms:
                walk(sub)
        elif t.type == "not":
            walk(t.term)

    walk(term)
    return list(seen)


# -- salvo conditions ----------------------------------------------------------------------


class SalvoConditionConfig(ConfigModel):
    """When a salvo fires (``term``), which packets it takes (``ports``), how often per epoch.

    ``ports`` maps port names to a packet count (``{"type": "all"}`` or ``{"type": "count",
    "count": n}``; the shorthands ``"all"``, ``n`` and a list of names are accepted too).
    ``None`` means every port of the condition's side, each taking all packets.
    """

    max_salvos: MaxSalvosConfig
    ports: dict[str, PacketCountConfig] | None = None
    term: SalvoConditionTermConfig

    @field_validator("ports", mode="before")
    @classmethod
    def _ports_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {value: PacketCountAllConfig()}
        if isinstance(value, (list, tuple)):
            return {name: PacketCountAllConfig() for name in value}
        if isinstance(value, dict):
            return {k: _packet_count_shorthand(v) for k, v in value.items()}
        return value

    @property
    def max_salvos_value(self) -> int | None:
        """The salvo limit, ``None`` for infinite."""
        ms = self.max_salvos
        if isinstance(ms, MaxSalvosFiniteConfig):
            return _plain(ms.max, "max_salvos")
        return None

    def max_salvos_limit(self) -> Any:
        """The salvo limit as stored (an int or an unresolved reference), ``None`` if infinite."""
        ms = self.max_salvos
        return ms.max if isinstance(ms, MaxSalvosFiniteConfig) else None

    def effective_ports(self, side_ports: list[str]) -> dict[str, Any]:
        """``ports``, or every name of ``side_ports`` taking all packets when ``ports`` is None."""
        if self.ports is None:
            return {name: PacketCountAllConfig() for name in side_ports}
        return self.ports

    def to_netrun_sim(self, side_ports: list[str] | None = None) -> Any:
        """The engine's ``SalvoCondition``. ``side_ports`` fills in an omitted ``ports``."""
        import netrun_sim

        if self.ports is None and side_ports is None:
            raise ConfigError(
                "this salvo condition's ports are 'all ports of the side'; pass side_ports "
                "(or resolve the node first)"
            )
        ports = self.effective_ports(side_ports or [])
        engine_ports: dict[str, Any] = {}
        for name, count in ports.items():
            if isinstance(count, PacketCountAllConfig):
                engine_ports[name] = netrun_sim.PacketCount.all()
            else:
                engine_ports[name] = netrun_sim.PacketCount.count(
                    _plain(count.count, "a packet count")
                )
        limit = self.max_salvos_value
        max_salvos = (
            netrun_sim.MaxSalvos.infinite() if limit is None else netrun_sim.MaxSalvos.finite(limit)
        )
        return netrun_sim.SalvoCondition(max_salvos, engine_ports, term_to_netrun_sim(self.term))

    @classmethod
    def from_netrun_sim(cls, condition: Any) -> "SalvoConditionConfig":
        """A config from the engine's ``SalvoCondition``."""
        limit = _int_attr(condition.max_salvos, "max")
        ports: dict[str, Any] = {}
        for name, count in condition.ports.items():
            n = _int_attr(count, "count")
            ports[name] = PacketCountAllConfig() if n is None else PacketCountNConfig(count=n)
        return cls(
            max_salvos=MaxSalvosInfiniteConfig()
            if limit is None
            else MaxSalvosFiniteConfig(max=limit),
            ports=ports,
            term=term_from_netrun_sim(condition.term),
        )
