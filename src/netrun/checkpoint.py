"""Checkpoint files (the original implementation's module path).

The implementation lives in :mod:`netrun.net.checkpoint`; ``net.save_checkpoint(path)`` and
``Net.load_checkpoint(path)`` are the usual entry points.
"""

from netrun.net.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointMetadata,
    LoadedCheckpoint,
    load_checkpoint_state,
    save_checkpoint_state,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointMetadata",
    "LoadedCheckpoint",
    "save_checkpoint_state",
    "load_checkpoint_state",
]
