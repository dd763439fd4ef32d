"""Compatibility alias: the published netrun 0.5.0 module path of :mod:`netrun.storage.cache`."""

from netrun.storage.cache import *  # noqa: F401,F403
from netrun.storage.cache import __all__  # noqa: F401
