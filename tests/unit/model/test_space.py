"""The search space of `mlpipe tune`: keys from the tune section, a trial's values, the
TrainConfig they give, and where a value sits in its range."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mlpipe.config import SearchRange, TrainConfig, TuneConfig, params_from_dict
from mlpipe.model.space import (
    Param,
    search_space,
    searched_values,
    suggest,
    train_values,
    with_values,
)


class Scripted:
    """A sampler that answers from a script and records what it was asked."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, Any]] = []

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        self.asked.append((name, ("float", low, high, log)))
        return self.answers[name]

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        self.asked.append((name, ("int", low, high, log)))
        return self.answers[name]

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        self.asked.append((name, ("categorical", tuple(choices))))
        return self.answers[name]


def test_the_default_space_has_the_estimator_first_then_each_estimators_ranges() -> None:
    space = search_space(TuneConfig(), "binary")
    by_key = {p.key: p for p in space}
    assert space[0] == Param(
        "train.estimator",
        "categorical",
        choices=("logistic_regression", "random_forest", "hist_gradient_boosting"),
    )
    assert by_key["train.logistic_regression.C"] == Param(
        "train.logistic_regression.C", "float", "logistic_regression", 0.001, 100.0, True
    )
    # integer hyperparameters (from TrainConfig's types) are searched as integers
    assert by_key["train.random_forest.max_depth"].kind == "int"
    assert by_key["train.hist_gradient_boosting.max_iter"].as_dict() == {
        "low": 50,
        "high": 500,
        "log": True,
    }
    assert by_key["train.random_forest.class_weight"].choices == (None, "balanced")
    assert len(space) == 1 + 2 + 5 + 6


def test_regression_searches_no_class_weight_and_an_empty_range_is_not_searched() -> None:
    tune = params_from_dict(
        {
            "tune": {
                "estimators": ["hist_gradient_boosting"],
                "space": {"hist_gradient_boosting": {"learning_rate": None, "max_iter": None}},
            }
        }
    ).tune
    keys = [p.key for p in search_space(tune, "regression")]
    assert keys == [
        "train.estimator",
        "train.hist_gradient_boosting.max_leaf_nodes",
        "train.hist_gradient_boosting.min_samples_leaf",
        "train.hist_gradient_boosting.l2_regularization",
    ]


def test_a_trial_sets_the_chosen_estimators_keys_only_with_floats_rounded() -> None:
    space = search_space(TuneConfig(), "binary")
    sampler = Scripted(
        {
            "train.estimator": "random_forest",
            "train.random_forest.n_estimators": 123,
            "train.random_forest.max_depth": 7,
            "train.random_forest.min_samples_leaf": 2,
            "train.random_forest.max_features": 0.123456789,
            "train.random_forest.class_weight": "balanced",
        }
    )
    values = suggest(sampler, space)
    assert values == {
        "train.estimator": "random_forest",
        "train.random_forest.n_estimators": 123,
        "train.random_forest.max_depth": 7,
        "train.random_forest.min_samples_leaf": 2,
        "train.random_forest.max_features": 0.123,
        "train.random_forest.class_weight": "balanced",
    }
    assert [name for name, _ in sampler.asked] == list(values)  # no other estimator's keys
    assert dict(sampler.asked)["train.random_forest.n_estimators"] == ("int", 50, 400, True)


def test_rounding_stays_inside_the_range() -> None:
    tune = params_from_dict(
        {
            "tune": {
                "estimators": ["logistic_regression"],
                "space": {
                    "logistic_regression": {
                        "C": {"low": 0.1, "high": 0.29951},
                        "class_weight": False,
                    }
                },
            }
        }
    ).tune
    space = search_space(tune, "binary")
    values = suggest(
        Scripted(
            {"train.estimator": "logistic_regression", "train.logistic_regression.C": 0.29950001}
        ),
        space,
    )
    assert values["train.logistic_regression.C"] == 0.29951  # 0.300 would be above high


def test_values_make_the_train_config_and_flatten_back() -> None:
    base = TrainConfig()
    config = with_values(
        base,
        {
            "train.estimator": "logistic_regression",
            "train.logistic_regression.C": 0.3,
            "train.threshold": 0.25,
        },
    )
    assert config.estimator == "logistic_regression"
    assert config.logistic_regression.C == 0.3 and config.threshold == 0.25
    assert config.random_forest == base.random_forest
    flat = train_values(config)
    assert flat["train.logistic_regression.C"] == 0.3
    assert flat["train.hist_gradient_boosting.max_iter"] == 150
    assert with_values(TrainConfig(), {k: v for k, v in flat.items()}) == config
    for bad in ("train.logistic_regression.D", "train.nope", "data.target"):
        with pytest.raises(KeyError):
            with_values(base, {bad: 1})


def test_searched_values_are_the_current_configs_for_its_estimator() -> None:
    space = search_space(TuneConfig(), "binary")
    config = dataclasses.replace(TrainConfig(), estimator="logistic_regression")
    assert searched_values(config, space) == {
        "train.estimator": "logistic_regression",
        "train.logistic_regression.C": 1.0,
        "train.logistic_regression.class_weight": None,
    }


@pytest.mark.parametrize(
    ("param", "value", "inside", "edge"),
    [
        (Param("k", "float", None, 0.01, 0.3, log=True), 0.0101, True, "low"),
        (Param("k", "float", None, 0.01, 0.3, log=True), 0.0115, True, None),
        (Param("k", "float", None, 0.01, 0.3, log=True), 0.298, True, "high"),
        (Param("k", "float", None, 0.0, 10.0), 9.95, True, "high"),
        (Param("k", "float", None, 0.0, 10.0), 9.8, True, None),
        (Param("k", "int", None, 3, 20), 3, True, "low"),
        (Param("k", "int", None, 3, 20), 4, True, None),
        (Param("k", "int", None, 3, 20), 3.5, False, None),
        (Param("k", "float", None, 0.001, 10.0, log=True), 0.0, False, None),
        (Param("k", "categorical", choices=(None, "balanced")), None, True, None),
        (Param("k", "categorical", choices=(1, 2)), True, False, None),
    ],
)
def test_inside_and_on_the_edge(param: Param, value: Any, inside: bool, edge: str | None) -> None:
    assert param.contains(value) is inside
    assert param.edge(value) == edge


def test_search_range_defaults_are_floats_so_the_json_is_stable() -> None:
    assert TuneConfig().space.random_forest.max_depth == SearchRange(3.0, 20.0, False)
