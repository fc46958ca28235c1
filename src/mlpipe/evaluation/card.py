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

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlpipe.audit.markdown import audit_markdown, too_good_markdown
from mlpipe.errors import MlpipeError

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
    audit: Mapping[str, Any] | None = None,
    importance: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The model card as markdown with a YAML front matter block.

    ``audit`` is the audit stage's report (paths.audit) and ``importance`` the permutation
    importance records (strongest first): the "Data audit" section shows the possible target
    leakage, a "too good to be true" note when a test AUC or r2 reaches 0.99, and the label
    issues with the worst rows.

    ``decision`` (binary tasks) is {"positive_class": ..., "threshold": ...}: the class
    predicted when its probability reaches the threshold (params ``evaluate.threshold``).

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
    lines = [
        _FENCE.rstrip("\n"),
        yaml.safe_dump(front, sort_keys=True, default_flow_style=False, width=99).rstrip("\n"),
        _FENCE.rstrip("\n"),
        f"# Model card: `{target}` ({task}), {estimator}",
        "",
        "Written by the evaluate stage (`mlpipe evaluate`) from the committed inputs; the block "
        "above is the same information for programs (`mlpipe.evaluation.card.read_card`).",
        "",
        "## Model",
        "",
        f"- file: `{model.path}` (md5 `{model.md5}`), a scikit-learn Pipeline in skops format",
        f"- predicts `{target}`, task {task}"
        + (f", classes {', '.join(f'`{c}`' for c in classes)}" if classes else ""),
        f"- estimator `{estimator}`, seed {train_params.get('seed')}",
        *(
            [
                f"- predicts `{decision['positive_class']}` when its probability is at least "
                f"{decision['threshold']:g} (params `evaluate.threshold`); accuracy, precision, "
                "recall, F1, the confusion matrix and `mlpipe predict` use this threshold"
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
        f"| train | `{train.path}` | {train.rows} | `{train.md5}` |",
        f"| test | `{test.path}` | {test.rows} | `{test.md5}` |",
        "",
        "## Features",
        "",
    ]
    for kind, columns in features.items():
        shown = ", ".join(f"`{c}`" for c in columns) if columns else "(none)"
        lines.append(f"- {kind}: {shown}")
    lines += ["", "## Parameters", "", "| parameter | value |", "| --- | --- |"]
    for key in sorted(hyper):
        lines.append(f"| `{key}` | {_value(hyper[key])} |")
    lines += ["", "## Metrics", ""]
    lines += _metrics_table(metrics)
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


def _metrics_table(metrics: Mapping[str, Mapping[str, float]]) -> list[str]:
    names = sorted({name for values in metrics.values() for name in values})
    splits = list(metrics)
    out = ["| metric | " + " | ".join(splits) + " |", "| --- |" + " ---: |" * len(splits)]
    for name in names:
        cells = [_number(metrics[s].get(name)) for s in splits]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out


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
            out += [f"- `{column}`: no slice has {min_rows} rows", ""]
            continue
        metric = _headline(next(iter(values.values())))
        out += [f"`{column}`:", "", f"| value | rows | {metric} |", "| --- | ---: | ---: |"]
        for value in sorted(values):
            row = values[value]
            out.append(f"| {value} | {_number(row.get('rows'))} | {_number(row.get(metric))} |")
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
            "class, or lower `evaluate.threshold`."
        )
    worst = _worst_slice(slices.get("test", {}))
    if worst is not None:
        column, value, name, score = worst
        items.append(f"Weakest slice: `{column}` = {value} ({name} {score:.4f}).")
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
