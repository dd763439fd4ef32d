"""The published runtime's ``netrun.net.config._nodes`` module path (aliases of
:mod:`netrun.config`): node variables, execution configs, nodes, subgraphs, edges."""

from netrun.config.errors import ConfigValidationError  # noqa: F401
from netrun.config.node_vars import *  # noqa: F401,F403
from netrun.config.nodes import *  # noqa: F401,F403
