"""The node-factory protocol: loading factories and calling them.

A factory is a module (or any object) with two functions taking the same keyword arguments:

* PROJECT_SPEC form: ``get_node_spec(**args) -> dict`` (keyword arguments of
  ``netrun_sim.Node``: ``name``, ``in_ports``, ``out_ports``, ``in_salvo_conditions``,
  ``out_salvo_conditions``) and ``get_node_funcs(**args) -> (exec, start, stop, failed)``;
* published 0.5.0 form: ``get_node_config(_net_config=None, **args) -> NodeConfig`` (or a
  ``SubgraphConfig``) and ``get_node_funcs(_net_config=None, **args)``. ``_net_config`` is
  passed only to functions that accept it.

A factory may offer both; ``get_node_config`` is preferred. The original implementation also
accepted a plain *callable* factory returning a :class:`NodeFactoryResult`, ``(spec, funcs)``
or ``(spec, exec, start, stop, failed)``: :func:`load_factory` still does.

Factory arguments stored in a file must be JSON values or import paths (strings); a callable
argument is written as its import path.
"""

from __future__ import annotations

import inspect
import json
import types
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Protocol, runtime_checkable

from netrun.config.errors import (
    ConfigError,
    FactoryError,
    FactoryNotFoundError,
    ImportPathError,
    InvalidFactoryError,
)
from netrun.config.imports import get_import_path, import_from_path

__all__ = [
    "FactoryError",
    "FactoryNotFoundError",
    "InvalidFactoryError",
    "NodeConfigFactory",
    "NodeFactory",
    "NodeFactoryResult",
    "NodeFuncs",
    "call_get_node_config",
    "call_get_node_funcs",
    "create_node_from_factory",
    "factory_arg_to_json",
    "factory_path_of",
    "get_factory_info",
    "import_factory",
    "is_json_serializable",
    "load_factory",
    "node_config_from_factory",
    "node_config_to_spec",
    "node_spec_to_config",
    "validate_factory_args",
]


@runtime_checkable
class NodeFactory(Protocol):
    """PROJECT_SPEC's factory shape (``isinstance(module, NodeFactory)`` works)."""

    def get_node_spec(self, **args: Any) -> dict[str, Any]: ...

    def get_node_funcs(self, **args: Any) -> tuple[Any, Any, Any, Any]: ...


@runtime_checkable
class NodeConfigFactory(Protocol):
    """The published 0.5.0 factory shape."""

    def get_node_config(self, _net_config: Any = None, **args: Any) -> Any: ...

    def get_node_funcs(self, _net_config: Any = None, **args: Any) -> tuple[Any, Any, Any, Any]: ...


class NodeFuncs(NamedTuple):
    """A node's four functions (PROJECT_SPEC names; ``init``/``close``/``on_failure`` in 0.5.0)."""

    exec_node_func: Callable | None = None
    start_node_func: Callable | None = None
    stop_node_func: Callable | None = None
    exec_failed_node_func: Callable | None = None


@dataclass
class NodeFactoryResult:
    """What a factory produced, and how it was called (for writing the net back to a file).

    ``node_spec`` holds ``netrun_sim.Node`` keyword arguments (engine objects);
    ``node_config`` is the same node as a :class:`~netrun.config.NodeConfig`.
    """

    node_spec: dict[str, Any]
    exec_node_func: Callable | None = None
    start_node_func: Callable | None = None
    stop_node_func: Callable | None = None
    exec_failed_node_func: Callable | None = None
    factory_path: str | None = None
    factory_args: dict[str, Any] | None = None
    node_config: Any = field(default=None, repr=False)

    @property
    def funcs(self) -> NodeFuncs:
        return NodeFuncs(self.exec_node_func, self.start_node_func, self.stop_node_func,
                         self.exec_failed_node_func)

    def as_tuple(self) -> tuple[dict[str, Any], Any, Any, Any, Any]:
        """``(node_spec, exec, start, stop, failed)`` as ``Net.from_factory`` returns it."""
        return (self.node_spec, *self.funcs)


# -- loading -------------------------------------------------------------------------------


def factory_path_of(factory: Any) -> str | None:
    """The import path a factory is known by (a module's name, a callable's path)."""
    if isinstance(factory, str):
        return factory
    if isinstance(factory, types.ModuleType):
        return factory.__name__
    return get_import_path(factory)


def import_factory(factory: Any, project_root: Any = None) -> Any:
    """The factory object (module or callable) for a path, module or object.

    Raises :class:`FactoryNotFoundError` when the path does not import, and
    :class:`InvalidFactoryError` when the object has no factory functions.
    """
    obj = factory
    if isinstance(factory, str):
        try:
            obj = import_from_path(factory, project_root)
        except ImportPathError as exc:
            raise FactoryNotFoundError(
                f"factory {factory!r} not found: {exc.message}",
                value=factory,
                expected="an importable module with get_node_config/get_node_spec and "
                "get_node_funcs, e.g. 'netrun.node_factories.from_function'",
            ) from exc
    if not (hasattr(obj, "get_node_config") or hasattr(obj, "get_node_spec") or callable(obj)):
        raise InvalidFactoryError(
            f"{factory_path_of(factory)!r} is not a node factory: it has neither "
            "get_node_config nor get_node_spec",
            value=factory_path_of(factory),
            expected="a module defining get_node_config(_net_config=None, **args) or "
            "get_node_spec(**args), plus get_node_funcs",
        )
    return obj


def _call_with_args(fn: Callable, args: dict[str, Any], net_config: Any, label: str) -> Any:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    kwargs = dict(args)
    if sig is not None:
        params = sig.parameters
        takes_var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
        if "_net_config" in params:
            kwargs["_net_config"] = net_config
        accepted = [n for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
                    and not n.startswith("_")]
        if not takes_var_kw:
            unknown = [k for k in args if k not in params]
            if unknown:
                raise InvalidFactoryError(
                    f"{label} does not take argument(s) {', '.join(map(repr, unknown))}",
                    value=unknown[0],
                    expected="factory_args among: " + (", ".join(accepted) or "none"),
                )
        try:
            sig.bind(**kwargs)
        except TypeError as exc:
            missing = [n for n, p in params.items() if p.default is p.empty
                       and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n not in kwargs]
            raise InvalidFactoryError(
                f"{label} cannot be called with factory_args {sorted(args)}: {exc}",
                value=sorted(args),
                expected="the required argument(s) " + (", ".join(missing) if missing else "of its signature"),
            ) from None
    try:
        return fn(**kwargs)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported with the factory and arguments
        raise FactoryError(
            f"{label} raised {type(exc).__name__}: {exc}",
            value=args,
            expected="factory_args the factory accepts",
        ) from exc


def call_get_node_config(
    factory: Any, args: dict[str, Any] | None = None, *, net_config: Any = None,
    project_root: Any = None,
) -> Any:
    """The factory's node as a ``NodeConfig`` (or ``SubgraphConfig``)."""
    from netrun.config.nodes import NodeConfig, SubgraphConfig

    obj = import_factory(factory, project_root)
    path = factory_path_of(factory)
    args = dict(args or {})
    if hasattr(obj, "get_node_config"):
        result = _call_with_args(obj.get_node_config, args, net_config, f"factory {path!r} (get_node_config)")
        if isinstance(result, dict):
            result = NodeConfig.model_validate(result) if result.get("type", "node") == "node" \
                else SubgraphConfig.model_validate(result)
        if not isinstance(result, (NodeConfig, SubgraphConfig)):
            raise InvalidFactoryError(
                f"factory {path!r}: get_node_config returned {type(result).__name__}",
                expected="a NodeConfig or SubgraphConfig",
            )
        return result
    if hasattr(obj, "get_node_spec"):
        spec = _call_with_args(obj.get_node_spec, args, net_config, f"factory {path!r} (get_node_spec)")
        if not isinstance(spec, dict):
            raise InvalidFactoryError(
                f"factory {path!r}: get_node_spec returned {type(spec).__name__}",
                expected="a dict of netrun_sim.Node keyword arguments",
            )
        return node_spec_to_config(spec, where=f"factory {path!r}")
    return load_factory(obj, **args).node_config


def call_get_node_funcs(
    factory: Any, args: dict[str, Any] | None = None, *, net_config: Any = None,
    project_root: Any = None,
) -> NodeFuncs:
    """The factory's ``(exec, start, stop, failed)`` functions."""
    obj = import_factory(factory, project_root)
    path = factory_path_of(factory)
    args = dict(args or {})
    if not hasattr(obj, "get_node_funcs"):
        if hasattr(obj, "get_node_config") or hasattr(obj, "get_node_spec"):
            return NodeFuncs()  # e.g. a subgraph factory: no functions of its own
        return load_factory(obj, **args).funcs
    funcs = _call_with_args(obj.get_node_funcs, args, net_config, f"factory {path!r} (get_node_funcs)")
    return _as_funcs(funcs, path)


def _as_funcs(funcs: Any, path: Any) -> NodeFuncs:
    if not isinstance(funcs, (tuple, list)) or len(funcs) != 4:
        raise InvalidFactoryError(
            f"factory {path!r}: get_node_funcs returned {funcs!r}",
            expected="a 4-tuple (exec_node_func, start_node_func, stop_node_func, "
            "exec_failed_node_func); any may be None",
        )
    for f in funcs:
        if f is not None and not callable(f):
            raise InvalidFactoryError(
                f"factory {path!r}: get_node_funcs returned a non-callable {f!r}",
                expected="functions or None",
            )
    return NodeFuncs(*funcs)


def load_factory(factory_path: Any, **factory_args: Any) -> NodeFactoryResult:
    """Import a factory and call it with ``factory_args`` (the original's entry point)."""
    obj = import_factory(factory_path)
    path = factory_path_of(factory_path)
    if hasattr(obj, "get_node_config") or hasattr(obj, "get_node_spec"):
        config = call_get_node_config(obj, factory_args)
        funcs = call_get_node_funcs(obj, factory_args)
        return NodeFactoryResult(
            node_spec=node_config_to_spec(config), exec_node_func=funcs[0], start_node_func=funcs[1],
            stop_node_func=funcs[2], exec_failed_node_func=funcs[3], factory_path=path,
            factory_args=dict(factory_args), node_config=config,
        )
    result = _call_with_args(obj, factory_args, None, f"factory {path!r}")
    if isinstance(result, NodeFactoryResult):
        spec, funcs = result.node_spec, result.funcs
    elif isinstance(result, tuple) and len(result) == 2:
        spec, funcs = result[0], _as_funcs(result[1], path)
    elif isinstance(result, tuple) and len(result) == 5:
        spec, funcs = result[0], _as_funcs(result[1:], path)
    else:
        raise InvalidFactoryError(
            f"factory {path!r} returned {type(result).__name__}",
            expected="a NodeFactoryResult, (spec, (exec, start, stop, failed)) or "
            "(spec, exec, start, stop, failed)",
        )
    if not isinstance(spec, dict):
        raise InvalidFactoryError(f"factory {path!r} returned a node spec of type "
                                  f"{type(spec).__name__}", expected="a dict")
    config = node_spec_to_config(spec, where=f"factory {path!r}")
    return NodeFactoryResult(
        node_spec=node_config_to_spec(config), exec_node_func=funcs[0], start_node_func=funcs[1],
        stop_node_func=funcs[2], exec_failed_node_func=funcs[3], factory_path=path,
        factory_args=dict(factory_args), node_config=config,
    )


def create_node_from_factory(factory_path: Any, **factory_args: Any) -> tuple[Any, NodeFactoryResult]:
    """``(netrun_sim.Node, NodeFactoryResult)`` for a factory and its arguments."""
    import netrun_sim

    result = load_factory(factory_path, **factory_args)
    return netrun_sim.Node(**result.node_spec), result


def node_config_from_factory(
    factory: Any, args: dict[str, Any], *, name: str | None = None, project_root: Any = None,
    net_config: Any = None,
) -> Any:
    """A complete ``NodeConfig`` (with the functions in its execution config)."""
    from netrun.config.nodes import NodeExecutionConfig, SubgraphConfig

    config = call_get_node_config(factory, args, net_config=net_config, project_root=project_root)
    if isinstance(config, SubgraphConfig):
        raise InvalidFactoryError(
            f"factory {factory_path_of(factory)!r} builds a subgraph; use it as a graph entry "
            "(NodeConfig(factory=...)) instead of NodeConfig.from_factory",
        )
    funcs = call_get_node_funcs(factory, args, net_config=net_config, project_root=project_root)
    for func in funcs:
        _mark_factory_made(func)
    exec_cfg = NodeExecutionConfig(
        exec_node_func=funcs[0], init_node_func=funcs[1], close_node_func=funcs[2],
        on_node_failure=funcs[3],
    )
    update: dict[str, Any] = {"execution_config": exec_cfg, "factory": factory_path_of(factory),
                              "factory_args": dict(args)}
    if name:
        update["name"] = name
    return config.model_copy(update=update)


def _mark_factory_made(func: Any) -> None:
    from netrun.config.nodes import FACTORY_MADE

    if func is not None and get_import_path(func) is None:
        try:
            setattr(func, FACTORY_MADE, True)
        except (AttributeError, TypeError):  # builtins and slotted objects: written by path
            pass


# -- node spec <-> NodeConfig --------------------------------------------------------------


_SPEC_KEYS = ("name", "in_ports", "out_ports", "in_salvo_conditions", "out_salvo_conditions",
              "dependency_request_config", "description", "extra")


def node_spec_to_config(spec: dict[str, Any], *, where: str = "node spec") -> Any:
    """A ``NodeConfig`` from a PROJECT_SPEC node spec.

    Ports may be engine ``Port`` objects, ``PortConfig``/dicts or a list of names; salvo
    conditions may be engine ``SalvoCondition`` objects, configs, or DSL dicts with a
    ``when`` expression.
    """
    from netrun.config.nodes import DependencyRequestConfig, NodeConfig
    from netrun.config.ports import PortConfig
    from netrun.config.salvo import SalvoConditionConfig

    unknown = [k for k in spec if k not in _SPEC_KEYS]
    if unknown:
        raise InvalidFactoryError(
            f"{where}: unknown node spec key(s) {unknown}",
            expected="keys among " + ", ".join(_SPEC_KEYS),
        )
    data: dict[str, Any] = {"name": spec.get("name") or ""}

    def ports(value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, (list, tuple)):
            return {n: PortConfig() for n in value}
        out = {}
        for n, p in value.items():
            if p is None:
                out[n] = PortConfig()
            elif hasattr(p, "slots_spec") and not isinstance(p, (PortConfig, dict)):
                out[n] = PortConfig.from_netrun_sim(p)
            elif isinstance(p, dict) and ("slots" in p or "type" in p) and "slots_spec" not in p:
                from netrun.config.dsl import port_from_dsl

                out[n] = port_from_dsl(p)
            else:
                out[n] = p
        return out

    def conditions(value: Any, side: str) -> Any:
        if value is None:
            return None
        out = {}
        for n, c in value.items():
            if hasattr(c, "term") and hasattr(c, "max_salvos") and not isinstance(c, (SalvoConditionConfig, dict)):
                out[n] = SalvoConditionConfig.from_netrun_sim(c)
            elif isinstance(c, dict) and "when" in c:
                from netrun.config.dsl import salvo_condition_from_dsl

                out[n] = salvo_condition_from_dsl(c, side=side)
            else:
                out[n] = c
        return out

    data["in_ports"] = ports(spec.get("in_ports"))
    data["out_ports"] = ports(spec.get("out_ports"))
    data["in_salvo_conditions"] = conditions(spec.get("in_salvo_conditions"), "in")
    data["out_salvo_conditions"] = conditions(spec.get("out_salvo_conditions"), "out")
    dep = spec.get("dependency_request_config")
    if dep is not None and not isinstance(dep, (dict, DependencyRequestConfig)):
        dep = DependencyRequestConfig(
            triggers=["on_startup" if "Startup" in str(t) else "on_no_salvo_triggered" for t in dep.triggers],
            label=dep.label,
        )
    data["dependency_request"] = dep
    if spec.get("description") is not None:
        data["description"] = spec["description"]
    if spec.get("extra"):
        data["extra"] = spec["extra"]
    try:
        return NodeConfig.model_validate(data)
    except Exception as exc:  # noqa: BLE001
        raise InvalidFactoryError(f"{where}: the node spec is not valid: {exc}") from exc


def node_config_to_spec(config: Any) -> dict[str, Any]:
    """``netrun_sim.Node`` keyword arguments for a node config (defaults filled in)."""
    node = config.to_netrun_sim()
    spec: dict[str, Any] = {
        "name": node.name,
        "in_ports": node.in_ports,
        "out_ports": node.out_ports,
        "in_salvo_conditions": node.in_salvo_conditions,
        "out_salvo_conditions": node.out_salvo_conditions,
    }
    if node.dependency_request_config is not None:
        spec["dependency_request_config"] = node.dependency_request_config
    return spec


# -- arguments -----------------------------------------------------------------------------


def is_json_serializable(value: Any) -> bool:
    """True when ``json.dumps(value)`` succeeds."""
    try:
        json.dumps(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def validate_factory_args(factory_args: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` (a ``ValueError``) for an argument that cannot be stored in
    a file: a callable (give its import path instead) or a non-JSON value."""
    for key, value in factory_args.items():
        if callable(value):
            path = get_import_path(value)
            hint = f" (use the string {path!r})" if path else ""
            raise ConfigError(
                f"factory argument {key!r} is a callable{hint}; files can only store JSON "
                "values and import paths",
                path=("factory_args", key),
                value=repr(value),
                expected="a JSON value or an import path string",
            )
        if not is_json_serializable(value):
            raise ConfigError(
                f"factory argument {key!r} = {value!r} is not JSON-serialisable",
                path=("factory_args", key),
                value=repr(value),
                expected="a JSON value (str, number, bool, null, list, table) or an import path",
            )


def factory_arg_to_json(value: Any, *, where: str) -> Any:
    """A factory argument in file form: callables/classes/modules become import paths."""
    if isinstance(value, types.ModuleType):
        return value.__name__
    if callable(value):
        try:
            from netrun.config.imports import _get_callable_import_path

            return _get_callable_import_path(value)
        except ConfigError as exc:
            raise ConfigError(f"{where} cannot be written to a file: {exc.message}",
                              value=repr(value), expected=exc.expected) from None
    if isinstance(value, dict):
        return {k: factory_arg_to_json(v, where=f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [factory_arg_to_json(v, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ConfigError(
        f"{where} = {value!r} cannot be written to a file",
        value=repr(value),
        expected="a JSON value or an import path string",
    )


def get_factory_info(factory: Any, project_root: Any = None) -> dict[str, Any]:
    """What a factory takes, for ``netrun factory-info`` and UIs.

    ``{"factory", "type" ("node"|"subgraph"), "description", "parameters": [{name, type,
    default, required}]}``; parameters starting with ``_`` are hidden.
    """
    obj = import_factory(factory, project_root)
    fn = getattr(obj, "get_node_config", None) or getattr(obj, "get_node_spec", None) or obj
    params = []
    for name, p in inspect.signature(fn).parameters.items():
        if name.startswith("_") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = None if p.annotation is p.empty else (
            p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", str(p.annotation)))
        default = None if p.default is p.empty else p.default
        params.append({
            "name": name,
            "type": annotation,
            "default": default if is_json_serializable(default) else repr(default),
            "required": p.default is p.empty,
        })
    kind = "node"
    if not hasattr(obj, "get_node_funcs") and hasattr(obj, "get_node_config"):
        kind = "subgraph"
    return {
        "factory": factory_path_of(factory),
        "type": kind,
        "description": getattr(obj, "_factory_desc", None) or inspect.getdoc(obj) or "",
        "parameters": params,
    }
