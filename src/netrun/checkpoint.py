"""Checkpoint files (the original implementation's module path).

The implementation lives in :mod:`netrun.net.checkpoint`; ``net.save_checkpoint(path)`` and
``Net.load_checkpoint(path)`` are the usual entry points.
"""

from netrun.net.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointMetadata,
    LoadedCheckpoint,
    PacketState,
    RestoredException,
    deserialize_packet_location,
    get_all_packet_states,
    load_checkpoint_state,
    restore_packets_to_net,
    save_checkpoint_state,
    serialize_packet_location,
)

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointMetadata",
    "LoadedCheckpoint",
    "save_checkpoint_state",
    "load_checkpoint_state",
    "PacketState",
    "RestoredException",
    "serialize_packet_location",
    "deserialize_packet_location",
    "get_all_packet_states",
    "restore_packets_to_net",
]
