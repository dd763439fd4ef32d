"""The base of every config model: strict keys, stable dumps, reference resolution.

* Unknown keys are rejected (``extra="forbid"``); the loader turns pydantic's report into a
  message naming the key path and the allowed keys.
* ``model_dump(exclude_defaults=True)`` keeps the ``type`` discriminator of tagged unions, so
  a compact dump always loads again (the published runtime lost them, §11.21 of the study).
* :meth:`ConfigModel.resolve_env_vars` / :meth:`ConfigModel.resolve_var_refs` return a copy
  in which :class:`~netrun.config.var_ref.VarRef` values are replaced by values of the
  field's type.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

from pydantic import BaseModel, ConfigDict, SerializationInfo, model_serializer

from netrun.config.errors import ConfigError
from netrun.config.var_ref import VarRef, VarTarget, cast_to_field_type

__all__ = ["ConfigModel", "VarResolvableModel", "EnvVarResolvableModel", "storage_refs"]


class ConfigModel(BaseModel):
    """Base class of all config models (unknown keys are errors)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        arbitrary_types_allowed=True,
        protected_namespaces=(),
    )

    #: Fields not descended into by :meth:`resolve_var_refs` (they have their own scope).
    _var_scope_boundary: ClassVar[frozenset[str]] = frozenset()
    #: Fields whose references are never resolved here (e.g. a node variable's own value).
    _no_var_refs: ClassVar[frozenset[str]] = frozenset()
    #: Optional sub-models for which an empty dump means the same as ``None``.
    _empty_means_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _keep_discriminator(self, handler: Any, info: SerializationInfo) -> Any:
        data = handler(self)
        if info.exclude_defaults and isinstance(data, dict):
            fields = type(self).model_fields
            # pydantic keeps fields that have a field serializer even when they hold the
            # default; drop those too so compact dumps are really compact.
            for key in [k for k in data if k in fields and k != "type"]:
                field = fields[key]
                if field.is_required():
                    continue
                value = getattr(self, key)
                if field.default is None and (data[key] is None or (
                        data[key] == {} and key in self._empty_means_none)):
                    del data[key]  # e.g. a factory-made function, written as "let the factory make it"
                elif value is None or isinstance(value, (dict, list)) and not value:
                    if value == field.get_default(call_default_factory=True):
                        del data[key]
            if "type" not in data and _has_discriminator(type(self)):
                data = {"type": getattr(self, "type"), **data}
        return data

    # -- reference resolution -------------------------------------------------------------

    def resolve_env_vars(
        self, environ: Mapping[str, str] | None = None, *, _path: tuple[Any, ...] = ()
    ) -> "ConfigModel":
        """A copy with every ``{"$env": ...}`` replaced by the environment's value (cast)."""
        return _resolve(self, _path, env=True, environ=environ, variables=None)

    def resolve_var_refs(
        self, resolved_vars: Mapping[str, Any], *, _path: tuple[Any, ...] = ()
    ) -> "ConfigModel":
        """A copy with every ``{"$var": ...}`` replaced by the named variable's value (cast)."""
        return _resolve(self, _path, env=False, environ=None, variables=resolved_vars)

    def has_var_refs(self) -> bool:
        """True when some field (at any depth) still holds a reference."""
        return _contains_ref(self)


def _has_discriminator(cls: type) -> bool:
    """True when ``cls.type`` is a one-value ``Literal`` (a tagged-union member)."""
    cached = cls.__dict__.get("_netrun_discriminator")
    if cached is None:
        import typing

        field = cls.model_fields.get("type")  # type: ignore[attr-defined]
        cached = bool(field is not None and typing.get_origin(field.annotation) is typing.Literal
                      and len(typing.get_args(field.annotation)) == 1)
        setattr(cls, "_netrun_discriminator", cached)
    return cached


#: Names used by the published runtime for its base class.
VarResolvableModel = ConfigModel
EnvVarResolvableModel = ConfigModel


_PRIMITIVES = (str, int, float, bool, type(None))
_CLASS_INFO: dict[type, tuple[frozenset[str], dict[str, Any]]] = {}


def _class_info(cls: type) -> tuple[frozenset[str], dict[str, Any]]:
    """Per model class: fields skipped by ``$var`` resolution, and each field's target type."""
    info = _CLASS_INFO.get(cls)
    if info is None:
        targets: dict[str, Any] = {}
        for name, field in cls.model_fields.items():  # type: ignore[attr-defined]
            targets[name] = next((m.type for m in field.metadata if isinstance(m, VarTarget)), Any)
        info = (frozenset(cls._var_scope_boundary | cls._no_var_refs), targets)  # type: ignore[attr-defined]
        _CLASS_INFO[cls] = info
    return info


class _Resolver:
    """One pass replacing ``$env`` (``env=True``) or ``$var`` references by values.

    Returns the very same objects where nothing changed, so a pass over a config without
    references copies nothing. The key path is kept on a stack and built only for errors.
    """

    __slots__ = ("env", "environ", "variables", "stack")

    def __init__(self, env: bool, environ: Mapping[str, str] | None,
                 variables: Mapping[str, Any] | None, path: tuple[Any, ...]) -> None:
        self.env = env
        self.environ = environ
        self.variables = variables
        self.stack: list[Any] = list(path)

    def ref(self, ref: VarRef, target: Any) -> Any:
        try:
            if self.env:
                raw = ref.resolve_env(self.environ)
                what = f"environment variable {ref.env!r}"
            else:
                raw = ref.resolve_var(self.variables or {})
                what = f"node variable {ref.var!r}"
            if raw is None:
                return None
            return cast_to_field_type(raw, target, what=what)
        except ConfigError as exc:
            raise exc.with_location(path=tuple(self.stack))

    def storage(self, value: Any) -> Any:
        """A storage config (``netrun.storage.config``) with this pass's references resolved.

        The storage layer keeps references of the same shape (``ConfigRef``) and resolves
        them through ``StorageModel.resolve_refs(resolver)``. Each reference is looked up and
        cast to its field's type here first, so a missing variable or a value of the wrong
        type raises the same located :class:`ConfigError` as anywhere else in a config.
        """
        from netrun.storage.errors import StorageConfigError

        refs = [(path, ref, target) for path, ref, target in storage_refs(value)
                if (ref.env is not None) == self.env]
        if not refs:
            return value
        base = tuple(self.stack)
        values: dict[Any, list[Any]] = {}
        for path, ref, target in refs:
            self.stack[:] = [*base, *path]
            values.setdefault(ref, []).append(self.ref(as_var_ref(ref), target))
        self.stack[:] = list(base)

        def resolver(ref: Any) -> Any:
            found = values.get(ref)
            if found is None:
                return ref  # a reference of the other kind ($var in the $env pass...)
            if all(v == found[0] for v in found):
                return found[0]
            # The same reference in fields of different types: the field's own check casts it.
            return as_var_ref(ref).resolve_env(self.environ) if self.env else \
                as_var_ref(ref).resolve_var(self.variables or {})

        try:
            return value.resolve_refs(resolver)
        except StorageConfigError as exc:
            raise _storage_error(exc, base, refs) from None

    def value(self, value: Any, target: Any) -> Any:
        if isinstance(value, _PRIMITIVES):
            return value
        if isinstance(value, VarRef):
            return self.ref(value, target) if value.is_env == self.env else value
        if isinstance(value, ConfigModel):
            return self.model(value)
        if isinstance(value, BaseModel):
            return self.storage(value) if hasattr(type(value), "resolve_refs") else value
        stack = self.stack
        if isinstance(value, list):
            changed = False
            items = []
            for i, v in enumerate(value):
                stack.append(i)
                new = self.value(v, Any)
                stack.pop()
                changed = changed or new is not v
                items.append(new)
            return items if changed else value
        if isinstance(value, dict):
            changed = False
            out = {}
            for k, v in value.items():
                stack.append(k)
                new = self.value(v, Any)
                stack.pop()
                changed = changed or new is not v
                out[k] = new
            return out if changed else value
        return value

    def model(self, model: "ConfigModel") -> "ConfigModel":
        skip, targets = _class_info(type(model))
        changes: dict[str, Any] = {}
        stack = self.stack
        for name, value in model.__dict__.items():
            if isinstance(value, _PRIMITIVES) or (not self.env and name in skip):
                continue
            stack.append(name)
            new = self.value(value, targets.get(name, Any))
            stack.pop()
            if new is not value:
                changes[name] = new
        if not changes:
            return model
        copy = model.model_copy(update=changes)
        # model_copy keeps fields_set; resolved fields count as set so dumps keep them.
        copy.__pydantic_fields_set__ = set(model.model_fields_set) | set(changes)
        return copy


def as_var_ref(ref: Any) -> VarRef:
    """The storage layer's ``ConfigRef`` as a :class:`VarRef` (same meaning)."""
    as_ref = VarRef(env=ref.env) if ref.env is not None else VarRef(var=ref.var)
    if ref.default is not None or "default" in ref.model_fields_set:
        as_ref = as_ref.model_copy(update={"default": ref.default})
        as_ref.__pydantic_fields_set__.add("default")
    return as_ref


def _field_target(annotation: Any) -> Any:
    """A storage field's type without its reference branch (``int | ConfigRef`` → ``int``)."""
    import types
    import typing

    from netrun.storage.config import ConfigRef

    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not ConfigRef]
        return args[0] if len(args) == 1 else typing.Union[tuple(args)]
    return annotation


def storage_refs(model: BaseModel, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any, Any]]:
    """Every reference in a storage config: ``(key path, ConfigRef, the field's type)``."""
    from netrun.storage.config import ConfigRef

    found: list[tuple[tuple[Any, ...], Any, Any]] = []

    def walk(value: Any, where: tuple[Any, ...], annotation: Any) -> None:
        if isinstance(value, ConfigRef):
            found.append((where, value, _field_target(annotation)))
        elif isinstance(value, BaseModel):
            for name, field in type(value).model_fields.items():
                walk(getattr(value, name), (*where, name), field.annotation)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*where, k), Any)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*where, i), Any)

    walk(model, path, Any)
    return found


def _storage_error(exc: Exception, base: tuple[Any, ...], refs: list[Any]) -> ConfigError:
    """A storage model's refusal of resolved values, as a :class:`ConfigError` at the field."""
    from pydantic import ValidationError

    cause = exc.__cause__
    path, msg, value = base, str(exc), None
    if isinstance(cause, ValidationError) and cause.errors():
        first = cause.errors()[0]
        loc, msg, value = tuple(first["loc"]), first["msg"], first.get("input")
        for ref_path, _, _ in refs:  # the reference whose field failed (error paths hold union tags)
            it = iter(loc)
            if all(part in it for part in ref_path):
                path = (*base, *ref_path)
                break
    return ConfigError(f"the storage settings do not accept the resolved reference(s): {msg}",
                       path=path, value=value, expected="a value the setting accepts")


def _resolve(
    model: "ConfigModel",
    path: tuple[Any, ...],
    *,
    env: bool,
    environ: Mapping[str, str] | None,
    variables: Mapping[str, Any] | None,
) -> "ConfigModel":
    return _Resolver(env, environ, variables, path).model(model)


def _contains_ref(value: Any) -> bool:
    if isinstance(value, _PRIMITIVES):
        return False
    if isinstance(value, VarRef):
        return True
    if isinstance(value, ConfigModel):
        return any(_contains_ref(v) for v in value.__dict__.values() if not isinstance(v, _PRIMITIVES))
    if isinstance(value, BaseModel):
        refs = getattr(type(value), "unresolved_refs", None)
        if refs is not None:
            return bool(value.unresolved_refs())  # a storage model: it keeps its own references
        return any(_contains_ref(v) for v in value.__dict__.values() if not isinstance(v, _PRIMITIVES))
    if isinstance(value, list):
        return any(_contains_ref(v) for v in value)
    if isinstance(value, dict):
        return any(_contains_ref(v) for v in value.values())
    return False
