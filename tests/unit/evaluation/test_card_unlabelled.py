"""The model card counts the rows ingest set aside without a target (front matter and text)."""

from __future__ import annotations

from pathlib import Path

from mlpipe.evaluation.card import FileVersion, model_card, read_card
from mlpipe.stages.evaluate import unlabelled_rows


def _card(unlabelled: int | None) -> str:
    return model_card(
        model=FileVersion("m.skops", "m" * 32),
        train=FileVersion("train.parquet", "a" * 32, 200),
        test=FileVersion("test.parquet", "b" * 32, 50),
        target="Salary",
        task="regression",
        classes=None,
        features={"numeric": ("Hits",), "boolean": (), "categorical": ()},
        estimator="random_forest",
        train_params={"estimator": "random_forest", "seed": 42, "random_forest": {}},
        metrics={"test": {"rmse": 1.0, "rows": 50.0}},
        slices={"test": {}},
        min_slice_rows=30,
        unlabelled=unlabelled,
    )


def test_the_card_counts_the_unlabelled_rows(tmp_path: Path) -> None:
    text = _card(59)
    assert (
        "Rows without a value in `Salary`, set aside by ingest (in neither train nor test; "
        "`data.unlabelled`): 59."
    ) in text
    path = tmp_path / "card.md"
    path.write_text(text)
    assert read_card(path)["unlabelled_rows"] == 59
    assert "set aside by ingest" not in _card(None)  # no ingest report: nothing claimed


def test_the_count_comes_from_the_ingest_report(tmp_path: Path) -> None:
    report = tmp_path / "ingest.json"
    assert unlabelled_rows(report) is None  # no report
    report.write_text('{"rows": 263, "unlabelled_rows": 59}')
    assert unlabelled_rows(report) == 59
    report.write_text('{"rows": 263}')  # written before ingest counted them
    assert unlabelled_rows(report) is None
