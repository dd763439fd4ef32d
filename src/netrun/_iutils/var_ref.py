"""0.5.0 path of ``VarRef`` / ``EnvVar`` and the var-resolvable model base."""

from __future__ import annotations

from netrun.config._model import EnvVarResolvableModel, VarResolvableModel
from netrun.config.var_ref import EnvVar, VarRef

__all__ = ["VarRef", "EnvVar", "VarResolvableModel", "EnvVarResolvableModel"]
