"""Normalising a raw table: whitespace, NA markers, typed columns, and the input left intact."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    normalize,
)

NA = CsvConfig().na_values


def test_whitespace_is_stripped_and_counted() -> None:
    raw = pd.DataFrame({" plan ": [" basic", "premium ", "basic"], "x": ["1", "2", "3"]})
    out, report = normalize(raw, NA)
    assert list(out.columns) == ["plan", "x"]
    assert out["plan"].tolist() == ["basic", "premium", "basic"]
    assert report.stripped == {"plan": 2}
    assert out["x"].tolist() == [1, 2, 3] and out["x"].dtype == np.int64


def test_na_markers_become_missing_case_insensitively() -> None:
    raw = pd.DataFrame({"region": ["north", "NA", "n/a", " ? ", "null", "south", ""]})
    out, report = normalize(raw, NA)
    assert out["region"].isna().tolist() == [False, True, True, True, True, False, True]
    assert report.to_missing == {"region": 5}
    assert report.stripped == {"region": 1}


def test_typed_columns_pass_through_untouched() -> None:
    raw = pd.DataFrame({"x": [1.5, np.nan], "b": [True, False]})
    out, report = normalize(raw, NA)
    pd.testing.assert_frame_equal(out, raw)
    assert all(v == {} for v in report.as_dict().values())


def test_normalize_does_not_modify_its_input() -> None:
    raw = pd.DataFrame({"s": [" a", "NA"]})
    normalize(raw, NA)
    assert raw["s"].tolist() == [" a", "NA"]
