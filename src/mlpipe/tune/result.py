"""The result of `mlpipe tune` as a JSON document (paths.tune, in git), the keys --apply writes,
and whether a result still describes the params and training data (pure; no scikit-learn).

The document holds no time, duration or machine detail: the same training data, code and
params give the same bytes, whether the study ran at once or was interrupted and resumed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from mlpipe.config import ConfigError, TrainConfig, TuneConfig, params_from_dict
from mlpipe.model.space import THRESHOLD_KEY, Param, train_values, with_values

FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Scored:
    """One finished trial as the document needs it (``mlpipe.tune.study.Trial`` fits)."""

    index: int
    values: dict[str, Any]
    value: float
    folds: tuple[float, ...]
    threshold: float | None = None


def tune_settings(config: TuneConfig) -> dict[str, Any]:
    """The ``tune`` section as dotted keys -> plain JSON values (lists, not tuples)."""
    out: dict[str, Any] = {}

    def visit(node: Any, prefix: str) -> None:
        for item in dataclasses.fields(node):
            value = getattr(node, item.name)
            if dataclasses.is_dataclass(value):
                visit(value, f"{prefix}{item.name}.")
            else:
                out[f"{prefix}{item.name}"] = list(value) if isinstance(value, tuple) else value

    visit(config, "tune.")
    return out


def best_trial(trials: Sequence[Scored], direction: str) -> Scored:
    """The best trial for ``direction`` ("maximize"/"minimize"); of equal ones the first, so the
    baseline (trial 0) wins a tie."""
    best = trials[0]
    for trial in trials[1:]:
        if (trial.value > best.value) if direction == "maximize" else (trial.value < best.value):
            best = trial
    return best


def tuned_config(baseline: TrainConfig, best: Scored) -> TrainConfig:
    """The train section with the winner's values (and its threshold, when one was chosen)."""
    values = dict(best.values)
    if best.threshold is not None:
        values[THRESHOLD_KEY] = best.threshold
    return with_values(baseline, values)


def changes(before: TrainConfig, after: TrainConfig) -> dict[str, Any]:
    """The keys whose value differs between the two train sections: what --apply writes."""
    old, new = train_values(before), train_values(after)
    return {key: value for key, value in new.items() if old[key] != value}


def result_document(
    *,
    trials: Sequence[Scored],
    baseline: TrainConfig,
    baseline_folds: tuple[float, ...],
    space: Sequence[Param],
    settings: TuneConfig,
    task: str,
    metric: str,
    direction: str,
    folds: Mapping[str, Any],
    train_data: Mapping[str, Any],
    sampler: Mapping[str, Any],
    trials_requested: int,
    not_reproducible: Sequence[str] = (),
    failed: Sequence[tuple[dict[str, Any], str]] = (),
) -> dict[str, Any]:
    """The result JSON. ``trials[0]`` is the baseline trial; ``baseline_folds`` the baseline's
    fold scores at ``baseline.threshold`` (trial 0 may have chosen another threshold).
    ``folds``: method, count, seed and validation rows per fold; ``train_data``: path, md5 and
    rows of the training split; ``not_reproducible``: why another run could differ."""
    best = best_trial(trials, direction)
    after = tuned_config(baseline, best)
    ranges = {p.key: p for p in space}
    changed = []
    before_values = train_values(baseline)
    for key, value in changes(baseline, after).items():
        param = ranges.get(key)
        changed.append(
            {
                "key": key,
                "from": before_values[key],
                "to": value,
                "range": None if param is None else param.as_dict(),
                "edge": None if param is None else param.edge(value),
            }
        )
    binary = task == "binary"
    return {
        "format": FORMAT,
        "task": task,
        "metric": metric,
        "direction": direction,
        "threshold_objective": settings.threshold if binary else None,
        "trials_requested": trials_requested,
        "trials_finished": len(trials),
        "reproducible": not not_reproducible,
        "not_reproducible": list(not_reproducible),
        "sampler": dict(sampler),
        "folds": dict(folds),
        "train_data": dict(train_data),
        "space": {p.key: p.as_dict() for p in space},
        "settings": tune_settings(settings),
        "baseline": {
            "value": _mean(baseline_folds),
            "folds": list(baseline_folds),
            "threshold": baseline.threshold if binary else None,
            "params": train_values(baseline),
        },
        "best": {
            "trial": best.index,
            "value": best.value,
            "folds": list(best.folds),
            "threshold": best.threshold,
            "params": dict(best.values),
        },
        "changes": changed,
        "tuned_params": train_values(after),
        "trials": [
            {
                "trial": t.index,
                "value": t.value,
                "folds": list(t.folds),
                "threshold": t.threshold,
                "params": dict(t.values),
            }
            for t in trials
        ],
        "failed": [{"params": values, "error": error} for values, error in failed],
    }


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 6) if values else float("nan")


@dataclasses.dataclass(frozen=True)
class Staleness:
    """How a tune result differs from a revision. ``data``: (tuned md5, current md5) when the
    training split changed. ``not_applied``: keys params.yaml still has at their value before
    tuning. ``differ``: (key, tuned value, current value) of other keys that are not what
    tuning chose. ``settings``: ``tune.*`` keys changed since. ``unreadable``: why params.yaml
    could not be read (nothing else was compared)."""

    data: tuple[str, str] | None = None
    not_applied: tuple[str, ...] = ()
    differ: tuple[tuple[str, Any, Any], ...] = ()
    settings: tuple[str, ...] = ()
    unreadable: str | None = None

    @property
    def stale(self) -> bool:
        return bool(
            self.data or self.not_applied or self.differ or self.settings or self.unreadable
        )

    def messages(self) -> list[str]:
        """One plain-text line per difference (for logs and terminals)."""
        out = []
        if self.data:
            out.append(
                f"the training data changed since tuning (tuned on md5 {self.data[0][:8]}, "
                f"dvc.lock has {self.data[1][:8]})"
            )
        if self.unreadable:
            out.append(f"params.yaml cannot be read: {self.unreadable}")
        if self.not_applied:
            out.append(
                "not applied: params.yaml still has the values tuning started from "
                f"({', '.join(self.not_applied)}); run `mlpipe tune --apply`"
            )
        if self.differ:
            shown = "; ".join(f"{k}: tuned {a!r}, now {b!r}" for k, a, b in self.differ)
            out.append(f"params.yaml's train section is not what tuning chose ({shown})")
        if self.settings:
            out.append(f"the tune settings changed since ({', '.join(self.settings)})")
        return out


def staleness(
    result: Mapping[str, Any], train_md5: str | None, params: Mapping[str, Any]
) -> Staleness:
    """How ``result`` (a tune JSON) differs from a revision whose training split has the DVC
    hash ``train_md5`` (None: unknown) and whose params.yaml is ``params`` (parsed)."""
    tuned_md5 = (result.get("train_data") or {}).get("md5")
    data = None
    if train_md5 is not None and tuned_md5 is not None and train_md5 != tuned_md5:
        data = (str(tuned_md5), train_md5)
    try:
        typed = params_from_dict(dict(params))
    except ConfigError as exc:
        return Staleness(data=data, unreadable=str(exc))
    now = train_values(typed.train)
    tuned = result.get("tuned_params") or {}
    before = (result.get("baseline") or {}).get("params") or {}
    differ = [key for key in tuned if now.get(key) != tuned[key]]
    not_applied: tuple[str, ...] = ()
    if differ and tuned != before and all(now.get(key) == before.get(key) for key in differ):
        not_applied, differ = tuple(differ), []
    settings = result.get("settings") or {}
    current = tune_settings(typed.tune)
    return Staleness(
        data=data,
        not_applied=not_applied,
        differ=tuple((key, tuned[key], now.get(key)) for key in differ),
        settings=tuple(key for key in settings if current.get(key) != settings[key]),
    )


def summary_lines(document: Mapping[str, Any]) -> list[str]:
    """What `mlpipe tune` prints: the study, baseline and best per fold, the changed keys."""
    metric, best, base = document["metric"], document["best"], document["baseline"]
    folds = document["folds"]

    def scores(entry: Mapping[str, Any]) -> str:
        return " ".join(f"{v:.4f}" for v in entry["folds"])

    lines = [
        f"{document['trials_finished']} trials, {folds['count']}-fold {folds['method']} CV on "
        f"{document['train_data']['rows']} training rows, {metric} ({document['direction']})",
        f"baseline (params.yaml): {base['value']:.6f}  folds: {scores(base)}",
        f"best ({trial_label(best['trial'])}): {best['value']:.6f}  folds: {scores(best)}",
    ]
    only_threshold = baseline_won(document)
    if only_threshold:
        lines.append(only_threshold)
    for change in document["changes"]:
        edge = f"  (at the {change['edge']} end of its range)" if change["edge"] else ""
        lines.append(f"  {change['key']}: {change['from']!r} -> {change['to']!r}{edge}")
    if not document["changes"]:
        lines.append("  no change: params.yaml holds the best values found")
    if not document["reproducible"]:
        lines.append("not reproducible: " + "; ".join(document["not_reproducible"]))
    return lines


def trial_label(index: Any) -> str:
    """A trial as the log and the PR comment count them: "trial 1, the baseline" for the
    trial the JSON numbers 0, "trial 4" for its 3."""
    if isinstance(index, bool) or not isinstance(index, int):
        return f"trial {index}"
    return "trial 1, the baseline" if index == 0 else f"trial {index + 1}"


def baseline_won(document: Mapping[str, Any]) -> str | None:
    """The sentence saying that no hyperparameters beat params.yaml's in cross-validation, when
    the best trial is the baseline and tuning changed something (only the decision threshold
    can then differ); None otherwise."""
    if (document.get("best") or {}).get("trial") != 0 or not document.get("changes"):
        return None
    keys = [c.get("key") for c in document["changes"]]
    if keys == [THRESHOLD_KEY]:
        return (
            "no hyperparameters beat the current ones in CV (the best trial is the baseline); "
            "only the decision threshold changed"
        )
    return "no hyperparameters beat the current ones in CV (the best trial is the baseline)"
