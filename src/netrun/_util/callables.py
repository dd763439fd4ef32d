"""Inspecting user callables once, so hot paths never call ``inspect`` per epoch."""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable


def is_async_callable(func: Any) -> bool:
    """Whether calling ``func`` returns an awaitable that must be awaited.

    Sees through ``functools.partial`` and callable objects whose ``__call__`` is
    ``async def``. Call it once when a function is registered, not per call.

    >>> async def f(): ...
    >>> is_async_callable(functools.partial(f))
    True
    """
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(type(func), "__call__", None)
    if call is not None and not inspect.isfunction(func) and not inspect.ismethod(func):
        return inspect.iscoroutinefunction(call)
    return False


def function_globals(func: Any) -> list[dict[str, Any]]:
    """The module globals dicts a Python-level callable resolves names in (maybe empty).

    Used to inject the capturing ``print`` (PROJECT_SPEC: print capture is done by injecting
    a ``print`` into the function's ``__globals__``). Sees through partials, bound methods,
    ``functools.wraps`` wrappers (both the wrapper's and the wrapped function's modules) and
    callable objects.
    """
    found: list[dict[str, Any]] = []
    for _ in range(20):
        if isinstance(func, functools.partial):
            func = func.func
            continue
        if inspect.ismethod(func):
            func = func.__func__
            continue
        if inspect.isfunction(func):
            if not any(g is func.__globals__ for g in found):
                found.append(func.__globals__)
            wrapped = getattr(func, "__wrapped__", None)
            if wrapped is None:
                break
            func = wrapped
            continue
        call = getattr(type(func), "__call__", None)
        if call is not None and inspect.isfunction(call):
            func = call
            continue
        break
    return found


def callable_name(func: Callable[..., Any]) -> str:
    """A readable name for messages: ``module.qualname`` when available."""
    while isinstance(func, functools.partial):
        func = func.func
    qual = getattr(func, "__qualname__", None) or getattr(type(func), "__qualname__", None)
    mod = getattr(func, "__module__", None)
    if qual and mod:
        return f"{mod}.{qual}"
    return repr(func)
