"""Actions, templates and recipes."""

from __future__ import annotations

import sys
import textwrap

import pytest

from netrun.tools import (
    ActionConfig,
    ActionContext,
    RecipeError,
    build_template_vars,
    execute_action_sync,
    execute_command,
    execute_command_sync,
    execute_recipe,
    get_action_settings,
    get_available_actions,
    get_node_env,
    get_project_actions,
    get_recipe_prompts,
    get_recipes,
    resolve_template,
)

CONFIG = {
    "node_vars": {"model": {"type": "str", "value": "small"}, "placeholder": {"type": "str"}},
    "extra": {"ui": {"actions": [
        {"id": "hello", "label": "Hello", "command": "echo project"},
        {"id": "shared", "label": "Shared", "command": "echo from-project"},
    ], "env": {"STAGE": "dev"}, "defaultCmd": "python"}},
    "graph": {"nodes": [
        {"name": "A", "extra": {"ui": {"actions": [
            {"id": "shared", "label": "Shared", "command": "echo from-node"}], "env": {"EXTRA": "x"}}},
         "execution_config": {"node_vars": {"model": {"value": "large"}, "flag": {"type": "bool", "value": True}}}},
        {"name": "B"},
    ], "edges": []},
    "recipes": {"grow": {"path": "grow.py", "description": "adds a node"}},
}


def test_resolve_template_skips_single_quotes_and_unknown_names():
    assert resolve_template("echo $A ${A}x '$A' $B", {"A": "1"}) == "echo 1 1x '$A' $B"
    # $NAME stops at the first non-identifier character
    assert resolve_template("$A.txt $AB", {"A": "f", "AB": "g"}) == "f.txt g"


def test_template_vars_precedence_builtins_env_node_env(tmp_path):
    net_file = tmp_path / "demo.netrun.toml"
    ctx = ActionContext(node_name="A", net_file_path=str(net_file), env={"NODE_NAME": "env-wins", "X": "1"},
                        node_env={"X": "2"})
    variables = build_template_vars(ctx)
    assert variables["NODE_NAME"] == "env-wins"
    assert variables["X"] == "2"
    assert variables["NET_FILE_DIR"] == str(tmp_path.resolve())


def test_project_and_node_actions_merge_with_node_winning():
    assert [a.id for a in get_project_actions(CONFIG)] == ["hello", "shared"]
    merged = {a.id: a.command for a in get_available_actions(CONFIG, "A")}
    assert merged == {"hello": "echo project", "shared": "echo from-node"}
    assert {a.id for a in get_available_actions(CONFIG, "B")} == {"hello", "shared"}
    with pytest.raises(KeyError, match="node 'Z' is not in the config"):
        get_available_actions(CONFIG, "Z")


def test_invalid_action_names_its_place():
    bad = {"extra": {"ui": {"actions": [{"id": "x", "label": "X"}]}}, "graph": {"nodes": []}}
    with pytest.raises(ValueError, match=r"extra.ui: action #0 is invalid \(needs id, label and command\)"):
        get_project_actions(bad)


def test_node_env_layers_and_skips_placeholders():
    assert get_node_env(CONFIG, "A") == {"model": "large", "flag": "true", "EXTRA": "x"}
    assert get_node_env(CONFIG, "B") == {"model": "small"}


def test_action_settings_and_recipes():
    assert get_action_settings(CONFIG) == {"env": {"STAGE": "dev"}, "defaultCmd": "python", "projectRoot": None}
    assert get_recipes(CONFIG)["grow"].description == "adds a node"
    with pytest.raises(ValueError, match="recipe 'r' is invalid"):
        get_recipes({"recipes": {"r": {"description": "no path"}}})


def test_execute_command_runs_in_shell_with_variables(tmp_path):
    ctx = ActionContext(node_name="A", project_root=str(tmp_path), node_env={"GREETING": "hi there"})
    result = execute_command_sync('echo "$GREETING from $NODE_NAME"; pwd', ctx)
    assert result.success and result.exit_code == 0
    assert result.stdout.splitlines() == ["hi there from A", str(tmp_path)]
    assert result.resolved_command == 'echo "hi there from A"; pwd'


def test_execute_command_failure_and_timeout(tmp_path):
    ctx = ActionContext(project_root=str(tmp_path))
    failed = execute_command_sync("echo oops >&2; exit 3", ctx)
    assert (failed.success, failed.exit_code, failed.stderr) == (False, 3, "oops\n")
    slow = execute_command_sync("sleep 5", ctx, timeout=0.3)
    assert slow.timed_out and not slow.success
    assert "did not finish within 0.3 s" in slow.error


def test_execute_command_missing_working_directory():
    result = execute_command_sync("true", ActionContext(working_directory="/no/such/dir"))
    assert not result.success
    assert "working directory '/no/such/dir' does not exist" in result.error


def test_sync_form_refuses_inside_a_running_loop():
    import asyncio

    async def inner():
        with pytest.raises(RuntimeError, match="await execute_command"):
            execute_command_sync("true", ActionContext())
        return (await execute_command("echo ok", ActionContext())).stdout

    assert asyncio.run(inner()) == "ok\n"


def test_execute_action_sync():
    result = execute_action_sync(ActionConfig(id="a", label="A", command="echo $NODE_NAME"),
                                 ActionContext(node_name="N"))
    assert result.stdout == "N\n"


def test_recipes_prompts_run_and_errors(tmp_path):
    recipe = tmp_path / "grow.py"
    recipe.write_text(textwrap.dedent("""
        def get_prompts(config):
            return [{"name": "node", "label": "Node name", "type": "text", "default": "N"}]

        def run(config, inputs):
            print("adding", inputs["node"])
            config = dict(config)
            config["graph"] = {"nodes": config["graph"]["nodes"] + [{"name": inputs["node"]}], "edges": []}
            return config
    """))
    prompts = get_recipe_prompts(recipe, CONFIG)
    assert [(p.name, p.type, p.default) for p in prompts] == [("node", "text", "N")]
    new_config, out = execute_recipe(recipe, CONFIG, {"node": "C"})
    assert [n["name"] for n in new_config["graph"]["nodes"]] == ["A", "B", "C"]
    assert out == "adding C\n"

    with pytest.raises(RecipeError, match="does not exist"):
        execute_recipe(tmp_path / "missing.py", CONFIG, {})
    (tmp_path / "norun.py").write_text("x = 1\n")
    with pytest.raises(RecipeError, match=r"defines no run\(config, inputs\) function"):
        execute_recipe(tmp_path / "norun.py", CONFIG, {})
    (tmp_path / "badret.py").write_text("def run(c, i):\n    return [c]\n")
    with pytest.raises(RecipeError, match="must return the new config as a dict, got list"):
        execute_recipe(tmp_path / "badret.py", CONFIG, {})
    (tmp_path / "boom.py").write_text("raise ImportError('nope')\n")
    with pytest.raises(RecipeError, match="failed to import"):
        execute_recipe(tmp_path / "boom.py", CONFIG, {})
    assert not any(name.startswith("_netrun_recipe_") for name in sys.modules)
