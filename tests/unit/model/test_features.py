"""Feature roles, model-ready frames and the preprocessing ColumnTransformer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.data.schema import Schema
from mlpipe.io import InputError
from mlpipe.model.features import (
    MAX_CATEGORIES,
    MISSING_CATEGORY,
    FeatureSpec,
    categorical_indices,
    feature_spec,
    model_frame,
    preprocessor,
)

SPEC = FeatureSpec(numeric=("n",), categorical=("c",), boolean=("b",))


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": [1, 2, None, 10],
            "b": pd.array([True, False, None, True], dtype="boolean"),
            "c": pd.array(["x", "y", None, "x"], dtype="string"),
            "ignored": ["a", "b", "c", "d"],
        }
    )


def test_feature_spec_from_the_schema(schema: Schema) -> None:
    spec = feature_spec(schema)
    assert spec.categorical == ("contract", "plan", "payment_method", "region")
    assert "churned" not in spec.columns
    assert "customer_id" not in spec.columns and "signup_date" not in spec.columns
    assert "paperless_billing" in spec.boolean and "tenure_months" in spec.numeric
    assert spec.columns == spec.numeric + spec.boolean + spec.categorical


def test_params_override_the_schema_roles(schema: Schema) -> None:
    spec = feature_spec(schema, numeric=("age",), categorical=(), boolean=None)
    assert spec.numeric == ("age",) and spec.categorical == ()
    assert spec.boolean == schema.features("boolean")


def test_model_frame_dtypes() -> None:
    out = model_frame(_frame(), SPEC)
    assert list(out.columns) == ["n", "b", "c"]
    assert out["n"].dtype == np.float64 and out["b"].dtype == np.float64
    assert out["b"].tolist()[:2] == [1.0, 0.0] and np.isnan(out["b"].iloc[2])
    assert isinstance(out["c"].dtype, pd.CategoricalDtype)
    assert out["c"].cat.categories.dtype == object  # Python str categories, one code per row
    assert out["c"].cat.categories.tolist() == ["x", "y"]
    assert out["c"].tolist()[:2] == ["x", "y"] and np.isnan(out["c"].iloc[2])
    assert out["c"].cat.codes.tolist() == [0, 1, -1, 0]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pd.array([3, None, 1], dtype="Int64"), ["3", None, "1"]),
        ([1.5, np.nan, 2.0], ["1.5", None, "2"]),  # a whole number as the schema writes it
        (pd.Categorical(["b", None, "a"]), ["b", None, "a"]),
        (pd.array(["b", None, "a"], dtype="string[pyarrow]"), ["b", None, "a"]),
        ([1, "1", None], ["1", "1", None]),  # same text: one category
    ],
)
def test_categorical_values_become_their_text(values: object, expected: list) -> None:
    spec = FeatureSpec(numeric=(), categorical=("c",), boolean=())
    out = model_frame(pd.DataFrame({"c": values}), spec)["c"]
    assert out.cat.categories.dtype == object
    assert [None if pd.isna(v) else v for v in out.tolist()] == expected
    assert all(type(v) is str for v in out.cat.categories)


@pytest.mark.parametrize("encoding", ["onehot", "ordinal"])
def test_whole_number_floats_are_the_categories_the_model_saw_as_integers(encoding: str) -> None:
    # Trained on an integer column; a batch with a blank reads as float64 (1.0, 2.0, NaN).
    spec = FeatureSpec(numeric=(), categorical=("c",), boolean=())
    pre = preprocessor(spec, scale=False, encoding=encoding)  # type: ignore[arg-type]
    pre.fit(model_frame(pd.DataFrame({"c": [1, 2, 1, 2]}), spec))
    as_int = pre.transform(model_frame(pd.DataFrame({"c": [2, 1]}), spec))
    as_float = pre.transform(model_frame(pd.DataFrame({"c": [2.0, 1.0, np.nan]}), spec))
    np.testing.assert_array_equal(as_float[:2], as_int)
    expected = [[0.0, 1.0], [1.0, 0.0]] if encoding == "onehot" else [[1.0], [0.0]]
    assert as_int.tolist() == expected  # known categories, not the unknown (all-zero / NaN)


def test_model_frame_names_missing_feature_columns() -> None:
    with pytest.raises(InputError) as caught:
        model_frame(_frame().drop(columns=["n", "c"]), SPEC)
    assert str(caught.value) == (
        "feature columns missing from the data: ['n', 'c']; check data.*_features in "
        "params.yaml and the schema"
    )


def test_unknown_category_at_predict_time_is_ignored() -> None:
    pre = preprocessor(SPEC, scale=False).fit(model_frame(_frame(), SPEC))
    names = list(pre.get_feature_names_out())
    assert names == [
        "numeric__n",
        "numeric__missingindicator_n",
        "boolean__b",
        "categorical__c___missing__",
        "categorical__c_x",
        "categorical__c_y",
    ]
    new = pd.DataFrame({"n": [3.0], "b": [True], "c": ["never seen"]})
    row = pre.transform(model_frame(new, SPEC))[0]
    assert row.tolist() == [3.0, 0.0, 1.0, 0.0, 0.0, 0.0]  # all-zero one-hot, no error


def test_missing_values_are_imputed() -> None:
    pre = preprocessor(SPEC, scale=False).fit(model_frame(_frame(), SPEC))
    out = pre.transform(model_frame(_frame(), SPEC))
    assert not np.isnan(out).any()
    assert out[2].tolist() == [2.0, 1.0, 1.0, 1.0, 0.0, 0.0]  # median n, indicator, mode b
    assert MISSING_CATEGORY == "__missing__"


def test_transforms_are_fitted_on_the_training_rows_only() -> None:
    train = pd.DataFrame({"n": [1.0, 2.0, 3.0], "b": [True] * 3, "c": ["x"] * 3})
    test = pd.DataFrame({"n": [100.0, 200.0], "b": [False] * 2, "c": ["z"] * 2})
    pre = preprocessor(SPEC, scale=True).fit(model_frame(train, SPEC))
    scaler = pre.named_transformers_["numeric"].named_steps["scale"]
    assert scaler.mean_[0] == pytest.approx(2.0)
    out = pre.transform(model_frame(test, SPEC))
    # scaled with the training mean/std: (100 - 2) / std(1, 2, 3)
    assert out[0, 0] == pytest.approx((100.0 - 2.0) / np.std([1.0, 2.0, 3.0]))
    assert pre.named_transformers_["categorical"].named_steps["onehot"].categories_[
        0
    ].tolist() == ["x"]


def test_ordinal_encoding_puts_categoricals_first_as_codes() -> None:
    pre = preprocessor(SPEC, scale=False, encoding="ordinal").fit(model_frame(_frame(), SPEC))
    assert list(pre.get_feature_names_out()) == ["categorical__c", "numeric__n", "boolean__b"]
    assert categorical_indices(SPEC) == [0]
    new = pd.DataFrame(
        {
            "n": [3.0, np.nan, 1.0],
            "b": pd.array([True, None, False], dtype="boolean"),
            "c": ["never seen", None, "y"],
        }
    )
    out = pre.transform(model_frame(new, SPEC))
    # unknown and missing categories -> NaN (the booster's missing bin); numerics as they are
    np.testing.assert_array_equal(
        out, [[np.nan, 3.0, 1.0], [np.nan, np.nan, np.nan], [1.0, 1.0, 0.0]]
    )


def test_ordinal_encoding_caps_the_number_of_categories() -> None:
    spec = FeatureSpec(numeric=(), categorical=("c",), boolean=())
    values = [f"v{i:03d}" for i in range(400)] * 2 + ["v000"] * 5 + [None]
    pre = preprocessor(spec, scale=False, encoding="ordinal")
    codes = pre.fit_transform(model_frame(pd.DataFrame({"c": values}), spec))[:, 0]
    assert np.nanmax(codes) == MAX_CATEGORIES - 1 == 254
    assert len(np.unique(codes[~np.isnan(codes)])) == MAX_CATEGORIES
    assert np.isnan(codes[-1])  # missing stays missing


def test_categorical_indices_without_categoricals() -> None:
    assert categorical_indices(FeatureSpec(("n",), (), ("b",))) is None
    assert categorical_indices(FeatureSpec((), ("a", "b"), ())) == [0, 1]


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        (FeatureSpec(("n",), (), ()), ["numeric"]),
        (FeatureSpec((), ("c",), ("b",)), ["boolean", "categorical"]),
    ],
)
def test_only_present_roles_get_a_transformer(spec: FeatureSpec, names: list[str]) -> None:
    assert [t[0] for t in preprocessor(spec, scale=False).transformers] == names
    ordinal = [t[0] for t in preprocessor(spec, scale=False, encoding="ordinal").transformers]
    assert sorted(ordinal) == sorted(names)


def test_scaling_only_when_asked() -> None:
    for scale, steps in ((True, ["impute", "scale"]), (False, ["impute"])):
        numeric = {n: t for n, t, _ in preprocessor(SPEC, scale=scale).transformers}["numeric"]
        assert list(numeric.named_steps) == steps
