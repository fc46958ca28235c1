"""Markdown that no data can break: every string from data or from the user goes through here.

GitHub renders the PR comment, the job summary, the model card and drift.md. A value taken as
it is from a table (a category, a column name, a class label, a param value, a branch name, an
error message) could otherwise:

- mention a user or team (``@octocat``, ``@org/team``) or link an issue (``#123``);
- inject HTML (``<img src=x onerror=...>``, ``<details>``) or emphasis, links and emoji;
- add a cell to a table (``a|b``) and shift every column after it;
- close a code span or a fenced block (a backtick, three backticks).

``md`` writes a value as plain text when it holds only characters that mean nothing to
markdown or GitHub (letters, digits, spaces, ``. , ; + = / % ( ) ' -``, an underscore inside a
word, an index such as ``[0]``), and otherwise as an inline code element whose every other
character is an HTML character reference: code is never scanned for mentions, issue links,
emoji or autolinks, a reference is never markup, and a table cell never sees a literal ``|``.
``md_code`` always writes code (for names and values the comment shows as code). Both shorten
a value longer than their limit (with ``…``), so one huge category cannot push a comment past
GitHub's size limit; ``shortened`` tells when.
``fence`` opens a fenced block that the block's own text cannot close.

``md_text`` is for a sentence that mixes mlpipe's words with data (an error or warning message,
a gate check, a monitoring reason): it stays readable prose, with its own code spans kept as
code, and everything else a value could start (a mention, an issue link, a tag, an entity,
emphasis, a link, a table cell) escaped. ``code_span`` writes a value as a code span inside
such a message so that ``md_text`` shows it exactly.

``record_shortened`` collects, while it is active, every value these functions shortened, so a
report can say so and show the values in full elsewhere.

Numbers formatted by mlpipe itself need none of this.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any

# Characters that are plain text everywhere in GitHub markdown (inside tables too): letters,
# digits, an underscore between two of them (never emphasis: it is inside a word), an index
# such as ``[0]`` not followed by what would make it a link, and some punctuation; the first
# a letter, a digit or "(" (as in mlpipe's own "(missing)"), after at most one "-" (-0.5).
_PLAIN = re.compile(
    r"-?(?:[^\W_]|\()(?:[^\W_]|(?<=[^\W_])_(?=[^\W_])|\[\d+\](?![(\[:])|[ .,;+=/%()'…-])*",
    re.UNICODE,
)
# The shortest value that could start GitHub markup in a plain run: `www.` autolinks, `::`.
_AUTOLINK = re.compile(r"(?i)\bwww\.|://")
# Inside <code>: these are the only characters written as themselves.
_CODE_PLAIN = re.compile(r"[^\W_]| |…", re.UNICODE)

# Longest value shown in a table cell or a line (characters, before escaping).
CELL_LIMIT = 80
# Longest message (``md_text``) shown in a line.
TEXT_LIMIT = 500
ELLIPSIS = "…"

_RECORDER: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "mlpipe_markdown_shortened", default=None
)


@contextlib.contextmanager
def record_shortened() -> Iterator[list[str]]:
    """Collect the full text of every value ``md``, ``md_code`` and ``md_text`` shorten while
    the block runs (each once, in the order first shortened)."""
    values: list[str] = []
    token = _RECORDER.set(values)
    try:
        yield values
    finally:
        _RECORDER.reset(token)


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    # One line: a newline would end a table row or a list item.
    return " ".join(text.splitlines()) if ("\n" in text or "\r" in text) else text


def shortened(value: Any, limit: int = CELL_LIMIT) -> bool:
    """Whether ``md``/``md_code`` with this limit shortens the value."""
    return len(_text(value)) > limit


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    recorder = _RECORDER.get()
    if recorder is not None and text not in recorder:
        recorder.append(text)
    return text[: max(limit - 1, 1)] + ELLIPSIS


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
    if not text or (_PLAIN.fullmatch(text) and not _AUTOLINK.search(text)):
        return text
    return f"<code>{_entities(text)}</code>"


def fence(text: str, info: str = "") -> tuple[str, str]:
    """The opening and closing lines of a fenced block holding ``text``: a backtick fence
    longer than any run of backticks in the text, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}", ticks


def code_span(value: Any) -> str:
    """``value`` as a CommonMark code span (a backtick run longer than any in the value), for
    a message that is rendered with ``md_text`` later and printed as it is in a terminal."""
    text = _text(value)
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


# In a message: a mention, a team, an issue or pull request reference (also owner/repo#1, GH-1),
# up to the next space or backtick, punctuation that ends a sentence left out.
_REFERENCE = re.compile(r"[@#][^\s`]*?(?=[.,;:!?)]*(?:[\s`]|$))|\bGH-\d+", re.IGNORECASE)
# Characters escaped with a backslash wherever they are in a message.
_ALWAYS = frozenset("\\*~|")
# A code span's content written as backticks when it holds only these.
_SIMPLE_CODE = re.compile(r"[\w .,;:+=/%()'<>\[\]-]+")


def _prose_char(text: str, i: int) -> str:
    ch, before, after = text[i], text[i - 1 : i], text[i + 1 : i + 2]
    if ch in _ALWAYS or ch == "`":
        return "\\" + ch
    if ch == "_" and not (before.isalnum() and after.isalnum()):
        return "\\_"  # an underscore at a word's edge could open or close emphasis
    if ch == "<" and (after.isalpha() or after in "/!?"):
        return "\\<"  # a tag, a comment or an autolink would start here
    if ch == "&" and (after.isalnum() or after == "#"):
        return "\\&"  # an entity would start here (&#64; is an @ to GitHub's mention filter)
    if ch == "]" and after in ("(", "[", ":"):
        return "\\]"  # an inline, reference or footnote link, or a link definition
    if ch == "[" and after == "^":
        return "\\["
    return ch


def _prose(text: str) -> str:
    out, pos = [], 0
    for ref in _REFERENCE.finditer(text):
        out += [_prose_char(text, i) for i in range(pos, ref.start())]
        out.append(f"<code>{_entities(ref.group())}</code>")
        pos = ref.end()
    out += [_prose_char(text, i) for i in range(pos, len(text))]
    return "".join(out)


def _span(content: str) -> str:
    # CommonMark strips one space each side when both are there and it is not all spaces.
    if len(content) >= 2 and content[0] == " " and content[-1] == " " and content.strip():
        content = content[1:-1]
    if _SIMPLE_CODE.fullmatch(content) and content.strip() == content and "|" not in content:
        return f"`{content}`"
    return f"<code>{_entities(content)}</code>"


def md_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """A message (mlpipe's words with data in them) as markdown that shows its text: code
    spans written in it stay code (CommonMark's pairing of backtick runs), a backtick without
    a partner is shown as one, and everything else is escaped so that no value in it can
    mention, link an issue, open a tag or an entity, emphasise, link or add a table cell.
    At most ``limit`` characters of it are shown (see ``record_shortened``)."""
    text = _shorten(_text(value), limit)
    runs = [(m.start(), m.end()) for m in re.finditer(r"`+", text)]
    out, pos, i = [], 0, 0
    while i < len(runs):
        start, end = runs[i]
        closing = next(
            (j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] == end - start), None
        )
        if closing is None:  # no partner: literal backticks
            out.append(_prose(text[pos:start]) + "\\`" * (end - start))
            pos, i = end, i + 1
            continue
        out.append(_prose(text[pos:start]) + _span(text[end : runs[closing][0]]))
        pos, i = runs[closing][1], closing + 1
    out.append(_prose(text[pos:]))
    return "".join(out)
