"""evaluate_model: every diagnostic for a real fitted model on small data."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from mlpipe.config import ConfigError, EvaluateConfig, TrainConfig
from mlpipe.data.generate import generate_churn
from mlpipe.data.schema import ColumnSpec, Schema, load_schema
from mlpipe.data.split import split_table
from mlpipe.evaluation.evaluate import (
    Evaluation,
    absent_classes,
    check_slices,
    evaluate_model,
    needed_columns,
    train_sample,
)
from mlpipe.evaluation.rows import row_hashes
from mlpipe.model.features import FeatureSpec, feature_spec
from mlpipe.model.train import fit_model
from support.repo import PROJECT

CONFIG = EvaluateConfig(
    slices=("contract",), min_slice_rows=10, importance_rows=60, importance_repeats=2
)


@pytest.fixture(scope="module")
def setup() -> tuple[Pipeline, pd.DataFrame, pd.DataFrame, FeatureSpec, Schema]:
    schema = load_schema(PROJECT / "data" / "schema.yaml")
    train, test = split_table(generate_churn(400, 5), "churned", "stratified", 0.25, seed=0)
    config = TrainConfig()
    config = dataclasses.replace(
        config,
        hist_gradient_boosting=dataclasses.replace(config.hist_gradient_boosting, max_iter=15),
    )
    spec = feature_spec(schema)
    return fit_model(train, spec, "churned", "binary", config), train, test, spec, schema


def _evaluate(setup: tuple) -> Evaluation:
    model, train, test, spec, schema = setup
    hashes = row_hashes([test.iloc[:40], test.iloc[40:]])  # as the stage reads it, in batches
    return evaluate_model(
        model, train, test, spec, schema, CONFIG, id_columns=("customer_id",), row_hashes=hashes
    )


@pytest.fixture(scope="module")
def result(setup: tuple) -> Evaluation:
    return _evaluate(setup)


def test_binary_evaluation_has_every_part(setup: tuple, result: Evaluation) -> None:
    _, _, test, spec, _ = setup
    assert result.metrics["test"]["rows"] == 100 and result.metrics["train"]["rows"] == 300
    assert {"roc_auc", "average_precision", "log_loss", "brier", "f1"} <= set(
        result.metrics["test"]
    )
    assert result.metrics["train"]["roc_auc"] > result.metrics["test"]["roc_auc"] > 0.6
    assert sorted(result.plots) == [
        "calibration",
        "confusion",
        "importance",
        "precision_recall",
        "roc",
    ]
    assert sum(r["count"] for r in result.plots["confusion"]) == 100
    assert sum(r["count"] for r in result.plots["calibration"]) == 100
    assert len(result.plots["roc"]) <= CONFIG.plot_points
    assert {r["feature"] for r in result.plots["importance"]} == set(spec.columns)
    contracts = result.slices["test"]["contract"]
    assert set(contracts) <= {"month-to-month", "one-year", "two-year"}
    assert all(v["rows"] >= 10 for v in contracts.values())
    assert sum(v["rows"] for v in contracts.values()) <= 100
    small = int((test["contract"].value_counts() < 10).sum())
    assert result.slices["below_min_rows"] == {"min_rows": 10, "test": {"contract": small}}
    assert len(contracts) + small == test["contract"].nunique()
    assert set(result.slices["per_class"]) == {"False", "True"}
    assert result.slices["per_class"]["True"]["support"] == int(test["churned"].sum())


def test_evaluation_is_deterministic(setup: tuple, result: Evaluation) -> None:
    again = _evaluate(setup)
    assert again == result
    pd.testing.assert_frame_equal(again.rows, result.rows)


def test_per_row_predictions_and_intervals_of_the_test_set(
    setup: tuple, result: Evaluation
) -> None:
    model, _, test, spec, _ = setup
    rows = result.rows
    assert list(rows.columns) == [
        "customer_id",
        "row",
        "row_hash",
        "y_true",
        "y_pred",
        "proba:False",
        "proba:True",
    ]
    assert rows["customer_id"].tolist() == test["customer_id"].tolist()
    assert rows["row"].tolist() == list(range(100))
    assert rows["row_hash"].tolist() == row_hashes([test]).tolist()  # batches do not matter
    assert rows["y_true"].tolist() == test["churned"].astype(str).tolist()
    proba = model.predict_proba(test[list(spec.columns)])[:, 1]
    assert rows["proba:True"].to_numpy() == pytest.approx(proba)
    assert (rows["y_pred"] == "True").tolist() == (proba >= 0.5).tolist()
    # Intervals of every test metric but rows, each around the metric's value.
    intervals = result.intervals
    assert intervals["rows"] == 100 and intervals["resamples"] == 1000
    assert sorted(intervals["test"]) == sorted(set(result.metrics["test"]) - {"rows"})
    for name, bound in intervals["test"].items():
        assert bound["low"] <= result.metrics["test"][name] <= bound["high"], name
    auc = intervals["test"]["roc_auc"]
    assert 0.02 < auc["high"] - auc["low"] < 0.4  # 100 rows: a wide interval


def _slices_error(setup: tuple, *slices: str) -> str:
    """The ConfigError message evaluate_model raises for ``evaluate.slices = slices``."""
    model, train, test, spec, schema = setup
    config = dataclasses.replace(CONFIG, slices=slices)
    with pytest.raises(ConfigError) as caught:
        evaluate_model(model, train, test, spec, schema, config)
    return str(caught.value)


def test_unknown_slice_column_is_named(setup: tuple) -> None:
    assert _slices_error(setup, "contract", "colour").startswith(
        "evaluate.slices names columns that are not in the data: ['colour']. Set evaluate.slices"
    )


def test_unknown_slice_column_lists_the_usable_columns(setup: tuple) -> None:
    schema = setup[4]
    usable = [*schema.features("categorical"), *schema.features("boolean")]
    assert "contract" in usable and "tenure_months" not in usable
    assert _slices_error(setup, "colour") == (
        "evaluate.slices names columns that are not in the data: ['colour']. Set "
        f"evaluate.slices in params.yaml to some of the categorical or boolean columns {usable}, "
        "or to []"
    )


def test_numeric_slice_column_is_an_error_not_an_empty_slice(setup: tuple) -> None:
    assert _slices_error(setup, "contract", "tenure_months").startswith(
        "evaluate.slices: 'tenure_months' is numeric; slices are per category, use a "
        "categorical or boolean column. Set evaluate.slices in params.yaml to some of the "
        "categorical or boolean columns ['"
    )


ALL_NUMERIC = Schema(
    target="y",
    task="multiclass",
    classes=(0, 1, 2),
    columns=(
        ColumnSpec("wine_id", "id"),
        ColumnSpec("alcohol", "numeric"),
        ColumnSpec("hue", "numeric"),
        ColumnSpec("y", "categorical"),
    ),
)
WINES = pd.DataFrame(
    {"wine_id": ["w1", "w2"], "alcohol": [13.2, 12.1], "hue": [1.0, 0.9], "y": [0, 1]}
)


@pytest.mark.parametrize(
    ("slices", "message"),
    [
        (
            ("color",),
            "evaluate.slices names columns that are not in the data: ['color']. This data has "
            "no categorical or boolean columns to slice by; set evaluate.slices to [] in "
            "params.yaml",
        ),
        (
            ("alcohol",),
            "evaluate.slices: 'alcohol' is numeric; slices are per category, use a categorical "
            "or boolean column. This data has no categorical or boolean columns to slice by; "
            "set evaluate.slices to [] in params.yaml",
        ),
        (
            ("wine_id",),
            "evaluate.slices: 'wine_id' is id; slices are per category",
        ),
    ],
)
def test_slices_on_all_numeric_data_say_so_plainly(slices: tuple, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_slices(slices, WINES, ALL_NUMERIC)
    assert str(caught.value).startswith(message)


def test_a_slice_column_outside_the_schema_is_judged_by_its_values() -> None:
    check_slices(("y",), WINES, ALL_NUMERIC)  # categorical in the schema: accepted
    check_slices(("shop",), WINES.assign(shop=["a", "b"]), ALL_NUMERIC)
    with pytest.raises(ConfigError, match="'batch' is numeric"):
        check_slices(("batch",), WINES.assign(batch=[1.5, 2.5]), ALL_NUMERIC)


def test_configured_positive_class_must_exist(setup: tuple) -> None:
    model, train, test, spec, schema = setup
    with pytest.raises(ValueError, match=r"data.positive_class 'yes' is not one of the classes"):
        evaluate_model(model, train, test, spec, schema, CONFIG, positive="yes")


def test_train_sample_draws_at_most_the_configured_rows() -> None:
    assert train_sample(300, 1_000_000, seed=42) is None  # small tables: every row, no draw
    assert train_sample(300, 300, seed=42) is None
    take = train_sample(1000, 100, seed=42)
    assert take is not None and len(take) == 100 and len(set(take.tolist())) == 100
    assert take.tolist() == sorted(take.tolist()) and take.min() >= 0 and take.max() < 1000
    assert take.tolist() == train_sample(1000, 100, seed=42).tolist()  # seeded
    assert take.tolist() != train_sample(1000, 100, seed=7).tolist()


def test_train_metrics_on_a_sample_say_its_size(setup: tuple, result: Evaluation) -> None:
    model, train, test, spec, schema = setup
    take = train_sample(len(train), 120, seed=CONFIG.seed)
    sampled = evaluate_model(model, train.iloc[take], test, spec, schema, CONFIG)
    assert sampled.metrics["train"]["rows"] == 120
    full = result  # the same call on the whole train set (the module's evaluation)
    assert full.metrics["train"]["rows"] == 300
    assert sampled.metrics["test"] == full.metrics["test"]  # the test side is untouched
    assert sampled.metrics["train"]["roc_auc"] != full.metrics["train"]["roc_auc"]


def test_needed_columns_are_features_target_and_slices_once() -> None:
    spec = FeatureSpec(numeric=("n",), categorical=("c",), boolean=("b",))
    assert needed_columns(spec, "y") == ["n", "b", "c", "y"]
    assert needed_columns(spec, "y", ("c", "region")) == ["n", "b", "c", "y", "region"]


def test_absent_classes_names_the_model_classes_a_set_lacks() -> None:
    target = pd.Series(["Adelie", "Gentoo", None, "Adelie"])
    assert absent_classes(target, ["Adelie", "Chinstrap", "Emperor", "Gentoo"]) == [
        "Chinstrap",
        "Emperor",
    ]
    assert absent_classes(pd.Series([1, 2, 2]), [1, 2]) == []  # compared as text, like labels


def test_the_decision_threshold_sets_every_class_metric(setup: tuple, result: Evaluation) -> None:
    """The review's case: the threshold (then evaluate.threshold, now train.threshold) was
    range-checked but unused, so 0.3 gave the same metrics as 0.5. Threshold-free metrics
    stay; the class-based ones follow it."""
    import numpy as np

    from mlpipe.model.features import model_frame

    model, train, test, spec, schema = setup
    low = evaluate_model(model, train, test, spec, schema, CONFIG, threshold=0.3)
    before, after = result.metrics["test"], low.metrics["test"]
    for name in ("roc_auc", "average_precision", "log_loss", "brier"):
        assert after[name] == before[name]
    p_true = model.predict_proba(model_frame(test, spec))[:, 1]
    y = test["churned"].to_numpy()
    for threshold, metrics in ((0.5, before), (0.3, after)):
        predicted = p_true >= threshold
        assert metrics["recall"] == round((predicted & y).sum() / y.sum(), 6)
        # no row predicted positive: precision 0 (scikit-learn's zero_division=0)
        chosen = predicted.sum()
        assert metrics["precision"] == (round((predicted & y).sum() / chosen, 6) if chosen else 0)
        assert metrics["accuracy"] == round((predicted == y).mean(), 6)
    assert after["recall"] > before["recall"]
    predicted_true = sum(c["count"] for c in low.plots["confusion"] if c["predicted"] == "True")
    assert predicted_true == int((p_true >= 0.3).sum())
    assert np.isclose(low.slices["per_class"]["True"]["recall"], after["recall"])
