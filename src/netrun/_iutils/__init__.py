"""``netrun._iutils``: the published 0.5.0 runtime's utility module paths, kept importable.

Each submodule re-exports the project's own implementation (``netrun.config.var_ref``,
``netrun.storage.hashing``, ``netrun.storage.serialization``); nothing lives here.
"""
