"""Cross-validated scoring for `mlpipe tune`: folds, out-of-fold predictions of the train
stage's Pipeline, the threshold chosen on them, a trial's score."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from mlpipe.config import ConfigError, TrainConfig
from mlpipe.evaluation.metrics import Predictions, compute_metrics
from mlpipe.model.features import model_frame
from mlpipe.model.train import fit_model
from mlpipe.tune.cv import (
    TuneError,
    choose_threshold,
    cv_folds,
    direction,
    fold_predictions,
    fold_scores,
    score_trial,
    tune_metric,
)
from support.tiny import tiny_frame, tiny_schema, tiny_spec


def _partition(folds, n: int) -> None:
    for fold in folds:
        assert not set(fold.train) & set(fold.valid)
        assert list(fold.train) == sorted(fold.train) and list(fold.valid) == sorted(fold.valid)
    assert sorted(np.concatenate([f.valid for f in folds]).tolist()) == list(range(n))


def test_stratified_folds_partition_the_rows_keep_class_shares_and_follow_the_seed() -> None:
    target = pd.Series(["yes"] * 30 + ["no"] * 90)
    folds = cv_folds(target, "binary", 3, seed=7)
    _partition(folds, 120)
    assert [int((target.iloc[f.valid] == "yes").sum()) for f in folds] == [10, 10, 10]
    again = cv_folds(target, "binary", 3, seed=7)
    other = cv_folds(target, "binary", 3, seed=8)
    assert all(np.array_equal(a.valid, b.valid) for a, b in zip(folds, again, strict=True))
    assert not all(np.array_equal(a.valid, b.valid) for a, b in zip(folds, other, strict=True))


def test_regression_folds_are_shuffled_kfold() -> None:
    folds = cv_folds(pd.Series(np.arange(50.0)), "regression", 5, seed=0)
    _partition(folds, 50)
    assert [len(f.valid) for f in folds] == [10] * 5
    assert folds[0].valid.tolist() != list(range(10))


def test_time_folds_train_on_the_past_and_never_split_a_date() -> None:
    days = pd.to_datetime(["2024-01-01"] * 4 + ["2024-01-02"] * 4 + ["2024-01-03"] * 4)
    dates = pd.Series(days[[5, 0, 9, 1, 6, 11, 2, 7, 3, 10, 4, 8]], name="day")
    folds = cv_folds(pd.Series(["a", "b"] * 6), "binary", 2, seed=0, dates=dates)
    assert len(folds) == 2
    for fold in folds:
        assert dates.iloc[fold.train].max() < dates.iloc[fold.valid].min()
    assert sorted(dates.iloc[folds[0].valid].dt.day.unique()) == [2]
    assert sorted(dates.iloc[folds[1].valid].dt.day.unique()) == [3]
    assert len(folds[1].train) == 8  # expanding: both earlier days


def test_time_folds_need_enough_distinct_dates() -> None:
    dates = pd.Series(pd.to_datetime(["2024-01-01"] * 6 + ["2024-01-02"] * 6), name="day")
    with pytest.raises(TuneError) as caught:
        cv_folds(pd.Series(["a", "b"] * 6), "binary", 3, seed=0, dates=dates)
    assert str(caught.value) == (
        "ordered fold 1 of 3 (split.method: time) has no validation rows: too few distinct "
        "dates in 'day' for tune.folds=3; lower tune.folds"
    )


def test_a_class_with_fewer_rows_than_folds_is_refused() -> None:
    with pytest.raises(TuneError) as caught:
        cv_folds(pd.Series(["a"] * 20 + ["b"] * 2), "binary", 3, seed=0)
    assert str(caught.value) == (
        "class 'b' has 2 training rows, fewer than tune.folds=3: every fold needs rows of every "
        "class. Lower tune.folds"
    )


def test_tune_metric_defaults_per_task_and_refuses_another_tasks_metric() -> None:
    assert tune_metric(None, "binary") == "roc_auc"
    assert tune_metric(None, "multiclass") == "log_loss"
    assert tune_metric(None, "regression") == "rmse"
    assert (direction("roc_auc"), direction("rmse")) == ("maximize", "minimize")
    with pytest.raises(ConfigError) as caught:
        tune_metric("roc_auc", "regression", "p.yaml")
    assert str(caught.value) == (
        "p.yaml: tune.metric is 'roc_auc', which is not a metric of a regression model (the "
        "task is from the schema). Use one of: rmse, mae, r2, mape"
    )
    with pytest.raises(ConfigError, match=r"tune\.metric is 'rows'"):
        tune_metric("rows", "binary")


@pytest.fixture(scope="module")
def out_of_fold() -> list[Predictions]:
    """Out-of-fold predictions of a quick booster on 240 tiny rows, 3 folds."""
    frame = tiny_frame(240, seed=3)
    spec = tiny_spec(tiny_schema())
    config = TrainConfig()
    config = dataclasses.replace(
        config,
        hist_gradient_boosting=dataclasses.replace(config.hist_gradient_boosting, max_iter=10),
    )
    folds = cv_folds(frame["y"], "binary", 3, seed=0)
    return fold_predictions(frame, spec, "y", "binary", config, folds)


def test_each_fold_is_the_train_stages_pipeline_fitted_on_its_training_rows() -> None:
    frame = tiny_frame(120, seed=1)
    spec = tiny_spec(tiny_schema())
    config = dataclasses.replace(TrainConfig(), estimator="logistic_regression")
    folds = cv_folds(frame["y"], "binary", 2, seed=0)
    found = fold_predictions(frame, spec, "y", "binary", config, folds)
    for fold, p in zip(folds, found, strict=True):
        model = fit_model(
            frame.iloc[fold.train].reset_index(drop=True), spec, "y", "binary", config
        )
        x = model_frame(frame.iloc[fold.valid].reset_index(drop=True), spec)
        np.testing.assert_array_equal(p.proba, model.predict_proba(x))
        assert p.y_true.tolist() == frame["y"].iloc[fold.valid].tolist()


def _counted(objective: str, y: np.ndarray, predicted: np.ndarray) -> float:
    """The objective counted row by row (not with the sorted search the code uses)."""
    tp, fp = int((predicted & y).sum()), int((predicted & ~y).sum())
    fn, tn = int((~predicted & y).sum()), int((~predicted & ~y).sum())
    if objective == "accuracy":
        return (tp + tn) / len(y)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


@pytest.mark.parametrize(("objective", "score"), [("f1", f1_score), ("accuracy", accuracy_score)])
def test_the_chosen_threshold_maximises_the_mean_objective_over_the_folds(
    out_of_fold: list[Predictions], objective: str, score
) -> None:
    chosen = choose_threshold(out_of_fold, objective, 0.5)

    def mean_at(t: float) -> float:
        values = [_counted(objective, p.y_true == "yes", p.proba[:, 1] >= t) for p in out_of_fold]
        return float(np.mean(values))

    grid = np.round(np.arange(1, 1000) / 1000, 3)
    best = max(mean_at(t) for t in grid)
    assert mean_at(chosen) == pytest.approx(best, abs=1e-12)
    assert mean_at(chosen) > mean_at(0.5)
    sklearn_mean = np.mean(
        [score(p.y_true == "yes", p.proba[:, 1] >= chosen) for p in out_of_fold]
    )
    assert sklearn_mean == pytest.approx(best, abs=1e-12)


def test_of_equal_thresholds_the_one_closest_to_the_current_wins() -> None:
    p = Predictions(
        y_true=np.array(["no", "no", "yes", "yes"], dtype=object),
        y_pred=np.array(["no"] * 4, dtype=object),
        proba=np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.2, 0.8]]),
        classes=("no", "yes"),
    )
    # every threshold in (0.2, 0.7] separates the classes perfectly
    assert choose_threshold([p], "f1", 0.5) == 0.5
    assert choose_threshold([p], "f1", 0.95) == 0.7
    assert choose_threshold([p], "f1", 0.1234) == 0.201


def test_a_trial_scores_its_metric_at_the_chosen_threshold(out_of_fold: list[Predictions]) -> None:
    at_half = fold_scores("binary", out_of_fold, "f1", 0.5)
    tuned = score_trial("binary", out_of_fold, "f1", 0.5, "f1")
    assert tuned.at_current == at_half
    assert tuned.threshold == choose_threshold(out_of_fold, "f1", 0.5)
    assert tuned.value >= round(float(np.mean(at_half)), 6)
    assert tuned.folds == fold_scores("binary", out_of_fold, "f1", tuned.threshold)
    # a threshold-free metric is the same at any threshold; the threshold is still chosen
    ranked = score_trial("binary", out_of_fold, "roc_auc", 0.5, "f1")
    assert ranked.threshold == tuned.threshold
    assert ranked.folds == tuple(compute_metrics("binary", p)["roc_auc"] for p in out_of_fold)
    kept = score_trial("binary", out_of_fold, "f1", 0.5, None)
    assert (kept.threshold, kept.folds) == (0.5, at_half)


def test_a_metric_undefined_on_a_fold_names_the_fold() -> None:
    one_class = Predictions(
        y_true=np.array(["no", "no"], dtype=object),
        y_pred=np.array(["no", "no"], dtype=object),
        proba=np.array([[0.9, 0.1], [0.8, 0.2]]),
        classes=("no", "yes"),
    )
    with pytest.raises(TuneError) as caught:
        fold_scores("binary", [one_class], "roc_auc", 0.5)
    assert str(caught.value) == (
        "roc_auc is undefined on fold 1's 2 validation rows (e.g. they hold one class only); "
        "lower tune.folds or choose another tune.metric"
    )
