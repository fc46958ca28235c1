"""Feature roles from the schema, model-ready frames, and the preprocessing ColumnTransformer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from mlpipe.config import ConfigError
from mlpipe.data.schema import Schema, category_value_text, feature_columns
from mlpipe.io import InputError

MISSING_CATEGORY = "__missing__"
# Histogram gradient boosting bins each feature into at most 255 values (plus one for missing),
# so a categorical feature may have at most 255 categories: rarer ones share one code.
MAX_CATEGORIES = 255
Encoding = Literal["onehot", "ordinal"]


@dataclass(frozen=True)
class FeatureSpec:
    """Which columns feed the model, by role. Datetime and id columns are not features."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    boolean: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numeric + self.boolean + self.categorical


def feature_spec(
    schema: Schema,
    numeric: tuple[str, ...] | None = None,
    categorical: tuple[str, ...] | None = None,
    boolean: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
) -> FeatureSpec:
    """Roles from the schema, overridden by explicit lists from params when given, without the
    ``exclude`` columns (params ``data.exclude_columns``).

    Raises ConfigError when an explicit list names the target, a column the schema does not
    know, or one column twice, and when ``exclude`` names the target, a column the schema does
    not know, or a column an explicit list names.
    """
    _check_excluded(
        schema, exclude, {"numeric": numeric, "categorical": categorical, "boolean": boolean}
    )
    spec = FeatureSpec(**feature_columns(schema, numeric, categorical, boolean, exclude))
    for key, names in (
        ("numeric_features", numeric),
        ("categorical_features", categorical),
        ("boolean_features", boolean),
    ):
        for name in names or ():
            if name == schema.target:
                raise ConfigError(
                    f"data.{key} lists the target '{name}'; a model cannot use its own label"
                )
            if name not in schema.names:
                raise ConfigError(
                    f"data.{key} lists '{name}', which is not a column of the schema; "
                    "check the spelling or run `mlpipe schema infer`"
                )
    repeated = sorted({c for c in spec.columns if spec.columns.count(c) > 1})
    if repeated:
        raise ConfigError(f"columns {repeated} are listed in more than one data.*_features list")
    if not spec.columns:
        raise ConfigError(
            "no feature columns: the schema has no numeric, boolean or categorical column "
            "besides the target; set data.*_features or check data.id_columns"
            + (" and data.exclude_columns" if exclude else "")
        )
    return spec


def _check_excluded(
    schema: Schema, exclude: tuple[str, ...], lists: dict[str, tuple[str, ...] | None]
) -> None:
    """ConfigError naming ``data.exclude_columns`` when it cannot mean what it says."""
    for name in exclude:
        if name == schema.target:
            raise ConfigError(
                f"data.exclude_columns lists the target '{name}'; the target is never a "
                "feature: remove it from data.exclude_columns"
            )
        if name not in schema.names:
            raise ConfigError(
                f"data.exclude_columns lists '{name}', which is not a column of the schema; "
                "check the spelling (the schema's columns: "
                + ", ".join(schema.names[:20])
                + (", ..." if len(schema.names) > 20 else "")
                + ")"
            )
        for kind, names in lists.items():
            if names is not None and name in names:
                raise ConfigError(
                    f"'{name}' is in both data.exclude_columns and data.{kind}_features; "
                    "remove it from one of them"
                )


def model_frame(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The feature columns in the dtypes the estimators expect.

    Numeric -> float64; boolean -> float64 (1/0, NaN when missing); categorical -> pandas
    ``category`` whose categories are the values' text (Python ``str``, whole-number floats
    without their fraction, as the schema's categories: ``category_value_text``), NaN when
    missing: one small integer code per row instead of one string object per row. Raises
    InputError naming missing feature columns.
    """
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"feature columns missing from the data: {missing}; check data.*_features in "
            "params.yaml and the schema"
        )
    out = {}
    for column in spec.numeric:
        out[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    for column in spec.boolean:
        values = frame[column]
        if values.dtype == bool:  # no missing values: one conversion, no nullable detour
            out[column] = values.astype(np.float64)
        else:
            out[column] = values.astype("boolean").astype("Float64").astype(np.float64)
    for column in spec.categorical:
        out[column] = _text_categories(frame[column])
    # copy=False: the columns are already new (or shared read-only) arrays; a consolidating
    # copy would hold the whole table twice
    return pd.DataFrame(out, index=frame.index, copy=False)


def _text_categories(values: pd.Series) -> pd.Series:
    """``values`` as a ``category`` Series whose categories are ``str`` objects (object dtype).

    Object categories matter: scikit-learn's encoders turn the column into an array of the
    category objects (shared, not copied per row) and compare them with the fitted ones; Arrow
    or ``str``-dtype categories would be converted to one new string per row.
    """
    codes = values.astype("category")
    text = [category_value_text(v) for v in codes.cat.categories]
    if len(set(text)) == len(text):
        return pd.Series(
            pd.Categorical.from_codes(
                codes.cat.codes.to_numpy(), categories=pd.Index(text, dtype=object)
            ),
            index=values.index,
        )
    # distinct values with the same text (1 and "1"): merge them by their text
    as_text = values.astype(object).map(category_value_text, na_action="ignore")
    as_text = as_text.where(values.notna(), np.nan)
    return as_text.astype(pd.CategoricalDtype(pd.Index(sorted(set(text)), dtype=object)))


def preprocessor(
    spec: FeatureSpec, scale: bool, encoding: Encoding = "onehot"
) -> ColumnTransformer:
    """The preprocessing step, fitted on the training rows only.

    ``encoding="onehot"`` (linear models, random forests): impute (+ scale) numerics, impute
    booleans, impute + one-hot categoricals; unknown categories at prediction time are ignored
    (all-zero one-hot), never an error.

    ``encoding="ordinal"`` (histogram gradient boosting, which handles missing values and
    categories itself): the categoricals FIRST, as one ordinal code per column (so they are
    the first ``len(spec.categorical)`` output columns, see ``categorical_indices``); missing
    and unknown categories become NaN (the booster's missing-value bin); beyond
    ``MAX_CATEGORIES`` categories the rarest share one code. Numerics and booleans pass
    through unchanged (NaN stays NaN). No one-hot matrix, no imputed copies.
    """
    if encoding == "ordinal":
        return _ordinal_preprocessor(spec)
    numeric_steps: list[tuple[str, object]] = [
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    ]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical = Pipeline(
        [
            (
                "impute",
                SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
            ),
            (
                "onehot",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
            ),
        ]
    )
    transformers = []
    if spec.numeric:
        transformers.append(("numeric", Pipeline(numeric_steps), list(spec.numeric)))
    if spec.boolean:
        transformers.append(
            ("boolean", SimpleImputer(strategy="most_frequent"), list(spec.boolean))
        )
    if spec.categorical:
        transformers.append(("categorical", categorical, list(spec.categorical)))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=True)


def _ordinal_preprocessor(spec: FeatureSpec) -> ColumnTransformer:
    transformers: list[tuple[str, object, list[str]]] = []
    if spec.categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            max_categories=MAX_CATEGORIES,
            dtype=np.float64,
        )
        transformers.append(("categorical", encoder, list(spec.categorical)))
    if spec.numeric:
        transformers.append(("numeric", "passthrough", list(spec.numeric)))
    if spec.boolean:
        transformers.append(("boolean", "passthrough", list(spec.boolean)))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=True)


def categorical_indices(spec: FeatureSpec) -> list[int] | None:
    """Output columns of the ordinal preprocessor that hold categories (None: there are none)."""
    return list(range(len(spec.categorical))) or None
