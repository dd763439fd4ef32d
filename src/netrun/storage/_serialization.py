"""Compatibility alias: the published netrun 0.5.0 module path of :mod:`netrun.storage.serialization`."""

from netrun.storage.serialization import *  # noqa: F401,F403
from netrun.storage.serialization import __all__  # noqa: F401
