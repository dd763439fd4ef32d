"""Unresolved ``{"$env": ...}`` / ``{"$var": ...}`` references inside storage configs.

The published format lets any storage setting be a reference that the config layer resolves
later (``NetConfig.resolve``). The storage layer sits below the config layer and cannot
import its ``VarRef`` class, so it keeps such a reference as a :class:`ConfigRef` (same JSON
shape) and offers :meth:`StorageModel.resolve_refs`, which the config layer calls with its own
resolver. Objects that dump to the same shape (the config layer's ``VarRef``) are accepted
as they are, converted to :class:`ConfigRef`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializationInfo, model_serializer, model_validator

from netrun.storage.errors import StorageConfigError

__all__ = ["ConfigRef", "StorageModel"]


class ConfigRef(BaseModel):
    """An unresolved reference: ``{"$env": "NAME", "default": ...}`` or ``{"$var": "name"}``."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    env: str | None = Field(default=None, alias="$env")
    var: str | None = Field(default=None, alias="$var")
    default: Any = None

    @model_validator(mode="before")
    @classmethod
    def _from_foreign_ref(cls, data: Any) -> Any:
        if not isinstance(data, dict | ConfigRef) and hasattr(data, "model_dump"):
            data = data.model_dump(by_alias=True, exclude_defaults=True)
        if isinstance(data, dict) and not ({"$env", "$var", "env", "var"} & data.keys()):
            raise ValueError("not a reference (needs a '$env' or '$var' key)")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> ConfigRef:
        if (self.env is None) == (self.var is None):
            raise ValueError("a reference names exactly one of '$env' or '$var'")
        return self

    @model_serializer
    def _dump(self) -> dict[str, Any]:
        data: dict[str, Any] = {"$env": self.env} if self.env is not None else {"$var": self.var}
        if self.default is not None:
            data["default"] = self.default
        return data


class StorageModel(BaseModel):
    """Base of the storage config models: unknown keys are rejected, references kept."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_serializer(mode="wrap")
    def _keep_type(self, handler: Any, info: SerializationInfo) -> Any:
        # A compact dump (exclude_defaults) must keep the ``type`` discriminator of backend
        # configs, or the dump does not load again (the published runtime's bug).
        data = handler(self)
        if info.exclude_defaults and isinstance(data, dict) and "type" not in data \
                and "type" in type(self).model_fields:
            data = {"type": getattr(self, "type"), **data}
        return data

    def unresolved_refs(self) -> list[tuple[str, ConfigRef]]:
        """Every reference still in this model, with its dotted field path."""
        found: list[tuple[str, ConfigRef]] = []
        _walk(self, "", lambda path, ref: found.append((path, ref)) or ref)
        return found

    def resolve_refs(self, resolver: Callable[[ConfigRef], Any]) -> Any:
        """A copy with every reference replaced by ``resolver(ref)``, then re-validated.

        The re-validation casts the resolved value to the field's type (``"true"`` from an
        environment variable becomes ``True`` for a ``bool`` field). A value that does not
        fit raises :class:`StorageConfigError` naming the field and the reference.
        """
        data = _walk(self, "", lambda path, ref: _resolve_one(path, ref, resolver))
        try:
            return type(self).model_validate(data)
        except ValueError as exc:
            raise StorageConfigError(
                f"a resolved reference does not fit its {type(self).__name__} field: {exc}",
                fix="set the environment variable / node variable to a value of the field's type",
            ) from exc


def _resolve_one(path: str, ref: ConfigRef, resolver: Callable[[ConfigRef], Any]) -> Any:
    try:
        return resolver(ref)
    except StorageConfigError:
        raise
    except Exception as exc:
        name = f"$env {ref.env!r}" if ref.env is not None else f"$var {ref.var!r}"
        raise StorageConfigError(
            f"cannot resolve {name} for storage setting {path!r}: {exc}",
            fix="define it, or give the reference a default",
        ) from exc


def _walk(value: Any, path: str, on_ref: Callable[[str, ConfigRef], Any]) -> Any:
    if isinstance(value, ConfigRef):
        return on_ref(path, value)
    if isinstance(value, BaseModel):
        return {
            name: _walk(getattr(value, name), f"{path}.{name}" if path else name, on_ref)
            for name in type(value).model_fields
        }
    if isinstance(value, dict):
        return {k: _walk(v, f"{path}.{k}", on_ref) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, f"{path}[{i}]", on_ref) for i, v in enumerate(value)]
    return value
