"""Every command the README and the documentation show is run, page by page, or says why not.

The shell blocks (```bash, ```sh, ```console) of README.md and of each page in mkdocs.yml's nav
order are run in order, one page per fresh copy of a repository on which `dvc repro` has run
(the session's ``reproduced`` fixture), with a bare git repository as its ``origin`` and the
default ``local`` DVC remote beside it, as a user's clone would have. Each block runs as one
``bash -euo pipefail`` script in the copy's root with this virtual environment's tools on PATH
(``Repo.env``). A block must exit 0, and its claimed output must be in what it printed:
``<!-- expect: TEXT -->`` after the block, and the output lines of a ```console block.

``make`` is the one command not run as written: ``make run`` in a copy would build a second
virtual environment (about 75 s) from the lock file. A shell function passes
``VENV=<this virtual environment>`` and a stamp file dated in the future, so make runs the
target's own recipe (``dvc repro``, ``mlpipe metrics``) with the tools already installed and
can never re-create or re-install this environment. Blocks marked ``<!-- not-run: REASON -->``
(cloud credentials, your own file, the test suite itself) are not run; a shell block with
neither marking nor a run fails ``test_every_shell_block_runs_or_says_why_not``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.doc_blocks import (
    Block,
    annotations,
    normalise,
    page_blocks,
    pages,
    parse_blocks,
)
from support.repo import PROJECT, Repo

PAGES = pages(PROJECT)
_FAR_FUTURE = 4_102_444_800  # 2100-01-01: make never finds the stamp older than the lock file
_MAKE = 'make() { command make VENV="$MLPIPE_DOCS_VENV" STAMP="$MLPIPE_DOCS_STAMP" "$@"; }\n'


def _runnable(page: str) -> list[Block]:
    return [b for b in page_blocks(PROJECT, page) if b.is_shell and b.not_run is None]


# --- the conventions, checked on every page (fast) -------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_every_shell_block_runs_or_says_why_not(page: str) -> None:
    blocks = page_blocks(PROJECT, page)
    for block in blocks:
        assert block.language, (
            f"{block.where}: a fence without a language; use bash/console for commands a "
            "reader runs, text/yaml/markdown for anything else"
        )
        if block.not_run is not None:
            assert block.is_shell, f"{block.where}: not-run on a {block.language} block"
            assert len(block.not_run) >= 10, f"{block.where}: not-run needs a reason"
        if block.language == "console":
            assert block.script.strip(), f"{block.where}: a console block without '$ ' lines"
    attached = sum(len(b.expects) + (b.not_run is not None) for b in blocks)
    assert attached == len(annotations((PROJECT / page).read_text(encoding="utf-8"))), (
        f"{page}: an expect/not-run annotation that is attached to no code block (an expect "
        "goes right after a fence, a not-run right before one)"
    )


def test_readme_quickstart_is_make_run_then_make_test() -> None:
    shell = [b for b in page_blocks(PROJECT, "README.md") if b.is_shell]
    assert shell[0].script.split() == ["make", "run"]
    assert shell[0].not_run is None and "roc_auc 0.8270 [0.8112, 0.8408] 0.8595" in map(
        normalise, shell[0].claimed_output
    )
    assert shell[1].script.split() == ["make", "test"]
    assert "this test suite itself" in (shell[1].not_run or "")
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8")
    assert "\nmake test\n" in ci, ".ci/run no longer calls the README's `make test`"


def test_parse_blocks_reads_the_conventions() -> None:
    text = (
        "Intro\n\n<!-- TODO: other -->\n<!-- not-run: needs AWS credentials -->\n"
        "```bash\naws s3 ls\n```\n\n"
        "````markdown\n```bash\nnested\n```\n````\n"
        "```console\n$ echo a \\\n  b\na b\n...\n$ true\n```\n<!-- expect: x y -->\n"
        "text <!-- not-run: too far away --> text\n\n```sh\nls\n```\n"
    )
    blocks = parse_blocks(text, "p.md")
    assert [(b.line, b.language) for b in blocks] == [
        (5, "bash"),
        (9, "markdown"),
        (14, "console"),
        (24, "sh"),
    ]
    assert blocks[0].not_run == "needs AWS credentials"
    assert blocks[1].text == "```bash\nnested\n```\n"
    assert blocks[2].script == "echo a \\\n  b\ntrue\n"
    assert blocks[2].claimed_output == ["a b"]
    assert blocks[2].expects == ("x y",)
    assert blocks[3].not_run is None  # text stands between the comment and the fence


# --- running them (slow: real dvc in a temporary copy) ---------------------------------------


def _clone_with_origin(reproduced: Repo, tmp_path: Path) -> Repo:
    repo = reproduced.copy(tmp_path / "repo")
    origin = tmp_path / "origin.git"
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(repo.path), str(origin)], check=True, env=repo.env
    )
    repo.git("remote", "add", "origin", str(origin))
    repo.git("fetch", "-q", "origin")
    repo.git("branch", "-q", "--set-upstream-to=origin/main", "main")
    return repo


def _run(block: Block, repo: Repo, stamp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **repo.env,
        "MLPIPE_DOCS_VENV": sys.prefix,
        "MLPIPE_DOCS_STAMP": str(stamp),
        "NO_MKDOCS_2_WARNING": "1",
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _MAKE + block.script],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in PAGES if _runnable(p)])
def test_commands_of_page_run_and_print_what_the_page_says(
    page: str, reproduced: Repo, tmp_path: Path
) -> None:
    repo = _clone_with_origin(reproduced, tmp_path)
    stamp = tmp_path / "venv-installed"
    stamp.touch()
    os.utime(stamp, (_FAR_FUTURE, _FAR_FUTURE))
    for block in _runnable(page):
        result = _run(block, repo, stamp)
        output = result.stdout + result.stderr
        assert result.returncode == 0, (
            f"{block.where}: exited {result.returncode}\n--- block\n{block.script}"
            f"--- output\n{output[-6000:]}"
        )
        printed = normalise(output)
        for claim in (*block.expects, *block.claimed_output):
            assert normalise(claim) in printed, (
                f"{block.where}: the page says the output has {claim!r}; it printed:\n"
                f"{output[-6000:]}"
            )
