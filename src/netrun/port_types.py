"""Original module path of the port types."""

from netrun.net.port_types import PortTypeRegistry, PortTypeSpec, check_value_type

__all__ = ["PortTypeRegistry", "PortTypeSpec", "check_value_type"]
