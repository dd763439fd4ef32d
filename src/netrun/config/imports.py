"""Import paths: ``pkg.mod.name`` or a file reference ``path/to/file.py::name``.

A string is a *file reference* when it contains ``::``, ``/`` or ``\\``, or starts with
``.`` (the published runtime's rule). ``file.py::a.b`` loads ``file.py`` as a module (under a
stable synthetic name, kept in ``sys.modules`` so that pickling by reference works) and
takes attribute ``a.b``; ``file.py`` alone gives the module. Relative file paths are taken
from the project root (the directory of the net file) when one is given.

A dotted path imports the longest importable module prefix and walks the rest as
attributes, so ``pkg.mod.Class.method`` works. When a project root is given it is put on
``sys.path`` (once), so a net's sibling modules import like the net file expects.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

from netrun.config.errors import ImportPathError

__all__ = [
    "get_import_path",
    "import_from_path",
    "is_file_path_ref",
    "resolve_import_path",
    "_get_callable_import_path",
    "_get_type_import_path",
    "_import_from_file_path",
    "_import_from_path",
    "_is_file_path_ref",
]


def is_file_path_ref(s: str) -> bool:
    """True when ``s`` names a file (``::``, a path separator, or a leading ``.``)."""
    return "::" in s or "/" in s or "\\" in s or s.startswith(".")


def _ensure_on_sys_path(project_root: Path | str | None) -> None:
    if project_root is None:
        return
    root = str(Path(project_root).resolve())
    if root not in sys.path:
        sys.path.insert(0, root)


def _walk_attributes(obj: Any, attrs: list[str], path: str, start: str) -> Any:
    for i, attr in enumerate(attrs):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            have = ", ".join(sorted(n for n in dir(obj) if not n.startswith("_"))[:20])
            raise ImportPathError(
                f"cannot import {path!r}: {start + '.' + '.'.join(attrs[:i]) if i else start!r} "
                f"has no attribute {attr!r}",
                value=path,
                expected=f"an attribute that exists (public names there: {have or 'none'})",
            ) from None
    return obj


def _existing_prefix(module_name: str) -> str | None:
    """The longest prefix of ``module_name`` that can be found (without importing it)."""
    parts = module_name.split(".")
    found = None
    for cut in range(1, len(parts) + 1):
        prefix = ".".join(parts[:cut])
        try:
            if importlib.util.find_spec(prefix) is None:
                break
        except Exception:  # noqa: BLE001 - finding a submodule imports (and fails in) its parent
            break
        found = prefix
    return found


def import_from_path(path: str, project_root: Path | str | None = None) -> Any:
    """The object an import path names (module, class, function...).

    >>> import_from_path("os.path.join").__name__
    'join'
    """
    if not isinstance(path, str) or not path.strip():
        raise ImportPathError(
            f"an import path must be a non-empty string, got {path!r}",
            value=path,
            expected="'package.module.name' or 'file.py::name'",
        )
    path = path.strip()
    if is_file_path_ref(path):
        return _import_from_file_path(path, project_root)
    _ensure_on_sys_path(project_root)
    parts = path.split(".")
    if not all(p.isidentifier() for p in parts):
        raise ImportPathError(
            f"{path!r} is not a valid import path",
            value=path,
            expected="dotted Python identifiers, e.g. 'my_module.my_function'",
        )
    error: BaseException | None = None
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only "this prefix does not exist" lets us try a shorter one; a module that exists
            # but fails to import one of its own dependencies is reported as it is.
            missing = exc.name or ""
            if missing and not (module_name == missing or module_name.startswith(missing + ".")):
                broken = _existing_prefix(module_name) or module_name
                raise ImportPathError(
                    f"cannot import {path!r}: module {broken!r} exists but imports "
                    f"{missing!r}, which is not installed",
                    value=path,
                    expected=f"install {missing!r} or fix the import in {broken!r}",
                ) from exc
            if error is None:
                error = exc
            continue
        except Exception as exc:  # noqa: BLE001 - the module itself failed to import
            raise ImportPathError(
                f"cannot import {path!r}: importing module {module_name!r} raised "
                f"{type(exc).__name__}: {exc}",
                value=path,
                expected="a module that imports without errors",
            ) from exc
        return _walk_attributes(module, parts[cut:], path, module_name)
    hint = "" if project_root is None else f" (project root {str(project_root)!r} is on sys.path)"
    raise ImportPathError(
        f"cannot import {path!r}: {error}{hint}",
        value=path,
        expected="an importable 'package.module.name' (is the module on sys.path?) "
        "or a file reference 'file.py::name'",
    ) from error


def _import_from_file_path(file_ref: str, project_root: Path | str | None = None) -> Any:
    """Load ``file.py`` (or ``file.py::attr``) relative to ``project_root``."""
    file_part, _, attr = file_ref.partition("::")
    file_path = Path(file_part)
    if not file_path.is_absolute():
        base = Path(project_root) if project_root is not None else Path.cwd()
        file_path = base / file_path
    file_path = file_path.resolve()
    if not file_path.is_file():
        raise ImportPathError(
            f"cannot import {file_ref!r}: file {str(file_path)!r} does not exist",
            value=file_ref,
            expected="a path to a .py file, relative to the project root "
            "(the net file's directory)",
        )
    digest = hashlib.sha1(str(file_path).encode()).hexdigest()[:10]
    module_name = f"_netrun_filemod_{file_path.stem}_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, file_path)
        if spec is None or spec.loader is None:
            raise ImportPathError(
                f"cannot import {file_ref!r}: {str(file_path)!r} is not a Python module",
                value=file_ref,
            )
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001
            del sys.modules[module_name]
            raise ImportPathError(
                f"cannot import {file_ref!r}: running {str(file_path)!r} raised "
                f"{type(exc).__name__}: {exc}",
                value=file_ref,
            ) from exc
    if not attr:
        return module
    return _walk_attributes(module, attr.split("."), file_ref, str(file_path))


def _import_from_path(import_path: str, project_root: Path | str | None = None) -> Any:
    """Alias of :func:`import_from_path` (the published runtime's private name)."""
    return import_from_path(import_path, project_root)


def resolve_import_path(path: str) -> Any:
    """``"pkg.mod.obj"`` → the object; a single name imports a module (original's helper)."""
    return import_from_path(path)


def get_import_path(obj: Any, *, strict: bool = False) -> str | None:
    """The import path under which ``obj`` can be imported again, else ``None``.

    Lambdas, nested functions and objects that do not re-import to themselves give ``None``
    (the original implementation returned unusable paths such as ``"__main__.<lambda>"``).
    With ``strict=True`` the reason is raised as :class:`ImportPathError` instead.
    """
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    reason = None
    if not module or not qualname:
        reason = "it has no __module__/__qualname__"
    elif "<lambda>" in qualname or "<locals>" in qualname:
        reason = "it is a lambda or is defined inside a function"
    else:
        path = f"{module}.{qualname}"
        try:
            found = import_from_path(path)
        except ImportPathError:
            found = None
        if found is obj or (found is not None and getattr(found, "__func__", None) is obj):
            return path
        reason = f"importing {path!r} does not give the same object back"
    if strict:
        raise ImportPathError(
            f"{obj!r} cannot be written as an import path: {reason}",
            value=repr(obj),
            expected="a function or class defined at the top level of an importable module",
        )
    return None


def _get_callable_import_path(func: Callable) -> str:
    """The import path of a callable, raising :class:`ImportPathError` if there is none."""
    path = get_import_path(func, strict=True)
    assert path is not None
    if path.startswith("__main__."):
        raise ImportPathError(
            f"{func!r} is defined in __main__, which other processes cannot import",
            value=path,
            expected="a function defined in an importable module",
        )
    return path


def _get_type_import_path(type_obj: type) -> str:
    """The import path of a class (builtins by bare name)."""
    from netrun.config.ports import type_import_path

    return type_import_path(type_obj)


_is_file_path_ref = is_file_path_ref
