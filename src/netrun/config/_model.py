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

__all__ = ["ConfigModel", "VarResolvableModel", "EnvVarResolvableModel"]


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
        # Storage configs keep references of the same shape; resolve them with ours.
        path = tuple(self.stack)

        def resolver(ref: Any) -> Any:
            is_env = getattr(ref, "env", None) is not None
            if is_env != self.env:
                return ref
            as_ref = VarRef(env=ref.env) if is_env else VarRef(var=ref.var)
            if ref.default is not None:
                as_ref = as_ref.model_copy(update={"default": ref.default})
                as_ref.__pydantic_fields_set__.add("default")
            try:
                return as_ref.resolve_env(self.environ) if self.env else as_ref.resolve_var(self.variables or {})
            except ConfigError as exc:
                raise exc.with_location(path=path)

        return value.resolve_refs(resolver) if value.unresolved_refs() else value

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
