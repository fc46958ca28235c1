"""The fenced code blocks of the README and the documentation pages, with their annotations.

Conventions (docs/design.md, "This documentation"):

- a ```bash, ```sh or ```console block is a command a reader is meant to run;
- ``<!-- not-run: REASON -->`` in the HTML comments right before a fence: the block is not run
  by the tests, for that reason;
- ``<!-- expect: TEXT -->`` in the HTML comments right after a fence: TEXT must appear in the
  block's output;
- in a ```console block, lines starting ``$ `` are commands (a trailing backslash continues a
  command on the next line) and the other lines are their claimed output (``...`` skips).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_COMMENT = r"\s*<!--(?:(?!-->).)*-->"  # one HTML comment: it ends at the first -->
_COMMENTS_BEFORE = re.compile(rf"((?:{_COMMENT})*)\s*\Z", re.DOTALL)
_COMMENTS_AFTER = re.compile(rf"\A((?:{_COMMENT})*)", re.DOTALL)
_ANNOTATION = re.compile(r"<!--\s*(not-run|expect):\s*(.*?)\s*-->", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One fenced block of a page."""

    page: str  # path relative to the project root
    line: int  # 1-based line of the opening fence
    language: str  # first word of the info string; "" when the fence has none
    text: str  # the block's content, without the fences
    not_run: str | None  # the reason given with <!-- not-run: ... -->, if any
    expects: tuple[str, ...]  # texts of <!-- expect: ... --> after the block

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.language in SHELL_LANGUAGES

    @property
    def script(self) -> str:
        """The commands to run: the whole block, or a console block's ``$`` lines."""
        if self.language != "console":
            return self.text
        commands: list[str] = []
        continued = False
        for line in self.text.splitlines():
            if continued or line.startswith("$ "):
                commands.append(line if continued else line[2:])
                continued = line.endswith("\\")
        return "\n".join(commands) + "\n"

    @property
    def claimed_output(self) -> list[str]:
        """Output lines a console block claims its commands print (``...`` lines skipped)."""
        if self.language != "console":
            return []
        claimed: list[str] = []
        continued = False
        for line in self.text.splitlines():
            if continued or line.startswith("$ "):
                continued = line.endswith("\\")
            elif line.strip() and line.strip() != "...":
                claimed.append(line)
        return claimed


def parse_blocks(markdown: str, page: str) -> list[Block]:
    """Every top-level fenced block of ``markdown`` (nested fences stay inside their parent)."""
    lines = markdown.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    blocks: list[Block] = []
    opened: tuple[int, str, str] | None = None  # (line index, fence, language)
    for index, line in enumerate(lines):
        match = _FENCE.match(line.rstrip("\n"))
        if opened is None:
            if match:
                info = match.group("info").strip()
                opened = (index, match.group("fence"), info.split()[0] if info else "")
            continue
        start, fence, language = opened
        closing = line.strip()
        if closing.startswith(fence) and set(closing) == {fence[0]}:
            before = _COMMENTS_BEFORE.search(markdown[: offsets[start]])
            after = _COMMENTS_AFTER.match(markdown[offsets[index + 1] :])
            notes_before = _ANNOTATION.findall(before.group(1) if before else "")
            notes_after = _ANNOTATION.findall(after.group(1) if after else "")
            reasons = [text for kind, text in notes_before if kind == "not-run"]
            blocks.append(
                Block(
                    page=page,
                    line=start + 1,
                    language=language,
                    text="".join(lines[start + 1 : index]),
                    not_run=reasons[0] if reasons else None,
                    expects=tuple(text for kind, text in notes_after if kind == "expect"),
                )
            )
            opened = None
    if opened is not None:
        raise ValueError(f"{page}:{opened[0] + 1}: a fence that is never closed")
    return blocks


def annotations(markdown: str) -> list[tuple[str, str]]:
    """Every ``not-run`` / ``expect`` annotation of a page (one that starts a line), attached
    to a block or not; one quoted in running text (as in docs/design.md) is not counted."""
    return re.findall(r"^" + _ANNOTATION.pattern, markdown, re.DOTALL | re.MULTILINE)


def pages(root: Path) -> list[str]:
    """README.md, then the site's pages in the order of mkdocs.yml's nav."""
    config = yaml.safe_load((root / "mkdocs.yml").read_text(encoding="utf-8"))
    docs_dir = config.get("docs_dir", "docs")
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.append(f"{docs_dir}/{node}")
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(config["nav"])
    return ["README.md", *found]


def page_blocks(root: Path, page: str) -> list[Block]:
    return parse_blocks((root / page).read_text(encoding="utf-8"), page)


def normalise(text: str) -> str:
    """Runs of white space as one space, so a claimed table matches whatever its padding."""
    return " ".join(text.split())
