"""``netrun.core``: the published 0.5.0 runtime's convenience imports (its 16 names).

Here ``NodeConfig`` and ``PoolConfig`` are the *config models* (``netrun.config``), as in
0.5.0; ``netrun.net.NodeConfig`` / ``netrun.net.PoolConfig`` keep PROJECT_SPEC's runtime
option classes.
"""

from __future__ import annotations

from netrun.config import (
    EdgeConfig,
    EnvVar,
    GraphConfig,
    MaxSalvosFiniteConfig,
    NetConfig,
    NodeConfig,
    NodeExecutionConfig,
    OutputQueueConfig,
    PacketCountAllConfig,
    PoolConfig,
    PortConfig,
    PortStateNonEmptyConfig,
    SalvoConditionConfig,
    SalvoConditionTermConfig,
)
from netrun.net import Net, TargetInputSalvo

__all__ = [
    "Net", "TargetInputSalvo", "EnvVar",
    "NetConfig", "NodeConfig", "NodeExecutionConfig", "PoolConfig", "PortConfig", "EdgeConfig", "GraphConfig",
    "SalvoConditionConfig", "SalvoConditionTermConfig", "MaxSalvosFiniteConfig", "PacketCountAllConfig",
    "PortStateNonEmptyConfig", "OutputQueueConfig",
]
