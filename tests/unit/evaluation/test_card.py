"""The model card: rendered content, machine-readable front matter, bad cards."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mlpipe.evaluation.card import FileVersion, ModelCardError, file_md5, model_card, read_card
from support.markdown import cell_counts_match, foreign_html, mentions, tables

METRICS = {
    "test": {"accuracy": 0.8, "recall": 0.3778, "roc_auc": 0.8219, "rows": 4000.0},
    "train": {"accuracy": 0.825, "recall": 0.4479, "roc_auc": 0.859, "rows": 16000.0},
}
SLICES = {
    "test": {
        "region": {
            "east": {"roc_auc": 0.82, "rows": 700.0},
            "(missing)": {"roc_auc": 0.59, "rows": 46.0},
        },
        "plan": {},
    }
}


def _card(**overrides) -> str:
    args = dict(
        model=FileVersion("data/model/model.skops", "m" * 32),
        train=FileVersion("data/processed/train.parquet", "a" * 32, 16000),
        test=FileVersion("data/processed/test.parquet", "b" * 32, 4000),
        target="churned",
        task="binary",
        classes=("False", "True"),
        features={"numeric": ("age",), "boolean": (), "categorical": ("region", "plan")},
        estimator="hist_gradient_boosting",
        train_params={
            "estimator": "hist_gradient_boosting",
            "seed": 42,
            "hist_gradient_boosting": {"learning_rate": 0.05, "class_weight": None},
            "random_forest": {"n_estimators": 200},
        },
        metrics=METRICS,
        slices=SLICES,
        min_slice_rows=30,
    )
    args.update(overrides)
    return model_card(**args)


def test_card_sections_and_values() -> None:
    card = _card()
    body = card.split("\n---\n", 1)[1]
    assert body.startswith("# Model card: `churned` (binary), hist_gradient_boosting\n")
    for heading in (
        "## Data version",
        "## Parameters",
        "## Metrics",
        "## Slices (test rows)",
        "## Training time",
        "## Known limitations",
    ):
        assert f"\n{heading}\n" in body
    assert f"| train | `data/processed/train.parquet` | 16000 | `{'a' * 32}` |" in body
    assert "| `learning_rate` | 0.05 |" in body and "| `class_weight` | null |" in body
    assert "n_estimators" not in body  # only the chosen estimator's hyperparameters
    assert "| roc_auc | 0.8219 | 0.8590 |" in body
    assert "| rows | 4000 | 16000 |" in body
    assert "| (missing) | 46 | 0.5900 |" in body
    assert "- `plan`: no slice has 30 rows" in body
    assert "roc_auc is 0.8590 on train vs 0.8219 on test: some over-fitting." in body
    assert "Recall of the positive class is 0.3778" in body
    assert "Weakest slice: `region` = (missing) (roc_auc 0.5900)." in body
    assert "`fit took N s`" in body  # where the training time is found


def test_card_is_deterministic_and_front_matter_round_trips(tmp_path: Path) -> None:
    assert _card() == _card()
    path = tmp_path / "card.md"
    path.write_text(_card())
    front = read_card(path)
    assert front["metrics"] == METRICS
    assert front["classes"] == ["False", "True"]
    assert front["data"]["test"] == {
        "path": "data/processed/test.parquet",
        "md5": "b" * 32,
        "rows": 4000,
    }
    assert front["model"]["md5"] == "m" * 32
    assert front["hyperparameters"] == {"learning_rate": 0.05, "class_weight": None}
    assert front["features"]["categorical"] == ["region", "plan"]


def test_no_overfitting_or_recall_note_when_not_warranted() -> None:
    metrics = {
        "test": {"roc_auc": 0.85, "recall": 0.7, "rows": 10.0},
        "train": {"roc_auc": 0.86, "recall": 0.7, "rows": 40.0},
    }
    card = _card(metrics=metrics, slices={"test": {}})
    assert "over-fitting" not in card and "Recall of the positive" not in card
    assert "No slices configured" in card


def test_file_md5_is_the_md5_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert file_md5(path, block=1000) == hashlib.md5(b"x" * 3_000_000).hexdigest()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# no front matter\n", "no front matter block"),
        ("---\n: : bad\n---\n# x\n", "front matter is not valid YAML"),
        ("---\ncard_version: 99\n---\n# x\n", "lacks card_version 1"),
    ],
)
def test_read_card_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "card.md"
    path.write_text(text)
    with pytest.raises(ModelCardError, match=message):
        read_card(path)


def test_read_card_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelCardError, match=r"model card not found\. The evaluate stage"):
        read_card(tmp_path / "absent.md")


def test_card_says_when_train_metrics_come_from_a_sample() -> None:
    assert "seeded sample" not in _card()  # every training row was scored
    sampled = {**METRICS, "train": {**METRICS["train"], "rows": 1000.0}}
    card = _card(metrics=sampled)
    assert (
        "Train metrics are computed on a seeded sample of 1000 of the 16000 training rows "
        "(params `evaluate.train_rows`, `evaluate.seed`)." in card
    )


def test_card_states_the_binary_decision_rule_and_its_threshold(tmp_path: Path) -> None:
    card = _card(decision={"positive_class": "True", "threshold": 0.3})
    body = card.split("\n---\n", 1)[1]
    (tmp_path / "card.md").write_text(card)
    assert read_card(tmp_path / "card.md")["decision"] == {
        "positive_class": "True",
        "threshold": 0.3,
    }
    assert (
        "- predicts `True` when its probability is at least 0.3 (params `train.threshold`)"
    ) in body
    assert "Recall of the positive class is 0.3778 at the 0.3 threshold" in body
    assert "decision" not in _card(task="multiclass", classes=("a", "b", "c"))


def test_names_and_values_from_data_cannot_break_the_card(tmp_path: Path) -> None:
    """The card renders on GitHub: a target, class, column, slice value or parameter holding a
    mention, HTML, a pipe or a backtick shows as text; a long one is shortened, and said so."""
    long = "x" * 120
    classes = ("@octocat", "a|b")
    card = _card(
        target="<img src=x onerror=alert(1)>",
        classes=classes,
        features={"numeric": ("income | net",), "categorical": ("`tick`", long)},
        train_params={
            "seed": 42,
            "hist_gradient_boosting": {"@org/team": "a|b", "learning_rate": 0.05},
        },
        slices={
            "test": {
                "income | net": {
                    "@octocat": {"roc_auc": 0.82, "rows": 700.0},
                    "a|b": {"roc_auc": 0.59, "rows": 46.0},
                    long: {"roc_auc": 0.7, "rows": 31.0},
                }
            }
        },
        decision={"positive_class": "a|b", "threshold": 0.3},
    )
    body = card.split("\n---\n", 1)[1]
    cell_counts_match(body)
    assert foreign_html(body) == [] and mentions(body) == []
    slices = next(t for t in tables(body) if t.header[0] == "value")
    assert slices.row("a|b") == ["a|b", "46", "0.5900"]
    assert slices.row("@octocat") == ["@octocat", "700", "0.8200"]
    params = next(t for t in tables(body) if t.header[0] == "parameter")
    assert params.row("@org/team") == ["@org/team", "a|b"]
    assert "- predicts `<img src=x onerror=alert(1)>`, task binary, classes `@octocat`, " in body
    assert "- predicts <code>a&#124;b</code> when its probability is at least 0.3" in body
    assert body.endswith(
        "Values longer than 80 characters are shortened above (ending in …): the front matter "
        "holds names, classes and parameters in full, the evaluate stage's slice report the "
        "slice values.\n"
    )
    (tmp_path / "card.md").write_text(card)
    front = read_card(tmp_path / "card.md")  # the front matter keeps every value whole
    assert front["classes"] == list(classes) and long in front["features"]["categorical"]
    assert "shortened above" not in _card()


def test_card_shows_each_test_metric_with_its_interval() -> None:
    intervals = {
        "confidence": 0.95,
        "resamples": 1000,
        "seed": 42,
        "rows": 4000,
        "resampled_rows": 4000,
        "test": {"accuracy": {"low": 0.78, "high": 0.82}, "roc_auc": {"low": 0.8, "high": 0.84}},
    }
    card = _card(intervals=intervals)
    assert "| metric | test | test 95% interval | train |" in card
    assert "| roc_auc | 0.8219 | [0.8000, 0.8400] | 0.8590 |" in card
    assert "| recall | 0.3778 | - | 0.4479 |" in card  # no interval for it: a dash
    assert "| rows | 4000 | - | 16000 |" in card
    assert (
        "Test intervals: 95% bootstrap percentile intervals over 1000 Poisson resamples of the "
        "4000 test rows, seed 42 (`evaluate.bootstrap`)"
    ) in card
    sampled = _card(intervals={**intervals, "resampled_rows": 500})
    assert "drawn from a seeded sample of 500 of them, spread rescaled to all rows" in sampled
    assert "interval" not in _card().split("## Metrics")[1].split("##")[0]  # none without
