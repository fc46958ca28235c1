"""The model card's "Data audit" section, checked by content."""

from __future__ import annotations

from mlpipe.evaluation.card import FileVersion, model_card
from mlpipe.markdown_escape import md_code
from support.audit import HOSTILE_COLUMN, HOSTILE_ID, leaky_audit


def _card(metrics: dict, audit: dict | None, importance: list | None) -> str:
    return model_card(
        model=FileVersion("data/model/model.skops", "m" * 32),
        train=FileVersion("data/processed/train.parquet", "a" * 32, 480),
        test=FileVersion("data/processed/test.parquet", "b" * 32, 120),
        target="y",
        task="binary",
        classes=("no", "yes"),
        features={
            "numeric": (HOSTILE_COLUMN, "signal", "noise"),
            "boolean": (),
            "categorical": (),
        },
        estimator="hist_gradient_boosting",
        train_params={"seed": 42, "hist_gradient_boosting": {"max_iter": 50}},
        metrics=metrics,
        slices={"test": {}},
        min_slice_rows=30,
        audit=audit,
        importance=importance,
    )


def _section(card: str) -> str:
    return card.split("## Data audit\n\n", 1)[1].split("\n## ", 1)[0]


def test_the_card_shows_leakage_the_too_good_note_and_label_issues() -> None:
    audit = leaky_audit()
    importance = [{"feature": HOSTILE_COLUMN, "importance": 0.45}]
    metrics = {"test": {"roc_auc": 0.9952, "rows": 120.0}, "train": {"roc_auc": 1.0}}
    section = _section(_card(metrics, audit, importance))
    lines = section.splitlines()
    assert lines[0] == (
        "> ⚠️ **Too good to be true?** Test roc_auc is 0.9952; few real problems allow that. "
        f"Check the most important features ({md_code(HOSTILE_COLUMN)}) for target leakage, "
        "and leave a leak out of the features with `data.exclude_columns`."
    )
    leak = audit["leakage"]["flagged"][0]
    assert lines[2].startswith("⚠️ **Possible target leakage**: 1 column(s) alone predict `y`")
    assert f"| {md_code(HOSTILE_COLUMN)} | {leak['power']:.4f} |" in lines
    count = audit["label_issues"]["count"]
    assert f"**Label issues**: {count} of 600 audited rows" in section
    top = audit["label_issues"]["top"][0]
    assert any(line.startswith(f"| {top['row']} | <code>") for line in lines)
    assert HOSTILE_ID not in section and "|@octocat" not in section


def test_an_honest_card_has_no_note_and_says_what_was_found() -> None:
    metrics = {"test": {"roc_auc": 0.82, "rows": 120.0}, "train": {"roc_auc": 0.86}}
    section = _section(_card(metrics, None, None))
    assert section.strip() == "No audit report (`paths.audit`): run `dvc repro`."
    audit = leaky_audit()
    clean = {**audit, "leakage": {**audit["leakage"], "flagged": []}}
    section = _section(_card(metrics, clean, []))
    assert section.startswith("✅ No target leakage found: no feature alone reaches gini")
    assert "Too good" not in section
