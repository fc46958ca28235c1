"""What the report needs from one revision, already loaded (no IO here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlpipe.markdown_escape import code_span

# Plot files (in paths.plots) the report draws; others are ignored.
PLOT_NAMES = ("roc", "precision_recall", "confusion")


@dataclass(frozen=True)
class Revision:
    """One side of the comparison.

    ``label`` is how the user named it (a ref such as ``origin/main``, or a branch); ``commit``
    the short commit id. ``metrics``/``slices``/``validation`` are the parsed result files, None
    when the revision has none (e.g. a base branch from before the first run). ``plots`` maps a
    name of ``PLOT_NAMES`` to its records. ``data_hash`` is the DVC hash of the ingested table
    (from dvc.lock), to tell whether the data changed. ``drift`` is the train-vs-test drift
    report (JSON form of ``mlpipe.data.drift.DriftReport``), None when the revision has none.
    ``tune`` is `mlpipe tune`'s result JSON (paths.tune), None when there is none;
    ``train_hash`` the DVC hash of the training split (from dvc.lock), to tell whether the
    tuning result is still about this data.
    ``audit`` is the audit stage's report (paths.audit) and ``importance`` the permutation
    importance records (``importance.json`` in paths.plots), None when absent.
    """

    label: str
    commit: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] | None = None
    slices: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    plots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    schema_text: str | None = None
    data_hash: str | None = None
    drift: dict[str, Any] | None = None
    # The ingest stage's report (paths.ingest_report), None when the revision has none.
    ingest: dict[str, Any] | None = None
    # The test metrics' bootstrap intervals (evaluate's paths.intervals), None without.
    intervals: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None
    importance: list[dict[str, Any]] | None = None
    dirty: bool = False
    tune: dict[str, Any] | None = None
    train_hash: str | None = None
    # Stages `dvc status` lists as not up to date in the workspace (PR side only).
    stale: tuple[str, ...] = ()
    # Result files the report read from the workspace that HEAD does not hold as they are
    # (PR side only): path (as params.yaml names it) -> "untracked", "ignored" or "changed".
    uncommitted: dict[str, str] = field(default_factory=dict)


def incomparable(base: Revision, head: Revision) -> str | None:
    """Why the base's metrics cannot be compared with the PR's, or None when they can: a
    message with code spans (``code_span``), rendered in markdown with ``md_text``.

    They cannot when the two predict different things: another target column (e.g. a PR that
    points the pipeline at a new dataset), or, for classifiers, other classes. A change in rows
    or features of the same target stays comparable (that is what the report is for).
    """
    old = (base.params.get("data") or {}).get("target")
    new = (head.params.get("data") or {}).get("target")
    if old is not None and new is not None and old != new:
        return f"the base predicts {code_span(old)}, the PR {code_span(new)}"
    old_classes = sorted((base.validation or {}).get("target_counts") or {})
    new_classes = sorted((head.validation or {}).get("target_counts") or {})
    if old_classes and new_classes and old_classes != new_classes:
        return (
            f"the base's classes ({', '.join(old_classes)}) are not the PR's "
            f"({', '.join(new_classes)})"
        )
    return None
