"""Reading actions, recipes and node environments out of a net config.

These work on the config as plain data in the published 0.5.0 layout (``graph.nodes`` list,
``extra.ui``...), which is what ``NetConfig.model_dump(mode="json")`` produces; a pydantic
model is dumped first. Project actions live in ``extra.ui.actions`` (net level, or graph
level for files written by older editors); node actions in a node's ``extra.ui.actions``;
a node action replaces a project action with the same id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netrun.tools._models import ActionConfig, RecipeConfig

__all__ = [
    "as_config_data",
    "find_node",
    "get_action_settings",
    "get_available_actions",
    "get_node_actions",
    "get_node_env",
    "get_project_actions",
    "get_recipes",
]


def as_config_data(config: Any) -> dict[str, Any]:
    """A config as plain data: pydantic models are dumped, mappings copied."""
    if hasattr(config, "model_dump"):
        return config.model_dump(mode="json", by_alias=True)
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"expected a NetConfig or a mapping, got {type(config).__name__}")


def _ui(extra: Any) -> dict[str, Any]:
    if not isinstance(extra, Mapping):
        return {}
    ui = extra.get("ui")
    return ui if isinstance(ui, Mapping) else {}


def find_node(data: Mapping[str, Any], node_name: str) -> dict[str, Any] | None:
    """The node entry named ``node_name`` in ``graph.nodes``, or None."""
    for node in (data.get("graph") or {}).get("nodes") or []:
        if isinstance(node, Mapping) and node.get("name") == node_name:
            return dict(node)
    return None


def _actions(raw: Any, where: str) -> list[ActionConfig]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{where}: 'actions' must be a list of {{id, label, command}} tables")
    actions = []
    for index, item in enumerate(raw):
        try:
            actions.append(ActionConfig.model_validate(item))
        except Exception as exc:
            raise ValueError(f"{where}: action #{index} is invalid (needs id, label and command): {exc}") from exc
    return actions


def get_project_actions(config: Any) -> list[ActionConfig]:
    """Actions defined for the whole project (``extra.ui.actions``)."""
    data = as_config_data(config)
    found = _actions(_ui(data.get("extra")).get("actions"), "extra.ui")
    graph_level = _actions(_ui((data.get("graph") or {}).get("extra")).get("actions"), "graph.extra.ui")
    known = {a.id for a in found}
    return found + [a for a in graph_level if a.id not in known]


def get_node_actions(config: Any, node_name: str) -> list[ActionConfig]:
    """Actions defined on one node (``extra.ui.actions`` of that node)."""
    data = as_config_data(config)
    node = find_node(data, node_name)
    if node is None:
        raise KeyError(f"node {node_name!r} is not in the config")
    return _actions(_ui(node.get("extra")).get("actions"), f"node {node_name!r} extra.ui")


def get_available_actions(config: Any, node_name: str | None = None) -> list[ActionConfig]:
    """Project actions merged with the node's (the node's win on the same id)."""
    project = get_project_actions(config)
    if node_name is None:
        return project
    node_actions = get_node_actions(config, node_name)
    overridden = {a.id for a in node_actions}
    return [a for a in project if a.id not in overridden] + node_actions


def _var_value(var: Any) -> str | None:
    if isinstance(var, Mapping):
        value = var.get("value")
    else:
        value = var
    if value is None or isinstance(value, Mapping):  # unfilled placeholder or an unresolved $env
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def get_node_env(config: Any, node_name: str) -> dict[str, str]:
    """Environment of a node's actions: global node-variable values, then the node's own,
    then the legacy ``extra.ui.env`` of the node (later wins)."""
    data = as_config_data(config)
    node = find_node(data, node_name)
    if node is None:
        raise KeyError(f"node {node_name!r} is not in the config")
    env: dict[str, str] = {}
    for name, var in (data.get("node_vars") or {}).items():
        if (value := _var_value(var)) is not None:
            env[name] = value
    for name, var in ((node.get("execution_config") or {}).get("node_vars") or {}).items():
        if (value := _var_value(var)) is not None:
            env[name] = value
    env.update({k: str(v) for k, v in (_ui(node.get("extra")).get("env") or {}).items()})
    return env


def get_action_settings(config: Any) -> dict[str, Any]:
    """The project-wide action settings, camelCase keys for the UI."""
    ui = _ui(as_config_data(config).get("extra"))
    return {
        "env": dict(ui.get("env") or {}),
        "defaultCmd": ui.get("defaultCmd"),
        "projectRoot": ui.get("projectRoot"),
    }


def get_recipes(config: Any) -> dict[str, RecipeConfig]:
    """Recipes by name, from ``recipes`` (top level) or ``extra.recipes`` / ``extra.ui.recipes``."""
    data = as_config_data(config)
    extra = data.get("extra") or {}
    raw: dict[str, Any] = {}
    for source in (_ui(extra).get("recipes"), extra.get("recipes") if isinstance(extra, Mapping) else None,
                   data.get("recipes")):
        if isinstance(source, Mapping):
            raw.update(source)
    recipes = {}
    for name, item in raw.items():
        try:
            recipes[name] = RecipeConfig.model_validate(item)
        except Exception as exc:
            raise ValueError(f"recipe {name!r} is invalid (needs a 'path'): {exc}") from exc
    return recipes
