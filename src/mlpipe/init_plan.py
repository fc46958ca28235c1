"""What `mlpipe init` sets in params.yaml for a table: every decision with its reason (pure).

The column roles come from ``mlpipe.data.roles``, the gate rules from
``mlpipe.report.gate.suggested_rules``, the monitored metrics from
``mlpipe.evaluation.monitor.SUGGESTED_METRICS``. A flag given by the user (``InitOptions``)
replaces the rule for its key, after a check against the table.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from mlpipe.config import Params
from mlpipe.data import roles
from mlpipe.data.contract import labelled_rows
from mlpipe.data.roles import Decision
from mlpipe.data.schema import missing_labels_warning
from mlpipe.evaluation.monitor import SUGGESTED_METRICS
from mlpipe.report.gate import describe_rule, rule_mapping, suggested_rules

FEATURE_KEYS = ("data.numeric_features", "data.categorical_features", "data.boolean_features")


@dataclass(frozen=True)
class InitOptions:
    """The flags of `mlpipe init`; None means "decide from the table".

    ``date_column`` None with ``date_given`` is `--date-column none`; an empty tuple is
    `--id-columns none` / `--slices none`.
    """

    target: str
    task: str = "auto"
    positive_class: str | None = None
    id_columns: tuple[str, ...] | None = None
    date_column: str | None = None
    date_given: bool = False
    slices: tuple[str, ...] | None = None


def decide(
    frame: pd.DataFrame, source: str, options: InitOptions, params: Params
) -> dict[str, Decision]:
    """params.yaml key -> decision, for ``frame`` (the source normalised as ingest does).

    ``params`` gives the settings the decisions depend on (evaluate.min_slice_rows,
    split.test_size and split.method, paths.schema, data.unlabelled). Under data.unlabelled
    ``drop`` the rows without a target are left out (ingest sets them aside; data.source's
    reason counts them); under ``fail`` they are refused. Raises ConfigError / RoleError when the
    target cannot be learned, a flag does not fit the table, or no column is left to learn from.
    """
    total = len(frame)
    frame, aside = labelled_rows(frame, dataclasses.replace(params.data, target=options.target))
    target = frame[options.target]
    unlabelled = missing_labels_warning(target)
    if unlabelled is not None:  # the schema gives the target max_missing: 0 (validate refuses)
        raise roles.RoleError(f"{unlabelled}, then run mlpipe init again")
    task = roles.decide_task(target, options.task)
    ids = roles.decide_id_columns(frame, options.target, options.id_columns)
    date = roles.decide_date_column(
        frame, options.target, ids.value, options.date_column, explicit=options.date_given
    )
    roles.check_features(frame.columns, options.target, ids.value, date.value)
    needed = roles.slice_rows_needed(params.evaluate.min_slice_rows, params.split.test_size)
    excluded = {options.target, *ids.value, *([date.value] if date.value else [])}
    rules = suggested_rules(task.value, int(target.nunique()))
    return {
        "data.source": Decision(source, _source_reason(total, frame.shape[1], aside, params)),
        "data.target": Decision(options.target, "--target"),
        "data.task": task,
        "data.positive_class": roles.decide_positive_class(
            target, task.value, options.positive_class
        ),
        "data.id_columns": ids,
        "data.date_column": date,
        **{
            key: Decision(None, f"the kinds come from {params.paths.schema}")
            for key in FEATURE_KEYS
        },
        "split.method": roles.decide_split_method(
            target, task.value, date.value, params.split.method
        ),
        "evaluate.slices": roles.decide_slices(frame, excluded, needed, options.slices),
        "gate.rules": Decision(
            [rule_mapping(r) for r in rules],
            "; ".join(describe_rule(r) for r in rules) + " (loose floors, drops against the base)",
        ),
        "monitor.metrics": Decision(list(SUGGESTED_METRICS[task.value]), f"{task.value} metrics"),
    }


def _source_reason(rows: int, columns: int, aside: int, params: Params) -> str:
    reason = f"{rows:,} rows x {columns} columns"
    if aside:
        reason += (
            f"; {aside:,} row(s) have no value in the target: data.unlabelled: drop sets them "
            f"aside in {params.paths.unlabelled} (score them with `mlpipe predict`)"
        )
    return reason


def params_values(decisions: dict[str, Decision]) -> dict[str, object]:
    """The values to write (tuples as lists: YAML block lists)."""
    return {
        key: list(d.value) if isinstance(d.value, tuple) else d.value
        for key, d in decisions.items()
    }
