"""Built-in node factories and the factory protocol.

Factories: :mod:`~netrun.factories.from_function` (a node from a Python function),
:mod:`~netrun.factories.broadcast` (fan-out), :mod:`~netrun.factories.join` (wait for
several inputs). They are also importable under the published runtime's paths
``netrun.node_factories.from_function`` (alias ``netrun.node_factories.function``),
``netrun.node_factories.broadcast`` and ``netrun.node_factories.join``.

The protocol helpers (the original implementation's ``netrun.factories`` names) live in
:mod:`netrun.config.factory` and are re-exported here.
"""

from __future__ import annotations

from netrun.config.errors import FactoryError, FactoryNotFoundError, InvalidFactoryError
from netrun.config.factory import (
    NodeConfigFactory,
    NodeFactory,
    NodeFactoryResult,
    NodeFuncs,
    create_node_from_factory,
    get_factory_info,
    is_json_serializable,
    load_factory,
    validate_factory_args,
)
from netrun.factories import broadcast, from_function, join
from netrun.factories.broadcast import CopyMode
from netrun.factories.from_function import Batch, node_from_function

__all__ = [
    "Batch",
    "CopyMode",
    "FactoryError",
    "FactoryNotFoundError",
    "InvalidFactoryError",
    "NodeConfigFactory",
    "NodeFactory",
    "NodeFactoryResult",
    "NodeFuncs",
    "broadcast",
    "create_node_from_factory",
    "from_function",
    "get_factory_info",
    "is_json_serializable",
    "join",
    "load_factory",
    "node_from_function",
    "validate_factory_args",
]
