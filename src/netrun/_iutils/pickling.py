"""0.5.0 path of ``PicklingMethod``, ``pickle_data`` and ``unpickle_data``."""

from __future__ import annotations

from netrun.storage.serialization import PicklingMethod, pickle_data, unpickle_data

__all__ = ["PicklingMethod", "pickle_data", "unpickle_data"]
