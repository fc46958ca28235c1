"""`mlpipe monitor` reads the card's test intervals (paths.intervals / --intervals) for the noise
rule: parsed when they are the card's, set aside with the reason when they describe another
test set, refused with the fix when the file is not an intervals file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlpipe.config import params_from_dict
from mlpipe.evaluation.bootstrap import Interval
from mlpipe.io import InputError
from mlpipe.predictions import Predictions
from mlpipe.stages.monitor import _noise_evidence

CARD = {"data": {"test": {"rows": 4000}}}
PARAMS = params_from_dict({"evaluate": {"bootstrap": {"resamples": 100, "seed": 5}}})


def _batch(n: int = 200) -> Predictions:
    rng = np.random.default_rng(0)
    y = rng.random(n) < 0.3
    score = np.clip(0.3 + 0.3 * y + rng.normal(0, 0.2, n), 0.01, 0.99)
    labels = np.where(y, "True", "False").astype(object)
    predicted = np.where(score >= 0.5, "True", "False").astype(object)
    return Predictions(labels, predicted, np.column_stack([1 - score, score]), ("False", "True"))


def _intervals(tmp_path: Path, rows: int, confidence: float = 0.9) -> Path:
    path = tmp_path / "intervals.json"
    report = {
        "confidence": confidence,
        "rows": rows,
        "test": {"roc_auc": {"low": 0.81, "high": 0.84}, "log_loss": {"low": 0.4}},
    }
    path.write_text(json.dumps(report))
    return path


def test_the_cards_intervals_and_the_batchs_at_the_files_confidence(tmp_path: Path) -> None:
    path = _intervals(tmp_path, rows=4000, confidence=0.9)
    evidence = _noise_evidence(str(path), CARD, _batch(), "binary", PARAMS)
    assert evidence.unavailable == "" and evidence.source == str(path)
    assert evidence.confidence == 0.9
    assert evidence.card == {"roc_auc": Interval(0.81, 0.84)}  # log_loss lacks its high end
    live = evidence.live["roc_auc"]
    assert 0.5 < live.low < live.high < 1
    # seeded from params (evaluate.bootstrap): the same batch, the same interval
    again = _noise_evidence(str(path), CARD, _batch(), "binary", PARAMS)
    assert again.live == evidence.live
    other_seed = params_from_dict({"evaluate": {"bootstrap": {"resamples": 100, "seed": 6}}})
    assert _noise_evidence(str(path), CARD, _batch(), "binary", other_seed).live != evidence.live
    wider = _noise_evidence(
        str(_intervals(tmp_path, 4000, 0.99)), CARD, _batch(), "binary", PARAMS
    )
    assert wider.live["roc_auc"].half_width > live.half_width


def test_intervals_of_another_test_set_are_set_aside_with_the_reason(tmp_path: Path) -> None:
    path = _intervals(tmp_path, rows=3000)
    evidence = _noise_evidence(str(path), CARD, _batch(), "binary", PARAMS)
    assert evidence.card == {} and "roc_auc" in evidence.live
    assert evidence.unavailable == (
        f"{path} describes 3000 test rows, the model card 4000: not the card's intervals; run "
        "`dvc repro` so both come from one evaluate run"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "intervals.json: not valid JSON (Expecting property name"),
        ("[1, 2]", "intervals.json: not an intervals file (a JSON object written by evaluate)"),
    ],
    ids=["not-json", "not-an-object"],
)
def test_a_broken_intervals_file_is_refused_with_the_fix(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "intervals.json"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        _noise_evidence(str(path), CARD, _batch(), "binary", PARAMS)
    assert message in str(caught.value) and "Nothing written" in str(caught.value)
