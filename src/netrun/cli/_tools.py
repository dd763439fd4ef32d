"""``netrun actions list|run`` and ``netrun recipes list|run``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from netrun.config import NetConfig
from netrun.tools import (
    ActionContext,
    execute_action_sync,
    execute_recipe,
    get_action_settings,
    get_available_actions,
    get_node_env,
    get_recipe_prompts,
    get_recipes,
)
from netrun.tools._helpers import as_config_data
from netrun.cli._common import (
    CommandFailed,
    ConfigOption,
    JsonOption,
    console,
    emit,
    fail,
    find_net_file,
    guarded,
    load_config,
    require_node,
)

actions_app = typer.Typer(help="Shell actions defined in the net file (extra.ui.actions).", no_args_is_help=True)
recipes_app = typer.Typer(help="Recipes: Python scripts that transform the net file.", no_args_is_help=True)


def _check_node(cfg: NetConfig, node: Optional[str]) -> None:
    if node is not None:
        require_node(cfg, node)


@actions_app.command("list")
def actions_list(config: Optional[Path] = ConfigOption,
                 node: Optional[str] = typer.Option(None, "--node", "-n", help="Include this node's actions."),
                 as_json: bool = JsonOption) -> None:
    """List the actions (project-wide, plus a node's when --node is given)."""
    with guarded(as_json):
        cfg = load_config(find_net_file(config))
        _check_node(cfg, node)
        actions = [a.model_dump() for a in get_available_actions(cfg, node)]

        def human() -> None:
            table = Table("id", "label", "command")
            for a in actions:
                table.add_row(a["id"], a["label"], a["command"])
            console.print(table)

        emit(as_json, {"actions": actions}, human)


@actions_app.command("run")
def actions_run(action_id: str = typer.Argument(..., help="The action's id."),
                node: Optional[str] = typer.Argument(None, help="Run it for this node."),
                config: Optional[Path] = ConfigOption,
                timeout: float = typer.Option(30.0, "--timeout", "-t", help="Seconds before the command is killed."),
                as_json: bool = JsonOption) -> None:
    """Run an action and show its output; the exit code is 1 when the command fails."""
    with guarded(as_json):
        path = find_net_file(config)
        cfg = load_config(path)
        _check_node(cfg, node)
        actions = {a.id: a for a in get_available_actions(cfg, node)}
        if action_id not in actions:
            raise CommandFailed(f"no action {action_id!r}; available: {', '.join(actions) or '(none)'}")
        settings = get_action_settings(cfg)
        node_data = None
        if node is not None:
            node_data = next(n for n in as_config_data(cfg)["graph"]["nodes"] if n.get("name") == node)
        context = ActionContext(
            node_name=node, net_file_path=str(path), project_root=str(cfg.project_root_path),
            default_cmd=settings["defaultCmd"], env=settings["env"],
            node_env=get_node_env(cfg, node) if node else {},
            node_config=json.dumps(node_data, sort_keys=True) if node_data else None,
        )
        result = execute_action_sync(actions[action_id], context, timeout=timeout)
        if not result.success:
            fail(as_json, CommandFailed(result.error or f"action {action_id!r} exited with {result.exit_code}",
                                        result=result.model_dump()))

        def human() -> None:
            console.out(result.stdout, end="")
            if result.stderr:
                console.out(result.stderr, end="")

        emit(as_json, {"result": result.model_dump()}, human)


@recipes_app.command("list")
def recipes_list(config: Optional[Path] = ConfigOption, as_json: bool = JsonOption) -> None:
    """List the recipes of the net file."""
    with guarded(as_json):
        cfg = load_config(find_net_file(config))
        recipes = {name: r.model_dump() for name, r in get_recipes(cfg).items()}
        emit(as_json, {"recipes": recipes},
             lambda: [console.print(f"[bold]{n}[/]  {r['path']}  {r.get('description') or ''}") for n, r in recipes.items()])


@recipes_app.command("run")
def recipes_run(name: str = typer.Argument(...), config: Optional[Path] = ConfigOption,
                inputs: Optional[str] = typer.Option(None, "--inputs", "-i", help="The recipe's inputs as JSON."),
                output: Optional[Path] = typer.Option(None, "--output", "-o",
                                                      help="Write the new net here (default: print it)."),
                as_json: bool = JsonOption) -> None:
    """Run a recipe; without --inputs, show the inputs it asks for and exit 1."""
    with guarded(as_json):
        path = find_net_file(config)
        cfg = load_config(path)
        recipes = get_recipes(cfg)
        if name not in recipes:
            raise CommandFailed(f"no recipe {name!r}; available: {', '.join(recipes) or '(none)'}")
        recipe_path = Path(recipes[name].path)
        if not recipe_path.is_absolute():
            recipe_path = cfg.project_root_path / recipe_path
        data = as_config_data(cfg)
        if inputs is None:
            prompts = [p.model_dump() for p in get_recipe_prompts(recipe_path, data)]
            raise CommandFailed(f"recipe {name!r} needs inputs; pass them with --inputs JSON", prompts=prompts)
        try:
            given = json.loads(inputs)
        except json.JSONDecodeError as exc:
            raise CommandFailed(f"--inputs is not valid JSON: {exc}") from exc
        new_data, stdout = execute_recipe(recipe_path, data, given)
        try:
            new_cfg = NetConfig.model_validate(new_data)
        except Exception as exc:
            raise CommandFailed(f"recipe {name!r} produced an invalid net: {exc}") from exc
        if output is not None:
            new_cfg.to_file(output)
        emit(as_json, {"config": new_cfg.model_dump(mode="json", exclude_defaults=True), "stdout": stdout,
                       "output": str(output) if output else None},
             lambda: console.print(f"wrote {output}") if output else console.print_json(
                 data=new_cfg.model_dump(mode="json", exclude_defaults=True)))
