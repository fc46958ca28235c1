"""Feature roles from the schema, model-ready frames, and the preprocessing ColumnTransformer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlpipe.config import ConfigError
from mlpipe.data.schema import Schema
from mlpipe.io import InputError

MISSING_CATEGORY = "__missing__"


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
) -> FeatureSpec:
    """Roles from the schema, overridden by explicit lists from params when given.

    Raises ConfigError when an explicit list names the target, a column the schema does not
    know, or one column twice.
    """
    spec = FeatureSpec(
        numeric=numeric if numeric is not None else schema.features("numeric"),
        categorical=categorical if categorical is not None else schema.features("categorical"),
        boolean=boolean if boolean is not None else schema.features("boolean"),
    )
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
        )
    return spec


def model_frame(frame: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """The feature columns in the dtypes the estimators expect.

    Numeric -> float64; boolean -> float64 (1/0, NaN when missing); categorical -> object text
    with NaN for missing. Raises KeyError naming a missing feature column.
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
        out[column] = frame[column].astype("boolean").astype("Float64").astype(np.float64)
    for column in spec.categorical:
        values = frame[column]
        text = values.astype(object).map(str, na_action="ignore")
        out[column] = text.where(values.notna(), np.nan).astype(object)
    return pd.DataFrame(out, index=frame.index)


def preprocessor(spec: FeatureSpec, scale: bool) -> ColumnTransformer:
    """Impute (+ scale) numerics, impute booleans, impute + one-hot categoricals.

    Unknown categories at prediction time are ignored (all-zero one-hot), never an error.
    """
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
