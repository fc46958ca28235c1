"""The model card: what a model is, what it was trained on, how well it does, where it fails.

``model_card`` is pure: it renders markdown from values the evaluate stage already has. The
card starts with a YAML front matter block (between ``---`` lines) holding the same facts in
machine-readable form; ``read_card`` parses it back. Batch scoring and monitoring read the
front matter (classes, test metrics to compare live metrics against, data hashes), people
read the markdown below it.

Everything in the card is a function of the stage's inputs, so the card is byte-identical on
every run: wall-clock training time is deliberately left out (the train stage logs it).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec

import yaml

from mlpipe.audit.markdown import audit_markdown, too_good_markdown
from mlpipe.errors import MlpipeError
from mlpipe.markdown_escape import CELL_LIMIT, md, md_code, record_shortened

CARD_VERSION = 1
_FENCE = "---\n"


class ModelCardError(MlpipeError):
    """A model card is missing or its front matter is unreadable."""


@dataclass(frozen=True)
class FileVersion:
    """A data or model file as the card records it: path, md5 of its bytes, rows (tables)."""

    path: str
    md5: str
    rows: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "md5": self.md5}
        if self.rows is not None:
            out["rows"] = self.rows
        return out


def file_md5(path: str | Path, block: int = 1 << 20) -> str:
    """md5 of a file's bytes: the same value DVC 3 records for the file in dvc.lock."""
    digest = hashlib.md5()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


_P = ParamSpec("_P")


def _noting_shortened(render: Callable[_P, str]) -> Callable[_P, str]:
    """``render`` with a closing line when it shortened a value (``CELL_LIMIT``) for markdown."""

    @functools.wraps(render)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> str:
        with record_shortened() as long_values:
            text = render(*args, **kwargs)
        if not long_values:
            return text
        return (
            f"{text}\nValues longer than {CELL_LIMIT} characters are shortened above (ending in "
            "…): the front matter holds names, classes and parameters in full, the evaluate "
            "stage's slice report the slice values.\n"
        )

    return wrapper


@_noting_shortened
def model_card(
    *,
    model: FileVersion,
    train: FileVersion,
    test: FileVersion,
    target: str,
    task: str,
    classes: tuple[str, ...] | None,
    features: Mapping[str, tuple[str, ...]],
    estimator: str,
    train_params: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, float]],
    slices: Mapping[str, Any],
    min_slice_rows: int,
    decision: Mapping[str, Any] | None = None,
    unlabelled: int | None = None,
    intervals: Mapping[str, Any] | None = None,
    audit: Mapping[str, Any] | None = None,
    importance: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The model card as markdown with a YAML front matter block.

    ``unlabelled`` (ingest's report; None when unknown) is how many source rows had no target
    and were set aside by ingest (``data.unlabelled: drop``): in neither train nor test.
    ``intervals`` (evaluate's ``paths.intervals`` report,
    ``mlpipe.evaluation.bootstrap.intervals_report``) adds each test metric's interval.

    ``audit`` is the audit stage's report (paths.audit) and ``importance`` the permutation
    importance records (strongest first): the "Data audit" section shows the possible target
    leakage, a "too good to be true" note when a test AUC or r2 reaches 0.99, and the label
    issues with the worst rows.

    ``decision`` (binary tasks) is {"positive_class": ..., "threshold": ...}: the class
    predicted when its probability reaches the threshold (params ``train.threshold``).

    ``train_params`` is the ``train`` section of params.yaml (as a mapping); only the chosen
    estimator's hyperparameters are shown. ``metrics`` is {"test": {...}, "train": {...}} and
    ``slices`` the evaluate stage's slice report ({"test": {column: {value: metrics}}}).
    """
    hyper = dict(train_params.get(estimator, {}))
    front = {
        "card_version": CARD_VERSION,
        "model": model.as_dict(),
        "target": target,
        "task": task,
        "classes": list(classes) if classes is not None else None,
        "features": {kind: list(cols) for kind, cols in features.items()},
        "estimator": estimator,
        "seed": train_params.get("seed"),
        "hyperparameters": hyper,
        "data": {"train": train.as_dict(), "test": test.as_dict()},
        "metrics": {name: dict(values) for name, values in metrics.items()},
    }
    if decision is not None:
        front["decision"] = dict(decision)
    if unlabelled is not None:
        front["unlabelled_rows"] = unlabelled
    lines = [
        _FENCE.rstrip("\n"),
        yaml.safe_dump(front, sort_keys=True, default_flow_style=False, width=99).rstrip("\n"),
        _FENCE.rstrip("\n"),
        f"# Model card: {md_code(target)} ({md(task)}), {md(estimator)}",
        "",
        "Written by the evaluate stage (`mlpipe evaluate`) from the committed inputs; the block "
        "above is the same information for programs (`mlpipe.evaluation.card.read_card`).",
        "",
        "## Model",
        "",
        f"- file: {md_code(model.path)} (md5 {md_code(model.md5)}), a scikit-learn Pipeline "
        "in skops format"
        + (", its XGBoost booster in XGBoost's UBJSON format" if estimator == "xgboost" else ""),
        f"- predicts {md_code(target)}, task {md(task)}"
        + (f", classes {', '.join(md_code(c) for c in classes)}" if classes else ""),
        f"- estimator {md_code(estimator)}, seed {md(train_params.get('seed'))}",
        *(
            [
                f"- predicts {md_code(decision['positive_class'])} when its probability is at "
                f"least {decision['threshold']:g} (params `train.threshold`); accuracy, "
                "precision, recall, F1, the confusion matrix and `mlpipe predict` use this "
                "threshold"
            ]
            if decision is not None
            else []
        ),
        "",
        "## Data version",
        "",
        "The md5 of each file is the hash DVC records for it in `dvc.lock`, so "
        "`git log -S <md5> dvc.lock` finds the commit that produced it.",
        "",
        "| split | path | rows | md5 |",
        "| --- | --- | ---: | --- |",
        f"| train | {md_code(train.path)} | {train.rows} | {md_code(train.md5)} |",
        f"| test | {md_code(test.path)} | {test.rows} | {md_code(test.md5)} |",
        *(
            [
                "",
                f"Rows without a value in {md_code(target)}, set aside by ingest (in neither "
                f"train nor test; `data.unlabelled`): {unlabelled}.",
            ]
            if unlabelled is not None
            else []
        ),
        "",
        "## Features",
        "",
    ]
    for kind, columns in features.items():
        shown = ", ".join(md_code(c) for c in columns) if columns else "(none)"
        lines.append(f"- {md(kind)}: {shown}")
    lines += ["", "## Parameters", "", "| parameter | value |", "| --- | --- |"]
    for key in sorted(hyper):
        lines.append(f"| {md_code(key)} | {md(_value(hyper[key]))} |")
    lines += ["", "## Metrics", ""]
    lines += _metrics_table(metrics, intervals)
    if intervals is not None and intervals.get("test"):
        lines += ["", _intervals_note(intervals)]
    scored = metrics.get("train", {}).get("rows")
    if scored is not None and train.rows is not None and scored < train.rows:
        lines += [
            "",
            f"Train metrics are computed on a seeded sample of {int(scored)} of the "
            f"{train.rows} training rows (params `evaluate.train_rows`, `evaluate.seed`).",
        ]
    lines += ["", "## Slices (test rows)", ""]
    lines += _slices_section(slices.get("test", {}), min_slice_rows)
    lines += ["", "## Data audit", ""]
    lines += too_good_markdown(metrics.get("test"), importance)
    lines += audit_markdown(audit)
    lines += [
        "",
        "## Training time",
        "",
        "Not recorded here: wall-clock time differs between runs and machines, and the card must "
        "be byte-identical for the same inputs. The train stage logs it (`fit took N s` in the "
        "output of `dvc repro`), and `mlpipe smoke-test` measures load time and prediction "
        "latency of this model file.",
        "",
        "## Known limitations",
        "",
    ]
    threshold = decision["threshold"] if decision is not None else 0.5
    lines += [f"- {item}" for item in _limitations(metrics, slices, task, train, test, threshold)]
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _metrics_table(
    metrics: Mapping[str, Mapping[str, float]], intervals: Mapping[str, Any] | None = None
) -> list[str]:
    names = sorted({name for values in metrics.values() for name in values})
    splits = list(metrics)
    bounds = (intervals or {}).get("test") or {}
    header = [md(s) for s in splits]
    if bounds and "test" in splits:  # the test set's interval right after its value
        header.insert(splits.index("test") + 1, f"test {_percent(intervals)} interval")
    out = ["| metric | " + " | ".join(header) + " |", "| --- |" + " ---: |" * len(header)]
    for name in names:
        cells = [_number(metrics[s].get(name)) for s in splits]
        if len(header) > len(splits):
            bound = bounds.get(name)
            shown = "-" if bound is None else f"[{bound['low']:.4f}, {bound['high']:.4f}]"
            cells.insert(splits.index("test") + 1, shown)
        out.append(f"| {md(name)} | " + " | ".join(cells) + " |")
    return out


def _percent(intervals: Mapping[str, Any] | None) -> str:
    return f"{float((intervals or {}).get('confidence', 0.95)):.0%}"


def _intervals_note(intervals: Mapping[str, Any]) -> str:
    rows, resampled = intervals.get("rows"), intervals.get("resampled_rows")
    sample = ""
    if rows is not None and resampled is not None and resampled < rows:
        sample = (
            f" (drawn from a seeded sample of {resampled} of them, spread rescaled to all rows, "
            "`evaluate.bootstrap.max_rows`)"
        )
    return (
        f"Test intervals: {_percent(intervals)} bootstrap percentile intervals over "
        f"{intervals.get('resamples')} Poisson resamples of the {rows} test rows{sample}, seed "
        f"{intervals.get('seed')} (`evaluate.bootstrap`): how precisely this test set measures "
        "each metric. Whether a change between two models is more than noise is judged row by "
        "row on the same test rows by `mlpipe report` (a paired comparison, usually tighter)."
    )


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:.4f}"


def _headline(metrics: Mapping[str, float]) -> str:
    for name in ("roc_auc", "f1_macro", "accuracy", "r2", "rmse"):
        if name in metrics:
            return name
    return sorted(metrics)[0]


def _slices_section(test_slices: Mapping[str, Any], min_rows: int) -> list[str]:
    if not test_slices:
        return ["No slices configured (`evaluate.slices` in params.yaml)."]
    out = [f"Slices with fewer than {min_rows} test rows are not scored.", ""]
    for column in sorted(test_slices):
        values = test_slices[column]
        if not values:
            out += [f"- {md_code(column)}: no slice has {min_rows} rows", ""]
            continue
        metric = _headline(next(iter(values.values())))
        out += [
            f"{md_code(column)}:",
            "",
            f"| value | rows | {md(metric)} |",
            "| --- | ---: | ---: |",
        ]
        for value in sorted(values):
            row = values[value]
            rows, score = _number(row.get("rows")), _number(row.get(metric))
            out.append(f"| {md(value)} | {rows} | {score} |")
        out.append("")
    return out[:-1] if out[-1] == "" else out


def _limitations(
    metrics: Mapping[str, Mapping[str, float]],
    slices: Mapping[str, Any],
    task: str,
    train: FileVersion,
    test: FileVersion,
    threshold: float = 0.5,
) -> list[str]:
    items = [
        f"Measured on {test.rows} held-out rows from the same source as the {train.rows} "
        "training rows; data from another period or population can score differently "
        "(watch it with drift monitoring).",
        "Categories the model never saw are scored as unknown (all-zero one-hot, or the "
        "missing-value branch for gradient boosting) at prediction time; "
        "`mlpipe predict` counts them (params `predict.unknown_categories`).",
    ]
    test_m, train_m = metrics.get("test", {}), metrics.get("train", {})
    if test_m and train_m:
        name = _headline(test_m)
        if name in train_m:
            gap = train_m[name] - test_m[name]
            if name in ("rmse",):
                gap = -gap
            if gap > 0.02:
                items.append(
                    f"{name} is {train_m[name]:.4f} on train vs {test_m[name]:.4f} on test: "
                    "some over-fitting."
                )
    if task == "binary" and "recall" in test_m and test_m["recall"] < 0.5:
        items.append(
            f"Recall of the positive class is {test_m['recall']:.4f} at the {threshold:g} "
            "threshold: most positives are missed; rank by probability instead of using the "
            "class, or lower `train.threshold` (`mlpipe tune` can choose it)."
        )
    worst = _worst_slice(slices.get("test", {}))
    if worst is not None:
        column, value, name, score = worst
        items.append(f"Weakest slice: {md_code(column)} = {md(value)} ({md(name)} {score:.4f}).")
    return items


def _worst_slice(test_slices: Mapping[str, Any]) -> tuple[str, str, str, float] | None:
    worst: tuple[str, str, str, float] | None = None
    for column in sorted(test_slices):
        for value in sorted(test_slices[column]):
            row = test_slices[column][value]
            name = _headline(row)
            if name == "rmse" or name not in row:
                continue
            if worst is None or row[name] < worst[3]:
                worst = (column, value, name, float(row[name]))
    return worst


def read_card(path: str | Path) -> dict[str, Any]:
    """The front matter of a model card (model, data hashes, classes, metrics ...)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelCardError(
            f"{path}: model card not found. The evaluate stage writes it: run `dvc repro`."
        ) from None
    if not text.startswith(_FENCE) or f"\n{_FENCE}" not in text[len(_FENCE) :]:
        raise ModelCardError(f"{path}: no front matter block (--- ... ---) at the top")
    block = text[len(_FENCE) : text.index(f"\n{_FENCE}", len(_FENCE) - 1) + 1]
    try:
        front = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        raise ModelCardError(f"{path}: front matter is not valid YAML: {exc}") from None
    if not isinstance(front, dict) or front.get("card_version") != CARD_VERSION:
        raise ModelCardError(f"{path}: front matter lacks card_version {CARD_VERSION}")
    return front
