"""The documentation site builds with `mkdocs build --strict` from a fresh copy of the project.

Strict mode turns every warning into an error: a broken link or anchor, a page missing from
the nav or a nav entry without a page. The test also reads the built site: each page of the
nav is there under its own title, the evaluate figures are in it, and nothing loads fonts
from Google (the site works offline).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support.doc_blocks import pages
from support.repo import BIN, PROJECT, Repo, make_repo


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Repo, Path, str]:
    """A fresh copy of the project, the site built from it, and mkdocs' own output."""
    base = tmp_path_factory.mktemp("site")
    repo = make_repo(base / "repo")
    site = base / "site"
    result = repo.run(
        str(BIN / "mkdocs"),
        "build",
        "--strict",
        "--site-dir",
        str(site),
        env={"NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    return repo, site, output


def _html(site: Path, page: str) -> str:
    rel = Path(page).relative_to("docs").with_suffix("")
    path = site / "index.html" if rel.name == "index" else site / rel / "index.html"
    return path.read_text(encoding="utf-8")


def test_strict_build_has_no_warning(built: tuple[Repo, Path, str]) -> None:
    _, _, output = built
    assert "Documentation built in" in output
    assert not re.search(r"WARNING|ERROR", output), output


@pytest.mark.parametrize("page", [p for p in pages(PROJECT) if p != "README.md"])
def test_every_nav_page_is_built_with_its_title(built: tuple[Repo, Path, str], page: str) -> None:
    repo, site, _ = built
    lines = (repo.path / page).read_text(encoding="utf-8").splitlines()
    title = next((line for line in lines if line.startswith("# ")), "")
    assert title, f"{page} has no '# title'"
    html = _html(site, page)
    assert re.search(rf"<h1[^>]*>{re.escape(title[2:])}", html), f"{page}: no <h1>{title[2:]}"


def test_readme_is_short_and_links_every_page() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150, "the README is the front door, not the manual"
    for page in pages(PROJECT)[1:]:
        if page != "docs/index.md":
            assert f"]({page})" in readme, f"the README's table does not link {page}"


def test_getting_started_shows_the_committed_evaluate_figures(
    built: tuple[Repo, Path, str],
) -> None:
    repo, site, _ = built
    figures = sorted((repo.path / "data" / "results" / "figures").glob("*.png"))
    assert {f.name for f in figures} >= {"roc.png", "precision_recall.png", "confusion.png"}
    html = _html(site, "docs/getting-started.md")
    for figure in figures:
        assert f'src="../images/figures/{figure.name}"' in html
        assert (site / "images" / "figures" / figure.name).read_bytes() == figure.read_bytes()


def test_pr_review_page_shows_the_comment_screenshot(built: tuple[Repo, Path, str]) -> None:
    _, site, _ = built
    html = _html(site, "docs/pr-review.md")
    assert 'src="../images/pr-comment.png"' in html
    assert (site / "images" / "pr-comment.png").read_bytes().startswith(b"\x89PNG")


def test_site_loads_nothing_from_google_fonts(built: tuple[Repo, Path, str]) -> None:
    _, site, _ = built
    for html in site.rglob("*.html"):
        assert "fonts.googleapis.com" not in html.read_text(encoding="utf-8"), html


@pytest.mark.parametrize(
    ("target", "commands"),
    [
        ("docs", ["docs/gen_reference.py", "mkdocs build --strict"]),
        ("docs-serve", ["mkdocs serve"]),
    ],
)
def test_make_docs_targets(
    built: tuple[Repo, Path, str], tmp_path: Path, target: str, commands: list[str]
) -> None:
    """`make -n` prints what the target would run (the stamp is new: no venv is built)."""
    repo, _, _ = built
    stamp = tmp_path / "installed"
    stamp.touch()
    os.utime(stamp, (4_102_444_800, 4_102_444_800))
    # --no-print-directory: under `make test` this is a sub-make, which would say so.
    result = repo.run(
        "make", "-n", "--no-print-directory", target, f"VENV={sys.prefix}", f"STAMP={stamp}"
    )
    lines = result.stdout.splitlines()
    assert len(lines) == len(commands), result.stdout
    for line, command in zip(lines, commands, strict=True):
        assert command in line
        assert "pip install" not in line


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    page = repo.path / "docs" / "limits.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nSee [gone](no-such-page.md).\n")
    result = subprocess.run(
        [str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=repo.path,
        env={**repo.env, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr
