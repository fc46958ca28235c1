"""XGBoost in mlpipe (``train.estimator: xgboost``): one model for both engines.

The fitted model is a scikit-learn Pipeline like every other estimator's: ``XGBoostFeatures``
(the frame ``model_frame`` gives, with each categorical column coded on the categories seen in
training) then ``XGBoostClassifierModel`` / ``XGBoostRegressorModel``, which hold the booster
in XGBoost's own format (UBJSON bytes, ``booster_``) and predict like scikit-learn estimators.
The model file stays a skops archive (mlpipe.model.persist): the booster is one binary entry in
it, the metadata (classes, features, categories) is skops' JSON, and nothing is pickled.

What the local engine and the Dask engine share (the Dask engine calls the same functions on
each partition): ``training_summary`` + ``merge_training_summaries`` (the categories and
classes of the training rows, merged as sorted unions), ``booster_frame`` (the booster's input
for a chunk of rows), ``validation_mask`` (the early-stopping rows, by a seeded hash of each
row's number in the training table) and ``booster_params``. XGBoost is imported when a model
is fitted or first predicts, never for loading params.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin

from mlpipe.config import TrainConfig
from mlpipe.errors import MlpipeError
from mlpipe.model.features import FeatureSpec
from mlpipe.rowhash import row_fraction

# The columns a training partition carries besides the features (Dask engine).
LABEL = "__mlpipe_label__"
VALIDATION = "__mlpipe_validation__"


class BoostingError(MlpipeError):
    """XGBoost cannot be trained as configured (too few rows or classes); says what to change."""


@dataclass(frozen=True)
class TrainingSummary:
    """What training needs to know of all the rows before it starts (a partial result: the
    summary of a chunk of rows; two merge exactly, so the result does not depend on how the
    table was cut). ``categories``: per categorical feature, the sorted texts seen;
    ``classes``: the sorted class labels (empty for regression); ``rows``: rows counted."""

    rows: int
    categories: dict[str, tuple[str, ...]]
    classes: tuple[str, ...]


def training_summary(
    frame: pd.DataFrame, spec: FeatureSpec, target: str, task: str
) -> TrainingSummary:
    """The summary of a chunk of training rows (``frame``: raw columns, as read)."""
    from mlpipe.model.features import model_frame
    from mlpipe.model.train import target_values

    categories = seen_categories(model_frame(frame, spec), spec.categorical)
    classes: tuple[str, ...] = ()
    if task != "regression":
        classes = tuple(sorted(target_values(frame, target, task).unique()))
    return TrainingSummary(len(frame), categories, classes)


def seen_categories(x: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The texts each of ``columns`` holds in ``x`` (``model_frame``'s output), sorted as text."""
    return {c: tuple(sorted(str(v) for v in x[c].dropna().unique())) for c in columns}


def merge_training_summaries(a: TrainingSummary, b: TrainingSummary) -> TrainingSummary:
    """Two chunks' summaries together: sorted unions (exact, in either order)."""
    names = sorted(set(a.categories) | set(b.categories))
    categories = {
        c: tuple(sorted(set(a.categories.get(c, ())) | set(b.categories.get(c, ()))))
        for c in names
    }
    return TrainingSummary(
        a.rows + b.rows, categories, tuple(sorted(set(a.classes) | set(b.classes)))
    )


def booster_frame(x: pd.DataFrame, spec: FeatureSpec, categories: dict[str, tuple[str, ...]]):
    """The booster's input for ``x`` (``model_frame``'s output): the features in
    ``spec.columns`` order, numbers and booleans as float64 (NaN missing), each categorical a
    pandas ``category`` with exactly the training ``categories`` (a value not among them, or
    missing, is NaN: the booster's missing-value branch). Equal dtypes on every chunk, so
    codes mean the same category everywhere."""
    out = {}
    for column in spec.columns:
        values = x[column]
        if column in categories:
            dtype = pd.CategoricalDtype(pd.Index(categories[column], dtype=object))
            if isinstance(values.dtype, pd.CategoricalDtype):
                values = values.cat.set_categories(dtype.categories)
            else:
                values = values.astype(object).astype(dtype)
        out[column] = values
    return pd.DataFrame(out, index=x.index, copy=False)


def validation_mask(rows: np.ndarray, seed: int, fraction: float) -> np.ndarray:
    """True for the training rows held out for early stopping.

    Decided per row from its number in the training table (``rows``, 0-based) and ``seed``:
    the SplitMix64 hash of the pair, as a number in [0, 1), is below ``fraction``. So the
    choice does not depend on how the table is cut into chunks or partitions.
    """
    return row_fraction(rows, seed) < fraction


def booster_params(config: TrainConfig, task: str, n_classes: int) -> dict[str, Any]:
    """XGBoost's training parameters for ``train.xgboost`` (the same on both engines).

    The thread count is not among them: the booster is the same for every count (tested).
    """
    c = config.xgboost
    params: dict[str, Any] = {
        "tree_method": "hist",
        "learning_rate": c.learning_rate,
        "max_depth": c.max_depth,
        "min_child_weight": c.min_child_weight,
        "subsample": c.subsample,
        "colsample_bytree": c.colsample_bytree,
        "reg_lambda": c.reg_lambda,
        "reg_alpha": c.reg_alpha,
        "max_bin": c.max_bin,
        "seed": config.seed,
        "validate_parameters": True,
    }
    if task == "regression":
        params.update(objective="reg:squarederror", eval_metric="rmse")
    elif n_classes == 2:
        params.update(objective="binary:logistic", eval_metric="logloss")
    else:
        params.update(objective="multi:softprob", num_class=n_classes, eval_metric="mlogloss")
    return params


def check_classes(classes: tuple[str, ...], task: str) -> None:
    """A classifier needs two classes among the training rows."""
    if task != "regression" and len(classes) < 2:
        raise BoostingError(
            f"the training rows hold {len(classes)} class(es) {list(classes)}; a {task} "
            "model needs at least two. Check data.target and the split"
        )


def label_codes(labels: pd.Series, classes: tuple[str, ...], task: str) -> np.ndarray:
    """The booster's labels: class positions in ``classes``, or the regression values."""
    if task == "regression":
        return labels.to_numpy(dtype=np.float64)
    return np.searchsorted(np.asarray(classes, dtype=object), labels.to_numpy(dtype=object))


class XGBoostFeatures(TransformerMixin, BaseEstimator):
    """``model_frame``'s output -> the booster's input (``booster_frame``); ``fit`` records
    the categories of each categorical feature in the training rows (``categories_``)."""

    def __init__(
        self,
        numeric: tuple[str, ...] = (),
        boolean: tuple[str, ...] = (),
        categorical: tuple[str, ...] = (),
    ) -> None:
        self.numeric = numeric
        self.boolean = boolean
        self.categorical = categorical

    @property
    def spec(self) -> FeatureSpec:
        return FeatureSpec(tuple(self.numeric), tuple(self.categorical), tuple(self.boolean))

    def fit(self, x: pd.DataFrame, y: Any = None) -> XGBoostFeatures:
        self.categories_ = seen_categories(x, tuple(self.categorical))
        return self

    def transform(self, x: pd.DataFrame) -> pd.DataFrame:
        return booster_frame(x, self.spec, self.categories_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.spec.columns, dtype=object)


class _XGBoostModel(BaseEstimator):
    """A fitted XGBoost booster with scikit-learn's predict API.

    ``booster_``: the booster in XGBoost's UBJSON format (``xgboost.Booster`` reads it);
    ``feature_names_in_``: its input columns; ``rounds_``: the boosting rounds kept (up to
    the best one when early stopping was on). ``fit`` trains on this machine.
    """

    def __init__(
        self,
        params: dict[str, Any] | None = None,
        n_estimators: int = 100,
        early_stopping_rounds: int = 0,
        validation_fraction: float = 0.1,
        seed: int = 0,
    ) -> None:
        self.params = params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.seed = seed

    # -- fitting (local engine) ------------------------------------------------------------
    def _fit_booster(self, x: pd.DataFrame, labels: np.ndarray) -> Any:
        import xgboost

        params = dict(self.params or {})
        max_bin = params.get("max_bin", 256)
        if not self.early_stopping_rounds:
            train = xgboost.QuantileDMatrix(x, labels, enable_categorical=True, max_bin=max_bin)
            return xgboost.train(params, train, num_boost_round=self.n_estimators)
        held = validation_mask(np.arange(len(x)), self.seed, self.validation_fraction)
        check_validation_rows(int(held.sum()), len(x), self.validation_fraction)
        train = xgboost.QuantileDMatrix(
            x[~held], labels[~held], enable_categorical=True, max_bin=max_bin
        )
        valid = xgboost.QuantileDMatrix(
            x[held], labels[held], enable_categorical=True, max_bin=max_bin, ref=train
        )
        booster = xgboost.train(
            params,
            train,
            num_boost_round=self.n_estimators,
            evals=[(valid, "validation")],
            early_stopping_rounds=self.early_stopping_rounds,
            verbose_eval=False,
        )
        return booster[: booster.best_iteration + 1]

    def set_booster(self, booster: Any, feature_names: list[str]) -> _XGBoostModel:
        """Keep ``booster`` (an ``xgboost.Booster``, trained here or on a cluster)."""
        self.booster_ = bytes(booster.save_raw("ubj"))
        self.rounds_ = int(booster.num_boosted_rounds())
        self.feature_names_in_ = np.asarray(feature_names, dtype=object)
        self.n_features_in_ = len(feature_names)
        self._loaded = booster
        return self

    # -- predicting ------------------------------------------------------------------------
    def _booster(self) -> Any:
        loaded = getattr(self, "_loaded", None)
        if loaded is None:
            import xgboost

            loaded = xgboost.Booster(model_file=bytearray(self.booster_))
            self._loaded = loaded
        return loaded

    def _raw_predict(self, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(self._booster().inplace_predict(x), dtype=np.float64)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_loaded", None)  # the bytes are the state; the loaded booster is a cache
        return state


class XGBoostClassifierModel(ClassifierMixin, _XGBoostModel):
    """Binary or multiclass; ``classes_`` are the class labels as text, sorted."""

    def fit(self, x: pd.DataFrame, y: pd.Series) -> XGBoostClassifierModel:
        classes = tuple(sorted(pd.Series(y).astype(str).unique()))
        check_classes(classes, "classification")
        self.classes_ = np.asarray(classes, dtype=object)
        labels = label_codes(pd.Series(y).astype(str), classes, "classification")
        return self.set_booster(self._fit_booster(x, labels), list(x.columns))

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        raw = self._raw_predict(x)
        if raw.ndim == 1:  # binary: the probability of the second class
            return np.column_stack([1.0 - raw, raw])
        return raw

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self.classes_[self.predict_proba(x).argmax(axis=1)]


class XGBoostRegressorModel(RegressorMixin, _XGBoostModel):
    """Regression (squared error)."""

    def fit(self, x: pd.DataFrame, y: pd.Series) -> XGBoostRegressorModel:
        labels = label_codes(pd.Series(y), (), "regression")
        return self.set_booster(self._fit_booster(x, labels), list(x.columns))

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self._raw_predict(x)


def check_validation_rows(held: int, rows: int, fraction: float) -> None:
    """Early stopping needs rows on both sides of the validation slice."""
    if held < 1 or held >= rows:
        raise BoostingError(
            f"train.xgboost.validation_fraction {fraction:g} holds out {held} of {rows} "
            "training rows for early stopping; both sides need rows. Change the fraction, or "
            "set train.xgboost.early_stopping_rounds: 0"
        )


# Share of a worker's memory limit training may plan to fill: a worker pauses at 80 % of its
# limit (distributed.worker.memory.pause) and is restarted at 95 %; XGBoost's data cannot be
# spilled to disk. Measured (benchmarks/dask_train_memory.py, dask_memory_results.md): a worker
# that has imported pandas, scikit-learn and XGBoost holds about WORKER_READY bytes, and
# starting XGBoost's training on it takes about WORKER_TRAINING more, whatever the rows.
MEMORY_SHARE = 0.8
WORKER_READY = 225 * 2**20
WORKER_TRAINING = 200 * 2**20


def training_memory(rows: int, spec: FeatureSpec, outputs: int, max_bin: int) -> dict[str, int]:
    """Bytes training holds on a cluster for its rows, by part (an estimate, for the up-front
    check; ``WORKER_TRAINING`` more per worker).

    ``partitions``: the feature frames and labels the workers keep while XGBoost trains
    (float64 numbers and booleans, 2-byte category codes, the label and the validation flag);
    ``quantile_matrix``: XGBoost's binned copy (1 byte per value up to 256 bins, else 2);
    ``gradients``: gradient, hessian and prediction per row and output (``outputs``: 1, or the
    number of classes for multiclass), float32; ``xgboost_buffers``: what XGBoost allocates
    besides, per row (its row index, the batches it converts): 4 bytes per feature and 8 per
    row, fitted to the measured 212 bytes per row of the default data's 16 features, where the
    other parts sum to 141.
    """
    numbers = len(spec.numeric) + len(spec.boolean)
    bin_bytes = 1 if max_bin <= 256 else 2
    return {
        "partitions": rows * (8 * numbers + 2 * len(spec.categorical) + 8 + 1),
        "quantile_matrix": rows * len(spec.columns) * bin_bytes,
        "gradients": rows * outputs * 12,
        "xgboost_buffers": rows * (4 * len(spec.columns) + 8),
    }


def worker_room(limits: dict[str, int], used: dict[str, int]) -> int:
    """Bytes the workers can give training's rows: per worker, ``MEMORY_SHARE`` of its limit
    less what it holds (``used``, by address; at least ``WORKER_READY``) and
    ``WORKER_TRAINING``."""
    return sum(
        max(0, int(MEMORY_SHARE * limit) - max(used.get(address, 0), WORKER_READY))
        - WORKER_TRAINING
        for address, limit in limits.items()
    )


def check_fits_in_memory(
    rows: int,
    spec: FeatureSpec,
    outputs: int,
    max_bin: int,
    limits: dict[str, int],
    used: dict[str, int] | None = None,
) -> None:
    """Refuse up front (BoostingError with the estimate) when training cannot fit the
    cluster: its rows need more than ``worker_room``. ``limits``: each worker's limit in bytes
    by address (0: no limit, and then nothing is checked); ``used``: the memory each worker
    process holds now (by address)."""
    if not limits or any(limit <= 0 for limit in limits.values()):
        return
    parts = training_memory(rows, spec, outputs, max_bin)
    need, room = sum(parts.values()), worker_room(limits, used or {})
    if need <= room:
        return
    detail = ", ".join(f"{name.replace('_', ' ')} {_gib(size)}" for name, size in parts.items())
    held = max([WORKER_READY, *(used or {}).values()])
    raise BoostingError(
        f"training on the Dask cluster needs about {_gib(need)} for its rows ({rows} rows x "
        f"{len(spec.columns)} features: {detail}), more than the {len(limits)} workers have "
        f"room for: {_gib(max(room, 0))} ({MEMORY_SHARE:.0%} of a worker's memory limit, "
        f"{', '.join(sorted({_gib(v) for v in limits.values()}))}, less what it holds, up to "
        f"{_gib(held)}, and {_gib(WORKER_TRAINING)} to start XGBoost). Add workers or memory "
        "(dask worker --memory-limit, or engine.dask.n_workers / memory_limit for a "
        "LocalCluster), or train on fewer rows"
    )


def _gib(size: float) -> str:
    return f"{size / 2**30:.2f} GiB"


def xgboost_model(config: TrainConfig, task: str, n_classes: int) -> _XGBoostModel:
    """The unfitted model step for ``train.xgboost`` (``fit`` trains on this machine)."""
    c = config.xgboost
    cls = XGBoostRegressorModel if task == "regression" else XGBoostClassifierModel
    return cls(
        params=booster_params(config, task, n_classes),
        n_estimators=c.n_estimators,
        early_stopping_rounds=c.early_stopping_rounds,
        validation_fraction=c.validation_fraction,
        seed=config.seed,
    )
