"""Node variables: typed values a node reads through ``ctx.vars``.

Two levels: ``NetConfig.node_vars`` (global defaults) and
``NodeExecutionConfig.node_vars`` (per node, taking precedence). A variable

* has a ``type`` (``str``, ``int``, ``float``, ``bool`` or ``json``) its value is cast to;
* may list allowed ``options``;
* may have no value: it is then a *placeholder*, to be filled at load time
  (``NetConfig.from_file(..., global_node_vars=..., node_vars=...)``); resolving an unfilled
  placeholder raises :class:`UnfilledPlaceholderError`, unless ``optional`` is set (then it
  resolves to ``None``);
* at node level, may ``inherit`` the net-level variable of the same name: type, options and
  optional come from the global one; a ``value`` set here overrides only the value.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Mapping, Union

from pydantic import model_validator

from netrun.config._model import ConfigModel
from netrun.config.errors import (
    NodeVariableError,
    UnfilledPlaceholderError,
    UnknownNodeVariableError,
)
from netrun.config.var_ref import VarRef

__all__ = [
    "NodeVarValue",
    "NodeVariable",
    "VALID_NODE_VAR_TYPES",
    "merge_node_vars",
    "normalize_node_var",
    "resolve_node_vars",
    "_normalize_node_var_to_dict",
]

VALID_NODE_VAR_TYPES = ("str", "int", "float", "bool", "json")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class NodeVariable(ConfigModel):
    """One node variable. See the module docstring for the semantics."""

    _no_var_refs = frozenset({"value"})

    value: Union[str, int, float, bool, VarRef, None] = None
    type: Literal["str", "int", "float", "bool", "json"] = "str"
    options: list[Union[str, int, float, bool]] | None = None
    inherit: bool = False
    optional: bool = False

    @model_validator(mode="after")
    def _check(self) -> "NodeVariable":
        if isinstance(self.value, VarRef) and not self.value.is_env:
            raise ValueError(
                "a node variable's value cannot be a {\"$var\": ...} reference "
                "(variables would refer to each other); use a value or {\"$env\": ...}"
            )
        if self.inherit:
            # A dumped config carries defaults explicitly (type: "str"); allow those.
            bad = [
                f
                for f in ("type", "options", "optional")
                if f in self.model_fields_set and getattr(self, f) != type(self).model_fields[f].default
            ]
            if bad:
                raise ValueError(
                    f"an inherited node variable takes {', '.join(bad)} from the net-level "
                    f"variable; remove {', '.join(bad)} here (only 'value' may be overridden)"
                )
        return self

    # The published runtime's method names.
    def check_inherit_constraints(self) -> None:
        """Kept for compatibility; the checks run at validation time."""

    def check_no_var_ref(self) -> None:
        """Kept for compatibility; the checks run at validation time."""

    def resolve_value(self, name: str = "", *, environ: Mapping[str, str] | None = None,
                      node: str | None = None) -> Any:
        """The value cast to ``type`` and checked against ``options``.

        Raises :class:`UnfilledPlaceholderError` for a missing value (unless ``optional``)
        and :class:`NodeVariableError` for a value of the wrong type or not in ``options``.
        """
        label = f"node variable {name!r}" if name else "node variable"
        if node:
            label += f" of node {node!r}"
        value = self.value
        if isinstance(value, VarRef):
            raw = value.resolve_env(environ)
            value = raw
        if value is None:
            if self.optional:
                return None
            raise UnfilledPlaceholderError(
                f"{label} has no value (it is a placeholder)",
                value=None,
                expected="a value in the file, or fill it at load time: "
                f"NetConfig.from_file(path, global_node_vars={{{name or 'name'!r}: ...}}) "
                "or node_vars={node: {name: ...}}; or mark it optional = true",
            )
        cast = _cast(value, self.type, label)
        if self.options is not None and cast not in self.options:
            raise NodeVariableError(
                f"{label} = {cast!r} is not one of its options",
                value=cast,
                expected="one of " + ", ".join(repr(o) for o in self.options),
            )
        return cast


def _cast(value: Any, type_name: str, label: str) -> Any:
    try:
        if type_name == "str":
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)
        if type_name == "int":
            if isinstance(value, bool):
                raise ValueError("a bool is not an int")
            if isinstance(value, float) and not value.is_integer():
                raise ValueError("not a whole number")
            return int(value)
        if type_name == "float":
            if isinstance(value, bool):
                raise ValueError("a bool is not a float")
            return float(value)
        if type_name == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("expected true/false, 1/0, yes/no or on/off")
        # json
        return json.loads(value) if isinstance(value, str) else value
    except (TypeError, ValueError) as exc:
        raise NodeVariableError(
            f"{label} = {value!r} cannot be read as {type_name}: {exc}",
            value=value,
            expected=f"a {type_name} value",
        ) from None


#: What ``from_file`` overrides accept for one variable: a value, ``(value, type)``, a
#: :class:`NodeVariable`, or a dict of its fields.
NodeVarValue = Union[str, int, float, bool, tuple, NodeVariable, dict]


def normalize_node_var(value: Any) -> dict[str, Any]:
    """An override in any accepted shape, as a dict of :class:`NodeVariable` fields."""
    if isinstance(value, NodeVariable):
        return value.model_dump(exclude_unset=True)
    if isinstance(value, dict) and not (set(value) - set(NodeVariable.model_fields)):
        return dict(value)
    if isinstance(value, tuple):
        if len(value) != 2:
            raise NodeVariableError(
                f"a node variable override tuple must be (value, type), got {value!r}",
                value=value,
            )
        return {"value": value[0], "type": value[1]}
    if isinstance(value, dict):
        return {"value": json.dumps(value), "type": "json"}
    return {"value": value}


_normalize_node_var_to_dict = normalize_node_var


def merge_node_vars(
    global_vars: Mapping[str, NodeVariable] | None,
    node_vars: Mapping[str, NodeVariable] | None,
) -> dict[str, NodeVariable]:
    """The node's effective declarations: globals, overridden per name by the node's own.

    An ``inherit`` variable takes type/options/optional from the global one of the same
    name (which must exist) and its value unless it sets one.
    """
    merged: dict[str, NodeVariable] = dict(global_vars or {})
    for name, var in (global_vars or {}).items():
        if var.inherit:
            raise NodeVariableError(
                f"net-level node variable {name!r} has inherit = true; only node-level "
                "variables can inherit",
                path=("node_vars", name, "inherit"),
                value=True,
                expected="inherit = false (or remove it) on net-level variables",
            )
    for name, var in (node_vars or {}).items():
        if var.inherit:
            base = (global_vars or {}).get(name)
            if base is None:
                known = ", ".join(sorted(global_vars or {})) or "none"
                raise UnknownNodeVariableError(
                    f"node variable {name!r} inherits from a net-level variable that does "
                    f"not exist (net-level variables: {known})",
                    value=name,
                    expected=f"declare {name!r} under the net's node_vars, or drop inherit",
                )
            update: dict[str, Any] = {"inherit": False}
            if var.value is not None:
                update["value"] = var.value
            merged[name] = base.model_copy(update=update)
        else:
            merged[name] = var
    return merged


def resolve_node_vars(
    variables: Mapping[str, NodeVariable], *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """``{name: resolved value}`` for every declared variable (placeholders raise)."""
    out: dict[str, Any] = {}
    for name, var in variables.items():
        out[name] = var.resolve_value(name, environ=environ)
    return out
