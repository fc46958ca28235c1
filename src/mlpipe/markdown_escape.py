"""Markdown that no data can break: every string from data or from the user goes through here.

GitHub renders the PR comment, the job summary, the model card and drift.md. A value taken as
it is from a table (a category, a column name, a class label, a param value, a branch name, an
error message) could otherwise:

- mention a user or team (``@octocat``, ``@org/team``) or link an issue (``#123``);
- inject HTML (``<img src=x onerror=...>``, ``<details>``) or emphasis, links and emoji;
- add a cell to a table (``a|b``) and shift every column after it;
- close a code span or a fenced block (a backtick, three backticks).

``md`` writes a value as plain text when it holds only characters that mean nothing to
markdown or GitHub (letters, digits, spaces and ``. , ; + = / % ( ) ' -``), and otherwise as an
inline code element whose every other character is an HTML character reference: code is never
scanned for mentions, issue links, emoji or autolinks, a reference is never markup, and a
table cell never sees a literal ``|``. ``md_code`` always writes code (for names and values
the comment shows as code). Both shorten a value longer than their limit (with ``…``), so
one huge category cannot push a comment past GitHub's size limit; ``shortened`` tells when.
``fence`` opens a fenced block that the block's own text cannot close.

Numbers formatted by mlpipe itself need none of this.
"""

from __future__ import annotations

import re
from typing import Any

# Characters that are plain text everywhere in GitHub markdown (inside tables too).
_PLAIN = re.compile(r"[^\W_](?:[^\W_]|[ .,;+=/%()'…-])*", re.UNICODE)
# The shortest value that could start GitHub markup in a plain run: `www.` autolinks, `::`.
_AUTOLINK = re.compile(r"(?i)\bwww\.|://")
# Inside <code>: these are the only characters written as themselves.
_CODE_PLAIN = re.compile(r"[^\W_]| |…", re.UNICODE)

# Longest value shown in a table cell or a line (characters, before escaping).
CELL_LIMIT = 80
ELLIPSIS = "…"


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    # One line: a newline would end a table row or a list item.
    return " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text


def shortened(value: Any, limit: int = CELL_LIMIT) -> bool:
    """Whether ``md``/``md_code`` with this limit shortens the value."""
    return len(_text(value)) > limit


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + ELLIPSIS


def _entities(text: str) -> str:
    return "".join(ch if _CODE_PLAIN.fullmatch(ch) else f"&#{ord(ch)};" for ch in text)


def md_code(value: Any, limit: int = CELL_LIMIT) -> str:
    """``value`` as inline code, safe anywhere (table cells included), at most ``limit``
    characters of it shown. Renders like a backtick code span; unlike one it cannot be closed
    by a backtick in the value and keeps a ``|`` inside a table cell."""
    text = _shorten(_text(value), limit)
    if text and "`" not in text and "|" not in text and text.strip() == text:
        return f"`{text}`"
    return f"<code>{_entities(text)}</code>"


def md(value: Any, limit: int = CELL_LIMIT) -> str:
    """``value`` as markdown that shows exactly its text and nothing else (see the module
    docstring), at most ``limit`` characters of it. Plain when that is safe, else code."""
    text = _shorten(_text(value), limit)
    if _PLAIN.fullmatch(text) and not _AUTOLINK.search(text):
        return text
    return f"<code>{_entities(text)}</code>"


def fence(text: str, info: str = "") -> tuple[str, str]:
    """The opening and closing lines of a fenced block holding ``text``: a backtick fence
    longer than any run of backticks in the text, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}", ticks
