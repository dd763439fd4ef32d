"""Built-in node factories at the published runtime's paths (aliases of
:mod:`netrun.factories`): ``from_function`` (also ``function``), ``broadcast``, ``join``."""

from netrun.node_factories import broadcast, from_function, function, join
from netrun.factories.from_function import Batch
from netrun.factories.broadcast import CopyMode

__all__ = ["Batch", "CopyMode", "broadcast", "from_function", "function", "join"]
