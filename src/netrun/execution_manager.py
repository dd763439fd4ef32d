"""The published module path of the ExecutionManager (an alias of :mod:`netrun.execution`)."""

from netrun.execution import *
from netrun.execution import __all__  # noqa: F401
