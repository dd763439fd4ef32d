"""``$VAR`` / ``${VAR}`` substitution for previewing action commands.

Substitution follows the shell's rules closely enough for a preview: nothing is replaced
inside single quotes, ``$NAME`` stops at the first non-identifier character, and unknown
variables are left as written (the shell that really runs the command sees the same
variables in its environment, so the preview and the run agree).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from netrun.tools._models import ActionContext

__all__ = ["build_template_vars", "resolve_template"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def build_template_vars(context: ActionContext) -> dict[str, str]:
    """The variables an action sees, lowest precedence first: built-ins, project ``env``,
    then the node's environment (node variables)."""
    net_file = context.net_file_path
    builtins: dict[str, str] = {
        "NODE_NAME": context.node_name or "",
        "NET_FILE_PATH": net_file or "",
        "NET_FILE_DIR": str(Path(net_file).resolve().parent) if net_file else "",
        "PROJECT_ROOT": context.project_root or "",
        "DEFAULT_CMD": context.default_cmd or "",
        "NODE_CONFIG": context.node_config or "",
    }
    merged = dict(builtins)
    merged.update({k: str(v) for k, v in context.env.items()})
    merged.update({k: str(v) for k, v in context.node_env.items()})
    return merged


def resolve_template(template: str, variables: Mapping[str, str]) -> str:
    """Replace ``$VAR`` and ``${VAR}`` outside single quotes; unknown names stay as written.

    >>> resolve_template("echo $A '${A}' ${B}", {"A": "1"})
    "echo 1 '${A}' ${B}"
    """
    out: list[str] = []
    # Split on single-quoted spans; odd chunks are quoted and kept verbatim.
    for index, chunk in enumerate(re.split(r"('[^']*')", template)):
        if index % 2:
            out.append(chunk)
            continue
        out.append(_VAR.sub(lambda m: variables.get(m.group(1) or m.group(2), m.group(0)), chunk))
    return "".join(out)


def environment_for(variables: Mapping[str, str]) -> dict[str, str]:
    """The process environment an action runs with: ``os.environ`` plus the variables."""
    env = dict(os.environ)
    env.update(variables)
    return env


def node_config_json(node: Mapping | None) -> str:
    return json.dumps(node, sort_keys=True, default=str) if node is not None else ""
