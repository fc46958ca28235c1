"""Charts GitHub draws itself from the comment's markdown (mermaid ``xychart-beta``), so no
image is uploaded anywhere. Base and PR curves are resampled on one grid and overlaid."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

BASE_COLOR = "#1f77b4"  # blue
PR_COLOR = "#ff7f0e"  # orange
GRID_POINTS = 21  # 0, 0.05, ..., 1: enough to compare curves, small enough to read


def grid(points: int = GRID_POINTS) -> list[float]:
    return [round(i / (points - 1), 6) for i in range(points)]


def roc_on_grid(records: Sequence[dict[str, Any]], xs: Sequence[float]) -> list[float]:
    """TPR at each FPR of ``xs``: the best TPR reached at or below that FPR (the ROC step)."""
    out = []
    for x in xs:
        reached = [r["tpr"] for r in records if r["fpr"] <= x + 1e-12]
        out.append(max(reached, default=0.0))
    return out


def pr_on_grid(records: Sequence[dict[str, Any]], xs: Sequence[float]) -> list[float]:
    """Interpolated precision at each recall of ``xs``: the best precision at recall >= x."""
    out = []
    for x in xs:
        reached = [r["precision"] for r in records if r["recall"] >= x - 1e-12]
        out.append(max(reached, default=0.0))
    return out


def overlay_chart(
    title: str,
    x_label: str,
    y_label: str,
    xs: Sequence[float],
    base: Sequence[float] | None,
    pr: Sequence[float],
) -> str:
    """A mermaid line chart with the base line first (blue) and the PR line second (orange)."""
    lines = [base, pr] if base is not None else [pr]
    palette = ", ".join([BASE_COLOR, PR_COLOR] if base is not None else [PR_COLOR])
    init = json.dumps({"themeVariables": {"xyChart": {"plotColorPalette": palette}}})
    ticks = ", ".join(f'"{x:.2f}"' for x in xs)
    body = [
        "```mermaid",
        f"%%{{init: {init}}}%%",
        "xychart-beta",
        f'  title "{title}"',
        f'  x-axis "{x_label}" [{ticks}]',
        f'  y-axis "{y_label}" 0 --> 1',
        *(f"  line [{', '.join(f'{v:.3f}' for v in values)}]" for values in lines),
        "```",
    ]
    return "\n".join(body)
