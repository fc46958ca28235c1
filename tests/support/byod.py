"""Bring-your-own-data helpers: put a table into a temporary repo the way a user does.

``use_own_data`` follows the README walkthrough exactly: write the file under ``data/raw/``,
``dvc add`` it, change only ``params.yaml``, then ``mlpipe schema infer``. ``messy_table`` is a
small deterministic table with the quirks of real exports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.evaluation.metrics import DIRECTIONS
from support.repo import Repo

# Small, quick settings for tests: fewer boosting rounds and importance repeats.
FAST: dict[str, Any] = {
    "generate.rows": 100,
    "train.hist_gradient_boosting.max_iter": 40,
    "train.hist_gradient_boosting.min_samples_leaf": 5,
    "evaluate.importance_rows": 200,
    "evaluate.importance_repeats": 1,
    "evaluate.min_slice_rows": 5,
}


def write_source(repo: Repo, name: str, content: str | bytes | pd.DataFrame, **csv: Any) -> str:
    """Write ``data/raw/<name>`` (text, bytes or a frame as CSV) and `dvc add` it."""
    rel = f"data/raw/{name}"
    path = repo.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, pd.DataFrame):
        if name.endswith(".parquet"):
            content.to_parquet(path, index=False)
        else:
            content.to_csv(path, index=False, **csv)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    repo.dvc("add", rel)
    return rel


def use_own_data(
    repo: Repo,
    name: str,
    content: str | bytes | pd.DataFrame,
    target: str,
    csv: dict[str, Any] | None = None,
    infer: bool = True,
    **params: Any,
) -> str:
    """Put a table into ``repo`` as a user would; returns the `schema infer` log (stderr)."""
    source = write_source(repo, name, content, **(csv or {}))
    repo.set_params(
        **{
            "data.source": source,
            "data.target": target,
            "data.id_columns": [],
            "data.date_column": None,
            "evaluate.slices": [],
            **FAST,
            **params,
        }
    )
    if not infer:
        return ""
    return repo.mlpipe("schema", "infer").stderr


def pipeline_checks(repo: Repo, rows: int, test_size: float = 0.2) -> dict:
    """What every reproduced repository of ``rows`` labelled rows must show (metrics the report
    and gate know, a clean validation, the split's sizes, drift on both parts); its metrics."""
    metrics = repo.read_json("data/results/metrics.json")
    assert set(metrics["test"]) <= set(DIRECTIONS)  # the report and gate know every metric
    validation = repo.read_json("data/results/validation.json")
    assert validation["ok"] and validation["rows"] == rows and validation["errors"] == []
    assert metrics["test"]["rows"] + metrics["train"]["rows"] == rows
    assert abs(metrics["test"]["rows"] - rows * test_size) <= 3
    drift = repo.read_json("data/results/drift.json")
    assert drift["reference_rows"] == metrics["train"]["rows"]
    assert drift["current_rows"] == metrics["test"]["rows"]
    md = (repo.path / "data/results/drift.md").read_text()
    assert md.startswith(f"**Data drift**: {len(drift['drifted'])} of {len(drift['features'])}")
    return metrics


def messy_table(rows: int = 300, seed: int = 7) -> pd.DataFrame:
    """A customer table as text, the way exports look: thousands separators, padded categories,
    Yes/yes/Y booleans, '?' and blank markers, ISO dates, a yes/no target."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "standard", "premium"], rows)
    age = rng.integers(18, 80, rows)
    income = rng.normal(52_000, 15_000, rows).round(2).clip(5_000, None)
    member = rng.choice(["Yes", "yes", "Y", "No", "no", "N"], rows)
    city = rng.choice(["Oslo", "Lima", "Pune", "Kobe"], rows, p=[0.4, 0.3, 0.2, 0.1]).astype(
        object
    )
    city[:3] = ["Nuuk", "Nuuk", "Suva"]  # a long tail: rare values
    score = rng.normal(3.0, 1.0, rows).round(1)
    logit = (
        0.9 * (plan == "basic") - 0.03 * (age - 45) + 0.8 * np.isin(member, ["Yes", "yes", "Y"])
    )
    churn = np.where(rng.random(rows) < 1 / (1 + np.exp(-(logit - 0.5))), "yes", "no")
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D")
    frame = pd.DataFrame(
        {
            "customer": [f"K{i:05d}" for i in range(rows)],
            "signup": signup.strftime("%Y-%m-%d"),
            "plan": [f" {p} " if i % 17 == 0 else p for i, p in enumerate(plan)],
            "age": age.astype(str),
            "income": [f"{v:,.2f}" if i % 5 == 0 else f"{v:.2f}" for i, v in enumerate(income)],
            "member": member,
            "city": city,
            "score": [_score_text(i, v) for i, v in enumerate(score)],
            "churn": churn,
        }
    )
    return frame


def _score_text(i: int, value: float) -> str:
    if i % 23 == 0:
        return "?"
    return "" if i % 11 == 0 else str(value)


def snapshot(repo: Repo) -> dict[str, bytes]:
    """Every pipeline output, dvc.lock and the DVC cache, by relative path -> bytes."""
    out: dict[str, bytes] = {}
    roots = ["data/interim", "data/processed", "data/model", "data/results", ".dvc/cache"]
    for root in roots:
        base = repo.path / root
        if not base.exists():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file():
                out[path.relative_to(repo.path).as_posix()] = path.read_bytes()
    out["dvc.lock"] = (repo.path / "dvc.lock").read_bytes()
    return out


def temp_files(repo: Repo) -> list[str]:
    """Leftover temporary files of atomic writes under data/ (there must be none)."""
    return sorted(
        p.relative_to(repo.path).as_posix() for p in (repo.path / "data").rglob(".*.tmp")
    )


def output_paths(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def wide_table(rows: int = 300, seed: int = 3) -> pd.DataFrame:
    """A table of a thousand columns: 700 numbers, 200 categories as text, 99 Yes/no flags and
    a label that depends on num_000 and cat_000 (test_a_thousand_columns_end_to_end and
    benchmarks/wide_ingest.py)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for i in range(700):
        columns[f"num_{i:03d}"] = rng.normal(0, 1, rows).round(3)
    for i in range(200):
        columns[f"cat_{i:03d}"] = rng.choice(["red", "green", "blue", "grey"], rows)
    for i in range(99):
        columns[f"flag_{i:02d}"] = rng.choice(["Yes", "no"], rows)
    frame = pd.DataFrame(columns)
    signal = frame["num_000"] + (frame["cat_000"] == "red") + rng.normal(0, 0.5, rows)
    frame["label"] = np.where(signal > 0.3, "high", "low")
    return frame
