"""Writing TOML: deterministic fresh documents, and in-place updates that keep comments.

Fresh documents put scalars before sub-tables, write small flat tables (ports, factory
arguments, references...) inline and lists of tables as ``[[...]]`` sections. Updates parse
the existing text with ``tomlkit`` and change only what differs, so comments and layout of
untouched parts survive.
"""

from __future__ import annotations

from typing import Any

from netrun.config.errors import ConfigError
from netrun.config.var_ref import is_var_ref_data

__all__ = ["to_toml_text", "update_toml_text"]


def _no_nulls(value: Any, path: tuple[Any, ...]) -> None:
    if value is None:
        raise ConfigError("TOML has no null value", path=path, value=None,
                          expected="write this net as JSON, or give a value instead of null")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_nulls(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_nulls(v, path + (i,))


def _is_flat(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) or (isinstance(v, list) and all(
            not isinstance(x, (dict, list)) for x in v)) for v in value.values())
    return False


def _toml_item(value: Any, *, inline_tables: bool = False) -> Any:
    import tomlkit

    if isinstance(value, dict):
        if inline_tables:
            table = tomlkit.inline_table()
            for k, v in value.items():
                table[k] = _toml_item(v, inline_tables=True)
            return table
        table = tomlkit.table()
        _fill_table(table, value)
        return table
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            arr = tomlkit.array()
            for v in value:
                arr.append(_toml_item(v, inline_tables=True))
            arr.multiline(True)
            return arr
        arr = tomlkit.array()
        for v in value:
            arr.append(_toml_item(v, inline_tables=True))
        return arr
    return tomlkit.item(value)


# Keys whose table values are written inline (one line each) rather than as sections.
_INLINE_KEYS = {"factory_args", "ports", "exposed_in_ports", "exposed_out_ports", "term",
                "max_salvos", "slots_spec", "state", "dependency_request", "in_ports", "out_ports"}


def _fill_table(table: Any, data: dict[str, Any], *, parent: str = "") -> None:
    import tomlkit

    scalars = [(k, v) for k, v in data.items() if not isinstance(v, dict) and not (
        isinstance(v, list) and v and all(isinstance(x, dict) for x in v) and k in ("nodes", "edges"))]
    tables = [(k, v) for k, v in data.items() if (k, v) not in scalars]
    for k, v in scalars:
        table[k] = _toml_item(v, inline_tables=True)
    for k, v in tables:
        if isinstance(v, list):  # [[nodes]] / [[edges]]
            aot = tomlkit.aot()
            for entry in v:
                sub = tomlkit.table()
                _fill_table(sub, entry, parent=k)
                aot.append(sub)
            table[k] = aot
        elif k in ("in_ports", "out_ports"):
            sub = tomlkit.table()
            for port, spec in v.items():
                sub[port] = _toml_item(spec, inline_tables=True)
            table[k] = sub
        elif is_var_ref_data(v) or (k in _INLINE_KEYS and _is_flat(v) and len(v) <= 6):
            table[k] = _toml_item(v, inline_tables=True)
        else:
            sub = tomlkit.table()
            _fill_table(sub, v, parent=k)
            table[k] = sub


def to_toml_text(data: dict[str, Any]) -> str:
    import tomlkit

    _no_nulls(data, ())
    doc = tomlkit.document()
    _fill_table(doc, data)
    return doc.as_string()


def update_toml_text(old_text: str, new_data: dict[str, Any]) -> str:
    """``old_text`` changed to hold ``new_data``, keeping comments and formatting of
    everything that did not change (tables and keys are updated, added, or removed)."""
    import tomlkit

    _no_nulls(new_data, ())
    doc = tomlkit.parse(old_text)
    _sync(doc, new_data)
    return doc.as_string()


def _plain(item: Any) -> Any:
    return item.unwrap() if hasattr(item, "unwrap") else item


def _sync(container: Any, new: dict[str, Any]) -> None:
    import tomlkit
    from tomlkit.items import AoT, InlineTable, Table

    for key in [k for k in list(container.keys()) if k not in new]:
        del container[key]
    for key, value in new.items():
        if key not in container:
            if isinstance(value, dict) and not isinstance(container, InlineTable):
                sub = tomlkit.table()
                _fill_table(sub, value)
                sub.add(tomlkit.nl())  # a blank line before whatever follows
                container[key] = sub
            else:
                container[key] = _toml_item(value, inline_tables=True)
            continue
        old = container[key]
        if _plain(old) == value:
            continue
        if isinstance(value, dict) and isinstance(old, (Table, InlineTable)) or (
                isinstance(value, dict) and hasattr(old, "keys") and not isinstance(old, AoT)):
            _sync(old, value)
        elif isinstance(old, AoT) and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            tables = list(old.body)
            for i, entry in enumerate(value):
                if i < len(tables):
                    _sync(tables[i], entry)
                else:
                    sub = tomlkit.table()
                    _fill_table(sub, entry)
                    old.append(sub)
            for _ in range(len(tables) - len(value)):
                old.body.pop()
                # keep tomlkit's internal list in step with the body
            if len(tables) > len(value):
                container[key] = old
        else:
            container[key] = _toml_item(value, inline_tables=True)
