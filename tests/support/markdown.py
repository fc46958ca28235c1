"""Checks on markdown as GitHub renders it (markdown-it-py, CommonMark + GFM tables): the shape of
every table, the raw HTML it holds, and what a mention filter would see.

GitHub's mention and issue-link filters work on the rendered HTML's text nodes outside code, so
``outside_code`` is what they would read.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

# The report's own raw HTML: collapsible blocks and the code elements markdown_escape writes.
OWN_HTML = re.compile(
    r"\s*(?:</?details>|<details><summary>[^<]*(?:<code>[^<]*</code>[^<]*)*</summary>|</?code>"
    r"|</?summary>|<br>)\s*"
)
HOSTILE_VALUES = (
    "@octocat",
    "<img src=x onerror=alert(1)>",
    "a|b",
    "normal `code` ",
)


def parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def render(text: str) -> str:
    return parser().render(text)


@dataclass(frozen=True)
class Table:
    header: list[str]  # visible text of each header cell
    rows: list[list[str]]  # visible text of each body cell

    def column(self, name: str) -> int:
        return self.header.index(name)

    def row(self, first_cell: str) -> list[str]:
        (found,) = [r for r in self.rows if r and r[0] == first_cell]
        return found


def _visible(children: list[Token] | None) -> str:
    out = []
    for token in children or []:
        if token.type in ("text", "code_inline"):
            out.append(token.content)
        elif token.type == "html_inline" and not re.fullmatch(r"</?code>", token.content):
            out.append(token.content)  # foreign HTML shows up (and is caught elsewhere)
    return html.unescape("".join(out))


def tables(text: str) -> list[Table]:
    """Every table of ``text``, each cell as its visible text."""
    found: list[Table] = []
    header: list[str] = []
    rows: list[list[str]] = []
    row: list[str] = []
    in_head = in_cell = False
    for token in parser().parse(text):
        if token.type == "thead_open":
            in_head, header, rows = True, [], []
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            in_cell = True
            row.append("")
        elif token.type in ("th_close", "td_close"):
            in_cell = False
        elif token.type == "inline" and in_cell:
            row[-1] = _visible(token.children)
        elif token.type == "tr_close":
            if in_head:
                header = row
            else:
                rows.append(row)
        elif token.type == "table_close":
            found.append(Table(header, rows))
    return found


def cell_counts_match(text: str) -> None:
    """Assert: every row of every table has as many cells as its header (markdown-it fills or
    cuts rows to the header's width, so count the separators of the source lines instead)."""
    for table in tables(text):
        assert table.header, text
    for start, lines in _table_sources(text):
        width = _cells(lines[0])
        for line in lines[2:]:
            assert _cells(line) == width, f"line {start}: {line!r} has not {width} cells"


def _table_sources(text: str) -> list[tuple[int, list[str]]]:
    out = []
    for token in parser().parse(text):
        if token.type == "table_open" and token.map:
            first, last = token.map
            out.append((first, text.split("\n")[first:last]))
    return out


def _cells(line: str) -> int:
    """Cells of a GFM table row: the pipes not escaped by a backslash, between the outer ones
    (markdown_escape never writes a raw ``|`` inside a code span, where it would split too)."""
    pipes, i = [], 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        if line[i] == "|":
            pipes.append(i)
        i += 1
    stripped = line.strip()
    outer = int(stripped.startswith("|")) + int(
        bool(pipes) and pipes[-1] == len(line.rstrip()) - 1
    )
    return len(pipes) - outer + 1


def foreign_html(text: str) -> list[str]:
    """Raw HTML in ``text`` that is not the report's own (details, summary, code, br)."""
    out = []
    for token in parser().parse(text):
        if token.type == "html_block":
            blocks = [line for line in token.content.splitlines() if line.strip()]
            out += [b for b in blocks if not OWN_HTML.fullmatch(b)]
        for child in token.children or []:
            if child.type == "html_inline" and not OWN_HTML.fullmatch(child.content):
                out.append(child.content)
    return out


def outside_code(text: str) -> str:
    """The rendered text a mention or issue-link filter reads: HTML outside code and pre,
    tags removed, entities decoded."""
    rendered = re.sub(r"<(code|pre)[^>]*>.*?</\1>", " ", render(text), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", rendered))


def mentions(text: str) -> list[str]:
    """Every ``@name`` or ``#123`` a GitHub filter would turn into a mention or a link."""
    return re.findall(r"(?<![\w`])(?:@[\w-]+|#\d+)", outside_code(text))
