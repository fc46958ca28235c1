"""Plot data: curves thinned to a point budget with their ends kept; hand-checked values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mlpipe.evaluation.figures import render_figures
from mlpipe.evaluation.metrics import Predictions
from mlpipe.evaluation.plots import (
    _thin,
    calibration_points,
    confusion_rows,
    pr_points,
    regression_points,
    roc_points,
)


@pytest.mark.parametrize(("n", "points"), [(5, 10), (10, 10), (1000, 10), (1001, 200), (3, 2)])
def test_thin_limits_points_and_keeps_both_ends(n: int, points: int) -> None:
    idx = _thin(n, points)
    assert len(idx) == min(n, points)
    assert idx[0] == 0 and idx[-1] == n - 1
    assert np.all(np.diff(idx) > 0)


@pytest.fixture
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.random(2000) < 0.3
    score = np.clip(0.3 * y + rng.random(2000) * 0.7, 0, 1)
    return y, score


def test_roc_points_are_thinned_with_the_curve_ends(scores: tuple[np.ndarray, np.ndarray]) -> None:
    rows = roc_points(*scores, points=20)
    assert 2 < len(rows) <= 20
    assert (rows[0]["fpr"], rows[0]["tpr"]) == (0.0, 0.0)
    assert (rows[-1]["fpr"], rows[-1]["tpr"]) == (1.0, 1.0)
    assert all(r["threshold"] <= 1.0 for r in rows)  # sklearn's first threshold is inf
    assert [r["fpr"] for r in rows] == sorted(r["fpr"] for r in rows)


def test_pr_points_are_thinned_with_the_curve_ends(scores: tuple[np.ndarray, np.ndarray]) -> None:
    rows = pr_points(*scores, points=15)
    assert len(rows) <= 15
    assert rows[0]["recall"] == 1.0
    assert (rows[-1]["recall"], rows[-1]["precision"], rows[-1]["threshold"]) == (0.0, 1.0, 1.0)


def test_small_curves_are_not_thinned() -> None:
    y = np.array([True, False, True, False])
    score = np.array([0.9, 0.4, 0.3, 0.2])
    assert roc_points(y, score, points=200) == [
        {"fpr": 0.0, "tpr": 0.0, "threshold": 1.0},
        {"fpr": 0.0, "tpr": 0.5, "threshold": 0.9},
        {"fpr": 0.5, "tpr": 0.5, "threshold": 0.4},
        {"fpr": 0.5, "tpr": 1.0, "threshold": 0.3},
        {"fpr": 1.0, "tpr": 1.0, "threshold": 0.2},
    ]


def test_confusion_rows_count_every_cell() -> None:
    p = Predictions(
        y_true=np.array(["a", "a", "b", "b", "b"], dtype=object),
        y_pred=np.array(["a", "b", "b", "b", "a"], dtype=object),
        classes=("a", "b"),
    )
    assert confusion_rows(p) == [
        {"actual": "a", "predicted": "a", "count": 1},
        {"actual": "a", "predicted": "b", "count": 1},
        {"actual": "b", "predicted": "a", "count": 1},
        {"actual": "b", "predicted": "b", "count": 2},
    ]


def test_calibration_bins() -> None:
    y = np.array([False, True, True, True, False])
    score = np.array([0.1, 0.2, 0.75, 0.9, 1.0])
    assert calibration_points(y, score, bins=2) == [
        {"bin": 0, "mean_predicted": 0.15, "fraction_positive": 0.5, "count": 2},
        {"bin": 1, "mean_predicted": 0.883333, "fraction_positive": 0.666667, "count": 3},
    ]
    # empty bins are left out
    assert [r["bin"] for r in calibration_points(y, score, bins=10)] == [1, 2, 7, 9]


def test_regression_points_are_a_seeded_sample() -> None:
    y = np.arange(100, dtype=float)
    pred = y + 0.5
    rows = regression_points(y, pred, points=10, seed=3)
    assert len(rows) == 10 and rows == regression_points(y, pred, points=10, seed=3)
    assert rows != regression_points(y, pred, points=10, seed=4)
    assert all(r["residual"] == -0.5 and r["predicted"] == r["actual"] + 0.5 for r in rows)
    assert [r["actual"] for r in rows] == sorted(r["actual"] for r in rows)
    assert len(regression_points(y[:4], pred[:4], points=10, seed=0)) == 4


def test_render_figures_writes_a_png_per_plot(tmp_path: Path) -> None:
    y = np.array([True, False, True, False])
    score = np.array([0.9, 0.4, 0.3, 0.2])
    plots = {
        "roc": roc_points(y, score, 10),
        "precision_recall": pr_points(y, score, 10),
        "calibration": calibration_points(y, score, 2),
        "confusion": [
            {"actual": "a", "predicted": "a", "count": 3},
            {"actual": "a", "predicted": "b", "count": 1},
            {"actual": "b", "predicted": "a", "count": 0},
            {"actual": "b", "predicted": "b", "count": 2},
        ],
        "importance": [{"feature": "x", "importance": 0.2, "std": 0.01}],
    }
    written = render_figures(plots, tmp_path)
    names = ["roc", "precision_recall", "confusion", "calibration", "importance"]
    assert written == [tmp_path / f"{n}.png" for n in names]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.png" for n in names)
