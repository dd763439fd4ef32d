"""Compatibility alias: the published netrun 0.5.0 module of stored-value retrieval
(:func:`retrieve_value`), now in :mod:`netrun.storage.lazy`."""

from netrun.storage.lazy import load_stored_value, retrieve_value

__all__ = ["retrieve_value", "load_stored_value"]
