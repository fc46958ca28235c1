"""docs/images/pr-comment.png and the pure parts of docs/scripts/pr_comment_screenshot.py.

The script itself (a real report, npm packages, headless Chromium) is run by a developer, not
here: these tests check the committed picture and the page the script builds.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from mlpipe.report import charts
from support.repo import PROJECT

PNG = PROJECT / "docs" / "images" / "pr-comment.png"


def _load_script() -> ModuleType:
    path = PROJECT / "docs" / "scripts" / "pr_comment_screenshot.py"
    spec = importlib.util.spec_from_file_location("pr_comment_screenshot", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["pr_comment_screenshot"] = module
    spec.loader.exec_module(module)
    return module


shot = _load_script()


def _near(pixels: dict[tuple[int, int, int], int], hex_color: str, tolerance: int = 40) -> int:
    rgb = tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return sum(
        n
        for p, n in pixels.items()
        if all(abs(a - b) <= tolerance for a, b in zip(p, rgb, strict=True))
    )


def test_committed_screenshot_is_a_readable_png_with_the_charts_drawn() -> None:
    data = PNG.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert 20_000 < len(data) < 500_000, f"{len(data)} bytes"
    with Image.open(PNG) as image:
        image.verify()
    with Image.open(PNG) as image:
        width, height = image.size
        rgb = image.convert("RGB")
        colors = {color: n for n, color in rgb.getcolors(maxcolors=1 << 20)}
        corner = rgb.getpixel((2, 2))
    assert width == shot.WIDTH
    assert 1_000 < height < 8_000
    assert corner == (255, 255, 255)  # GitHub's light theme
    assert colors[(255, 255, 255)] > width * height // 2
    # The mermaid charts were drawn (not left as code): base (blue) and PR (orange) lines.
    assert _near(colors, charts.BASE_COLOR) > 500
    assert _near(colors, charts.PR_COLOR) > 500


def _payload(html: str) -> str:
    match = re.search(r'<script type="application/json" id="markdown">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_page_embeds_the_markdown_intact_and_only_local_files(tmp_path: Path) -> None:
    markdown = (
        "## mlpipe report\n\n### Gate: ✅ passed\n\n"
        "</script><script>alert(1)</script> <!-- x --> `a < b`\n\n"
        + charts.overlay_chart("ROC curve", "fpr", "tpr", [0.0, 1.0], [0.0, 1.0], [0.0, 0.9])
        + "\n"
    )
    assets = [tmp_path / "marked.umd.js", tmp_path / "mermaid.min.js", tmp_path / "gh.css"]
    html = shot.build_html(markdown, *assets, width=900)

    assert _payload(html) == markdown
    assert html.count("</script>") == 4  # marked, mermaid, the JSON, the page script
    assert "alert(1)</script>" not in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls == [
        (tmp_path / "gh.css").as_uri(),
        (tmp_path / "marked.umd.js").as_uri(),
        (tmp_path / "mermaid.min.js").as_uri(),
    ]
    assert "http://" not in html and "https://" not in html  # no CDN: works offline
    assert "width: 868px" in html  # 900 px wide with the 16 px margins
    assert 'class="markdown-body"' in html
    assert "language-mermaid" in html and "mermaid.run" in html


def test_mermaid_blocks_counts_fenced_mermaid_blocks_only() -> None:
    chart = charts.overlay_chart("PR curve", "recall", "precision", [0.0, 1.0], None, [1.0, 0.5])
    markdown = f"text ```mermaid inline\n\n{chart}\n\n```python\nx = 1\n```\n\n{chart}\n"
    assert shot.mermaid_blocks(markdown) == 2
    assert shot.mermaid_blocks("no charts\n") == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '<body data-svgs="2" data-height="2637" data-done="yes">',
            shot.RenderState(done=True, svgs=2, height=2637, error=""),
        ),
        (
            '<body data-error="mermaid is not defined">',
            shot.RenderState(done=False, svgs=0, height=0, error="mermaid is not defined"),
        ),
        ("<body>", shot.RenderState(done=False, svgs=0, height=0, error="")),
    ],
)
def test_render_state_reads_what_the_page_script_recorded(body: str, expected: object) -> None:
    dom = f"<html><head></head>{body}<div class='comment'></div></body></html>"
    assert shot.render_state(dom) == expected


def test_help_names_everything_the_script_needs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        shot.main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "apt-get install -y chromium fonts-noto-color-emoji" in text
    for name, version in shot.NPM_PACKAGES.items():
        assert name in text
        assert re.fullmatch(r"\d+\.\d+\.\d+", version)  # exact pins
    assert "--markdown" in text and "docs/images/pr-comment.png" in text


def test_chromium_runs_headless_offline_with_a_fresh_profile(tmp_path: Path) -> None:
    command = shot.chromium_command("/usr/bin/chromium", tmp_path / "p", "--dump-dom", "file:///x")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-background-networking",
        "--disable-quic",
    ):
        assert flag in command
    assert f"--user-data-dir={tmp_path / 'p'}" in command
    assert command[0] == "/usr/bin/chromium" and command[-1] == "file:///x"
