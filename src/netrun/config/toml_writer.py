"""Writing TOML: deterministic fresh documents, and in-place updates that keep comments.

Fresh documents put scalars before sub-tables, write small flat tables (ports, factory
arguments, references...) inline and lists of tables as ``[[...]]`` sections. Updates parse
the existing text with ``tomlkit`` and change only what differs, so comments and layout of
untouched parts survive.

Free-form data (``meta`` / ``extra`` / ``graph_meta``): the table itself stays a section, and
small flat tables *inside* it — a node position ``{x = 1.0, y = 2.0}`` in ``meta.ui`` — are
written inline, so moving a node in the editor changes one line. An update adds such a
table inline too, and turns an existing ``[...position]`` section into an inline table when
its content changes, unless the section holds a comment among its keys or is followed by
another section of the same table (then it is kept as a section, updated in place).

Keys an update adds go after the table's last key, before the blank lines and comments that
end the table (those introduce the next section, so they stay in front of it).
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

# Keys holding free-form data (DSL ``meta``/``graph_meta``, schema ``extra``).
_FREE_FORM_KEYS = {"meta", "extra", "graph_meta"}

# At most this many keys in a flat table written inline.
_INLINE_MAX_KEYS = 6


def _small_flat(value: Any) -> bool:
    return _is_flat(value) and len(value) <= _INLINE_MAX_KEYS


def _inline_here(key: str, value: Any, free: bool) -> bool:
    """Whether ``value`` (a table under ``key``) is written inline; ``free`` says that the
    table holding it is free-form data."""
    return is_var_ref_data(value) or ((key in _INLINE_KEYS or free) and _small_flat(value))


def _fill_table(table: Any, data: dict[str, Any], *, parent: str = "", free: bool = False) -> None:
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
                _fill_table(sub, entry, parent=k, free=free)
                aot.append(sub)
            table[k] = aot
        elif k in ("in_ports", "out_ports") and not free:
            sub = tomlkit.table()
            for port, spec in v.items():
                sub[port] = _toml_item(spec, inline_tables=True)
            table[k] = sub
        elif _inline_here(k, v, free):
            table[k] = _toml_item(v, inline_tables=True)
        else:
            sub = tomlkit.table()
            _fill_table(sub, v, parent=k, free=free or k in _FREE_FORM_KEYS)
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


def _body(container: Any) -> list[tuple[Any, Any]]:
    return getattr(container, "value", container).body


def _trailing_start(table: Any) -> int:
    """Index in the body after the last key: blank lines and comments from there on stand
    before the next section and belong to it."""
    from tomlkit.items import Comment, Whitespace

    body = _body(table)
    # Anything else (a key, or the placeholder tomlkit leaves for a removed key) ends the search.
    return max((i for i, (_, item) in enumerate(body) if not isinstance(item, (Comment, Whitespace))),
               default=-1) + 1


def _detach_trailing(table: Any) -> list[Any]:
    body = _body(table)
    start = _trailing_start(table)
    trailing = [item for _, item in body[start:]]
    del body[start:]  # no keys there, so tomlkit's key index stays valid
    return trailing


def _inline_convertible(container: Any, key: str, old: Any) -> bool:
    """A section that may be rewritten as an inline table: the last entry of its container
    (so what follows it stays in place), without comments among its keys."""
    from tomlkit.items import Comment, Whitespace

    body = _body(container)
    if not body or getattr(body[-1][0], "key", None) != key:
        return False
    own = _body(old)[:_trailing_start(old)]
    return not any(isinstance(item, Comment) or (not isinstance(item, Whitespace) and item.trivia.comment)
                   for _, item in own)


def _add(container: Any, key: str, item: Any) -> None:
    """``container[key] = item`` for a new key, placed before the blank lines and comments
    that end the container (they introduce the next section)."""
    import tomlkit
    from tomlkit.items import Table

    trailing = _detach_trailing(container) if isinstance(container, Table) else []
    if isinstance(item, Table) and not trailing:
        item.add(tomlkit.nl())  # a blank line before whatever follows
    container[key] = item
    for t in trailing:
        container.add(t)


def _sync(container: Any, new: dict[str, Any], *, free: bool = False) -> None:
    import tomlkit
    from tomlkit.items import AoT, InlineTable, Table

    for key in [k for k in list(container.keys()) if k not in new]:
        del container[key]
    for key, value in new.items():
        child_free = free or key in _FREE_FORM_KEYS
        if key not in container:
            if isinstance(container, InlineTable):
                container[key] = _toml_item(value, inline_tables=True)
            elif isinstance(value, dict) and not (free and _small_flat(value)):
                sub = tomlkit.table()
                _fill_table(sub, value, free=child_free)
                _add(container, key, sub)
            else:
                _add(container, key, _toml_item(value, inline_tables=True))
            continue
        old = container[key]
        if _plain(old) == value:
            continue
        if (free and isinstance(old, Table) and isinstance(value, dict) and _small_flat(value)
                and _inline_convertible(container, key, old)):
            # A small table in free-form data written as a section (older files): one line now;
            # what stood after its keys (blank lines, the next section's comments) stays.
            trailing = _detach_trailing(old)
            container[key] = _toml_item(value, inline_tables=True)
            for item in trailing:
                container.add(item)
        elif isinstance(value, dict) and isinstance(old, (Table, InlineTable)) or (
                isinstance(value, dict) and hasattr(old, "keys") and not isinstance(old, AoT)):
            _sync(old, value, free=child_free)
        elif isinstance(old, AoT) and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            tables = list(old.body)
            for i, entry in enumerate(value):
                if i < len(tables):
                    _sync(tables[i], entry, free=child_free)
                else:
                    sub = tomlkit.table()
                    _fill_table(sub, entry, free=child_free)
                    old.append(sub)
            for _ in range(len(tables) - len(value)):
                old.body.pop()
                # keep tomlkit's internal list in step with the body
            if len(tables) > len(value):
                container[key] = old
        else:
            container[key] = _toml_item(value, inline_tables=True)
