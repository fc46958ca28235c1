"""Screenshot of a real `mlpipe report` PR comment, rendered as GitHub shows it.

    .venv/bin/python docs/scripts/pr_comment_screenshot.py    # writes docs/images/pr-comment.png

Steps, all on this machine (no network at run time except the one-off npm install):
1. Build a real report: a temporary git + DVC copy of this checkout (tests/support/repo.py's
   make_repo), `dvc repro` committed on main, then a branch `feature` that sets
   train.hist_gradient_boosting.max_iter to 10, `dvc repro`, commit
   (tests/support/pr_scenario.py), and `mlpipe report --base main --output comment.md`.
2. Write an HTML page: GitHub's markdown CSS (npm github-markdown-css), the markdown converted
   by marked (GitHub-flavoured: tables, <details>) and the ```mermaid blocks drawn by mermaid,
   as GitHub does, inside a comment box about 900 px wide.
3. Headless Chromium loads it twice: --dump-dom to check that every mermaid block became an
   SVG and to measure the page's height, then --screenshot at that height.
4. pngquant (if installed) shrinks the PNG.

Needs: Debian packages `chromium` (required), `fonts-noto-color-emoji` (the ✅ / ❌ marks) and
`pngquant` (smaller file):  apt-get update && apt-get install -y chromium fonts-noto-color-emoji
pngquant. Node.js with npm: the script installs the pinned npm packages below into --cache
(default ~/.cache/mlpipe-docs/npm) the first time; nothing is committed but the PNG.
Run it with the project's environment (`make env`), from any directory.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = PROJECT / "docs" / "images" / "pr-comment.png"
DEFAULT_CACHE = Path.home() / ".cache" / "mlpipe-docs" / "npm"
# Exact versions: the same inputs draw the same picture.
NPM_PACKAGES = {"marked": "18.2.1", "mermaid": "12.3.0", "github-markdown-css": "5.9.0"}
ASSETS = {
    "marked": "node_modules/marked/lib/marked.umd.js",
    "mermaid": "node_modules/mermaid/dist/mermaid.min.js",
    "css": "node_modules/github-markdown-css/github-markdown-light.css",
}
WIDTH = 900
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--virtual-time-budget=30000",
)


class ScreenshotError(Exception):
    """A step failed; the message says which and how to fix it."""


# ---------------------------------------------------------------------------------------------
# Pure parts (unit-tested): the page, and what the rendered page says about itself

_PAGE_CSS = """
html { background: #ffffff; }
body { margin: 0; padding: 16px; background: #ffffff; width: %(inner)dpx; }
.comment { border: 1px solid #d1d9e0; border-radius: 6px; background: #ffffff; }
.comment-header {
  display: flex; align-items: center; gap: 6px; padding: 8px 16px;
  background: #f6f8fa; border-bottom: 1px solid #d1d9e0;
  border-top-left-radius: 6px; border-top-right-radius: 6px;
  color: #59636e; font-size: 14px;
  font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
}
.comment-header strong { color: #1f2328; }
.comment-header .label {
  border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 7px; font-size: 12px;
  font-weight: 500; line-height: 18px;
}
.markdown-body { padding: 16px; font-size: 14px; }
.markdown-body .mermaid {
  border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px; margin-bottom: 16px;
  text-align: center;
}
.markdown-body .mermaid svg { max-width: 100%%; height: auto; }
"""

_PAGE_SCRIPT = """
(async () => {
  const state = document.body.dataset;
  try {
    const markdown = JSON.parse(document.getElementById("markdown").textContent);
    const target = document.getElementById("comment");
    target.innerHTML = marked.parse(markdown, { gfm: true });
    // GitHub draws ```mermaid blocks as diagrams.
    for (const code of target.querySelectorAll("pre > code.language-mermaid")) {
      const box = document.createElement("div");
      box.className = "mermaid";
      box.textContent = code.textContent;
      code.parentElement.replaceWith(box);
    }
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
    await mermaid.run({ querySelector: ".mermaid" });
    state.svgs = String(document.querySelectorAll(".mermaid svg").length);
    state.height = String(Math.ceil(document.documentElement.scrollHeight));
    state.done = "yes";
  } catch (error) {
    state.error = String(error && error.message || error);
  }
})();
"""


def build_html(markdown: str, marked_js: Path, mermaid_js: Path, css: Path, width: int) -> str:
    """The page Chromium renders: ``markdown`` (embedded as JSON, so no text of it can close
    the script element) converted by marked, mermaid blocks drawn by mermaid, in a comment box
    ``width`` px wide. Only local files are referenced."""
    payload = json.dumps(markdown).replace("<", "\\u003c").replace(">", "\\u003e")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            "<title>mlpipe report</title>",
            f'<link rel="stylesheet" href="{css.resolve().as_uri()}">',
            f"<style>{_PAGE_CSS % {'inner': width - 32}}</style>",
            f'<script src="{marked_js.resolve().as_uri()}"></script>',
            f'<script src="{mermaid_js.resolve().as_uri()}"></script>',
            "</head>",
            "<body>",
            '<div class="comment">',
            '<div class="comment-header"><strong>github-actions</strong>'
            '<span class="label">bot</span> commented</div>',
            '<article class="markdown-body" id="comment"></article>',
            "</div>",
            f'<script type="application/json" id="markdown">{payload}</script>',
            f"<script>{_PAGE_SCRIPT}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def mermaid_blocks(markdown: str) -> int:
    """How many ```mermaid code blocks the markdown has."""
    return len(re.findall(r"^```mermaid[ \t]*$", markdown, flags=re.M))


@dataclass(frozen=True)
class RenderState:
    """What the page's script recorded on <body> once it finished (or failed)."""

    done: bool
    svgs: int
    height: int
    error: str


def render_state(dom: str) -> RenderState:
    """Read the data-* attributes the page script sets on <body> from a --dump-dom output."""
    match = re.search(r"<body([^>]*)>", dom)
    attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', match.group(1))) if match else {}
    return RenderState(
        done=attrs.get("done") == "yes",
        svgs=int(attrs.get("svgs", "0") or 0),
        height=int(attrs.get("height", "0") or 0),
        error=attrs.get("error", ""),
    )


# ---------------------------------------------------------------------------------------------
# Steps that run tools


def install_npm_packages(cache: Path) -> dict[str, Path]:
    """Install the pinned npm packages into ``cache`` unless they are there; the asset paths."""
    assets = {name: cache / rel for name, rel in ASSETS.items()}
    installed = all(_npm_version(cache, name) == version for name, version in NPM_PACKAGES.items())
    if not installed:
        if shutil.which("npm") is None:
            raise ScreenshotError("npm not found: install Node.js with npm (apt-get install npm)")
        cache.mkdir(parents=True, exist_ok=True)
        specs = [f"{name}@{version}" for name, version in NPM_PACKAGES.items()]
        print(f"npm install {' '.join(specs)} into {cache}", file=sys.stderr)
        _run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache), *specs])
    missing = [str(p) for p in assets.values() if not p.is_file()]
    if missing:
        raise ScreenshotError(f"npm packages installed but files missing: {', '.join(missing)}")
    return assets


def _npm_version(cache: Path, name: str) -> str:
    manifest = cache / "node_modules" / name / "package.json"
    try:
        return json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return ""


def build_report(work: Path) -> str:
    """A real PR comment: main's run, a branch with a worse model, `mlpipe report`."""
    sys.path.insert(0, str(PROJECT / "tests"))
    from support.pr_scenario import build_pr_scenario
    from support.repo import make_repo

    print("building the repository and running dvc repro on main (a few minutes)", file=sys.stderr)
    main = make_repo(work / "main")
    main.dvc("repro")
    print("branch feature: changed param, dvc repro, mlpipe report", file=sys.stderr)
    pr = build_pr_scenario(main, work / "pr")
    pr.mlpipe("report", "--base", "main", "--output", "comment.md")
    return (pr.path / "comment.md").read_text(encoding="utf-8")


def chromium_command(chromium: str, profile: Path, *args: str) -> list[str]:
    return [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]


def render(markdown: str, assets: dict[str, Path], chromium: str, work: Path, out: Path) -> int:
    """Render the page, check the charts, take the screenshot; returns the page height."""
    page = work / "comment.html"
    page.write_text(
        build_html(markdown, assets["marked"], assets["mermaid"], assets["css"], WIDTH),
        encoding="utf-8",
    )
    expected = mermaid_blocks(markdown)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        dom = _run(
            chromium_command(
                chromium, Path(profile), f"--window-size={WIDTH},1000", "--dump-dom", page.as_uri()
            )
        )
    state = render_state(dom)
    if state.error or not state.done:
        raise ScreenshotError(f"the page did not render: {state.error or 'script did not finish'}")
    if state.svgs != expected:
        raise ScreenshotError(f"{expected} mermaid blocks but {state.svgs} SVGs were drawn")
    height = state.height + 2
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        _run(
            chromium_command(
                chromium,
                Path(profile),
                f"--window-size={WIDTH},{height}",
                f"--screenshot={out}",
                page.as_uri(),
            )
        )
    if not out.is_file():
        raise ScreenshotError(f"chromium wrote no {out}")
    return height


def shrink(png: Path) -> None:
    if shutil.which("pngquant") is None:
        print("pngquant not found: PNG left as chromium wrote it", file=sys.stderr)
        return
    _run(["pngquant", "--force", "--skip-if-larger", "--strip", "--output", str(png), str(png)])


def _run(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    # pngquant's --skip-if-larger exits 98/99 when it keeps the original: not an error
    if result.returncode != 0 and not (command[0] == "pngquant" and result.returncode in (98, 99)):
        raise ScreenshotError(
            f"{' '.join(command[:2])} … exited {result.returncode}: {result.stderr[-2000:]}"
        )
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="PNG to write")
    parser.add_argument(
        "--markdown", type=Path, help="render this report instead of building one (faster)"
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="npm packages folder")
    parser.add_argument("--chromium", default="chromium", help="Chromium binary")
    parser.add_argument(
        "--keep", type=Path, help="keep the work folder here (comment.md, comment.html)"
    )
    args = parser.parse_args(argv)
    chromium = shutil.which(args.chromium)
    try:
        if chromium is None:
            raise ScreenshotError(
                f"{args.chromium} not found: apt-get update && apt-get install -y chromium"
            )
        assets = install_npm_packages(args.cache)
        if args.keep and args.keep.exists() and any(args.keep.iterdir()):
            raise ScreenshotError(f"--keep {args.keep}: not empty; name a new folder")
        with tempfile.TemporaryDirectory(prefix="pr-comment-") as tmp:
            work = args.keep or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            if args.markdown:
                markdown = args.markdown.read_text(encoding="utf-8")
            else:
                markdown = build_report(work)
            (work / "comment.md").write_text(markdown, encoding="utf-8")
            args.output.parent.mkdir(parents=True, exist_ok=True)
            shot = work / "shot.png"
            height = render(markdown, assets, chromium, work, shot)
            shrink(shot)
            shutil.copyfile(shot, args.output)
    except ScreenshotError as exc:
        print(f"pr_comment_screenshot: {exc}", file=sys.stderr)
        return 1
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({WIDTH}x{height} px, {size // 1024} KiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
