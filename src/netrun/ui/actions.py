"""Actions and recipes of a net, run for the editor through :mod:`netrun.tools`.

Actions are shell commands from ``extra.ui.actions`` (net or node); they run with the
variables ``netrun actions run`` gives them (``NODE_NAME``, ``NET_FILE_PATH``,
``PROJECT_ROOT``, the node's variables...). Recipes are Python files that rewrite the
config; their result is validated into a ``NetConfig`` before the editor takes it, and a
recipe file must lie under the project root.
"""

from __future__ import annotations

import json
from typing import Any

from netrun.config import NetConfig
from netrun.tools import (
    ActionContext,
    execute_action,
    find_node,
    get_action_settings,
    get_available_actions,
    get_node_env,
    get_recipe_prompts,
    get_recipes,
)
from netrun.tools import execute_recipe as _execute_recipe
from netrun.ui.documents import load_config
from netrun.ui.errors import ActionNotFoundError
from netrun.ui.project import ProjectRoot

__all__ = ["list_actions", "list_recipes", "recipe_prompts", "run_action", "run_recipe"]


def _check_node(data: dict[str, Any], node: str | None) -> None:
    if node is not None and find_node(data, node) is None:
        raise ActionNotFoundError(f"node {node!r} is not in the net; pick a node that exists", node=node)


def list_actions(data: dict[str, Any], node: str | None = None) -> list[dict[str, Any]]:
    """The actions available (for ``node``: the project's merged with the node's)."""
    _check_node(data, node)
    return [a.model_dump(mode="json") for a in get_available_actions(data, node)]


def _context(root: ProjectRoot, rel: str | None, data: dict[str, Any], node: str | None) -> ActionContext:
    cfg = load_config(root, rel, data)
    settings = get_action_settings(data)
    project_root = settings.get("projectRoot")
    if project_root:
        project_root = str(root.resolve(cfg.project_root_path / project_root))
    else:
        project_root = str(cfg.project_root_path)
    node_data = find_node(data, node) if node else None
    return ActionContext(
        node_name=node,
        net_file_path=str(root.net_file(rel)) if rel else None,
        project_root=project_root,
        default_cmd=settings.get("defaultCmd"),
        env={k: str(v) for k, v in (settings.get("env") or {}).items()},
        node_env=get_node_env(data, node) if node else {},
        node_config=json.dumps(node_data) if node_data is not None else None,
    )


async def run_action(root: ProjectRoot, rel: str | None, data: dict[str, Any], action_id: str,
                     node: str | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Run one action; returns the ``ActionResult`` as JSON (a failing command is a result
    with ``success: false``, not an error)."""
    _check_node(data, node)
    actions = {a.id: a for a in get_available_actions(data, node)}
    if action_id not in actions:
        known = ", ".join(sorted(actions)) or "none"
        raise ActionNotFoundError(
            f"action {action_id!r} is not defined{f' for node {node!r}' if node else ''}; known actions: {known}",
            action=action_id,
        )
    result = await execute_action(actions[action_id], _context(root, rel, data, node), timeout)
    return result.model_dump(mode="json")


def list_recipes(data: dict[str, Any]) -> dict[str, Any]:
    """Recipes by name: ``{name: {path, description}}``."""
    return {name: r.model_dump(mode="json") for name, r in get_recipes(data).items()}


def _recipe_path(root: ProjectRoot, rel: str | None, data: dict[str, Any], name: str) -> str:
    recipes = get_recipes(data)
    if name not in recipes:
        known = ", ".join(sorted(recipes)) or "none"
        raise ActionNotFoundError(f"recipe {name!r} is not defined; known recipes: {known}", recipe=name)
    base = load_config(root, rel, data).project_root_path
    return str(root.resolve(base / recipes[name].path))


def recipe_prompts(root: ProjectRoot, rel: str | None, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The inputs a recipe asks for."""
    path = _recipe_path(root, rel, data, name)
    return [p.model_dump(mode="json") for p in get_recipe_prompts(path, data)]


def run_recipe(root: ProjectRoot, rel: str | None, data: dict[str, Any], name: str,
               inputs: dict[str, Any]) -> dict[str, Any]:
    """Run a recipe: ``{"config": new data (graph layout, validated), "stdout": text}``.
    A result that is not a valid net raises ``ConfigValidationFailed`` listing why."""
    path = _recipe_path(root, rel, data, name)
    new_data, stdout = _execute_recipe(path, data, inputs)
    cfg = NetConfig.from_data(new_data, file=root.net_file(rel) if rel else None)
    return {"config": cfg.to_data("graph"), "stdout": stdout}
