"""Node factory: a node from a plain Python function.

``factory = "netrun.node_factories.from_function"`` (also ``.function``), ``factory_args =
{ func = "my_module.my_function" }``.

* Each parameter becomes an input port of the same name. A parameter **with a default** is
  an *optional* port: the node fires without it, and the default is used when no packet is
  waiting there. (When every parameter has a default, a packet on any of them fires it.)
* Annotations give the port types (``include_port_types=False`` turns that off). String
  annotations (``from __future__ import annotations``) are resolved with
  :func:`typing.get_type_hints`, so ``list[int]`` is the generic, not the text.
* ``Batch()`` / ``Batch(count=n)`` as annotation (or in ``Annotated[list[int], Batch()]``)
  makes the port take all (or up to ``n``) waiting packets; the function receives a list.
* Special parameters, never ports: ``ctx`` (the ``NodeExecutionContext``), ``print`` (the
  captured ``print``), ``log`` (``log(message, level="info", **fields)`` into the node log).
* The return annotation gives the outputs: ``-> T`` is port ``out`` of type ``T``;
  ``-> {"a": int, "b": str}`` or a ``TypedDict`` gives one port per key (return a dict;
  keys left out are not sent); ``-> None`` means no output. Without a return annotation
  the node has an untyped ``out`` port and a returned ``None`` is not sent.
* ``manual_output=True``: the function sends its own outputs through ``ctx`` and must
  return ``None``.

Input salvo condition ``trigger`` (required ports non-empty), output condition ``send``.
A function without parameters is a source node (its input condition is always true).
"""

from __future__ import annotations

import builtins
import inspect
import sys
import typing
from dataclasses import dataclass
from typing import Any, Callable

from netrun.config.errors import InvalidFactoryError
from netrun.config.imports import get_import_path, import_from_path
from netrun.config.nodes import NodeConfig
from netrun.config.ports import PortConfig
from netrun.config.salvo import (
    MaxSalvosFiniteConfig,
    PacketCountAllConfig,
    PacketCountNConfig,
    PortStateNonEmptyConfig,
    SalvoConditionConfig,
    SalvoConditionTermAndConfig,
    SalvoConditionTermOrConfig,
    SalvoConditionTermPortConfig,
    SalvoConditionTermTrueConfig,
)

__all__ = [
    "Batch",
    "SPECIAL_PARAMETERS",
    "FunctionSpec",
    "analyze_function",
    "get_node_config",
    "get_node_funcs",
    "get_node_spec",
    "node_from_function",
]

_factory_desc = "A node from a Python function: parameters become input ports, the return value the output."

SPECIAL_PARAMETERS = ("ctx", "print", "log")
_OUT = "out"
_TRIGGER = "trigger"
_SEND = "send"


@dataclass(frozen=True)
class Batch:
    """Annotation: the port takes all waiting packets (``count=None``) or at most ``count``;
    the parameter receives a list of values. ``port_type`` types the port."""

    port_type: Any = None
    count: int | None = None


@dataclass(frozen=True)
class _Param:
    name: str
    kind: Any
    port_type: Any
    optional: bool
    default: Any
    batch: Batch | None


@dataclass(frozen=True)
class FunctionSpec:
    """What :func:`analyze_function` learned about a function."""

    func: Callable[..., Any]
    name: str
    params: tuple[_Param, ...]
    special: tuple[str, ...]
    outputs: dict[str, Any]
    multi_output: bool
    send_none: bool
    is_async: bool
    description: str | None
    # every parameter name in signature order, and the positional-only ones (computed once:
    # reading the signature on every epoch cost about a quarter of a trivial epoch)
    order: tuple[str, ...] = ()
    positional_only: frozenset = frozenset()


def _resolve_func(func: Any, net_config: Any) -> Callable[..., Any]:
    if isinstance(func, str):
        root = getattr(net_config, "project_root_path", None) if net_config is not None else None
        func = import_from_path(func, root)
    if not callable(func):
        raise InvalidFactoryError(
            f"from_function needs a function; got {func!r}",
            value=repr(func), expected="a callable or an import path such as 'my_module.my_function'")
    return func


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Annotations with strings evaluated; each failure falls back to the raw annotation."""
    target = inspect.unwrap(func)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - resolve one by one below
        pass
    raw = dict(getattr(target, "__annotations__", {}) or {})
    globalns = getattr(target, "__globals__", {})
    out: dict[str, Any] = {}
    for name, ann in raw.items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, dict(globalns), {})  # noqa: S307 - the function's own annotation
            except Exception:  # noqa: BLE001 - keep the text (matched by name at run time)
                pass
        out[name] = ann
    return out


def _split_batch(annotation: Any) -> tuple[Any, Batch | None]:
    if isinstance(annotation, Batch):
        return annotation.port_type, annotation
    if typing.get_origin(annotation) is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        for m in meta:
            if isinstance(m, Batch):
                return (m.port_type if m.port_type is not None else base), m
        return base, None
    return annotation, None


def _port_type(annotation: Any, include: bool) -> Any:
    if not include or annotation is inspect.Parameter.empty or annotation is Any:
        return None
    if isinstance(annotation, (str, type)) or typing.get_origin(annotation) is not None:
        return annotation
    if isinstance(annotation, PortConfig):
        return annotation.port_type
    return str(annotation).replace("typing.", "")


def _is_typed_dict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__") and hasattr(tp, "__annotations__")


def _is_async(func: Any) -> bool:
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(type(func), "__call__", None)
    return not inspect.isfunction(func) and not inspect.ismethod(func) and inspect.iscoroutinefunction(call)


def analyze_function(func: Callable[..., Any], *, include_port_types: bool = True) -> FunctionSpec:
    """Ports, special parameters and outputs of ``func`` (see the module docstring)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError) as exc:
        raise InvalidFactoryError(f"cannot read the signature of {func!r}: {exc}",
                                  value=repr(func), expected="a Python function") from None
    hints = _hints(func)
    name = getattr(func, "__name__", None) or type(func).__name__
    params: list[_Param] = []
    special: list[str] = []
    for pname, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise InvalidFactoryError(
                f"function {name!r} has *{pname}" if p.kind is p.VAR_POSITIONAL else f"function {name!r} has **{pname}",
                value=pname,
                expected="named parameters only: each parameter becomes an input port")
        if pname in SPECIAL_PARAMETERS:
            special.append(pname)
            continue
        annotation = hints.get(pname, p.annotation)
        base, batch = _split_batch(annotation)
        params.append(_Param(
            name=pname, kind=p.kind, port_type=_port_type(base, include_port_types),
            optional=p.default is not p.empty, default=p.default, batch=batch))
    ret = hints.get("return", sig.return_annotation)
    outputs: dict[str, Any] = {}
    multi = False
    send_none = True
    if ret is inspect.Parameter.empty:
        outputs = {_OUT: None}
        send_none = False
    elif ret is None or ret is type(None):
        outputs = {}
    elif isinstance(ret, dict):
        multi = True
        outputs = {str(k): _port_type(v, include_port_types) for k, v in ret.items()}
    elif _is_typed_dict(ret):
        multi = True
        outputs = {k: _port_type(v, include_port_types) for k, v in typing.get_type_hints(ret).items()}
    else:
        outputs = {_OUT: _port_type(ret, include_port_types)}
    doc = inspect.getdoc(func)
    return FunctionSpec(func=func, name=name, params=tuple(params), special=tuple(special),
                        outputs=outputs, multi_output=multi, send_none=send_none,
                        is_async=_is_async(func),
                        description=doc or None, order=tuple(sig.parameters),
                        positional_only=frozenset(n for n, p in sig.parameters.items()
                                                  if p.kind is p.POSITIONAL_ONLY))


def _node_config(spec: FunctionSpec) -> NodeConfig:
    in_ports = {p.name: PortConfig(port_type=p.port_type) for p in spec.params}
    out_ports = {name: PortConfig(port_type=t) for name, t in spec.outputs.items()}
    in_conditions = None
    if spec.params:
        required = [p for p in spec.params if not p.optional] or list(spec.params)
        terms = [SalvoConditionTermPortConfig(port_name=p.name, state=PortStateNonEmptyConfig()) for p in required]
        if len(terms) == 1:
            term: Any = terms[0]
        elif any(not p.optional for p in spec.params):
            term = SalvoConditionTermAndConfig(terms=terms)
        else:
            term = SalvoConditionTermOrConfig(terms=terms)
        ports: dict[str, Any] = {}
        for p in spec.params:
            if p.batch is None:
                ports[p.name] = PacketCountNConfig(count=1)
            elif p.batch.count is None:
                ports[p.name] = PacketCountAllConfig()
            else:
                ports[p.name] = PacketCountNConfig(count=p.batch.count)
        in_conditions = {_TRIGGER: SalvoConditionConfig(max_salvos=MaxSalvosFiniteConfig(max=1), ports=ports,
                                                        term=term)}
    out_conditions: dict[str, Any] = {}
    if out_ports:
        out_conditions = {_SEND: SalvoConditionConfig(
            max_salvos=MaxSalvosFiniteConfig(max=1), ports={p: PacketCountAllConfig() for p in out_ports},
            term=SalvoConditionTermTrueConfig())}
    extra: dict[str, Any] = {}
    path = get_import_path(spec.func)
    if path and not path.startswith("__main__."):
        extra["function"] = path
    config = NodeConfig(name=spec.name, description=spec.description, in_ports=in_ports, out_ports=out_ports,
                        in_salvo_conditions=in_conditions, out_salvo_conditions=out_conditions, extra=extra)
    overrides = getattr(spec.func, "_node_config", None)
    if overrides is not None:
        data = overrides.model_dump(exclude_unset=True) if isinstance(overrides, NodeConfig) else dict(overrides)
        config = NodeConfig.model_validate({**config.model_dump(exclude_unset=True), **data})
    return config


def get_node_config(_net_config: Any = None, *, func: Any, include_port_types: bool = True,
                    manual_output: bool = False) -> NodeConfig:
    """The node's ports and salvo conditions (0.5.0 protocol)."""
    spec = analyze_function(_resolve_func(func, _net_config), include_port_types=include_port_types)
    return _node_config(spec)


def get_node_spec(*, func: Any, include_port_types: bool = True, manual_output: bool = False) -> dict[str, Any]:
    """``netrun_sim.Node`` keyword arguments (PROJECT_SPEC protocol)."""
    from netrun.config.factory import node_config_to_spec

    return node_config_to_spec(get_node_config(func=func, include_port_types=include_port_types,
                                               manual_output=manual_output))


def node_from_function(func: Any, *, name: str | None = None, include_port_types: bool = True,
                       manual_output: bool = False) -> NodeConfig:
    """A complete ``NodeConfig`` for ``func`` (functions included), ready to add to a graph."""
    from netrun.config.factory import node_config_from_factory

    return node_config_from_factory(sys.modules[__name__], {"func": func, "include_port_types": include_port_types,
                                                            "manual_output": manual_output}, name=name)


# -- execution -----------------------------------------------------------------------------


def _make_log(func: Callable[..., Any], ctx: Any) -> Callable[..., None]:
    own = getattr(ctx, "log", None)
    if callable(own):
        return own

    def log(message: Any = None, *, level: str = "info", **fields: Any) -> None:
        parts = [] if message is None else [str(message)]
        if fields:
            parts.append(" ".join(f"{k}={v!r}" for k, v in fields.items()))
        text = " | ".join(parts)
        _print_for(func)(f"[{level}] {text}" if level != "info" else text)

    return log


def _print_for(func: Callable[..., Any]) -> Callable[..., None]:
    # The runtime injects a capturing ``print`` into the function's module globals.
    globalns = getattr(inspect.unwrap(func), "__globals__", None) or {}
    return globalns.get("print", builtins.print)


def _specials(spec: FunctionSpec, ctx: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in spec.special:
        if name == "ctx":
            out[name] = ctx
        elif name == "print":
            out[name] = getattr(ctx, "print", None) or _print_for(spec.func)
        else:
            out[name] = _make_log(spec.func, ctx)
    return out


def _too_many(spec: FunctionSpec, port: str, n: int) -> InvalidFactoryError:
    return InvalidFactoryError(
        f"node {spec.name!r}: port {port!r} delivered {n} packets but parameter {port!r} takes one value",
        value=n, expected=f"annotate {port!r} with Batch() to receive a list, or take one packet per epoch")


_NO_SPECIALS: dict[str, Any] = {}


def _call_args(spec: FunctionSpec, values: dict[str, Any], ctx: Any) -> tuple[list[Any], dict[str, Any]]:
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    specials = _specials(spec, ctx) if spec.special else _NO_SPECIALS
    positional = spec.positional_only
    for name in spec.order:
        if name in specials:
            value = specials[name]
        elif name in values:
            value = values[name]
        else:
            continue  # optional port without a packet: the default applies
        if positional and name in positional and name not in specials:
            args.append(value)
        else:
            kwargs[name] = value
    return args, kwargs


def _check_result(spec: FunctionSpec, result: Any, manual: bool) -> dict[str, Any]:
    """``{port: value}`` to send."""
    if manual:
        if result is not None:
            raise InvalidFactoryError(
                f"node {spec.name!r} has manual_output = true but its function returned {result!r}",
                value=repr(result), expected="return None and send outputs through ctx")
        return {}
    if not spec.outputs:
        if result is not None:
            raise InvalidFactoryError(
                f"function {spec.name!r} returned {type(result).__name__} but is annotated '-> None' (no output port)",
                value=repr(result), expected="remove '-> None' to get an 'out' port, or return None")
        return {}
    if not spec.multi_output:
        if result is None and not spec.send_none:
            return {}
        return {_OUT: result}
    if result is None:
        return {}
    if not isinstance(result, dict):
        raise InvalidFactoryError(
            f"function {spec.name!r} declares output ports {list(spec.outputs)} and must return a dict; "
            f"it returned {type(result).__name__}", value=repr(result),
            expected="a dict {port: value} (keys left out are not sent)")
    unknown = [k for k in result if k not in spec.outputs]
    if unknown:
        raise InvalidFactoryError(
            f"function {spec.name!r} returned key(s) {unknown} that are not output ports",
            value=unknown[0], expected="keys among " + ", ".join(spec.outputs))
    return dict(result)


def _collect_sync(spec: FunctionSpec, ctx: Any, packets: dict[str, list[Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for p in spec.params:
        pkts = list(packets.get(p.name, ()))
        if p.batch is not None:
            values[p.name] = [ctx.consume_packet(x) for x in pkts]
        elif pkts:
            if len(pkts) > 1:
                raise _too_many(spec, p.name, len(pkts))
            values[p.name] = ctx.consume_packet(pkts[0])
    return values


async def _collect_async(spec: FunctionSpec, ctx: Any, packets: dict[str, list[Any]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for p in spec.params:
        pkts = list(packets.get(p.name, ()))
        if p.batch is not None:
            values[p.name] = [await ctx.consume_packet(x) for x in pkts]
        elif pkts:
            if len(pkts) > 1:
                raise _too_many(spec, p.name, len(pkts))
            values[p.name] = await ctx.consume_packet(pkts[0])
    return values


def _make_exec(spec: FunctionSpec, manual: bool) -> Callable[..., Any]:
    func = spec.func
    if spec.is_async:
        async def exec_node(ctx: Any, packets: dict[str, list[Any]]) -> None:
            values = await _collect_async(spec, ctx, packets)
            args, kwargs = _call_args(spec, values, ctx)
            outputs = _check_result(spec, await func(*args, **kwargs), manual)
            for port, value in outputs.items():
                await ctx.load_output_port(port, await ctx.create_packet(value))
            if outputs:
                await ctx.send_output_salvo(_SEND)
    else:
        def exec_node(ctx: Any, packets: dict[str, list[Any]]) -> None:  # type: ignore[misc]
            values = _collect_sync(spec, ctx, packets)
            args, kwargs = _call_args(spec, values, ctx)
            outputs = _check_result(spec, func(*args, **kwargs), manual)
            for port, value in outputs.items():
                ctx.load_output_port(port, ctx.create_packet(value))
            if outputs:
                ctx.send_output_salvo(_SEND)
    exec_node.__name__ = exec_node.__qualname__ = f"exec_{spec.name}"
    exec_node.__doc__ = f"Runs {spec.name!r} for one epoch (netrun.node_factories.from_function)."
    # Lets the runtime find the user's module (print capture) through the wrapper.
    exec_node.__wrapped__ = func  # type: ignore[attr-defined]
    return exec_node


def get_node_funcs(_net_config: Any = None, *, func: Any, include_port_types: bool = True,
                   manual_output: bool = False) -> tuple[Any, None, None, None]:
    """``(exec_node_func, None, None, None)`` for ``func``."""
    spec = analyze_function(_resolve_func(func, _net_config), include_port_types=include_port_types)
    return _make_exec(spec, manual_output), None, None, None
