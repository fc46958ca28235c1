"""Batch scoring: content of predictions, unseen categories, bad input, chunking."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import CsvConfig, TrainConfig
from mlpipe.data.schema import ColumnSpec, schema_from_dict
from mlpipe.io import InputError
from mlpipe.model.features import FeatureSpec, model_frame
from mlpipe.model.scoring import (
    ScoringError,
    ScoringRules,
    check_model_features,
    score_file,
    score_frame,
    text_columns,
    typed_labels,
    unseen_categories,
)
from mlpipe.model.train import fit_model
from support.tiny import tiny_frame, tiny_model, tiny_schema, tiny_spec

RULES = ScoringRules(id_columns=("cid",))


@pytest.fixture(scope="module")
def binary_model():
    return tiny_model("binary", max_iter=20)  # a fitted model; its quality is not under test


def _score(model, source: Path, output: Path, task: str = "binary", **kw):
    schema = kw.pop("schema", None) or tiny_schema(task)
    return score_file(
        model,
        source,
        output,
        schema=schema,
        spec=tiny_spec(schema),
        rules=kw.pop("rules", RULES),
        csv_config=kw.pop("csv_config", CsvConfig()),
        chunk_rows=kw.pop("chunk_rows", 1000),
        **kw,
    )


def _with_column(schema, spec: ColumnSpec):
    """schema with its column of spec's name replaced by spec."""
    columns = tuple(spec if c.name == spec.name else c for c in schema.columns)
    return dataclasses.replace(schema, columns=columns)


def _unlabelled(rows: int, seed: int = 1) -> pd.DataFrame:
    return tiny_frame(rows, seed=seed).drop(columns=["y"])


def test_predictions_match_the_model_row_for_row(binary_model, tmp_path: Path) -> None:
    frame = _unlabelled(300)
    source, output = tmp_path / "in.parquet", tmp_path / "out.csv"
    frame.to_parquet(source, index=False)
    summary = _score(binary_model, source, output)

    out = pd.read_csv(output, dtype={"prediction": str})
    assert summary.rows == 300 and len(out) == 300
    assert list(out.columns) == ["cid", "prediction", "proba_no", "proba_yes"]
    assert out["cid"].tolist() == frame["cid"].tolist()
    proba = out[["proba_no", "proba_yes"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    expected = binary_model.predict_proba(model_frame(frame, tiny_spec(tiny_schema())))
    np.testing.assert_allclose(proba, expected, rtol=0, atol=1e-15)
    assert out["prediction"].tolist() == [("no", "yes")[i] for i in expected.argmax(axis=1)]


def test_csv_input_with_text_values_is_normalised_like_ingest(
    binary_model, tmp_path: Path
) -> None:
    """Yes/no booleans, padded text and NA markers in a CSV score like the typed table."""
    frame = _unlabelled(40)
    text = frame.assign(
        tech=np.where(frame["tech"], " yes", "no "),
        plan=" " + frame["plan"].astype(str),
        age=frame["age"].astype(int).astype(object),
    )
    text.loc[3, "age"] = "N/A"
    typed = frame.copy()
    typed.loc[3, "age"] = np.nan
    text.to_csv(tmp_path / "in.csv", index=False)
    typed.to_parquet(tmp_path / "in.parquet", index=False)
    summary = _score(binary_model, tmp_path / "in.csv", tmp_path / "a.parquet")
    _score(binary_model, tmp_path / "in.parquet", tmp_path / "b.parquet")
    assert summary.normalized == {
        "plan: stripped whitespace": 40,
        "tech: stripped whitespace": 40,
        "tech: text to boolean": 40,
        "age: became missing": 1,
    }  # "N/A" in age is a CSV NA marker: read as text and counted, as in the ingest stage
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    )


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_chunked_result_equals_single_shot(binary_model, tmp_path: Path, suffix: str) -> None:
    frame = _unlabelled(1000)
    source = tmp_path / f"in.{suffix}"
    if suffix == "csv":
        frame.to_csv(source, index=False)
    else:
        frame.to_parquet(source, index=False, row_group_size=100)
    seen: list[int] = []
    chunked = _score(
        binary_model, source, tmp_path / "chunked.parquet", chunk_rows=137, on_chunk=seen.append
    )
    single = _score(binary_model, source, tmp_path / "single.parquet", chunk_rows=10_000)
    assert chunked.chunks == 8 and single.chunks == 1
    assert sum(seen) == 1000 and seen[0] == 137
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "chunked.parquet"), pd.read_parquet(tmp_path / "single.parquet")
    )


def test_unseen_categories_are_counted_and_scored_as_unknown(binary_model, tmp_path: Path) -> None:
    frame = _unlabelled(500)
    frame.loc[[5, 250, 499], "plan"] = "platinum"
    frame.loc[7, "plan"] = "gold"
    frame.to_csv(tmp_path / "in.csv", index=False)
    summary = _score(binary_model, tmp_path / "in.csv", tmp_path / "out.csv", chunk_rows=200)
    assert summary.unseen_counts() == {"plan": 4}
    assert dict(summary.unseen["plan"]) == {"platinum": 3, "gold": 1}
    assert len(pd.read_csv(tmp_path / "out.csv")) == 500


def test_unseen_categories_fail_under_the_fail_policy(binary_model, tmp_path: Path) -> None:
    frame = _unlabelled(50)
    frame.loc[[1, 2], "plan"] = "platinum"
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    rules = ScoringRules(id_columns=("cid",), unknown_categories="fail")
    with pytest.raises(ScoringError) as info:
        _score(binary_model, tmp_path / "in.parquet", tmp_path / "out.csv", rules=rules)
    assert (
        "  - plan: 2 invalid values in 50 rows (4.0%: unknown category 'platinum' x2); the "
        "contract expects 0% (validate.max_invalid_fraction 0), binomial p-value 0 < 0.00017: "
        "map unknown categories to known ones, or set predict.unknown_categories: warn"
    ) in str(info.value)
    assert "No output was written" in str(info.value)
    assert not (tmp_path / "out.csv").exists()


def test_bad_rows_in_a_late_chunk_leave_no_output(binary_model, tmp_path: Path) -> None:
    frame = _unlabelled(600)
    frame["age"] = frame["age"].astype(object)
    frame.loc[550, "age"] = "old"
    frame.loc[560, "age"] = 250
    frame.to_csv(tmp_path / "in.csv", index=False)
    output = tmp_path / "out.csv"
    output.write_text("previous predictions\n")
    with pytest.raises(ScoringError) as info:
        _score(binary_model, tmp_path / "in.csv", output, chunk_rows=200)
    message = str(info.value)
    assert "in.csv (600 rows) breaks the data contract: 1 of 5 budget(s)" in message
    assert (
        "age: 2 invalid values in 600 rows (0.3%: 'old' is not a number x1, 250 > max 90 x1)"
        in (message)
    )
    assert output.read_text() == "previous predictions\n"  # untouched: no partial output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]  # no temp file


def test_missing_feature_column_is_refused(binary_model, tmp_path: Path) -> None:
    _unlabelled(20).drop(columns=["plan"]).to_parquet(tmp_path / "in.parquet", index=False)
    with pytest.raises(ScoringError, match="plan: column present — column is missing"):
        _score(binary_model, tmp_path / "in.parquet", tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.csv", "", "the file is empty"),
        ("in.csv", "cid,age,plan,tech\n", r"only a header line \(4 columns\), no data rows"),
        ("in.json", "{}", r"unsupported file type '\.json'"),
        ("in.parquet", "not parquet", "not a readable Parquet file"),
    ],
)
def test_unreadable_input_is_an_input_error(
    binary_model, tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(InputError, match=message):
        _score(binary_model, tmp_path / name, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_output_suffix_is_checked_first(binary_model, tmp_path: Path) -> None:
    _unlabelled(5).to_parquet(tmp_path / "in.parquet", index=False)
    with pytest.raises(InputError, match=r"unsupported output type '\.xlsx'"):
        _score(binary_model, tmp_path / "in.parquet", tmp_path / "out.xlsx")


@pytest.mark.parametrize("same", ["in.csv", "./sub/../in.csv"])
def test_the_input_file_is_never_the_output(binary_model, tmp_path: Path, same: str) -> None:
    """The review's case: --output equal to --input replaced the batch with its scores."""
    (tmp_path / "sub").mkdir()
    _unlabelled(5).to_csv(tmp_path / "in.csv", index=False)
    before = (tmp_path / "in.csv").read_bytes()
    with pytest.raises(InputError, match=r"--output .*in\.csv is the same file as --input"):
        _score(binary_model, tmp_path / "in.csv", tmp_path / same)
    assert (tmp_path / "in.csv").read_bytes() == before


def test_regression_output_is_one_value_column(tmp_path: Path) -> None:
    model = tiny_model("regression", max_iter=20)
    frame = tiny_frame(80, "regression", seed=4).drop(columns=["y"])
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    _score(model, tmp_path / "in.parquet", tmp_path / "out.parquet", task="regression")
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == ["cid", "prediction"]
    expected = model.predict(model_frame(frame, tiny_spec(tiny_schema("regression"))))
    np.testing.assert_allclose(out["prediction"].to_numpy(), expected, rtol=0, atol=1e-12)


def test_score_frame_multiclass_columns_follow_model_classes() -> None:
    model = tiny_model("multiclass", max_iter=20)
    frame = tiny_frame(30, "multiclass", seed=5)
    out = score_frame(model, frame, tiny_spec(tiny_schema("multiclass")), "multiclass", ("cid",))
    assert list(out.columns) == ["cid", "prediction", "proba_a", "proba_b", "proba_c"]
    proba = out[["proba_a", "proba_b", "proba_c"]].to_numpy()
    assert out["prediction"].tolist() == [("a", "b", "c")[i] for i in proba.argmax(axis=1)]


def test_class_predictions_have_the_targets_type() -> None:
    """The review's case: a boolean target (churned) was predicted as the text 'True'/'False'
    in Parquet, so `df[df.prediction == True]` selected nothing."""
    assert typed_labels(("False", "True"), "boolean").tolist() == [False, True]
    assert typed_labels(("False", "True"), "boolean").dtype == bool
    assert typed_labels(("0", "1", "2"), "numeric").dtype == np.int64
    assert typed_labels(("1.0", "2.0"), "numeric").tolist() == [1, 2]
    assert typed_labels(("0.5", "2.0"), "numeric").tolist() == [0.5, 2.0]
    assert typed_labels(("no", "yes"), "categorical").tolist() == ["no", "yes"]
    assert typed_labels(("no", "yes"), "boolean").tolist() == ["no", "yes"]  # not bool text

    frame = tiny_frame(200, seed=3)
    frame["y"] = frame["y"] == "yes"  # a boolean target, as in the demo data
    schema = tiny_schema()
    model = fit_model(frame, tiny_spec(schema), "y", "binary", TrainConfig())
    out = score_frame(model, frame, tiny_spec(schema), "binary", ("cid",), "boolean")
    assert out["prediction"].dtype == bool
    assert out["prediction"].tolist() == (out["proba_True"] > 0.5).tolist()
    assert 0 < out["prediction"].sum() < len(out)


def test_binary_predictions_follow_the_decision_threshold(binary_model, tmp_path: Path) -> None:
    """`mlpipe predict` uses train.threshold (and data.positive_class), as the metrics do."""
    frame = _unlabelled(300)
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    for threshold, positive in ((0.5, None), (0.3, None), (0.3, "no")):
        rules = dataclasses.replace(RULES, threshold=threshold, positive_class=positive)
        out_path = tmp_path / f"out-{threshold}-{positive}.parquet"
        _score(binary_model, tmp_path / "in.parquet", out_path, rules=rules)
        out = pd.read_parquet(out_path)
        pos = positive or "yes"
        expected = np.where(out[f"proba_{pos}"] >= threshold, pos, "no" if pos == "yes" else "yes")
        assert out["prediction"].tolist() == expected.tolist()
    lower = pd.read_parquet(tmp_path / "out-0.3-None.parquet")["prediction"]
    default = pd.read_parquet(tmp_path / "out-0.5-None.parquet")["prediction"]
    assert (lower == "yes").sum() > (default == "yes").sum()


def test_unseen_categories_ignore_missing_values() -> None:
    frame = pd.DataFrame({"plan": ["basic", None, "gold", "gold", "premium"]})
    spec = FeatureSpec(numeric=(), categorical=("plan",), boolean=())
    assert dict(unseen_categories(frame, tiny_schema(), spec)["plan"]) == {"gold": 2}


def test_unseen_categories_compare_numbers_by_value() -> None:
    # A numeric column recast as categorical in the schema (`categories: [1, 2]`).
    schema = schema_from_dict(
        {
            "version": 1,
            "target": "y",
            "task": "binary",
            "columns": {
                "sex": {"kind": "categorical", "categories": [1, 2]},
                "y": {"kind": "boolean"},
            },
        }
    )
    spec = FeatureSpec(numeric=(), categorical=("sex",), boolean=())
    frame = pd.DataFrame({"sex": [1.0, 2.0, None, 3.0, 2.5]})
    assert dict(unseen_categories(frame, schema, spec)["sex"]) == {"3": 1, "2.5": 1}
    assert unseen_categories(pd.DataFrame({"sex": [2, 1]}), schema, spec) == {}


def test_model_schema_feature_mismatch_names_the_columns(binary_model) -> None:
    spec = FeatureSpec(numeric=("age", "income"), categorical=("plan",), boolean=())
    with pytest.raises(ScoringError) as info:
        check_model_features(binary_model, spec)
    assert "the model needs ['tech']" in str(info.value)
    assert "the schema/params add ['income']" in str(info.value)


def test_schema_warnings_are_summed_over_chunks(binary_model, tmp_path: Path, caplog) -> None:
    frame = _unlabelled(300).assign(note="x")
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    with caplog.at_level(logging.WARNING):
        summary = _score(binary_model, tmp_path / "in.parquet", tmp_path / "o.csv", chunk_rows=100)
    assert dict(summary.warnings) == {"note: known column — column is not in the schema": 300}


def _with_words_in_age(rows: int, words: dict[int, str]) -> pd.DataFrame:
    frame = _unlabelled(rows)
    frame["age"] = frame["age"].astype(int).astype(object)
    for row, word in words.items():
        frame.loc[row, "age"] = word
    return frame


def test_unparseable_numbers_stop_scoring_and_are_named(binary_model, tmp_path: Path) -> None:
    # The review's case: 3 ages written as words; ingest would read them as missing values.
    frame = _with_words_in_age(300, {10: "thirty", 150: "forty", 290: "unknown"})
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ScoringError) as info:
        _score(binary_model, tmp_path / "in.csv", tmp_path / "out.csv")
    message = str(info.value)
    assert (
        "in.csv (300 rows) breaks the data contract: 1 of 5 budget(s) crossed beyond chance "
        "(one-sided binomial test at predict.contract_alpha 0.001 over 5 tests):\n"
        "  - age: 3 invalid values in 300 rows (1.0%: 'thirty' is not a number x1, 'forty' is "
        "not a number x1, 'unknown' is not a number x1); the contract expects 0% "
        "(validate.max_invalid_fraction 0), binomial p-value 0 < 0.0002: correct the text, or "
        "leave the cell empty for a missing value; validate.max_invalid_fraction tolerates a "
        "share\n"
    ) in message
    assert "No output was written" in message
    assert not (tmp_path / "out.csv").exists()


def test_unparseable_numbers_within_max_invalid_fraction_are_a_warning(
    binary_model, tmp_path: Path
) -> None:
    frame = _with_words_in_age(300, {10: "thirty", 150: "forty", 290: "unknown"})
    frame.to_csv(tmp_path / "in.csv", index=False)
    rules = ScoringRules(id_columns=("cid",), max_invalid_fraction=0.01)  # 3/300 rows allowed
    summary = _score(binary_model, tmp_path / "in.csv", tmp_path / "out.csv", rules=rules)
    assert dict(summary.warnings) == {
        "age: invalid values within the contract for 300 rows (binomial p-value 0.58 >= "
        "0.0002), scored as they are (text as a missing value): 'thirty' is not a number x1, "
        "'forty' is not a number x1, 'unknown' is not a number x1": 3
    }
    scored = pd.read_csv(tmp_path / "out.csv")
    assert len(scored) == 300 and scored["cid"].iloc[150] == "c00150"


def test_text_in_a_numeric_column_is_invalid_not_missing(binary_model, tmp_path: Path) -> None:
    # 40 rows: 9 NA markers (22.5 %, budget 20 %: within chance) and one 'x' (invalid, within
    # max_invalid_fraction 0.1); the 'x' is not counted as a missing value as well.
    frame = _with_words_in_age(40, {i: "NA" for i in range(9)} | {20: "x"})
    frame.to_csv(tmp_path / "in.csv", index=False)
    rules = ScoringRules(id_columns=("cid",), max_invalid_fraction=0.1)
    summary = _score(binary_model, tmp_path / "in.csv", tmp_path / "out.csv", rules=rules)
    tests = {(t.count.column, t.count.kind): t for t in summary.tests}
    assert tests[("age", "missing")].count.count == 9
    assert tests[("age", "invalid")].count.count == 1
    assert tests[("age", "missing")].p_value == pytest.approx(0.4069, abs=1e-4)
    assert dict(summary.warnings) == {
        "age: 22.5% missing, above max_missing 0.2 but within chance for 40 rows (binomial "
        "p-value 0.41 >= 0.0002)": 9,
        "age: invalid values within the contract for 40 rows (binomial p-value 0.99 >= "
        "0.0002), scored as they are (text as a missing value): 'x' is not a number x1": 1,
    }


def test_a_column_mostly_missing_is_refused_with_the_p_value(binary_model, tmp_path: Path) -> None:
    frame = _with_words_in_age(40, {i: "" for i in range(30)})
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ScoringError) as info:
        _score(binary_model, tmp_path / "in.csv", tmp_path / "out.csv")
    assert re.search(
        r"  - age: 30 missing values in 40 rows \(75\.0%\); the contract expects 20\.0% "
        r"\(max_missing 0\.2 in the schema\), binomial p-value 1\.\de-1\d < 0\.0002: fill "
        r"them, or raise the column's max_missing in the schema",
        str(info.value),
    )
    assert not (tmp_path / "out.csv").exists()


def test_decimal_comma_csv_scores_like_the_typed_table(binary_model, tmp_path: Path) -> None:
    frame = _unlabelled(200)  # float ages: the CSV says '45,0'
    frame.to_csv(tmp_path / "in.csv", index=False, sep=";", decimal=",")
    assert (tmp_path / "in.csv").read_text().splitlines()[1].startswith("c00000;52,0;")
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    comma = CsvConfig(decimal=",")
    _score(
        binary_model, tmp_path / "in.csv", tmp_path / "a.parquet", csv_config=comma, chunk_rows=64
    )
    _score(binary_model, tmp_path / "in.parquet", tmp_path / "b.parquet", chunk_rows=64)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    )
    with pytest.raises(ScoringError) as info:  # the default decimal '.' leaves '45,0' as text
        _score(binary_model, tmp_path / "in.csv", tmp_path / "c.parquet", chunk_rows=64)
    assert (
        "Column(s) age hold numbers written with the decimal mark ',': set data.csv.decimal: "
        "',' in params.yaml."
    ) in str(info.value)
    assert not (tmp_path / "c.parquet").exists()


def test_numbers_with_the_other_decimal_mark_are_named_with_their_count(
    binary_model, tmp_path: Path
) -> None:
    """The review's case: data.csv.decimal ',' but the file writes '52.0'. The violation said
    "values that are not numbers, e.g. [] (0 rows)"; it names the values and counts them."""
    _unlabelled(50).to_csv(tmp_path / "in.csv", index=False, sep=";")
    with pytest.raises(ScoringError) as info:
        _score(
            binary_model,
            tmp_path / "in.csv",
            tmp_path / "out.parquet",
            csv_config=CsvConfig(decimal=","),
        )
    message = str(info.value)
    assert re.search(
        r"age: type numeric — numbers kept as text, e\.g\. \['\d\d\.0', '\d\d\.0', '\d\d\.0'\]: "
        r"written with another decimal mark or thousands separator than data\.csv sets "
        r"\(50 rows\)",
        message,
    )
    assert "e.g. []" not in message
    assert "set data.csv.decimal: '.' in params.yaml." in message


def test_rows_with_repeated_ids_are_scored_not_refused(binary_model, tmp_path: Path) -> None:
    # Duplicate ids fail the validate stage (train/test leak); scoring a record twice is fine.
    frame = _unlabelled(20)
    frame = pd.concat([frame, frame.iloc[:5]], ignore_index=True)
    source, output = tmp_path / "in.parquet", tmp_path / "out.csv"
    frame.to_parquet(source, index=False)
    summary = _score(binary_model, source, output)
    out = pd.read_csv(output)
    assert summary.rows == 25 and out["cid"].tolist() == frame["cid"].tolist()
    assert out["cid"].duplicated().sum() == 5 and not summary.warnings


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_output_ids_are_the_input_text(binary_model, tmp_path: Path, suffix: str) -> None:
    """Zero-padded, numeric-looking and blank ids come back exactly as written (stripped)."""
    frame = _unlabelled(150)
    # "000000" read as a number lost its zeros; the last chunk (rows 129-150) has only digits
    # and a blank, which made its ids floats ("100140.0").
    ids = [f"{i:06d}" if i < 128 else str(100000 + i) for i in range(150)]
    ids[7], ids[8], ids[140] = " 000007 ", "", ""  # padded, blank
    source, output = tmp_path / "in.csv", tmp_path / f"out.{suffix}"
    frame.assign(cid=ids).to_csv(source, index=False)
    _score(binary_model, source, output, chunk_rows=64)
    if suffix == "csv":
        out = pd.read_csv(output, dtype=str, keep_default_na=False)
    else:
        out = pd.read_parquet(output).fillna({"cid": ""})
    expected = [i.strip() for i in ids]
    assert out["cid"].tolist() == expected
    assert out["cid"].iloc[[0, 7, 8, 139, 140]].tolist() == ["000000", "000007", "", "100139", ""]


def test_text_columns_are_ids_and_zero_padded_categories() -> None:
    schema = tiny_schema()
    extra = (
        ColumnSpec("zip", "categorical", categories=("00501", "10001")),
        ColumnSpec("floor", "categorical", categories=("0", "1", "12")),
    )
    schema = dataclasses.replace(schema, columns=(*schema.columns, *extra))
    # 'y' too: its classes are the text 'no'/'yes' (see the yes/no test below)
    assert text_columns(schema, ("account",)) == ("account", "cid", "y", "zip")


def _with_words_in_tech(rows: int, words: dict[int, str]) -> pd.DataFrame:
    """Unlabelled rows with the boolean `tech` written as Yes/n text, some cells replaced."""
    frame = _unlabelled(rows)
    frame["tech"] = np.where(frame["tech"], "Yes", "n").astype(object)
    for row, word in words.items():
        frame.loc[row, "tech"] = word
    return frame


def test_a_value_that_is_not_yes_no_is_named_with_its_row_count(
    binary_model, tmp_path: Path
) -> None:
    # The review's wine_new_badbool.csv: one 'maybe' among 50 rows said "dtype string (50 rows)".
    _with_words_in_tech(50, {17: "maybe"}).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ScoringError) as info:
        _score(binary_model, tmp_path / "in.csv", tmp_path / "out.csv")
    message = str(info.value)
    assert (  # an invalid value, not also a missing one (tech has max_missing 0)
        "in.csv (50 rows) breaks the data contract: 1 of 5 budget(s) crossed beyond chance "
        "(one-sided binomial test at predict.contract_alpha 0.001 over 5 tests):\n"
        "  - tech: 1 invalid values in 50 rows (2.0%: 'maybe' is not yes/no x1); the contract "
        "expects 0% (validate.max_invalid_fraction 0), binomial p-value 0 < 0.0002: correct "
        "the text, or leave the cell empty for a missing value;"
    ) in message
    assert not (tmp_path / "out.csv").exists()


def test_values_that_are_not_yes_no_within_max_invalid_fraction_are_scored_as_missing(
    binary_model, tmp_path: Path
) -> None:
    frame = _with_words_in_tech(100, {5: "maybe", 60: "?!"})  # 2 % of the rows
    frame.to_csv(tmp_path / "in.csv", index=False)
    rules = ScoringRules(id_columns=("cid",), max_invalid_fraction=0.02)
    schema = tiny_schema()
    schema = _with_column(schema, dataclasses.replace(schema.column("tech"), max_missing=0.05))
    summary = _score(
        binary_model, tmp_path / "in.csv", tmp_path / "out.csv", schema=schema, rules=rules
    )
    assert dict(summary.warnings) == {
        "tech: invalid values within the contract for 100 rows (binomial p-value 0.6 >= "
        "0.0002), scored as they are (text as a missing value): 'maybe' is not yes/no x1, "
        "'?!' is not yes/no x1": 2
    }
    scored = pd.read_csv(tmp_path / "out.csv")
    typed = _unlabelled(100).astype({"tech": "boolean"})
    typed.loc[[5, 60], "tech"] = pd.NA
    expected = score_frame(binary_model, typed, tiny_spec(tiny_schema()), "binary", ("cid",))
    np.testing.assert_allclose(scored["proba_yes"], expected["proba_yes"], rtol=0, atol=1e-12)


def test_many_values_that_are_not_yes_no_are_named_too(binary_model, tmp_path: Path) -> None:
    # 10 of 50 (below the 95 % that makes a column boolean in ingest): still read as yes/no,
    # the 10 counted as invalid values.
    words = {i: ("maybe", "unknown")[i % 2] for i in range(0, 50, 5)}
    _with_words_in_tech(50, words).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ScoringError) as info:
        _score(binary_model, tmp_path / "in.csv", tmp_path / "out.csv")
    assert (
        "  - tech: 10 invalid values in 50 rows (20.0%: 'maybe' is not yes/no x5, 'unknown' is "
        "not yes/no x5)"
    ) in str(info.value)


@pytest.mark.parametrize("tech", [["1", "0"], ["yes", "yes"]])
def test_a_chunk_of_digits_or_of_one_answer_is_read_as_the_schema_boolean(
    binary_model, tmp_path: Path, tech: list[str]
) -> None:
    # Without the schema "1"/"0" would be numbers and "yes" alone plus a stray value text.
    frame = _unlabelled(40).assign(tech=tech * 20)
    frame.to_csv(tmp_path / "in.csv", index=False)
    _score(binary_model, tmp_path / "in.csv", tmp_path / "out.csv", chunk_rows=10)
    typed = frame.assign(tech=[v in ("1", "yes") for v in frame["tech"]])
    expected = score_frame(binary_model, typed, tiny_spec(tiny_schema()), "binary", ("cid",))
    scored = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(scored["proba_yes"], expected["proba_yes"], rtol=0, atol=1e-12)


def test_categorical_columns_with_yes_no_categories_stay_text() -> None:
    # A column ingest kept as text ('maybe' among Y/n values): a batch must not make it boolean.
    schema = tiny_schema()
    extra = (
        ColumnSpec("organic", "categorical", categories=("Y", "Yes", "maybe", "n", "no")),
        ColumnSpec("sex", "categorical", categories=("F", "M")),
        ColumnSpec("flag", "categorical", categories=("False", "True")),  # a recast boolean
        ColumnSpec("floor", "categorical", categories=("0", "1", "2")),
    )
    schema = dataclasses.replace(schema, columns=(*schema.columns, *extra))
    assert text_columns(schema) == ("cid", "y", "organic", "sex")  # y: classes 'no', 'yes'


def test_a_yes_no_categorical_batch_is_scored_with_its_categories(tmp_path: Path) -> None:
    schema = tiny_schema()
    schema = _with_column(
        schema, ColumnSpec("plan", "categorical", categories=("Y", "maybe", "n"))
    )
    train = tiny_frame(400).assign(plan=(["Y", "n"] * 199) + ["maybe", "maybe"])
    model = fit_model(train, tiny_spec(schema), "y", "binary", TrainConfig())
    batch = _unlabelled(60).assign(plan=["Y", "n"] * 29 + ["maybe", "Y"])
    batch.to_csv(tmp_path / "in.csv", index=False)
    summary = _score(model, tmp_path / "in.csv", tmp_path / "out.csv", schema=schema)
    assert summary.unseen == {} and dict(summary.warnings) == {}
    expected = score_frame(model, batch, tiny_spec(schema), "binary", ("cid",))
    scored = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(scored["proba_yes"], expected["proba_yes"], rtol=0, atol=1e-12)


def _dollars(value: float) -> str:
    return f"${value:,.2f}"  # '$1,200.50'


def _euros(value: float) -> str:  # '1 200,50 €' with non-breaking spaces, as French exports
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",") + "\u00a0€"


@pytest.mark.parametrize(
    ("csv", "written", "first"),
    [
        (CsvConfig(), _dollars, "$1,200.50"),
        (CsvConfig(decimal=",", delimiter=";"), _euros, "1\u00a0200,50\u00a0€"),
    ],
)
def test_currency_amounts_score_like_the_numbers(
    binary_model, tmp_path: Path, csv: CsvConfig, written, first: str
) -> None:
    frame = _unlabelled(200)
    frame["age"] = frame["age"] * 25 + 0.5  # 450.5 .. 2250.5: thousands separators
    frame.loc[0, "age"] = 1200.5
    schema = tiny_schema()
    age = dataclasses.replace(schema.column("age"), integer=False, min=None, max=None)
    schema = _with_column(schema, age)
    text = frame.assign(age=[written(v) for v in frame["age"]])
    assert text["age"].iloc[0] == first
    text.to_csv(tmp_path / "in.csv", index=False, sep=csv.delimiter.replace("auto", ","))
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    summary = _score(
        binary_model,
        tmp_path / "in.csv",
        tmp_path / "a.parquet",
        schema=schema,
        csv_config=csv,
        chunk_rows=64,
    )
    _score(binary_model, tmp_path / "in.parquet", tmp_path / "b.parquet", schema=schema)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    )
    assert summary.normalized["age: currency to number"] == 200


def test_mixed_currencies_in_a_numeric_column_stop_scoring_with_the_fix(
    binary_model, tmp_path: Path
) -> None:
    frame = _unlabelled(50)
    frame["age"] = [f"${v:.0f}" if i % 2 else f"€{v:.0f}" for i, v in enumerate(frame["age"])]
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(ScoringError) as info:
        _score(binary_model, tmp_path / "in.csv", tmp_path / "out.parquet")
    assert "column 'age': its numbers carry different signs ('$' x25, '€' x25)" in str(info.value)
    assert "Convert the values to one currency or unit in the source" in str(info.value)
    assert not (tmp_path / "out.parquet").exists()
