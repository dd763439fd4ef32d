"""The published module path of the ExecutionManager (an alias of :mod:`netrun.execution`)."""

from netrun.execution import *  # noqa: F401,F403
from netrun.execution import __all__  # noqa: F401
