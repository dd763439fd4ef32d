"""The published runtime's ``netrun.net.config._net_config`` module path (aliases):
pools, output queues, ``NetConfig``."""

from netrun.config.files import _set_node_vars_in_data  # noqa: F401
from netrun.config.net_config import *  # noqa: F401,F403
from netrun.config.node_vars import _normalize_node_var_to_dict  # noqa: F401
from netrun.config.pools import *  # noqa: F401,F403
