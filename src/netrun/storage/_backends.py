"""Compatibility alias: the published netrun 0.5.0 module path of :mod:`netrun.storage.backends`."""

from netrun.storage.backends import *  # noqa: F401,F403
from netrun.storage.backends import __all__  # noqa: F401
