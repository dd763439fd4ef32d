"""Recipes: Python files that transform a net config.

A recipe module defines ``run(config: dict, inputs: dict) -> dict`` and, optionally,
``get_prompts(config: dict) -> list[dict]`` describing the inputs it wants. The module is
loaded fresh on every call (edits take effect without a restart), under a private name so
it never shadows a real module.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
from pathlib import Path
from types import ModuleType
from typing import Any

from netrun.errors import NetrunRuntimeError
from netrun.tools._models import RecipePrompt

__all__ = ["RecipeError", "execute_recipe", "get_recipe_prompts", "load_recipe_module"]


class RecipeError(NetrunRuntimeError):
    """A recipe file is missing, fails to import, lacks ``run`` or returns something unusable."""


def load_recipe_module(path: str | Path) -> ModuleType:
    """Import the recipe file at ``path`` as a new module object (never cached)."""
    file = Path(path)
    if not file.is_file():
        raise RecipeError(f"recipe file {str(file)!r} does not exist; check the recipe's 'path'")
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(f"_netrun_recipe_{file.stem}_{digest}", file)
    if spec is None or spec.loader is None:
        raise RecipeError(f"recipe file {str(file)!r} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise RecipeError(f"recipe file {str(file)!r} failed to import: {exc!r}") from exc
    return module


def get_recipe_prompts(path: str | Path, config: dict[str, Any]) -> list[RecipePrompt]:
    """The inputs a recipe asks for (empty when it defines no ``get_prompts``)."""
    module = load_recipe_module(path)
    getter = getattr(module, "get_prompts", None)
    if getter is None:
        return []
    raw = getter(config)
    try:
        return [p if isinstance(p, RecipePrompt) else RecipePrompt.model_validate(p) for p in raw]
    except Exception as exc:
        raise RecipeError(f"recipe {str(path)!r}: get_prompts() returned invalid prompts: {exc}") from exc


def execute_recipe(path: str | Path, config: dict[str, Any], inputs: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Run a recipe and return ``(new_config, captured_stdout)``."""
    module = load_recipe_module(path)
    run = getattr(module, "run", None)
    if not callable(run):
        raise RecipeError(f"recipe {str(path)!r} defines no run(config, inputs) function")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            result = run(config, inputs)
        except Exception as exc:
            raise RecipeError(f"recipe {str(path)!r} failed: {exc!r}") from exc
    if not isinstance(result, dict):
        raise RecipeError(
            f"recipe {str(path)!r}: run() must return the new config as a dict, got {type(result).__name__}"
        )
    return result, buffer.getvalue()
