"""The published 0.5.0 module path of the config models: ``from netrun.net.config import NetConfig``.

Everything here is :mod:`netrun.config` (the config layer); note that in this module, as in
0.5.0, ``NodeConfig`` is the pydantic node *definition* model.
"""

from netrun.config import *  # noqa: F401,F403
from netrun.config import __all__  # noqa: F401
