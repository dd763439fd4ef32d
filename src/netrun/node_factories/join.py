"""Alias of :mod:`netrun.factories.join` at the published runtime's module path."""

from netrun.factories.join import *  # noqa: F401,F403
from netrun.factories.join import __all__, __doc__ as _doc, _factory_desc  # noqa: F401

__doc__ = _doc
