"""Metric values on hand-computable examples; a direction for every metric that can appear."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import ConfigError
from mlpipe.evaluation.metrics import (
    DIRECTIONS,
    HIGHER,
    LOWER,
    TASK_METRICS,
    Predictions,
    check_metric_settings,
    compute_metrics,
    per_class_report,
    positive_class,
    slice_metrics,
    small_slices,
)


def _binary() -> Predictions:
    # positives score 0.9 and 0.3, negatives 0.4 and 0.2
    score = np.array([0.9, 0.3, 0.4, 0.2])
    return Predictions(
        y_true=np.array(["1", "1", "0", "0"], dtype=object),
        y_pred=np.array(["1", "0", "0", "0"], dtype=object),
        proba=np.column_stack([1 - score, score]),
        classes=("0", "1"),
    )


def _multiclass() -> Predictions:
    return Predictions(
        y_true=np.array(["a", "a", "b", "c"], dtype=object),
        y_pred=np.array(["a", "b", "b", "c"], dtype=object),
        proba=np.array([[0.8, 0.1, 0.1], [0.4, 0.5, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]]),
        classes=("a", "b", "c"),
    )


def _regression(y: list[float] | None = None) -> Predictions:
    return Predictions(y_true=np.array(y or [1.0, 2.0, 4.0]), y_pred=np.array([1.0, 3.0, 2.0]))


def test_binary_values() -> None:
    assert compute_metrics("binary", _binary()) == {
        "rows": 4.0,
        "positive_rate": 0.5,
        "accuracy": 0.75,
        "precision": 1.0,
        "recall": 0.5,
        "f1": 0.666667,  # 2 * 1 * 0.5 / 1.5
        "roc_auc": 0.75,  # 3 of 4 positive/negative pairs ordered right
        "average_precision": 0.833333,  # 0.5 * 1 + 0.5 * 2/3
        "log_loss": round(-(math.log(0.9) + math.log(0.3) + math.log(0.6) + math.log(0.8)) / 4, 6),
        "brier": 0.175,  # (0.01 + 0.49 + 0.16 + 0.04) / 4
    }


def test_binary_with_the_other_class_as_positive() -> None:
    metrics = compute_metrics("binary", _binary(), positive="0")
    assert metrics["precision"] == round(2 / 3, 6) and metrics["recall"] == 1.0
    assert metrics["roc_auc"] == 0.75 and metrics["positive_rate"] == 0.5


def test_binary_with_one_class_omits_ranking_metrics() -> None:
    p = _binary()
    one = Predictions(p.y_true[:2], p.y_pred[:2], p.proba[:2], p.classes)
    metrics = compute_metrics("binary", one)
    assert set(metrics) == {"rows", "positive_rate", "accuracy", "precision", "recall", "f1"}
    assert metrics["accuracy"] == 0.5 and metrics["positive_rate"] == 1.0


def test_multiclass_values() -> None:
    metrics = compute_metrics("multiclass", _multiclass())
    log_loss = -(math.log(0.8) + math.log(0.4) + math.log(0.7) + math.log(0.8)) / 4
    assert metrics == {
        "rows": 4.0,
        "accuracy": 0.75,
        "balanced_accuracy": 0.833333,  # recalls 0.5, 1, 1
        "f1_macro": 0.777778,  # f1s 2/3, 2/3, 1
        "f1_weighted": 0.75,  # (2 * 2/3 + 2/3 + 1) / 4
        "precision_macro": 0.833333,  # precisions 1, 1/2, 1
        "recall_macro": 0.833333,  # recalls 1/2, 1, 1
        "log_loss": round(log_loss, 6),
        "roc_auc_ovr_macro": 1.0,  # every class's scores rank its rows above the rest
        "roc_auc_ovr_weighted": 1.0,
    }


def _pairwise_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by counting: the share of (positive, negative) pairs ranked right, ties 1/2."""
    pos, neg = score[positive], score[~positive]
    right = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return right / (len(pos) * len(neg))


def test_multiclass_roc_auc_ovr_macro_and_weighted_on_imbalanced_classes() -> None:
    """The user review's case: the reported one-vs-rest AUC was support-weighted under the
    plain name roc_auc_ovr. On imbalanced classes with a weak rare class the two averages
    differ; each must equal sklearn's roc_auc_score with that average."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = np.array(["a"] * 140 + ["b"] * 45 + ["c"] * 15, dtype=object)
    logits = rng.normal(size=(200, 3))
    logits[y == "a", 0] += 2.5  # a and b are easy to tell apart, c (rare) is not
    logits[y == "b", 1] += 2.0
    logits[y == "c", 0] += 2.5  # the rare class c looks like a: the model cannot find it
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    classes = ("a", "b", "c")
    pred = np.array(classes, dtype=object)[proba.argmax(axis=1)]
    metrics = compute_metrics("multiclass", Predictions(y, pred, proba, classes))
    per_class = [_pairwise_auc(y == c, proba[:, i]) for i, c in enumerate(classes)]
    macro = float(np.mean(per_class))
    weighted = float(np.average(per_class, weights=[140, 45, 15]))
    assert metrics["roc_auc_ovr_macro"] == round(macro, 6)
    assert metrics["roc_auc_ovr_weighted"] == round(weighted, 6)
    for average in ("macro", "weighted"):
        sk = roc_auc_score(y, proba, multi_class="ovr", average=average, labels=list(classes))
        assert metrics[f"roc_auc_ovr_{average}"] == round(sk, 6)
    assert per_class[2] < 0.7 and min(per_class[:2]) > 0.85
    assert metrics["roc_auc_ovr_weighted"] - metrics["roc_auc_ovr_macro"] > 0.05
    assert "roc_auc_ovr" not in metrics  # the ambiguous name is gone
    assert DIRECTIONS["roc_auc_ovr_macro"] == DIRECTIONS["roc_auc_ovr_weighted"] == HIGHER
    assert "roc_auc_ovr" not in DIRECTIONS


def test_regression_values() -> None:
    assert compute_metrics("regression", _regression()) == {
        "rows": 3.0,
        "rmse": round(math.sqrt(5 / 3), 6),
        "mae": 1.0,
        "r2": round(1 - 5 / (14 / 3), 6),  # SS_res 5, SS_tot 14/3
        "mape": round((0 + 1 / 2 + 2 / 4) / 3, 6),
    }


def test_mape_is_omitted_when_a_true_value_is_zero() -> None:
    assert "mape" not in compute_metrics("regression", _regression([0.0, 2.0, 4.0]))


@pytest.mark.parametrize(
    "p_task",
    [("binary", _binary()), ("multiclass", _multiclass()), ("regression", _regression())],
)
def test_every_emitted_metric_has_a_direction(p_task: tuple[str, Predictions]) -> None:
    task, p = p_task
    metrics = compute_metrics(task, p)
    assert set(metrics) <= set(DIRECTIONS)
    assert set(DIRECTIONS.values()) == {HIGHER, LOWER}


def test_directions_of_loss_like_metrics() -> None:
    emitted = (
        set(compute_metrics("binary", _binary()))
        | set(compute_metrics("multiclass", _multiclass()))
        | set(compute_metrics("regression", _regression()))
    )
    assert emitted == set(DIRECTIONS)  # no stale entries either
    assert {k for k, v in DIRECTIONS.items() if v == LOWER} == {
        "log_loss",
        "brier",
        "rmse",
        "mae",
        "mape",
    }


def test_unknown_task() -> None:
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        compute_metrics("ranking", _binary())


def test_positive_class() -> None:
    assert positive_class(("False", "True")) == "True"
    assert positive_class(("yes", "no")) == "yes"
    assert positive_class(("a", "b"), "a") == "a"
    with pytest.raises(ValueError) as caught:
        positive_class(("False", "True"), "1")
    assert str(caught.value) == (
        "data.positive_class '1' is not one of the classes ['False', 'True']; "
        "set it to one of them (as text) or to null"
    )


def test_per_class_report() -> None:
    assert per_class_report(_multiclass()) == {
        "a": {"precision": 1.0, "recall": 0.5, "f1": 0.666667, "support": 2},
        "b": {"precision": 0.5, "recall": 1.0, "f1": 0.666667, "support": 1},
        "c": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
    }


def test_per_class_report_gives_null_not_zero_for_undefined_scores() -> None:
    """A class with no rows in the set (support 0) has no recall; one never predicted has no
    precision; F1 is undefined only when both: None (JSON null), never a made-up 0."""
    p = Predictions(
        y_true=np.array(["a", "a", "b", "b"], dtype=object),
        y_pred=np.array(["a", "c", "b", "b"], dtype=object),  # c predicted once, never true
        proba=np.array(
            [
                [0.7, 0.1, 0.1, 0.1],
                [0.3, 0.1, 0.5, 0.1],
                [0.1, 0.7, 0.1, 0.1],
                [0.2, 0.6, 0.1, 0.1],
            ]
        ),
        classes=("a", "b", "c", "d"),  # d: neither in the set nor predicted
    )
    report = per_class_report(p)
    assert report["a"] == {"precision": 1.0, "recall": 0.5, "f1": 0.666667, "support": 2}
    assert report["c"] == {"precision": 0.0, "recall": None, "f1": 0.0, "support": 0}
    assert report["d"] == {"precision": None, "recall": None, "f1": None, "support": 0}


def test_slice_metrics_groups_skips_small_slices_and_names_missing() -> None:
    groups = {"plan": pd.Series(["x", "x", None, None]), "tiny": pd.Series(["u", "v", "w", "u"])}
    out = slice_metrics("binary", _binary(), groups, min_rows=2)
    assert sorted(out) == ["plan", "tiny"]
    assert sorted(out["plan"]) == ["(missing)", "x"]
    assert out["plan"]["x"]["rows"] == 2 and out["plan"]["x"]["recall"] == 0.5
    assert out["plan"]["(missing)"]["accuracy"] == 1.0
    assert sorted(out["tiny"]) == ["u"]  # v and w have one row each
    assert out["tiny"]["u"]["roc_auc"] == 1.0  # 0.9 (positive) vs 0.2 (negative)
    # what each table leaves out, for the report to say
    assert small_slices(groups, min_rows=2) == {"plan": 0, "tiny": 2}
    assert small_slices(groups, min_rows=3) == {"plan": 2, "tiny": 3}


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_a_single_class_batch_gives_no_sklearn_warning_and_omits_undefined_metrics(task) -> None:
    """The user review's case: 10 labelled rows of one class leaked sklearn's 'A single label
    was found in y_true' UserWarning to stderr."""
    import warnings

    classes = ("no", "yes") if task == "binary" else ("a", "b", "c")
    proba = np.tile([0.9] + [0.1 / (len(classes) - 1)] * (len(classes) - 1), (10, 1))
    p = Predictions(
        y_true=np.array([classes[0]] * 10, dtype=object),
        y_pred=np.array([classes[0]] * 10, dtype=object),
        proba=proba,
        classes=classes,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = compute_metrics(task, p)
    assert values["accuracy"] == 1.0 and values["rows"] == 10.0
    assert not {"roc_auc", "roc_auc_ovr_macro", "roc_auc_ovr_weighted"} & set(values)


def _four_values() -> Predictions:
    return Predictions(
        y_true=np.array([1.0, 2.0, 3.0, 4.0]), y_pred=np.array([1.5, 2.0, 2.5, 4.5])
    )


@pytest.mark.parametrize(
    ("task", "predictions"),
    [("binary", _binary), ("multiclass", _multiclass), ("regression", _four_values)],
)
def test_task_metrics_lists_exactly_what_compute_metrics_gives(task: str, predictions) -> None:
    positive = "1" if task == "binary" else None
    assert set(compute_metrics(task, predictions(), positive)) == set(TASK_METRICS[task])
    assert set(TASK_METRICS[task]) <= set(DIRECTIONS)


def test_gate_and_monitor_metrics_of_the_task_pass() -> None:
    check_metric_settings("binary", ["roc_auc", "log_loss"], ["average_precision"], "p.yaml")
    check_metric_settings("regression", ["rmse"], ["mae", "r2"], "p.yaml")


def test_a_gate_rule_on_a_metric_the_task_lacks_names_key_metric_task_and_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        check_metric_settings("regression", ["rmse", "roc_auc"], [], "params.yaml")
    assert str(caught.value) == (
        "params.yaml: gate.rules names metric 'roc_auc', which a regression model does not "
        "have (the task is from the schema). Metrics of a regression model: rows, rmse, mae, "
        "r2, mape. Fix gate.rules in params.yaml: use one of them, or remove 'roc_auc'"
    )


def test_a_monitor_metric_the_task_lacks_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        check_metric_settings("multiclass", [], ["accuracy", "roc_auc"], "params.yaml")
    assert str(caught.value).startswith(
        "params.yaml: monitor.metrics names metric 'roc_auc', which a multiclass model does "
        "not have (the task is from the schema). Metrics of a multiclass model: rows, "
        "accuracy, balanced_accuracy,"
    )
    assert str(caught.value).endswith(
        "Fix monitor.metrics in params.yaml: use one of them, or remove 'roc_auc'"
    )
