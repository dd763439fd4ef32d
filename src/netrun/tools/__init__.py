"""Tools around net files: actions (shell commands with template variables) and recipes.

Example::

    from netrun.tools import ActionConfig, ActionContext, execute_action_sync
    result = execute_action_sync(ActionConfig(id="hi", label="Hi", command="echo $NODE_NAME"),
                                 ActionContext(node_name="A"))
    assert result.stdout == "A\\n"
"""

from netrun.tools._execute import execute_action, execute_action_sync, execute_command, execute_command_sync
from netrun.tools._helpers import (
    as_config_data,
    find_node,
    get_action_settings,
    get_available_actions,
    get_node_actions,
    get_node_env,
    get_project_actions,
    get_recipes,
)
from netrun.tools._models import ActionConfig, ActionContext, ActionResult, RecipeConfig, RecipePrompt
from netrun.tools._recipes import RecipeError, execute_recipe, get_recipe_prompts, load_recipe_module
from netrun.tools._template import build_template_vars, resolve_template

__all__ = [
    "ActionConfig", "ActionContext", "ActionResult", "RecipeConfig", "RecipeError", "RecipePrompt",
    "as_config_data", "build_template_vars", "execute_action", "execute_action_sync", "execute_command",
    "execute_command_sync", "execute_recipe", "find_node", "get_action_settings", "get_available_actions",
    "get_node_actions", "get_node_env", "get_project_actions", "get_recipe_prompts", "get_recipes",
    "load_recipe_module", "resolve_template",
]
