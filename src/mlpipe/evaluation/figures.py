"""PNG images of the plot data, for a person to open (matplotlib, headless Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlpipe.io import atomic_path


def _figure():  # imported lazily: matplotlib is slow to import and only evaluate needs it
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    _figure().close(fig)


def render_figures(plots: dict[str, list[dict[str, Any]]], out_dir: str | Path) -> list[Path]:
    """Draw each available plot to ``out_dir/<name>.png``; returns the files written."""
    plt = _figure()
    out = Path(out_dir)
    written = []
    if "roc" in plots:
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([r["fpr"] for r in plots["roc"]], [r["tpr"] for r in plots["roc"]])
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC (test)")
        written.append(out / "roc.png")
        _save(fig, written[-1])
    if "precision_recall" in plots:
        rows = plots["precision_recall"]
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([r["recall"] for r in rows], [r["precision"] for r in rows])
        ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall (test)")
        written.append(out / "precision_recall.png")
        _save(fig, written[-1])
    if "confusion" in plots:
        rows = plots["confusion"]
        labels = sorted({r["actual"] for r in rows})
        grid = [[0] * len(labels) for _ in labels]
        for r in rows:
            grid[labels.index(r["actual"])][labels.index(r["predicted"])] = r["count"]
        fig, ax = plt.subplots(figsize=(5, 4.5))
        ax.imshow(grid, cmap="Blues")
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center")
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set(xlabel="Predicted", ylabel="Actual", title="Confusion matrix (test)")
        fig.tight_layout()
        written.append(out / "confusion.png")
        _save(fig, written[-1])
    if "calibration" in plots:
        rows = plots["calibration"]
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.plot([r["mean_predicted"] for r in rows], [r["fraction_positive"] for r in rows], "o-")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax.set(
            xlabel="Mean predicted probability",
            ylabel="Observed positive rate",
            title="Calibration (test)",
        )
        written.append(out / "calibration.png")
        _save(fig, written[-1])
    if "importance" in plots:
        rows = plots["importance"][:20][::-1]
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(rows) + 1.2))
        ax.barh(
            [r["feature"] for r in rows],
            [r["importance"] for r in rows],
            xerr=[r["std"] for r in rows],
        )
        ax.set(xlabel="Drop in score when shuffled", title="Permutation importance (test)")
        fig.tight_layout()
        written.append(out / "importance.png")
        _save(fig, written[-1])
    if "predictions" in plots:
        rows = plots["predictions"]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
        left.scatter([r["actual"] for r in rows], [r["predicted"] for r in rows], s=6)
        left.set(xlabel="Actual", ylabel="Predicted", title="Predicted vs actual (test)")
        right.scatter([r["predicted"] for r in rows], [r["residual"] for r in rows], s=6)
        right.axhline(0, color="grey", linestyle="--")
        right.set(xlabel="Predicted", ylabel="Residual", title="Residuals (test)")
        fig.tight_layout()
        written.append(out / "predictions.png")
        _save(fig, written[-1])
    return written
