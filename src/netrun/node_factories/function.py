"""``netrun.node_factories.function``: the name the published runtime's documentation used
for :mod:`netrun.factories.from_function` (which the published package lacked)."""

from netrun.factories.from_function import *  # noqa: F401,F403
from netrun.factories.from_function import __all__, _factory_desc  # noqa: F401
