"""Original module path of the dead-letter queue."""

from netrun.net.dlq import DeadLetterEntry, DeadLetterQueue

__all__ = ["DeadLetterEntry", "DeadLetterQueue"]
