"""The published runtime's ``netrun.net.config._graph`` module path (alias)."""

from netrun.config.graph import *  # noqa: F401,F403
