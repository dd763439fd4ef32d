"""Original module path of the node contexts (``from netrun.context import NodeExecutionContext``)."""

from netrun.net.context import AsyncNodeExecutionContext, NodeExecutionContext, NodeFailureContext

__all__ = ["NodeExecutionContext", "NodeFailureContext", "AsyncNodeExecutionContext"]
