"""mlpipe.markdown_escape on each hostile form, checked on the HTML a GFM renderer makes."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from mlpipe.markdown_escape import CELL_LIMIT, ELLIPSIS, fence, md, md_code, shortened

HOSTILE = [
    "@octocat",
    "@org/team",
    "#123",
    "<img src=x onerror=alert(1)>",
    "<details>",
    "a|b",
    "income | net",
    "normal `code` ",
    "``",
    "`",
    "**bold** _it_ ~~gone~~",
    "[link](http://example.com)",
    "http://example.com",
    "www.example.com",
    ":smile:",
    "a\\|b",
    "trailing\\",
    "line\nbreak",
    "&amp; &#64;",
    " padded ",
    "",
]


def _render(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"]).render(text)


def _cells(rendered: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", rendered, re.S)


def _visible(cell_html: str) -> str:
    return html.unescape(re.sub(r"</?code>", "", cell_html))


@pytest.mark.parametrize("escape", [md, md_code])
@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_in_a_table_keeps_the_shape_and_shows_its_own_text(escape, value: str) -> None:
    table = f"| before | value | after |\n| --- | --- | --- |\n| 1 | {escape(value)} | 2 |\n"
    rendered = _render(table)
    cells = _cells(rendered)
    assert len(cells) == 3, rendered  # no cell added or lost
    assert cells[0] == "1" and cells[2] == "2"
    assert _visible(cells[1]) == " ".join(value.splitlines())  # exactly the value, as text
    # nothing but our own <code> is markup: no raw tag, no link, no emphasis
    assert re.sub(r"</?code>", "", cells[1]).count("<") == 0, cells[1]


@pytest.mark.parametrize("value", [v for v in HOSTILE if "@" in v or "#" in v])
def test_a_mention_or_issue_link_is_only_ever_inside_code(value: str) -> None:
    for escape in (md, md_code):
        rendered = _render(f"- {escape(value)}\n")
        outside = re.sub(r"<code>.*?</code>", "", rendered, flags=re.S)
        assert "@" not in html.unescape(outside) and "#" not in html.unescape(outside)


@pytest.mark.parametrize("value", ["North", "Month-to-month", "Two year", "3.5", "Fiber (50%)"])
def test_plain_values_stay_plain(value: str) -> None:
    assert md(value) == value
    assert md_code(value) == f"`{value}`"


def test_long_values_are_shortened_and_said_to_be() -> None:
    value = "x" * 10_000
    assert shortened(value) and not shortened("x" * CELL_LIMIT)
    shown = md(value)
    assert len(shown) == CELL_LIMIT and shown.endswith(ELLIPSIS)
    assert len(md(value, limit=20)) == 20
    assert md_code("y" * 200).startswith("`y") and len(md_code("y" * 200)) == CELL_LIMIT + 2


@pytest.mark.parametrize("text", ["plain", "a ``` b", "````", "`x`"])
def test_a_fence_cannot_be_closed_by_its_text(text: str) -> None:
    opening, closing = fence(text, "diff")
    assert opening == closing + "diff"
    rendered = _render(f"{opening}\n{text}\n{closing}\nafter\n")
    assert rendered.count("<pre>") == 1
    assert html.unescape(re.search(r"<code[^>]*>(.*?)</code>", rendered, re.S)[1]) == text + "\n"
    assert rendered.rstrip().endswith("<p>after</p>")
