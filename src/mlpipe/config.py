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
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from mlpipe.errors import MlpipeError

Task = Literal["auto", "binary", "multiclass", "regression"]
EstimatorName = Literal["logistic_regression", "random_forest", "hist_gradient_boosting"]


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
class TrainConfig:
    """The estimator chosen and the hyperparameters of each candidate."""

    estimator: EstimatorName = "hist_gradient_boosting"
    seed: int = 42
    logistic_regression: LogisticRegressionConfig = field(default_factory=LogisticRegressionConfig)
    random_forest: RandomForestConfig = field(default_factory=RandomForestConfig)
    hist_gradient_boosting: HistGradientBoostingConfig = field(
        default_factory=HistGradientBoostingConfig
    )


@dataclass(frozen=True)
class EvaluateConfig:
    """Metrics, slices and diagnostics."""

    slices: tuple[str, ...] = ()
    threshold: float = 0.5
    min_slice_rows: int = 30
    plot_points: int = 200
    calibration_bins: int = 10
    importance_rows: int = 5000
    importance_repeats: int = 5
    importance_max_features: int = 100
    train_rows: int = 1_000_000
    seed: int = 42


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
    "evaluate.threshold": (0.0, 1.0),
    "evaluate.min_slice_rows": (1, None),
    "evaluate.plot_points": (10, None),
    "evaluate.calibration_bins": (2, 100),
    "evaluate.importance_rows": (10, None),
    "evaluate.importance_repeats": (1, 100),
    "evaluate.train_rows": (10, None),
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
    "audit.max_feature_power": (0.01, 1.0),
    "audit.max_rows": (100, None),
    "audit.folds": (2, 20),
    "audit.bins": (2, 255),
}

# Keys that moved, so an old params.yaml gets told where to.
_MOVED = {"data.chunk_rows": "memory.chunk_rows", "data.csv.chunk_rows": "memory.chunk_rows"}

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
    """

    metric: str = ""
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    max_drop_relative: float | None = None

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
    """The merge gate of `mlpipe report` / `mlpipe gate`: rules on one dataset's metrics."""

    dataset: Literal["test", "train"] = "test"
    rules: tuple[MetricGate, ...] = field(default_factory=_default_gate_rules)


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
    """

    max_drifted_features: int = 0
    metrics: tuple[str, ...] = ("roc_auc", "average_precision", "log_loss")
    max_metric_drop_relative: float = 0.05
    min_labelled_rows: int = 30
    max_class_share_change: float = 0.05


@dataclass(frozen=True)
class MemoryConfig:
    """How many rows a stage holds in memory at a time; never part of a result.

    ingest reads its source and split copies the table in chunks of ``chunk_rows`` rows. Their
    outputs are byte-identical for every value (Parquet row groups have a fixed size,
    ``mlpipe.io.ROW_GROUP_ROWS``), so no stage declares this section in dvc.yaml: changing it
    reruns nothing.
    """

    chunk_rows: int = 1_000_000


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
