"""0.5.0 path of ``HashMethod`` and ``hash`` (see :mod:`netrun.storage.hashing`)."""

from __future__ import annotations

from typing import Any

from netrun.storage.hashing import HashMethod, code_fingerprint, hash_bytes, stable_hash

__all__ = ["HashMethod", "hash", "hash_bytes", "stable_hash", "code_fingerprint"]


def hash(value: Any, method: HashMethod | str = HashMethod.blake2b) -> str:  # noqa: A001 - 0.5.0's name
    """Hex digest of ``value``: raw bytes are hashed as they are, anything else through its
    stable canonical encoding (equal dicts and sets hash alike whatever their order)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return hash_bytes(bytes(value), method)
    return stable_hash(value, method)
