"""Original module path of the event history and node logs."""

from netrun.net.history import EventHistory, HistoryEntry
from netrun.net.logs import NodeLog, NodeLogEntry, NodeLogManager, StdoutCapture, capture_stdout

__all__ = ["EventHistory", "HistoryEntry", "NodeLog", "NodeLogEntry", "NodeLogManager",
           "StdoutCapture", "capture_stdout"]
