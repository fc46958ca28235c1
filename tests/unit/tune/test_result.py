"""The tune result JSON: the winner, the keys --apply writes (edges flagged), and when a result
no longer describes a revision's data and params."""

from __future__ import annotations

import dataclasses
import json

import yaml

from mlpipe.config import TrainConfig, TuneConfig
from mlpipe.model.space import search_space, searched_values
from mlpipe.tune.result import (
    Scored,
    baseline_won,
    best_trial,
    result_document,
    staleness,
    summary_lines,
    tune_settings,
)
from support.repo import PROJECT

TUNE = TuneConfig(estimators=("logistic_regression", "hist_gradient_boosting"))
SPACE = search_space(TUNE, "binary")
BASE = TrainConfig()
TRIALS = [
    Scored(0, searched_values(BASE, SPACE), 0.80, (0.79, 0.81), 0.31),
    Scored(
        1,
        {
            "train.estimator": "logistic_regression",
            "train.logistic_regression.C": 99.5,  # at the high end of 0.001..100 (log)
            "train.logistic_regression.class_weight": "balanced",
        },
        0.83,
        (0.82, 0.84),
        0.42,
    ),
    Scored(
        2,
        {
            "train.estimator": "logistic_regression",
            "train.logistic_regression.C": 0.2,
            "train.logistic_regression.class_weight": None,
        },
        0.83,
        (0.83, 0.83),
        0.5,
    ),
]


def _document(trials=TRIALS, **kw) -> dict:
    args = dict(
        trials=trials,
        baseline=BASE,
        baseline_folds=(0.78, 0.80),
        space=SPACE,
        settings=TUNE,
        task="binary",
        metric="roc_auc",
        direction="maximize",
        folds={"method": "stratified", "count": 2, "seed": 42, "validation_rows": [50, 50]},
        train_data={"path": "data/processed/train.parquet", "md5": "a" * 32, "rows": 100},
        sampler={"name": "TPESampler", "seed": 42},
        trials_requested=3,
    )
    return result_document(**(args | kw))


def test_the_best_is_the_first_of_the_best_values_so_the_baseline_wins_a_tie() -> None:
    assert best_trial(TRIALS, "maximize").index == 1
    assert best_trial(TRIALS, "minimize").index == 0
    tie = [TRIALS[0], dataclasses.replace(TRIALS[1], value=0.80)]
    assert best_trial(tie, "maximize").index == 0


def test_the_document_holds_baseline_best_changes_and_every_trial() -> None:
    doc = _document()
    assert doc["baseline"] == {
        "value": 0.79,
        "folds": [0.78, 0.80],
        "threshold": 0.5,
        "params": doc["baseline"]["params"],
    }
    assert doc["baseline"]["params"]["train.hist_gradient_boosting.max_iter"] == 150
    assert doc["best"] == {
        "trial": 1,
        "value": 0.83,
        "folds": [0.82, 0.84],
        "threshold": 0.42,
        "params": TRIALS[1].values,
    }
    assert doc["changes"] == [
        {
            "key": "train.estimator",
            "from": "hist_gradient_boosting",
            "to": "logistic_regression",
            "range": {"choices": ["logistic_regression", "hist_gradient_boosting"]},
            "edge": None,
        },
        {"key": "train.threshold", "from": 0.5, "to": 0.42, "range": None, "edge": None},
        {
            "key": "train.logistic_regression.C",
            "from": 1.0,
            "to": 99.5,
            "range": {"low": 0.001, "high": 100.0, "log": True},
            "edge": "high",
        },
        {
            "key": "train.logistic_regression.class_weight",
            "from": None,
            "to": "balanced",
            "range": {"choices": [None, "balanced"]},
            "edge": None,
        },
    ]
    assert doc["tuned_params"]["train.logistic_regression.C"] == 99.5
    assert [t["trial"] for t in doc["trials"]] == [0, 1, 2]
    assert (doc["reproducible"], doc["not_reproducible"], doc["failed"]) == (True, [], [])
    assert doc["settings"]["tune.estimators"] == ["logistic_regression", "hist_gradient_boosting"]
    assert doc["space"]["train.hist_gradient_boosting.max_iter"] == {
        "low": 50,
        "high": 500,
        "log": True,
    }
    json.dumps(doc, allow_nan=False)  # plain JSON


def test_no_change_when_the_baseline_wins_and_no_threshold_for_other_tasks() -> None:
    doc = _document(trials=[dataclasses.replace(TRIALS[0], threshold=0.5)])
    assert doc["changes"] == [] and doc["best"]["trial"] == 0
    assert "  no change: params.yaml holds the best values found" in summary_lines(doc)
    assert baseline_won(doc) is None
    # The baseline wins with another threshold: said, not shown as a tuned model.
    threshold_only = _document(trials=[TRIALS[0]])
    assert [c["key"] for c in threshold_only["changes"]] == ["train.threshold"]
    lines = summary_lines(threshold_only)
    assert lines[2:5] == [
        "best (trial 1, the baseline): 0.800000  folds: 0.7900 0.8100",
        "no hyperparameters beat the current ones in CV (the best trial is the baseline); only "
        "the decision threshold changed",
        "  train.threshold: 0.5 -> 0.31",
    ]
    regression = _document(
        trials=[dataclasses.replace(TRIALS[0], threshold=None)], task="regression"
    )
    assert (
        regression["threshold_objective"] is None and regression["baseline"]["threshold"] is None
    )


def test_summary_lines_show_the_scores_changes_and_edges() -> None:
    lines = summary_lines(_document(not_reproducible=["--timeout stopped it"]))
    assert lines[:3] == [
        "3 trials, 2-fold stratified CV on 100 training rows, roc_auc (maximize)",
        "baseline (params.yaml): 0.790000  folds: 0.7800 0.8000",
        "best (trial 2): 0.830000  folds: 0.8200 0.8400",  # counted from 1, as logged
    ]
    assert "  train.logistic_regression.C: 1.0 -> 99.5  (at the high end of its range)" in lines
    assert lines[-1] == "not reproducible: --timeout stopped it"


def _params(**train: object) -> dict:
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    params["tune"]["estimators"] = ["logistic_regression", "hist_gradient_boosting"]
    for key, value in train.items():
        node = params["train"]
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return params


APPLIED = {
    "estimator": "logistic_regression",
    "threshold": 0.42,
    "logistic_regression.C": 99.5,
    "logistic_regression.class_weight": "balanced",
}


def test_a_result_that_was_applied_to_the_same_data_is_not_stale() -> None:
    found = staleness(_document(), "a" * 32, _params(**APPLIED))
    assert not found.stale and found.messages() == []


def test_stale_data_params_and_settings_are_each_named() -> None:
    doc = _document()
    found = staleness(doc, "b" * 32, _params())
    assert found.data == ("a" * 32, "b" * 32)
    assert found.not_applied == (
        "train.estimator",
        "train.threshold",
        "train.logistic_regression.C",
        "train.logistic_regression.class_weight",
    )
    assert found.messages()[0] == (
        "the training data changed since tuning (tuned on md5 aaaaaaaa, dvc.lock has bbbbbbbb)"
    )
    moved = staleness(doc, None, _params(**(APPLIED | {"logistic_regression.C": 3.0})))
    assert moved.differ == (("train.logistic_regression.C", 99.5, 3.0),) and not moved.data
    assert moved.messages() == [
        "params.yaml's train section is not what tuning chose (train.logistic_regression.C: "
        "tuned 99.5, now 3.0)"
    ]
    params = _params(**APPLIED)
    params["tune"]["folds"] = 3
    assert staleness(doc, "a" * 32, params).settings == ("tune.folds",)
    params["tune"]["folds"] = 1
    assert "'tune.folds' is 1" in staleness(doc, "a" * 32, params).unreadable


def test_settings_are_plain_json() -> None:
    settings = tune_settings(TUNE)
    assert settings["tune.space.logistic_regression.C.low"] == 0.001
    assert settings["tune.estimators"] == ["logistic_regression", "hist_gradient_boosting"]
    assert settings["tune.threshold"] == "f1"
