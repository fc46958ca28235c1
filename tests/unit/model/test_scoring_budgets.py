"""The data contract at scoring time: healthy batches pass at the promised rate, real shifts
are refused, and `predict.bad_rows: skip` sets broken rows aside.

The refusal-rate tests draw seeded batches (with replacement) from real training tables: the
embedded generator's churn data with the committed schema, and palmerpenguins (real missing
values in sex and the measurements). A batch from that table comes from a population within
every budget, so the statistical rule must refuse at most ``contract_alpha`` of them; the exact
rule of the validate stage, applied to the same batches, refuses many (the issue's bug).
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlpipe.config import CsvConfig
from mlpipe.data.generate import generate_churn
from mlpipe.data.schema import Schema, infer_schema, load_schema
from mlpipe.data.validate import validate_table
from mlpipe.model.features import feature_spec
from mlpipe.model.scoring import (
    ScoringError,
    ScoringRules,
    ScoringSummary,
    check_budgets,
    check_chunk,
    normalize_batch,
    rejected_path,
    score_file,
    score_frame,
)
from support.tiny import tiny_frame, tiny_model, tiny_schema, tiny_spec

PROJECT = Path(__file__).resolve().parents[3]
# 100 batches per size: the tolerance below (one in a million) then allows at most 18 of 100
# at alpha 0.05 and 4 at 0.001, and a rule refusing a quarter of healthy batches (as the exact
# rule does under the tightest budgets) still fails the check with probability 0.94.
BATCHES = 100
SIZES = (20, 100, 1000)
CSV = CsvConfig()


@pytest.fixture(scope="module")
def churn() -> tuple[pd.DataFrame, Schema]:
    """The default pipeline's data (generate.rows 20000, seed 42) and its committed schema."""
    schema = load_schema(PROJECT / "data" / "schema.yaml")
    return generate_churn(schema.rows or 20000, 42), schema


@pytest.fixture(scope="module")
def penguins() -> tuple[pd.DataFrame, Schema]:
    """palmerpenguins with the schema `mlpipe schema infer` writes for it."""
    from palmerpenguins import load_penguins

    frame = load_penguins()
    return frame, infer_schema(frame, "species")


def _check(batch: pd.DataFrame, schema: Schema, rules: ScoringRules, raw=None, changes=None):
    """The checks `mlpipe predict` runs on a batch in one chunk; the summary, or the error."""
    summary = ScoringSummary()
    try:
        check_chunk(batch, schema, feature_spec(schema), rules, "batch", summary, changes, raw)
        check_budgets(summary, schema, rules, "batch")
    except ScoringError as error:
        return error
    return summary


def _refusal_counts(
    table: pd.DataFrame,
    schema: Schema,
    size: int,
    seed: int,
    alphas: tuple[float, ...],
    exact_rule: bool = True,
) -> tuple[dict[float, int], int | None]:
    """Out of BATCHES seeded batches of ``size`` rows drawn (with replacement) from ``table``:
    how many `mlpipe predict`'s checks refuse at each ``contract_alpha``, and how many the
    exact rule of the validate stage refuses (None when ``exact_rule`` is off: it is a quarter
    of the cost, so it runs only where a test asserts on it)."""
    ids = tuple(c.name for c in schema.columns if c.kind == "id")
    rules = ScoringRules(id_columns=ids, unknown_categories="fail")
    rng = np.random.default_rng(seed)
    refused = dict.fromkeys(alphas, 0)
    exact = 0
    for _ in range(BATCHES):
        batch = table.iloc[rng.integers(0, len(table), size)].reset_index(drop=True)
        summary = ScoringSummary()
        check_chunk(batch, schema, feature_spec(schema), rules, "batch", summary)
        for alpha in alphas:  # the budget test on the same counts, at each level
            try:
                check_budgets(summary, schema, replace(rules, contract_alpha=alpha), "batch")
            except ScoringError:
                refused[alpha] += 1
        if exact_rule:
            exact += bool(
                validate_table(batch, schema, require_target=False, check_duplicates=False).errors
            )
    return refused, exact if exact_rule else None


def _at_most(alpha: float) -> int:
    """The most refusals out of BATCHES a refusal rate of ``alpha`` explains (one in a million
    seeds would see more): the test's tolerance, so it is not flaky."""
    return int(stats.binom.isf(1e-6, BATCHES, alpha))


@pytest.mark.slow
@pytest.mark.parametrize("data", ["churn", "penguins"])
def test_batches_of_training_data_are_refused_at_most_at_the_level(
    request: pytest.FixtureRequest, data: str
) -> None:
    table, schema = request.getfixturevalue(data)
    exact = {}
    for seed, size in enumerate(SIZES):
        refused, exact[size] = _refusal_counts(
            table, schema, size, seed, (0.001, 0.05), exact_rule=size == 20
        )
        assert refused[0.001] <= _at_most(0.001), (size, refused)
        assert refused[0.05] <= _at_most(0.05), (size, refused)
    # The same batches under the exact rule (what predict did): small ones fail at random.
    assert exact[20] > BATCHES / 10, exact


@pytest.mark.slow
def test_the_tightest_budgets_a_sample_allows_still_hold_the_level(
    penguins: tuple[pd.DataFrame, Schema],
) -> None:
    """Budgets equal to the training shares (no slack): the exact rule refuses a large share
    of the batches of every size, the binomial test still at most alpha of them."""
    table, _ = penguins
    schema = infer_schema(table, "species", missing_slack=0.0)
    assert schema.column("sex").max_missing == pytest.approx(11 / 344, abs=1e-4)
    for seed, size in enumerate(SIZES):
        refused, exact = _refusal_counts(table, schema, size, seed, (0.05,))
        assert refused[0.05] <= _at_most(0.05), size
        assert exact > BATCHES / 4, (size, exact)


def _shifted(churn: tuple[pd.DataFrame, Schema], seed: int = 7) -> pd.DataFrame:
    table, _ = churn
    rows = np.random.default_rng(seed).integers(0, len(table), 100)
    return table.iloc[rows].reset_index(drop=True)


def test_a_column_30_percent_missing_is_refused(churn) -> None:
    _, schema = churn
    batch = _shifted(churn)
    assert schema.column("total_charges").max_missing == 0.05  # 1.8 % seen
    batch.loc[: 29 + int(batch["total_charges"].isna().sum()), "total_charges"] = np.nan
    missing = int(batch["total_charges"].isna().sum())
    assert missing >= 30
    error = _check(batch, schema, ScoringRules(id_columns=("customer_id",)))
    assert isinstance(error, ScoringError)
    assert f"  - total_charges: {missing} missing values in 100 rows ({missing}.0%); the " in (
        str(error)
    )
    assert "the contract expects 5.0% (max_missing 0.05 in the schema, at most 5.5% for a " in (
        str(error)
    )
    assert "binomial p-value" in str(error) and "No output was written" in str(error)


def test_a_column_missing_entirely_is_refused(churn) -> None:
    _, schema = churn
    batch = _shifted(churn)
    empty = _check(batch.assign(plan=None), schema, ScoringRules(id_columns=("customer_id",)))
    assert isinstance(empty, ScoringError)
    assert "  - plan: 100 missing values in 100 rows (100.0%); the contract expects 0% " in (
        str(empty)
    )
    absent = _check(batch.drop(columns="plan"), schema, ScoringRules())
    assert isinstance(absent, ScoringError)
    assert "plan: column present — column is missing (100 rows)" in str(absent)


def test_text_in_a_numeric_column_is_refused(churn) -> None:
    """Through the CSV path: 10 of 100 tenures as words (ingest would keep such a column as
    text; scoring reads it as numbers and counts the words as invalid values)."""
    _, schema = churn
    batch = _shifted(churn).astype({"tenure_months": object})
    batch.loc[range(0, 100, 10), "tenure_months"] = "a few months"
    raw = batch.astype(str).replace({"nan": "", "<NA>": "", "NaT": ""})
    frame, changes = normalize_batch(raw, schema, CSV, ("customer_id",))
    error = _check(frame, schema, ScoringRules(id_columns=("customer_id",)), raw, changes)
    assert isinstance(error, ScoringError), error
    assert (
        "  - tenure_months: 10 invalid values in 100 rows (10.0%: 'a few months' is not a "
        "number x10)"
    ) in str(error)


def test_out_of_range_values_and_unknown_categories_are_refused_in_number(churn) -> None:
    _, schema = churn
    batch = _shifted(churn)
    batch.loc[:19, "monthly_charges"] = 5000.0
    batch["plan"] = batch["plan"].astype(object)
    batch.loc[50:79, "plan"] = "platinum"
    error = _check(batch, schema, ScoringRules(id_columns=("customer_id",)))
    assert isinstance(error, ScoringError)
    assert "  - monthly_charges: 20 invalid values in 100 rows (20.0%: 5000 > max 1000 x20)" in (
        str(error)
    )
    assert "plan" not in str(error)  # unknown_categories: warn scores them as unknown
    strict = ScoringRules(id_columns=("customer_id",), unknown_categories="fail")
    error = _check(batch, schema, strict)
    assert "  - plan: 30 invalid values in 100 rows (30.0%: unknown category 'platinum' x30)" in (
        str(error)
    )


def test_one_stray_value_in_a_column_never_missing_is_within_chance(churn) -> None:
    """The b = 0 case: no missing tenure in 20 000 training rows; one in a batch is a rare
    event of the same population, not a broken contract (the schema's rows widen the 0)."""
    _, schema = churn
    batch = _shifted(churn)
    batch.loc[3, "tenure_months"] = np.nan
    rules = ScoringRules(id_columns=("customer_id",))
    summary = _check(batch, schema, rules)
    assert isinstance(summary, ScoringSummary), summary
    (test,) = [t for t in summary.tests if t.count.column == "tenure_months" and t.count.count]
    assert test.count.budget == 0.0 and test.tested == pytest.approx(3.45e-4, rel=0.01)
    assert test.p_value == pytest.approx(0.0339, abs=1e-3) and not test.crossed
    # Without the schema's rows (an old schema file) the budget 0 is exact: refused.
    old = _check(batch, dataclasses.replace(schema, rows=None), rules)
    assert isinstance(old, ScoringError)


# --- predict.bad_rows: skip ------------------------------------------------------------------


@pytest.fixture(scope="module")
def binary_model():
    return tiny_model("binary", max_iter=20)  # a fitted model; its quality is not under test


def _broken_batch(path: Path) -> pd.DataFrame:
    """500 rows as a CSV export, four of them broken in three ways; returns the typed rows."""
    frame = tiny_frame(500, seed=9).drop(columns=["y"])
    text = frame.astype({"age": object, "plan": object})
    text.loc[10, "age"] = "old"
    text.loc[200, "age"] = 250
    text.loc[201, "age"] = 44.5
    text.loc[420, "plan"] = "platinum"
    text.to_csv(path, index=False)
    return frame


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_bad_rows_skip_scores_the_others_and_lists_the_rest(
    binary_model, tmp_path: Path, suffix: str
) -> None:
    frame = _broken_batch(tmp_path / "in.csv")
    schema = dataclasses.replace(tiny_schema(), rows=5000)
    rules = ScoringRules(id_columns=("cid",), unknown_categories="fail", bad_rows="skip")
    output = tmp_path / f"scores.{suffix}"
    summary = score_file(
        binary_model,
        tmp_path / "in.csv",
        output,
        schema=schema,
        spec=tiny_spec(schema),
        rules=rules,
        csv_config=CSV,
        chunk_rows=128,
    )
    assert summary.set_aside == 4 and summary.rows == 500
    assert summary.rejected == str(tmp_path / f"scores.rejected.{suffix}")
    read = pd.read_csv if suffix == "csv" else pd.read_parquet
    scores, rejected = read(output), read(rejected_path(output))
    kept = frame.drop(index=[10, 200, 201, 420]).reset_index(drop=True)
    assert scores["cid"].tolist() == kept["cid"].tolist()
    expected = score_frame(binary_model, kept, tiny_spec(schema), "binary", ("cid",))
    np.testing.assert_allclose(scores["proba_yes"], expected["proba_yes"], rtol=0, atol=1e-12)
    assert rejected.to_dict("records") == [
        {"cid": "c00010", "input_row": 11, "reasons": "age: 'old' is not a number"},
        {"cid": "c00200", "input_row": 201, "reasons": "age: 250 > max 90"},
        {"cid": "c00201", "input_row": 202, "reasons": "age: 44.5 is not whole"},
        {"cid": "c00420", "input_row": 421, "reasons": "plan: unknown category 'platinum'"},
    ]
    assert not summary.warnings  # the broken rows are not scored, so nothing to warn about


def test_bad_rows_skip_does_not_depend_on_the_chunk_size(binary_model, tmp_path: Path) -> None:
    _broken_batch(tmp_path / "in.csv")
    schema = dataclasses.replace(tiny_schema(), rows=5000)
    rules = ScoringRules(id_columns=("cid",), unknown_categories="fail", bad_rows="skip")
    for chunk in (16, 10_000):  # 16: one bad value is over 5 % of a chunk
        score_file(
            binary_model, tmp_path / "in.csv", tmp_path / f"s{chunk}.csv", schema=schema,
            spec=tiny_spec(schema), rules=rules, csv_config=CSV, chunk_rows=chunk,
        )  # fmt: skip
    for name in ("s{}.csv", "s{}.rejected.csv"):
        assert (tmp_path / name.format(16)).read_text() == (
            tmp_path / name.format(10_000)
        ).read_text()
    assert len(pd.read_csv(tmp_path / "s16.rejected.csv")) == 4


def test_bad_rows_skip_still_refuses_a_budget_crossed(binary_model, tmp_path: Path) -> None:
    """Column-level failures refuse the file whatever bad_rows says; nothing is written."""
    frame = tiny_frame(100, seed=2).drop(columns=["y"]).astype({"age": object})
    frame.loc[:29, "age"] = "old"
    frame.to_csv(tmp_path / "in.csv", index=False)
    schema = dataclasses.replace(tiny_schema(), rows=5000)
    rules = ScoringRules(id_columns=("cid",), bad_rows="skip")
    with pytest.raises(ScoringError, match=r"age: 30 invalid values in 100 rows \(30\.0%"):
        score_file(
            binary_model, tmp_path / "in.csv", tmp_path / "out.csv", schema=schema,
            spec=tiny_spec(schema), rules=rules, csv_config=CSV, chunk_rows=40,
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_bad_rows_skip_writes_an_empty_side_file_when_no_row_is_broken(
    binary_model, tmp_path: Path
) -> None:
    tiny_frame(30, seed=3).drop(columns=["y"]).to_parquet(tmp_path / "in.parquet")
    rules = ScoringRules(id_columns=("cid",), bad_rows="skip")
    output = tmp_path / "out.parquet"
    (tmp_path / "out.rejected.parquet").write_text("yesterday's rejected rows")
    summary = score_file(
        binary_model, tmp_path / "in.parquet", output, schema=tiny_schema(),
        spec=tiny_spec(tiny_schema()), rules=rules, csv_config=CSV, chunk_rows=10,
    )  # fmt: skip
    assert summary.set_aside == 0 and len(pd.read_parquet(output)) == 30
    side = pd.read_parquet(rejected_path(output))
    assert list(side.columns) == ["cid", "input_row", "reasons"] and side.empty
