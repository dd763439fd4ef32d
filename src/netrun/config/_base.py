"""The published runtime's ``netrun.net.config._base`` module path: ports, port states,
salvo terms, signals, controls and import helpers (aliases of :mod:`netrun.config`)."""

from netrun.config.imports import (  # noqa: F401
    _get_callable_import_path,
    _get_type_import_path,
    _import_from_file_path,
    _import_from_path,
    _is_file_path_ref,
)
from netrun.config.ports import *  # noqa: F401,F403
from netrun.config.salvo import *  # noqa: F401,F403
from netrun.config.signals import *  # noqa: F401,F403
