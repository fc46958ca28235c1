"""`.github/scripts/grid-summary.py` on names made to break the table: the job summary renders
as markdown, and grid keys, values and experiment names come from the user."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from support.markdown import cell_counts_match, foreign_html, mentions, tables

SCRIPT = Path(__file__).parents[2] / ".github" / "scripts" / "grid-summary.py"


def _summarize():
    spec = importlib.util.spec_from_file_location("grid_summary", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.summarize


def _exp(name: str, params: dict, auc: float) -> dict:
    data = {
        "params": {"params.yaml": {"data": params}},
        "metrics": {"data/results/metrics.json": {"data": {"test": {"roc_auc": auc}}}},
    }
    return {"name": name, "revs": [{"data": data}], "executor": {"state": "success"}}


def test_hostile_keys_values_and_names_keep_the_table_and_mention_no_one() -> None:
    base = {"rev": "0123456789abcdef", **_exp("", {"train": {"a|b": "x"}}, 0.8)["revs"][0]["data"]}
    show = [
        {
            "data": base,
            "experiments": [
                _exp("exp-@octocat", {"train": {"a|b": "<details>"}}, 0.8123),
                _exp("ok-2", {"train": {"a|b": "`tick`"}}, 0.75),
            ],
        }
    ]
    experiments = [
        ("exp-@octocat", "train.a|b=<details>"),
        ("ok-2", "train.a|b=`tick`"),
        ("#12", "train.a|b=@org/team"),
    ]
    text, failed = _summarize()(show, experiments)
    assert failed == ["#12"]
    cell_counts_match(text)
    assert foreign_html(text) == [] and mentions(text) == []
    (table,) = tables(text)
    assert table.header == ["experiment", "status", "train.a|b", "test.roc_auc"]
    assert table.row("exp-@octocat") == ["exp-@octocat", "ok", "<details>", "0.8123"]
    assert table.row("ok-2") == ["ok-2", "ok", "`tick`", "0.75"]
    assert table.row("#12") == ["#12", "FAILED", "@org/team", ""]
    assert table.row("baseline") == ["baseline", "", "x", "0.8"]
    assert "Baseline commit `0123456`; 3 experiment(s)." in text
    assert "Failed: <code>&#35;12</code> (see `dvc queue logs <name>`)." in text
