"""Data models of the tools layer: actions, their context and results, recipes and prompts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ActionConfig(BaseModel):
    """A shell command the user can run from the CLI or the UI (``extra.ui.actions``).

    Example::

        ActionConfig(id="lint", label="Lint the node", command="ruff check $NET_FILE_DIR")
    """

    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    label: str = Field(min_length=1)
    command: str = Field(min_length=1)


class ActionContext(BaseModel):
    """Everything an action's command is resolved and run against."""

    node_name: str | None = None
    net_file_path: str | None = None
    project_root: str | None = None
    default_cmd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    node_env: dict[str, str] = Field(default_factory=dict)
    working_directory: str | None = None
    node_config: str | None = None  # the node's config as JSON text, for ``$NODE_CONFIG``


class ActionResult(BaseModel):
    """What running an action produced. ``success`` is False on a non-zero exit, a timeout,
    or a failure to start the command (then ``error`` says why)."""

    success: bool
    exit_code: int | None
    stdout: str
    stderr: str
    resolved_command: str
    timed_out: bool = False
    error: str | None = None


class RecipeConfig(BaseModel):
    """A recipe: a Python file whose ``run(config, inputs) -> dict`` rewrites a net config."""

    model_config = ConfigDict(extra="allow")

    path: str = Field(min_length=1)
    description: str | None = None


class RecipePrompt(BaseModel):
    """One input a recipe asks for before it runs (from its optional ``get_prompts(config)``)."""

    name: str
    label: str | None = None
    type: Literal["text", "number", "select", "checkbox"] = "text"
    default: Any = None
    options: list[Any] | None = None
