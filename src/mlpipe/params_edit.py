"""Editing params.yaml (and dvc.yaml) in place: set or remove a few keys, keep the rest as is.

``dvc exp run -S key=value`` rewrites params.yaml with ruamel.yaml's round-trip dumper
(``dvc/utils/serialize/_yaml.py``: ``YAML()`` with ``default_flow_style = False``): block lists,
an empty value for null, comments kept. ``set_keys`` writes with the same configuration, so
``mlpipe init`` and ``dvc exp run -S`` give the same layout and a later ``-S`` changes only its
own line.

One ruamel quirk is handled here: a block list whose key has an end-of-line comment, replaced
by an empty list (``[]``) or a scalar, leaves the comment's bookkeeping in a state that glues
the next key onto the same line. The comment is moved back onto the key, as ruamel itself
stores it for a scalar value. The comment lines that followed a replaced list (before the next
key) are kept after the new value.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from mlpipe.config import ConfigError


def _yaml() -> YAML:
    """A round-trip YAML configured as DVC's writer is."""
    yaml = YAML()
    yaml.default_flow_style = False
    return yaml


def set_keys(text: str, values: Mapping[str, Any], where: str = "params.yaml") -> str:
    """``text`` (a params.yaml) with each dotted key of ``values`` set; nothing else changes.

    A value is a scalar, None (written as an empty value), a list of scalars or a list of
    mappings (written as block lists). A key whose section exists but that is missing from it is
    appended to the section. Raises ConfigError when the text is not YAML or a section is not a
    mapping.
    """
    yaml = _yaml()
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(document, CommentedMap):
        raise ConfigError(f"{where}: the top level must be a mapping of sections")
    for dotted, value in values.items():
        *parents, leaf = dotted.split(".")
        node = document
        for part in parents:
            if part not in node:
                node[part] = CommentedMap()
            node = node[part]
            if not isinstance(node, CommentedMap):
                raise ConfigError(f"{where}: '{part}' (of {dotted}) must be a mapping")
        _replace(node, leaf, value)
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()


def remove_key(text: str, dotted: str, where: str = "dvc.yaml") -> str:
    """``text`` without the entry ``dotted`` (e.g. ``stages.generate``); the other lines, their
    comments and layout unchanged. ``text`` itself when there is no such entry.

    The entry's lines are cut from the text (a round-trip dump would reflow dvc.yaml, whose
    lists are indented and whose long lines are not wrapped): from its key to the next key of
    its mapping (or of an enclosing one), keeping the comment lines just above that key.
    """
    yaml = _yaml()
    try:
        document = yaml.load(text)
    except YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}") from None
    *parents, leaf = dotted.split(".")
    node, ancestors = document, []
    for part in parents:
        if not isinstance(node, CommentedMap) or part not in node:
            return text
        ancestors.append((node, part))
        node = node[part]
    if not isinstance(node, CommentedMap) or leaf not in node:
        return text
    lines = text.splitlines(keepends=True)
    start = node.lc.key(leaf)[0]
    end = _next_key_line(node, leaf, ancestors, len(lines))
    while end - 1 > start and lines[end - 1].strip().startswith("#"):
        end -= 1
    out = "".join(lines[:start] + lines[end:])
    expected = yaml.load(text)
    _pop(expected, [*parents, leaf])
    if _plain(yaml.load(out)) != _plain(expected):  # pragma: no cover - a layout not handled
        raise ConfigError(f"{where}: could not remove {dotted} without changing other entries")
    return out


def _next_key_line(
    node: CommentedMap, leaf: str, ancestors: list[tuple[CommentedMap, str]], default: int
) -> int:
    """The line of the key after ``leaf`` in its mapping, or after an enclosing entry."""
    keys = list(node)
    position = keys.index(leaf)
    if position + 1 < len(keys):
        return node.lc.key(keys[position + 1])[0]
    for parent, name in reversed(ancestors):
        keys = list(parent)
        position = keys.index(name)
        if position + 1 < len(keys):
            return parent.lc.key(keys[position + 1])[0]
    return default


def _pop(document: Any, path: list[str]) -> None:
    for part in path[:-1]:
        document = document[part]
    del document[path[-1]]


def unified_diff(old: str, new: str, path: str) -> str:
    """The unified diff of two texts of one file ('' when they are equal)."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )


def _replace(mapping: CommentedMap, key: str, value: Any) -> None:
    old = mapping.get(key)
    if key in mapping and _same(old, value):
        return  # unchanged: keep the node (and its comments) exactly as it was
    trailing = _trailing(old)
    new = _node(value)
    mapping[key] = new
    entry = mapping.ca.items.get(key)
    eol = entry[2] if entry is not None and len(entry) > 2 else None
    if isinstance(new, CommentedSeq) and new:
        if trailing is not None:
            token, lines = trailing
            token.value = "\n" + lines
            last = new[-1]
            if isinstance(last, CommentedMap) and last:
                last.ca.items[list(last)[-1]] = [None, None, token, None]
            else:
                new.ca.items[len(new) - 1] = [token, None, None, None]
        return
    # A scalar, null or []: the key's own comment, then the lines that followed the old list,
    # stored as ruamel stores them for a scalar value.
    if trailing is not None:
        token, lines = trailing
        if eol is None:
            token.value = "\n" + lines
            eol = token
        else:
            eol.value = eol.value.rstrip("\n") + "\n" + lines
    if eol is not None:
        mapping.ca.items[key] = [None, None, eol, None]


def _same(old: Any, value: Any) -> bool:
    """True when the parsed ``old`` equals ``value`` (lists and mappings compared as plain)."""
    return _plain(old) == _plain(value) and type(_plain(old)) is type(_plain(value))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _node(value: Any) -> Any:
    """``value`` as the ruamel node that dumps in block layout."""
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _node(item)
        return out
    if isinstance(value, list | tuple):
        return CommentedSeq(_node(v) for v in value)
    return value


def _trailing(node: Any) -> tuple[Any, str] | None:
    """The comment lines after the last item of a block list (before the next key), with the
    token that holds them; None when there are none."""
    if not isinstance(node, CommentedSeq) or not node:
        return None
    last = node[-1]
    if isinstance(last, CommentedMap) and last:
        entry = last.ca.items.get(list(last)[-1])
        token = entry[2] if entry is not None and len(entry) > 2 else None
    else:
        entry = node.ca.items.get(len(node) - 1)
        token = entry[0] if entry else None
    if token is None or "\n" not in token.value:
        return None
    lines = token.value.split("\n", 1)[1]
    return (token, lines) if "#" in lines else None
