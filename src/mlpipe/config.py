"""params.yaml -> frozen, typed dataclasses, validated once with errors that name the key.

Every section of params.yaml has a dataclass here. Loading checks known keys, types, enums
(``Literal``) and ranges (``_RANGES``); a typo is an error naming the key and the allowed keys,
never a silent default.

A list setting left empty (``id_columns:`` with nothing after it, which is how DVC's writer
spells null) is the empty list, except where null has a meaning of its own: the list is then
typed ``tuple[...] | None`` and the field's docstring says what null means
(``data.numeric_features`` / ``categorical_features`` / ``boolean_features``: take the kinds
from the schema).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from mlpipe.errors import MlpipeError

Task = Literal["auto", "binary", "multiclass", "regression"]
EstimatorName = Literal[
    "logistic_regression", "random_forest", "hist_gradient_boosting", "xgboost"
]


class ConfigError(MlpipeError):
    """params.yaml (or another config file) is invalid; the message names the key."""


@dataclass(frozen=True)
class PathsConfig:
    """Every file the pipeline reads or writes; dvc.yaml uses these via ${paths.*}."""

    raw: str = "data/raw/churn.parquet"
    schema: str = "data/schema.yaml"
    ingested: str = "data/interim/ingested.parquet"
    ingest_report: str = "data/results/ingest.json"
    validation: str = "data/results/validation.json"
    train: str = "data/processed/train.parquet"
    test: str = "data/processed/test.parquet"
    model: str = "data/model/model.skops"
    metrics: str = "data/results/metrics.json"
    slices: str = "data/results/slices.json"
    plots: str = "data/results/plots"
    figures: str = "data/results/figures"
    model_card: str = "data/results/model_card.md"
    drift: str = "data/results/drift.json"
    drift_report: str = "data/results/drift.md"
    unlabelled: str = "data/interim/unlabelled.parquet"
    tune: str = "data/results/tune.json"
    tune_journal: str = ".dvc/tmp/mlpipe-tune.journal"
    # Per-row test predictions (row key, label, scores; DVC-cached) and the test metrics' 95 %
    # intervals (JSON, in git), both written by evaluate; `mlpipe report` pairs the rows.
    test_predictions: str = "data/processed/test_predictions.parquet"
    intervals: str = "data/results/intervals.json"
    audit: str = "data/results/audit.json"
    label_issues: str = "data/results/label_issues.csv"


@dataclass(frozen=True)
class GenerateConfig:
    """The embedded churn-data generator."""

    rows: int = 20_000
    seed: int = 42


@dataclass(frozen=True)
class CsvConfig:
    """How to read a CSV source.

    ``decimal`` is the decimal mark of numbers stored as text ("," for European exports such as
    ``1.234,5``). It applies to every text value parsed as a number (CSV cells, text columns of
    Parquet) and must differ from the delimiter.

    ``thousands`` is the separator between digit groups: ``auto`` accepts the character that
    cannot be the decimal mark ("," with decimal "."; "." or a space, also a non-breaking one,
    with decimal ","), ``none`` accepts none (a grouped value is text), and ``","``, ``"."``
    or ``" "`` accept only that character. It must differ from the decimal mark; it may equal
    the delimiter (a comma-delimited export quotes "1,234.5").
    """

    delimiter: str = "auto"
    encoding: str = "utf-8"
    na_values: tuple[str, ...] = ("", "NA", "N/A", "NaN", "null", "?")
    decimal: Literal[".", ","] = "."
    thousands: Literal["auto", "none", ",", ".", " "] = "auto"

    def __post_init__(self) -> None:
        if self.delimiter == self.decimal:
            raise ConfigError(
                f"'data.csv.decimal' is {self.decimal!r}, the same as 'data.csv.delimiter'; a "
                "file cannot use one character for both. Set data.csv.delimiter to the file's "
                "delimiter (e.g. ';' for decimal-comma exports) or 'auto'"
            )
        if self.thousands == self.decimal:
            raise ConfigError(
                f"'data.csv.thousands' is {self.thousands!r}, the same as 'data.csv.decimal'; a "
                "number cannot use one character for both. Set data.csv.thousands to the "
                "separator between digit groups (or auto, or none)"
            )


@dataclass(frozen=True)
class DataConfig:
    """What the data is: source file, target, task and column roles.

    ``id_columns`` left empty (null) means no id columns. ``numeric_features``,
    ``categorical_features`` and ``boolean_features`` left empty (null) mean "take the kinds
    from the schema" (data/schema.yaml), not "no such features"; ``[]`` means none.

    ``unlabelled``: what ingest does with rows whose target is missing. ``drop`` sets them
    aside in ``paths.unlabelled`` (to score later with `mlpipe predict`), out of training and
    test; ``fail`` keeps them, so validate refuses the table (``target present``).
    ``date_format``: how dates are written in text columns, a strftime format such as
    ``%d/%m/%Y``; null (empty) recognises ISO dates and unambiguous common forms by themselves.
    ``exclude_columns``: columns never used as features, whatever their kind (e.g. one the
    audit stage flags as target leakage); empty (null) excludes none. Each must be a column of
    the source (checked at ingest) and of the schema, and not the target.
    """

    source: str = "data/raw/churn.parquet"
    target: str = "churned"
    task: Task = "auto"
    positive_class: str | None = None
    id_columns: tuple[str, ...] = ()
    date_column: str | None = None
    numeric_features: tuple[str, ...] | None = None
    categorical_features: tuple[str, ...] | None = None
    boolean_features: tuple[str, ...] | None = None
    exclude_columns: tuple[str, ...] = ()
    csv: CsvConfig = field(default_factory=CsvConfig)
    unlabelled: Literal["drop", "fail"] = "drop"
    date_format: str | None = None

    def __post_init__(self) -> None:
        if self.date_format is not None:
            problem = _date_format_problem(self.date_format)
            if problem is not None:
                raise ConfigError(
                    f"'data.date_format' is {self.date_format!r}: {problem}. Use strftime codes, "
                    "e.g. '%d/%m/%Y' for 31/01/2020 or '%m/%d/%Y' for 01/31/2020 (null: recognise "
                    "the form by itself)"
                )


# The strftime codes a data.date_format may use (dates, optionally with a time).
_DATE_CODES = frozenset("dmbBYyHIMSpfjaAz%")


def _date_format_problem(fmt: str) -> str | None:
    """Why ``fmt`` is not a usable date format (None when it is): unknown codes, no year, month
    or day, or a format that does not read back the date it writes."""
    import datetime
    import re

    codes = re.findall(r"%(.)", fmt)
    unknown = sorted({c for c in codes if c not in _DATE_CODES})
    if unknown:
        return f"unknown code(s) {', '.join('%' + c for c in unknown)}"
    if not {"Y", "y"} & set(codes) or not {"m", "b", "B"} & set(codes) or "d" not in codes:
        return "it needs a year (%Y), a month (%m, %b or %B) and a day (%d)"
    sample = datetime.datetime(2021, 11, 27, 13, 45, 30)
    try:
        back = datetime.datetime.strptime(sample.strftime(fmt), fmt)
    except (ValueError, re.error):  # re.error: a code used twice
        back = None
    if back is None or back.date() != sample.date():
        return "it does not read back the dates it writes (are two codes run together?)"
    return None


@dataclass(frozen=True)
class ValidateConfig:
    """How strictly the validate stage enforces the schema."""

    extra_columns: Literal["warn", "fail"] = "warn"
    max_invalid_fraction: float = 0.0


@dataclass(frozen=True)
class SplitConfig:
    """Train/test split."""

    method: Literal["stratified", "random", "time"] = "stratified"
    test_size: float = 0.2
    seed: int = 42


@dataclass(frozen=True)
class LogisticRegressionConfig:
    """scikit-learn's LogisticRegression (Ridge with ``alpha = 1 / C`` for regression).

    ``C``: inverse regularisation strength (smaller: a simpler model). ``max_iter``: most
    solver iterations. ``class_weight``: ``balanced`` weighs each class by its inverse
    frequency; null weighs every row the same.
    """

    C: float = 1.0
    max_iter: int = 1000
    class_weight: Literal["balanced"] | None = None


@dataclass(frozen=True)
class RandomForestConfig:
    """scikit-learn's RandomForestClassifier / RandomForestRegressor.

    ``n_estimators``: number of trees. ``max_depth``: deepest a tree grows (null: no limit).
    ``min_samples_leaf``: fewest training rows in a leaf. ``max_features``: share of the
    features each split considers. ``class_weight``: ``balanced`` weighs each class by its
    inverse frequency (classification only). ``n_jobs``: trees fitted in parallel (results
    do not depend on it).
    """

    n_estimators: int = 200
    max_depth: int | None = 12
    min_samples_leaf: int = 5
    max_features: float = 0.5
    class_weight: Literal["balanced"] | None = None
    n_jobs: int = 2


@dataclass(frozen=True)
class HistGradientBoostingConfig:
    """scikit-learn's HistGradientBoostingClassifier / HistGradientBoostingRegressor.

    ``learning_rate``: shrinkage of each tree's contribution. ``max_iter``: boosting
    iterations (trees per class). ``max_leaf_nodes``: most leaves per tree.
    ``min_samples_leaf``: fewest training rows in a leaf. ``l2_regularization``: L2 penalty
    on leaf values. ``early_stopping``: stop when a held-out share of the training rows stops
    improving. ``class_weight``: ``balanced`` weighs each class by its inverse frequency
    (classification only).
    """

    learning_rate: float = 0.05
    max_iter: int = 150
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    l2_regularization: float = 0.0
    early_stopping: bool = False
    class_weight: Literal["balanced"] | None = None


@dataclass(frozen=True)
class XGBoostConfig:
    """XGBoost's histogram booster (CPU), on the local engine and, through ``xgboost.dask``, on
    a Dask cluster (``engine.kind``); categorical features split natively.

    ``n_estimators``: most boosting rounds (trees per class). ``learning_rate``: shrinkage of
    each tree. ``max_depth``: deepest a tree grows. ``min_child_weight``: least hessian weight
    in a leaf. ``subsample`` / ``colsample_bytree``: share of the rows / features each tree
    sees (seeded by ``train.seed``). ``reg_lambda`` / ``reg_alpha``: L2 / L1 penalty on leaf
    values. ``max_bin``: most histogram bins per numeric feature. ``early_stopping_rounds``:
    stop when the validation loss has not improved for this many rounds (0: off, every round
    is kept); the validation rows are ``validation_fraction`` of the training rows, chosen by
    a seeded hash of each row's number (never the test set), and the model keeps the rounds up
    to the best one.
    """

    n_estimators: int = 300
    learning_rate: float = 0.05
    max_depth: int = 6
    min_child_weight: float = 1.0
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    reg_lambda: float = 1.0
    reg_alpha: float = 0.0
    max_bin: int = 256
    early_stopping_rounds: int = 0
    validation_fraction: float = 0.1


@dataclass(frozen=True)
class TrainConfig:
    """The estimator chosen and the hyperparameters of each candidate.

    ``threshold`` (binary tasks): the positive class is predicted when its probability reaches
    it; evaluate, predict and monitor use it, and `mlpipe tune` can choose it.
    """

    estimator: EstimatorName = "hist_gradient_boosting"
    seed: int = 42
    threshold: float = 0.5
    logistic_regression: LogisticRegressionConfig = field(default_factory=LogisticRegressionConfig)
    random_forest: RandomForestConfig = field(default_factory=RandomForestConfig)
    hist_gradient_boosting: HistGradientBoostingConfig = field(
        default_factory=HistGradientBoostingConfig
    )
    xgboost: XGBoostConfig = field(default_factory=XGBoostConfig)


NoiseRule = Literal["significant", "non_inferiority", "ignore"]
MonitorNoise = Literal["significant", "ignore"]


@dataclass(frozen=True)
class BootstrapConfig:
    """Bootstrap intervals of the test metrics (evaluate) and of their change (`mlpipe report`).

    ``resamples`` Poisson resamples of the test rows, seeded with ``seed``; intervals are the
    ``confidence`` percentile intervals (0.95: the 2.5 % and 97.5 % quantiles). A test set of
    more than ``max_rows`` rows is resampled on a seeded sample of ``max_rows`` rows and the
    spread rescaled to the whole set (``mlpipe.evaluation.bootstrap``), so the cost stays flat.
    """

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 42
    max_rows: int = 50_000


@dataclass(frozen=True)
class EvaluateConfig:
    """Metrics, slices and diagnostics."""

    slices: tuple[str, ...] = ()
    min_slice_rows: int = 30
    plot_points: int = 200
    calibration_bins: int = 10
    importance_rows: int = 5000
    importance_repeats: int = 5
    importance_max_features: int = 100
    train_rows: int = 1_000_000
    seed: int = 42
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)


@dataclass(frozen=True)
class Params:
    """The whole of params.yaml."""

    paths: PathsConfig = field(default_factory=PathsConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    data: DataConfig = field(default_factory=DataConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    gate: GateConfig = field(default_factory=lambda: GateConfig())
    predict: PredictConfig = field(default_factory=lambda: PredictConfig())
    drift: DriftConfig = field(default_factory=lambda: DriftConfig())
    monitor: MonitorConfig = field(default_factory=lambda: MonitorConfig())
    audit: AuditConfig = field(default_factory=lambda: AuditConfig())
    memory: MemoryConfig = field(default_factory=lambda: MemoryConfig())
    tune: TuneConfig = field(default_factory=lambda: TuneConfig())
    engine: EngineConfig = field(default_factory=lambda: EngineConfig())
    # Sections owned by later features (gate, drift, ...) are kept as plain mappings until
    # they get their own dataclass; they are still required to be mappings.
    extra: dict[str, Any] = field(default_factory=dict)


# (min, max, inclusive-min?, inclusive-max?) per dotted key.
_RANGES: dict[str, tuple[float | None, float | None]] = {
    "generate.rows": (100, None),
    "memory.chunk_rows": (1000, None),
    "validate.max_invalid_fraction": (0.0, 1.0),
    "split.test_size": (0.01, 0.99),
    "train.logistic_regression.C": (1e-9, None),
    "train.logistic_regression.max_iter": (1, None),
    "train.random_forest.n_estimators": (1, None),
    "train.random_forest.max_depth": (1, None),
    "train.random_forest.min_samples_leaf": (1, None),
    "train.random_forest.max_features": (1e-9, 1.0),
    "train.random_forest.n_jobs": (1, None),
    "train.hist_gradient_boosting.learning_rate": (1e-9, 1.0),
    "train.hist_gradient_boosting.max_iter": (1, None),
    "train.hist_gradient_boosting.max_leaf_nodes": (2, None),
    "train.hist_gradient_boosting.min_samples_leaf": (1, None),
    "train.hist_gradient_boosting.l2_regularization": (0.0, None),
    "train.threshold": (0.0, 1.0),
    "train.xgboost.n_estimators": (1, None),
    "train.xgboost.learning_rate": (1e-9, 1.0),
    "train.xgboost.max_depth": (1, 64),
    "train.xgboost.min_child_weight": (0.0, None),
    "train.xgboost.subsample": (1e-9, 1.0),
    "train.xgboost.colsample_bytree": (1e-9, 1.0),
    "train.xgboost.reg_lambda": (0.0, None),
    "train.xgboost.reg_alpha": (0.0, None),
    "train.xgboost.max_bin": (2, 65_536),
    "train.xgboost.early_stopping_rounds": (0, None),
    "train.xgboost.validation_fraction": (0.01, 0.5),
    "engine.dask.n_workers": (1, 1024),
    "engine.dask.threads_per_worker": (1, 1024),
    "evaluate.min_slice_rows": (1, None),
    "evaluate.plot_points": (10, None),
    "evaluate.calibration_bins": (2, 100),
    "evaluate.importance_rows": (10, None),
    "evaluate.importance_repeats": (1, 100),
    "evaluate.train_rows": (10, None),
    "evaluate.bootstrap.resamples": (100, 100_000),
    "evaluate.bootstrap.confidence": (0.5, 0.999),
    "evaluate.bootstrap.max_rows": (1000, 10_000_000),
    "predict.chunk_rows": (1, None),
    "predict.smoke_rows": (1, 100_000),
    "predict.contract_alpha": (1e-12, 0.5),
    "evaluate.importance_max_features": (1, None),
    "drift.psi_threshold": (0.0, None),
    "drift.p_value_threshold": (0.0, 1.0),
    "drift.bins": (2, 100),
    "drift.min_rows": (1, None),
    "monitor.max_drifted_features": (0, None),
    "monitor.max_metric_drop_relative": (0.0, 1.0),
    "monitor.min_labelled_rows": (1, None),
    "monitor.max_class_share_change": (0.0, 1.0),
    "tune.trials": (1, 10_000),
    "tune.folds": (2, 20),
    "tune.seed": (0, 2**32 - 1),  # numpy's and scikit-learn's seeds
    "audit.max_feature_power": (0.01, 1.0),
    "audit.max_rows": (100, None),
    "audit.folds": (2, 20),
    "audit.bins": (2, 255),
}

# Keys that moved, so an old params.yaml gets told where to.
_MOVED = {
    "data.chunk_rows": "memory.chunk_rows",
    "data.csv.chunk_rows": "memory.chunk_rows",
    "evaluate.threshold": "train.threshold",
}

# Sections that exist in params.yaml but are parsed by the feature that owns them.
_OPEN_SECTIONS = ("report",)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate params.yaml; raise ConfigError naming the file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found. Run mlpipe from the repository root or pass --params."
        ) from None
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return params_from_dict(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def params_from_dict(raw: Any) -> Params:
    """Build Params from a parsed params.yaml mapping (pure; raises ConfigError)."""
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping of sections")
    known = {f.name for f in dataclasses.fields(Params)} - {"extra"}
    extra: dict[str, Any] = {}
    typed: dict[str, Any] = {}
    for key, value in raw.items():
        if key in known:
            typed[key] = value
        elif key in _OPEN_SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"'{key}' must be a mapping, got {_kind(value)}")
            extra[key] = value
        else:
            allowed = ", ".join(sorted(known | set(_OPEN_SECTIONS)))
            raise ConfigError(f"unknown section '{key}'. Allowed sections: {allowed}")
    params = _build(Params, typed, prefix="")
    return dataclasses.replace(params, extra=extra)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _build(cls: type, raw: Any, prefix: str) -> Any:
    where = prefix.rstrip(".") or "params"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"'{where}' must be a mapping, got {_kind(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
    unknown = sorted(set(raw) - set(fields))
    if unknown and f"{prefix}{unknown[0]}" in _MOVED:
        old = f"{prefix}{unknown[0]}"
        raise ConfigError(f"'{old}' is now '{_MOVED[old]}'; move the setting there")
    if unknown:
        raise ConfigError(
            f"unknown key '{prefix}{unknown[0]}'. Allowed keys in '{where}': "
            + ", ".join(sorted(fields))
        )
    values = {}
    for name, value in raw.items():
        values[name] = _coerce(hints[name], value, f"{prefix}{name}")
    return cls(**values)


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if value is None:
            raise ConfigError(f"'{key}' must not be null")
        return _coerce(non_none[0], value, key) if len(non_none) == 1 else value
    if origin is Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(f"'{key}' is {value!r}; allowed values: {allowed}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, prefix=f"{key}.")
    if origin is tuple:
        if value is None:  # `key:` with nothing (DVC's writer spells null so): the empty list
            return ()
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigError(f"'{key}' must be a list, got {_kind(value)}")
        return tuple(_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{key}' must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"'{key}' must be an integer, got {value!r}")
        _check_range(key, value)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"'{key}' must be a number, got {value!r}")
        _check_range(key, float(value))
        return float(value)
    if tp is str:
        if not isinstance(value, str) or (not value and not key.endswith("]")):
            hint = ""
            if isinstance(value, bool | int | float):  # YAML read 0 / true / 1.5 as a number
                text = str(value)  # a boolean target's classes are 'False' / 'True'
                hint = f"; if you mean the text {text!r}, quote it in params.yaml: '{text}'"
            raise ConfigError(f"'{key}' must be a non-empty string, got {value!r}{hint}")
        return value
    if tp is Any or typing.get_origin(tp) is dict:
        return value
    raise ConfigError(f"'{key}': unsupported type {tp}")  # pragma: no cover


def _check_range(key: str, value: float) -> None:
    low, high = _RANGES.get(_generic_key(key), (None, None))
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ConfigError(f"'{key}' is {value!r}; allowed range: [{lo}, {hi}]")


def _generic_key(key: str) -> str:
    return key.split("[", 1)[0]


@dataclass(frozen=True)
class MetricGate:
    """One gate rule on one metric of ``gate.dataset``; every bound is optional.

    ``metric``: the metric's name in metrics.json (e.g. ``roc_auc``, ``log_loss``).

    ``min`` / ``max``: absolute floor (higher-is-better metrics) or ceiling (lower-is-better).
    ``max_drop``: largest allowed worsening against the base revision, in the metric's units
    (a decrease for higher-is-better metrics, an increase for lower-is-better ones).
    ``max_drop_relative``: the same as a fraction of the base value (0.02 = 2 %).
    ``noise``: how the drop bounds treat the test set's noise (``gate.noise`` when null).
    """

    metric: str = ""
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    max_drop_relative: float | None = None
    noise: NoiseRule | None = None

    def __post_init__(self) -> None:
        if not self.metric:
            raise ConfigError("every rule in 'gate.rules' needs a 'metric' (e.g. metric: roc_auc)")
        for name in ("max_drop", "max_drop_relative"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(
                    f"gate rule for '{self.metric}': '{name}' is {value!r}; it must be >= 0"
                )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ConfigError(
                f"gate rule for '{self.metric}': 'min' ({self.min}) is above 'max' ({self.max})"
            )


def _default_gate_rules() -> tuple[MetricGate, ...]:
    # Sensible for the default binary churn model (test roc_auc ~0.82, average_precision ~0.60).
    return (
        MetricGate("roc_auc", min=0.75, max_drop=0.015),
        MetricGate("average_precision", min=0.5, max_drop=0.03),
        MetricGate("log_loss", max=0.5, max_drop_relative=0.05),
    )


@dataclass(frozen=True)
class GateConfig:
    """The merge gate of `mlpipe report` / `mlpipe gate`: rules on one dataset's metrics.

    ``noise`` decides how a drop rule (``max_drop``, ``max_drop_relative``) treats the
    bootstrap interval of the change (``evaluate.bootstrap``; test set only):
    ``significant`` fails only on a drop beyond the tolerance whose interval excludes 0 (a
    change, not noise); ``non_inferiority`` fails unless the interval's worse bound stays
    within the tolerance (the PR must show it is not worse by more); ``ignore`` judges the
    point values alone. Floors and ceilings (``min``, ``max``) are checked on the point value.
    """

    dataset: Literal["test", "train"] = "test"
    rules: tuple[MetricGate, ...] = field(default_factory=_default_gate_rules)
    noise: NoiseRule = "significant"


@dataclass(frozen=True)
class PredictConfig:
    """Batch scoring (`mlpipe predict`) and the serving smoke test (`mlpipe smoke-test`)."""

    unknown_categories: Literal["warn", "fail"] = "warn"
    chunk_rows: int = 100_000
    smoke_rows: int = 200
    seed: int = 42
    # A batch is refused for a budget (max_missing, validate.max_invalid_fraction) only when its
    # count is above it with a one-sided binomial p-value below contract_alpha / tests
    # (mlpipe.data.budgets); rows breaking a row rule: fail (tolerated within the budget) or
    # skip (set aside in a side file next to --output).
    contract_alpha: float = 0.001
    bad_rows: Literal["fail", "skip"] = "fail"


@dataclass(frozen=True)
class DriftConfig:
    """Data drift between a reference table (train) and a current one (test, or new data).

    A feature has drifted when its population stability index reaches ``psi_threshold`` and its
    test (KS for numeric and datetime, chi-square for categorical and boolean) confirms it with
    a p-value below ``p_value_threshold``. Numeric PSI uses up to ``bins`` quantile bins of the
    reference.
    Features with fewer than ``min_rows`` present values on either side are not tested.
    """

    psi_threshold: float = 0.2
    p_value_threshold: float = 0.01
    bins: int = 10
    min_rows: int = 30


@dataclass(frozen=True)
class MonitorConfig:
    """`mlpipe monitor`: when a new batch raises an alert.

    Alert when more than ``max_drifted_features`` columns drifted (see DriftConfig), or, for a
    labelled batch, when a metric in ``metrics`` is worse than the model card's test value by
    more than ``max_metric_drop_relative`` of that value (0.05 = 5 %), worse meaning lower for
    higher-is-better metrics and higher for lower-is-better ones (``DIRECTIONS``). With fewer
    than ``min_labelled_rows`` labelled rows the live metrics are reported but not compared.

    The target (when the batch has it) is not counted among the drifted columns: a label shift
    is an alert of its own. A classification target shifted when the share of any class among
    the labelled rows moved by more than ``max_class_share_change`` (absolute: 0.05 = 5
    percentage points) from the training data, confirmed by the chi-square test (p-value below
    ``drift.p_value_threshold``), or when it drifted by the drift rule; a regression target by
    the drift rule. With fewer than ``min_labelled_rows`` labelled rows it is not compared.

    ``noise`` decides how a live metric's drop treats noise: ``significant`` alerts only on a
    drop beyond ``max_metric_drop_relative`` that is also beyond noise (larger than the
    half-width of the interval of the difference, from the card's test interval in
    ``paths.intervals`` and a bootstrap of the batch with ``evaluate.bootstrap``'s settings;
    ``mlpipe.evaluation.monitor``); ``ignore`` judges the point values alone.
    """

    max_drifted_features: int = 0
    metrics: tuple[str, ...] = ("roc_auc", "average_precision", "log_loss")
    max_metric_drop_relative: float = 0.05
    min_labelled_rows: int = 30
    max_class_share_change: float = 0.05
    noise: MonitorNoise = "significant"


@dataclass(frozen=True)
class MemoryConfig:
    """How many rows a stage holds in memory at a time; never part of a result.

    ingest reads its source and split copies the table in chunks of ``chunk_rows`` rows (and
    drift reads its Parquet tables so; on the Dask engine each task reads its row group so, for
    drift and for xgboost's categories and classes). Their
    outputs are byte-identical for every value (Parquet row groups have a fixed size,
    ``mlpipe.io.ROW_GROUP_ROWS``), so no stage declares this section in dvc.yaml: changing it
    reruns nothing.
    """

    chunk_rows: int = 1_000_000


@dataclass(frozen=True)
class SearchRange:
    """The range `mlpipe tune` searches one hyperparameter in, both ends included; whole numbers
    for an integer hyperparameter.

    ``low``: the lowest value tried (required). ``high``: the highest value tried (required).
    ``log``: sample on a log scale, for values that span orders of magnitude (``low`` must
    then be above 0).
    """

    low: float = 0.0
    high: float = 0.0
    log: bool = False


@dataclass(frozen=True)
class LogisticRegressionSpace:
    """Where `mlpipe tune` searches the hyperparameters of ``train.logistic_regression``.

    A range left empty is not searched (the value in ``train`` is kept). ``C``: the range of
    the inverse regularisation strength. ``class_weight``: also try ``balanced`` against no
    weighting (classification only).
    """

    C: SearchRange | None = field(default_factory=lambda: SearchRange(0.001, 100.0, log=True))
    class_weight: bool = True


@dataclass(frozen=True)
class RandomForestSpace:
    """Where `mlpipe tune` searches the hyperparameters of ``train.random_forest``.

    A range left empty is not searched (the value in ``train`` is kept). ``n_estimators``: the
    range of the number of trees. ``max_depth``: of the deepest a tree grows.
    ``min_samples_leaf``: of the fewest training rows in a leaf. ``max_features``: of the
    share of the features each split considers. ``class_weight``: also try ``balanced``
    against no weighting (classification only).
    """

    n_estimators: SearchRange | None = field(
        default_factory=lambda: SearchRange(50.0, 400.0, log=True)
    )
    max_depth: SearchRange | None = field(default_factory=lambda: SearchRange(3.0, 20.0))
    min_samples_leaf: SearchRange | None = field(
        default_factory=lambda: SearchRange(1.0, 50.0, log=True)
    )
    max_features: SearchRange | None = field(default_factory=lambda: SearchRange(0.1, 1.0))
    class_weight: bool = True


@dataclass(frozen=True)
class HistGradientBoostingSpace:
    """Where `mlpipe tune` searches the hyperparameters of ``train.hist_gradient_boosting``.

    A range left empty is not searched (the value in ``train`` is kept). ``learning_rate``:
    the range of the shrinkage. ``max_iter``: of the boosting iterations. ``max_leaf_nodes``:
    of the most leaves per tree. ``min_samples_leaf``: of the fewest training rows in a leaf.
    ``l2_regularization``: of the L2 penalty on leaf values. ``class_weight``: also try
    ``balanced`` against no weighting (classification only).
    """

    learning_rate: SearchRange | None = field(
        default_factory=lambda: SearchRange(0.01, 0.3, log=True)
    )
    max_iter: SearchRange | None = field(
        default_factory=lambda: SearchRange(50.0, 500.0, log=True)
    )
    max_leaf_nodes: SearchRange | None = field(
        default_factory=lambda: SearchRange(8.0, 64.0, log=True)
    )
    min_samples_leaf: SearchRange | None = field(
        default_factory=lambda: SearchRange(5.0, 100.0, log=True)
    )
    l2_regularization: SearchRange | None = field(
        default_factory=lambda: SearchRange(0.001, 10.0, log=True)
    )
    class_weight: bool = True


@dataclass(frozen=True)
class TuneSpace:
    """The search space of `mlpipe tune`, per estimator (the sections of ``train``)."""

    logistic_regression: LogisticRegressionSpace = field(default_factory=LogisticRegressionSpace)
    random_forest: RandomForestSpace = field(default_factory=RandomForestSpace)
    hist_gradient_boosting: HistGradientBoostingSpace = field(
        default_factory=HistGradientBoostingSpace
    )


ThresholdObjective = Literal["f1", "accuracy"]
# Binary metrics that depend on the decision threshold (the others rank by probability).
THRESHOLD_METRICS = ("accuracy", "precision", "recall", "f1")


@dataclass(frozen=True)
class TuneConfig:
    """`mlpipe tune`: an Optuna search (seeded TPE) scored by cross-validation on the training
    split only; trial 0 is the current ``train`` section.

    ``metric``: what the search optimises, the mean over the folds of one of the task's metrics
    (null: ``roc_auc`` for binary, ``log_loss`` for multiclass, ``rmse`` for regression).
    ``trials``: trials in the study, the baseline included (``--trials`` overrides it).
    ``folds``: cross-validation folds (stratified for classes, shuffled for regression, ordered
    by ``data.date_column`` when ``split.method`` is ``time``), seeded by ``seed``, which also
    seeds the sampler. ``estimators``: the values of ``train.estimator`` searched.
    ``threshold`` (binary): choose ``train.threshold`` for each trial on its out-of-fold
    predictions, the value that maximises this metric's mean over the folds (null: keep
    ``train.threshold``).
    """

    metric: str | None = None
    trials: int = 30
    folds: int = 5
    seed: int = 42
    threshold: ThresholdObjective | None = "f1"
    estimators: tuple[EstimatorName, ...] = (
        "logistic_regression",
        "random_forest",
        "hist_gradient_boosting",
    )
    space: TuneSpace = field(default_factory=TuneSpace)

    def __post_init__(self) -> None:
        if not self.estimators:
            raise ConfigError("'tune.estimators' is empty; list at least one estimator")
        spaces = {f.name for f in dataclasses.fields(self.space)}
        missing = [e for e in self.estimators if e not in spaces]
        if missing:
            raise ConfigError(
                f"'tune.estimators' lists {missing[0]!r}, which has no search space in "
                "tune.space; remove it from tune.estimators"
            )
        repeated = sorted({e for e in self.estimators if self.estimators.count(e) > 1})
        if repeated:
            raise ConfigError(f"'tune.estimators' lists {repeated[0]!r} twice")
        if (
            self.metric in THRESHOLD_METRICS
            and self.threshold is not None
            and self.threshold != self.metric
        ):
            raise ConfigError(
                f"'tune.metric' is {self.metric!r}, which depends on the decision threshold, but "
                f"'tune.threshold' chooses the threshold for {self.threshold!r}; set "
                f"tune.threshold: {self.metric} (or leave it empty to keep train.threshold)"
            )
        for estimator in dataclasses.fields(self.space):
            space = getattr(self.space, estimator.name)
            for item in dataclasses.fields(space):
                value = getattr(space, item.name)
                if isinstance(value, SearchRange):
                    _check_search_range(f"{estimator.name}.{item.name}", value)


def _check_search_range(name: str, given: SearchRange) -> None:
    """Raise ConfigError unless ``given`` is a usable range of ``train.<name>``."""
    key, target = f"tune.space.{name}", f"train.{name}"
    section, leaf = name.split(".")
    hint = typing.get_type_hints(typing.get_type_hints(TrainConfig)[section])[leaf]
    whole = int in typing.get_args(hint) or hint is int
    if given.low >= given.high:
        raise ConfigError(f"'{key}': low ({given.low:g}) must be below high ({given.high:g})")
    if whole and not (float(given.low).is_integer() and float(given.high).is_integer()):
        raise ConfigError(
            f"'{key}': {target} is a whole number, so low and high must be whole numbers "
            f"(got {given.low:g} and {given.high:g})"
        )
    if given.log and given.low <= 0:
        raise ConfigError(
            f"'{key}': a log-scale range must start above 0 (low is {given.low:g}); raise low "
            "or set log: false"
        )
    allowed_low, allowed_high = _RANGES.get(target, (None, None))
    if (allowed_low is not None and given.low < allowed_low) or (
        allowed_high is not None and given.high > allowed_high
    ):
        lo = "-inf" if allowed_low is None else f"{allowed_low:g}"
        hi = "inf" if allowed_high is None else f"{allowed_high:g}"
        raise ConfigError(
            f"'{key}' is [{given.low:g}, {given.high:g}], outside what {target} allows: "
            f"[{lo}, {hi}]"
        )


_MEMORY_UNITS = {
    "B": 1,
    "kB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}


def memory_bytes(text: str) -> int:
    """``"4GiB"`` / ``"1.5 GB"`` / ``"512MiB"`` as bytes; ConfigError for anything else.

    The units are Dask's (kB, MB, GB, TB powers of 1000; KiB, MiB, GiB, TiB powers of 1024),
    parsed here so that validating params.yaml never imports Dask.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*", text)
    unit = match.group(2) if match else ""
    if match is None or unit not in _MEMORY_UNITS:
        units = ", ".join(_MEMORY_UNITS)
        raise ConfigError(
            f"'engine.dask.memory_limit' is {text!r}; write a size such as 4GiB or 1.5GB "
            f"(units: {units}), or auto"
        )
    return int(float(match.group(1)) * _MEMORY_UNITS[unit])


@dataclass(frozen=True)
class DaskConfig:
    """Where the Dask engine runs (``engine.kind: dask``).

    ``address``: a running scheduler (``tcp://host:port``); the ``DASK_SCHEDULER_ADDRESS``
    environment variable overrides it. Empty (null): each stage starts a ``LocalCluster`` of
    ``n_workers`` worker processes with ``threads_per_worker`` threads each and
    ``memory_limit`` per worker (``auto``: the machine's memory shared among the workers, or
    a size such as ``4GiB``), and closes it when the stage ends. The last three apply to that
    LocalCluster only.
    """

    address: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "auto"

    def __post_init__(self) -> None:
        if self.address is not None and "://" not in self.address:
            raise ConfigError(
                f"'engine.dask.address' is {self.address!r}; give the scheduler's address "
                "with its protocol, e.g. tcp://10.0.0.5:8786 (or leave it empty for a "
                "LocalCluster)"
            )
        if self.memory_limit != "auto":
            memory_bytes(self.memory_limit)


@dataclass(frozen=True)
class EngineConfig:
    """Where the stages compute: ``local`` (this process, the default; Dask is not imported)
    or ``dask`` (a Dask cluster, see ``DaskConfig``).

    Says where and how wide to run: no stage declares this section in dvc.yaml, so changing
    it reruns nothing. On the dask engine the drift stage runs its per-chunk work as Dask
    tasks (byte-identical output) and ``train.estimator: xgboost`` trains with
    ``xgboost.dask`` (the other estimators are scikit-learn's and refuse this engine): a
    model as good as the local engine's, but not the same bytes (the quantile sketch and the
    gradient sums are merged across workers), so retrain after switching engines
    (``dvc repro --force --single-item train``, then ``dvc repro``) when the model file
    should come from the other one.
    """

    kind: Literal["local", "dask"] = "local"
    dask: DaskConfig = field(default_factory=DaskConfig)


@dataclass(frozen=True)
class AuditConfig:
    """The audit stage (`mlpipe audit`): target leakage and label issues of the validated table.

    Both checks use a seeded sample of at most ``max_rows`` rows (drawn with ``seed``) and
    ``folds``-fold cross-validation, so their cost does not grow with the table.

    Leakage: each feature alone predicts the target (its values cut into at most ``bins``
    quantile bins, a category per value, missing values a bin of their own; the mean target of
    each bin learnt on the other folds). Its power is the gini (2 AUC - 1; multiclass: the mean
    one-vs-rest AUC) for classification and the r2 on the target's ranks for regression: 0 is
    useless, 1 perfect. A feature whose power reaches ``max_feature_power`` is reported as
    possible target leakage; ``leakage: fail`` also makes the merge gate fail on it.

    Label issues (classification): out-of-fold probabilities of a fixed, cheap model (the
    project's feature preprocessing and a small histogram gradient boosting, not the train
    settings) fed to cleanlab's ``find_label_issues``.
    """

    max_feature_power: float = 0.95
    leakage: Literal["warn", "fail"] = "warn"
    max_rows: int = 10_000
    folds: int = 3
    bins: int = 32
    seed: int = 42
