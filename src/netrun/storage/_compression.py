"""Compatibility alias: the published netrun 0.5.0 module path of :mod:`netrun.storage.compression`."""

from netrun.storage.compression import *  # noqa: F401,F403
from netrun.storage.compression import __all__  # noqa: F401
