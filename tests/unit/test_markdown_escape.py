"""mlpipe.markdown_escape on each hostile form, checked on the HTML a GFM renderer makes."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from mlpipe.markdown_escape import (
    CELL_LIMIT,
    ELLIPSIS,
    TEXT_LIMIT,
    code_span,
    fence,
    md,
    md_code,
    md_text,
    record_shortened,
    shortened,
)

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


@pytest.mark.parametrize(
    "value", ["roc_auc", "gate.rules[0].max_drop", "(missing)", "-0.5", "train.seed"]
)
def test_names_mlpipe_writes_stay_plain(value: str) -> None:
    assert md(value) == value


@pytest.mark.parametrize("value", ["_it_", "a[0](x)", "a[0]: x", "[0]", "- x", "a _b_ c"])
def test_what_would_be_markup_is_code(value: str) -> None:
    assert md(value).startswith("<code>")
    rendered = _render(f"- x {md(value)}\n")
    assert _visible(re.search(r"<li>x (.*)</li>", rendered)[1]) == value


# A message with mlpipe's own code spans and data in it.
MESSAGES = [
    *HOSTILE,
    "run `dvc pull` for @octocat's commit #12",
    "values <b>bold</b> &#64;x &amp; a|b **b** [l](u) ![i](u) [r]: u [^1] ~~s~~ _e_ end\\",
    "``x`y`` then ` alone",
    "see <http://example.com> and <!-- c -->",
    "GH-12 and owner/repo#3 and @org/team, then (#4).",
]


@pytest.mark.parametrize("message", MESSAGES)
def test_a_message_shows_its_text_in_a_cell_and_a_list(message: str) -> None:
    table = f"| before | message | after |\n| --- | --- | --- |\n| 1 | {md_text(message)} | 2 |\n"
    rendered = _render(table)
    cells = _cells(rendered)
    assert len(cells) == 3 and cells[0] == "1" and cells[2] == "2", rendered
    expected = re.sub(
        r"``(.*?)``|`([^`]*)`", lambda m: m[1] or m[2], " ".join(message.split("\n"))
    )
    # the text as written (a cell or a paragraph drops spaces at its ends)
    assert _visible(cells[1]).replace("`", "") == expected.replace("`", "").strip()
    listed = _render(f"- {md_text(message)}\n")
    outside = html.unescape(re.sub(r"<code>.*?</code>", "", listed, flags=re.S))
    assert not re.search(r"@\w|#\d|GH-\d", outside), listed
    markup = re.sub(r"</?(code|ul|li|p)>", "", listed)
    assert "<" not in markup.replace("&lt;", ""), listed  # no tag, link, emphasis or image


def test_a_messages_own_code_spans_stay_code_and_plain_text_stays_as_written() -> None:
    assert md_text("run `dvc pull` first") == "run `dvc pull` first"
    assert md_text("roc_auc 0.8 is below the floor 0.9 (x < y)") == (
        "roc_auc 0.8 is below the floor 0.9 (x < y)"
    )
    assert md_text("a `b|c` d") == "a <code>b&#124;c</code> d"
    assert md_text("one ` alone") == "one \\` alone"


@pytest.mark.parametrize("value", ["main", "a`b", "`x", "``", " ", "@octocat"])
def test_a_code_span_in_a_message_shows_the_value_exactly(value: str) -> None:
    rendered = _render(f"the base {md_text(code_span(value))} end\n")
    (inner,) = re.findall(r"<code>(.*?)</code>", rendered)
    assert html.unescape(inner) == value
    assert code_span("main") == "`main`"


def test_shortened_values_are_recorded_while_recording() -> None:
    long, longer = "a" * (CELL_LIMIT + 1), "b" * (TEXT_LIMIT + 1)
    md(long)  # outside a recorder: nothing kept
    with record_shortened() as values:
        md("short")
        md(long)
        md_code(long)  # once
        md_text(longer)
        md_text("short message")
    assert values == [long, longer]
    assert md_text(longer).endswith(ELLIPSIS) and len(md_text(longer)) == TEXT_LIMIT
