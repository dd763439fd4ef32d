"""Compatibility alias: the published netrun 0.5.0 module path of :mod:`netrun.storage.file_storage`."""

from netrun.storage.file_storage import *  # noqa: F401,F403
from netrun.storage.file_storage import __all__  # noqa: F401
