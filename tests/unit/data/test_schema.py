"""The schema contract: inference from data, YAML round trip, and load errors naming the key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mlpipe.config import ConfigError
from mlpipe.data.schema import (
    MAX_CATEGORIES,
    ColumnSpec,
    category_value_text,
    column_hints,
    column_kind,
    dump_schema,
    infer_schema,
    infer_task,
    load_schema,
    missing_labels_warning,
    schema_from_dict,
    schema_to_dict,
)
from support.repo import PROJECT


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["a1", "a2", "a3", "a4"],
            "tenure": [0, 10, 20, 40],
            "charge": [1.5, np.nan, 3.5, 9.5],
            "delta": [-5.0, 0.0, 5.0, 15.0],
            "plan": pd.array(["basic", "premium", None, "basic"], dtype="string"),
            "paperless": [True, False, True, True],
            "signup": pd.to_datetime(["2020-01-01", "2021-06-30", "2022-01-01", "2024-12-31"]),
            "churned": [False, True, False, True],
        }
    )


@pytest.mark.parametrize(
    ("series", "kind"),
    [
        (pd.Series([True, False]), "boolean"),
        (pd.Series(pd.array([True, None], dtype="boolean")), "boolean"),
        (pd.Series(pd.to_datetime(["2020-01-01"])), "datetime"),
        (pd.Series([1, 2]), "numeric"),
        (pd.Series([1.5, np.nan]), "numeric"),
        (pd.Series(["a", "b", "a"]), "categorical"),
        (pd.Series([f"v{i}" for i in range(MAX_CATEGORIES + 1)]), "id"),
    ],
)
def test_column_kind(series: pd.Series, kind: str) -> None:
    assert column_kind(series) == kind


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([True, False, True], "binary"),
        (["yes", "no", None], "binary"),
        ([0, 1, 2, 1], "multiclass"),
        (["a", "b", "c"], "multiclass"),
        ([0.5, 1.5, 2.25, 3.0], "regression"),
        (list(range(30)), "regression"),
    ],
)
def test_infer_task(values: list[object], task: str) -> None:
    assert infer_task(pd.Series(values)) == task


def test_infer_schema_kinds_ranges_categories_and_missing_budgets(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame, "churned", id_columns=("id",))
    assert schema.task == "binary" and schema.classes == (False, True)
    assert schema.column("id") == ColumnSpec(name="id", kind="id")
    # range widened by 10% of the span; never-negative data keeps a 0 floor
    assert schema.column("tenure") == ColumnSpec(
        name="tenure", kind="numeric", integer=True, min=0.0, max=44.0
    )
    assert schema.column("delta").min == -7.0 and schema.column("delta").max == 17.0
    charge = schema.column("charge")
    assert (charge.integer, charge.min, charge.max) == (False, 0.7, 10.3)
    assert charge.max_missing == 0.27  # observed 0.25 + 0.02 slack
    plan = schema.column("plan")
    assert plan.kind == "categorical" and plan.categories == ("basic", "premium")
    assert plan.max_missing == 0.27
    assert schema.column("paperless").kind == "boolean"
    signup = schema.column("signup")
    assert (signup.kind, signup.min, signup.max) == ("datetime", "2020-01-01", "2024-12-31")
    assert schema.features("numeric") == ("tenure", "charge", "delta")
    assert schema.features("boolean") == ("paperless",)  # the target is not a feature


def test_a_target_with_missing_labels_gets_no_budget_and_a_warning(frame: pd.DataFrame) -> None:
    frame["sex"] = pd.array(["f", None, "m", None], dtype="string")
    schema = infer_schema(frame, "sex")
    # observed 0.5 missing: other columns get 0.52, the target 0 (validate needs every label)
    assert schema.column("sex").max_missing == 0.0
    assert missing_labels_warning(frame["sex"]) == (
        "target 'sex' has 2 missing labels; rows without a label cannot be used to train or "
        "evaluate: remove them from the source, or set data.unlabelled: drop (ingest sets them "
        "aside, to score later)"
    )
    assert missing_labels_warning(frame["churned"]) is None


def test_zoned_dates_infer_a_datetime_range() -> None:
    when = pd.date_range("2021-03-27 12:00", periods=3, freq="D", tz="Europe/Berlin")
    frame = pd.DataFrame({"when": when, "y": [True, False, True]})
    spec = infer_schema(frame, "y").column("when")
    assert (spec.kind, spec.min, spec.max) == ("datetime", "2021-03-27", "2021-03-30")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (np.float32(2.0), "2"),
        (-3.0, "-3"),
        (1.5, "1.5"),
        (1, "1"),
        (True, "True"),
        ("1.0", "1.0"),  # text is compared as written
        (float("nan"), "nan"),
        (1e300, "1e+300"),  # beyond exact integers: kept as the float's text
    ],
)
def test_category_value_text(value: object, text: str) -> None:
    assert category_value_text(value) == text


def test_schema_categories_written_as_numbers_compare_by_value() -> None:
    raw = {
        "version": 1,
        "target": "y",
        "task": "binary",
        "columns": {
            "sex": {"kind": "categorical", "categories": [1, 2.0, 2.5, "a"]},
            "y": {"kind": "boolean"},
        },
    }
    assert schema_from_dict(raw).column("sex").categories == ("1", "2", "2.5", "a")
    # inferred from a float column that is categorical by params: the same text
    frame = pd.DataFrame({"sex": pd.Series([1.0, 2.0, np.nan], dtype=object), "y": [1, 0, 1]})
    assert infer_schema(frame, "y").column("sex").categories == ("1", "2")


def test_infer_schema_with_explicit_task_and_regression(frame: pd.DataFrame) -> None:
    schema = infer_schema(frame, "charge", task="regression")
    assert schema.task == "regression" and schema.classes is None


def test_infer_schema_unknown_target_lists_the_columns(frame: pd.DataFrame) -> None:
    with pytest.raises(ConfigError) as caught:
        infer_schema(frame, "label")
    assert str(caught.value) == (
        "data.target 'label' is not a column of the data; columns are: [id, tenure, charge, "
        "delta, plan, paperless, signup, churned] (8 columns). Set data.target in params.yaml"
    )


def test_dump_load_round_trip(frame: pd.DataFrame, tmp_path: Path) -> None:
    schema = infer_schema(frame, "churned", id_columns=("id",))
    text = dump_schema(schema)
    assert text.startswith("# Data contract enforced by the validate stage.")
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    assert load_schema(path) == schema
    assert schema_to_dict(load_schema(path)) == yaml.safe_load(text)
    assert schema.rows == len(frame) and f"\nrows: {len(frame)}\n" in text


def test_a_schema_without_rows_still_loads() -> None:
    """Schema files written before `rows` existed: budgets are then tested as they are."""
    raw = _with()
    assert "rows" not in raw
    schema = schema_from_dict(raw)
    assert schema.rows is None and "rows" not in schema_to_dict(schema)


def test_inferred_free_text_id_with_repeats_is_marked_not_unique(tmp_path: Path) -> None:
    many = MAX_CATEGORIES + 10
    names = [f"name {i}" for i in range(many)] + ["name 0"]  # free text: one value repeats
    rows = range(many + 1)
    frame = pd.DataFrame(
        {"note": names, "ref": [f"r{i}" for i in rows], "y": [i % 2 for i in rows]}
    )
    schema = infer_schema(frame, "y")
    assert (schema.column("note").kind, schema.column("note").unique) == ("id", False)
    assert (schema.column("ref").kind, schema.column("ref").unique) == ("id", True)
    text = dump_schema(schema)
    assert "note: {kind: id, unique: false}" in text and "ref: {kind: id}" in text
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    assert load_schema(path) == schema


def test_committed_schema_loads() -> None:
    schema = load_schema(PROJECT / "data" / "schema.yaml")
    assert schema.target == "churned" and schema.task == "binary"
    assert schema.rows == 20000  # generate.rows: the table it was inferred from
    assert schema.column("customer_id").kind == "id"
    assert schema.column("contract").categories == ("month-to-month", "one-year", "two-year")


def test_column_lookup_of_an_unknown_name_raises_key_error(frame: pd.DataFrame) -> None:
    with pytest.raises(KeyError, match="nope"):
        infer_schema(frame, "churned").column("nope")


GOOD = {
    "version": 1,
    "target": "y",
    "task": "binary",
    "columns": {"y": {"kind": "boolean"}, "x": {"kind": "numeric", "min": 0}},
}


def _with(**changes: object) -> dict[str, object]:
    raw = {**GOOD, "columns": {k: dict(v) for k, v in GOOD["columns"].items()}}
    for key, value in changes.items():
        if key.startswith("x_"):
            raw["columns"]["x"][key[2:]] = value  # type: ignore[index]
        else:
            raw[key] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1], "the schema must be a mapping"),
        (
            _with(colums={}),
            "unknown key 'colums'; allowed: classes, columns, rows, target, task, version",
        ),
        (_with(version=2), "'version' must be 1, got 2"),
        (
            _with(task="ranking"),
            "'task' is 'ranking'; allowed values: binary, multiclass, regression",
        ),
        (_with(columns={}), "'columns' must be a non-empty mapping of column name to rules"),
        (_with(columns={"y": "boolean"}), "'columns.y' must be a mapping"),
        (
            _with(x_maximum=3),
            "unknown key 'columns.x.maximum'; allowed: categories, format, integer, kind, max, "
            "max_missing, min, unique, unknown",
        ),
        (_with(x_unique="no"), "'columns.x.unique' must be true or false"),
        (
            _with(x_format="%d/%m/%Y"),
            "'columns.x.format' is for datetime columns: a strftime format such as '%d/%m/%Y', "
            "got '%d/%m/%Y' on a numeric column",
        ),
        (
            _with(x_kind="text"),
            "'columns.x.kind' is 'text'; allowed values: numeric, categorical, boolean, "
            "datetime, id",
        ),
        (_with(x_max_missing=1.5), "'columns.x.max_missing' must be a number in [0, 1]"),
        (_with(x_max_missing="a"), "'columns.x.max_missing' must be a number in [0, 1]"),
        (_with(x_unknown="ignore"), "'columns.x.unknown' must be 'fail' or 'warn'"),
        (_with(target="label"), "'target' is 'label', which is not one of the schema's columns"),
        (_with(rows=0), "'rows' must be a whole number >= 1 (the rows inferred from), got 0"),
        (_with(rows=2.5), "'rows' must be a whole number >= 1 (the rows inferred from), got 2.5"),
        (
            _with(rows=True),
            "'rows' must be a whole number >= 1 (the rows inferred from), got True",
        ),
    ],
)
def test_schema_errors_name_the_key(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        schema_from_dict(raw)
    assert str(caught.value) == message


def test_load_schema_missing_file_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_schema(tmp_path / "schema.yaml")
    assert str(caught.value) == (
        f"{tmp_path / 'schema.yaml'}: schema file not found. Create it with `mlpipe schema "
        "infer` and commit it"
    )


def test_load_schema_prefixes_the_path(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(_with(version=3)))
    with pytest.raises(ConfigError, match=r"schema\.yaml: 'version' must be 1, got 3"):
        load_schema(path)
    path.write_text("columns: [\n")
    with pytest.raises(ConfigError, match=r"schema\.yaml: not valid YAML"):
        load_schema(path)


def test_column_hints_name_empty_constant_and_id_like_columns() -> None:
    n = 150
    frame = pd.DataFrame(
        {
            "rowno": range(n),  # a row number: a distinct whole number in every row
            "empty": [None] * n,
            "constant": ["a"] * n,
            "x": [i % 7 + 0.5 for i in range(n)],
            "code": range(1000, 1000 + n),  # declared an id in params: no hint
            "y": [i % 2 for i in range(n)],
        }
    )
    schema = infer_schema(frame, "y", "auto", id_columns=("code",))
    assert column_hints(frame, schema, ("code",)) == [
        "column 'rowno' holds a different whole number in every row, like a row number or an "
        "id: if it is one, add it to data.id_columns (as a feature it can leak the order of "
        "the rows)",
        "column 'empty' is empty (no values in any row): drop it from the source",
        "column 'constant' has one value ('a') in every row: it cannot help the model; drop it "
        "from the source",
    ]
    assert column_hints(frame.head(50), infer_schema(frame.head(50), "y", "auto"), ()) == [
        "column 'empty' is empty (no values in any row): drop it from the source",
        "column 'constant' has one value ('a') in every row: it cannot help the model; drop it "
        "from the source",
    ]  # 50 rows: too few to call distinct numbers an id


FREE_TEXT_HINT = (
    "column 'comment' has {d} distinct texts in {n} rows: looks like free text or an "
    "identifier, not a category; set kind: id for it in the schema (or add it to "
    "data.id_columns) or drop it from the source"
)


def test_a_text_column_with_a_value_in_nearly_every_row_is_named_as_free_text() -> None:
    """The user review's case: 178 distinct sentences in 178 rows became a 178-category
    feature without a word (a 250-row table makes it kind: id)."""
    n = 60
    frame = pd.DataFrame(
        {
            "comment": [f"note {i}: the client called" for i in range(n)],
            "plan": ["basic", "premium", "gold"] * (n // 3),
            "y": [i % 2 for i in range(n)],
        }
    )
    schema = infer_schema(frame, "y", "auto")
    assert schema.column("comment").kind == "categorical"  # the kind alone says nothing
    assert column_hints(frame, schema) == [FREE_TEXT_HINT.format(d=60, n=60)]
    # 90% distinct: still free text; 85%: categories that repeat; 20 rows: too few to tell
    ninety = frame.assign(comment=[f"c{i % 54}" for i in range(n)])
    assert column_hints(ninety, infer_schema(ninety, "y", "auto")) == [
        FREE_TEXT_HINT.format(d=54, n=60)
    ]
    repeats = frame.assign(comment=[f"c{i % 51}" for i in range(n)])
    assert column_hints(repeats, infer_schema(repeats, "y", "auto")) == []
    small = frame.head(20)
    assert column_hints(small, infer_schema(small, "y", "auto")) == []
    # numbers or dates kept as text (their own hints in ingest / split) are not free text
    for texts in ([f"{i},5" for i in range(n)], [f"{i % 28 + 1:02d}/01/2020" for i in range(n)]):
        as_text = frame.assign(comment=texts)
        assert column_hints(as_text, infer_schema(as_text, "y", "auto")) == []
    # declared an id in params: no hint
    assert (
        column_hints(
            frame, infer_schema(frame, "y", "auto", id_columns=("comment",)), ("comment",)
        )
        == []
    )


def test_values_that_differ_only_in_case_or_spaces_are_named_for_target_and_categories() -> None:
    """The user review's case: 'Barolo', 'BAROLO', 'barolo' became 9 classes of 3 cultivars."""
    cultivar = ["Barolo", "BAROLO", "barolo", " Barolo", "Barbera", "BARBERA", "Grignolino"] * 6
    region = ["Piemonte", "PIEMONTE", "Toscana", "toscana", "Veneto", "Veneto", "Veneto"] * 6
    frame = pd.DataFrame({"cultivar": cultivar, "region": region, "x": np.arange(42, dtype=float)})
    schema = infer_schema(frame, "cultivar", "auto")
    assert schema.task == "multiclass" and len(schema.classes) == 7  # of 3 cultivars
    assert column_hints(frame, schema) == [
        "the target 'cultivar' has values that differ only in letter case or surrounding "
        "spaces: 'BARBERA', 'Barbera'; ' Barolo', 'BAROLO', 'Barolo', 'barolo'. Each spelling "
        "is a separate class: write each value one way in the source (then run `mlpipe schema "
        "infer` again)",
        "column 'region' has values that differ only in letter case or surrounding spaces: "
        "'PIEMONTE', 'Piemonte'; 'Toscana', 'toscana'. Each spelling is a separate category: "
        "write each value one way in the source (then run `mlpipe schema infer` again)",
    ]
    clean = frame.assign(
        cultivar=frame["cultivar"].str.strip().str.title(),
        region=frame["region"].str.title(),
    )
    assert column_hints(clean, infer_schema(clean, "cultivar", "auto")) == []


def test_many_case_variant_groups_are_cut_after_five() -> None:
    names = [f"{c}x" for c in "abcdefg"]
    values = [v for name in names for v in (name, name.upper())] * 3
    frame = pd.DataFrame({"c": values, "y": [i % 2 for i in range(len(values))]})
    (hint,) = column_hints(frame, infer_schema(frame, "y", "auto"))
    assert hint.startswith(
        "column 'c' has values that differ only in letter case or surrounding spaces: "
        "'AX', 'ax'; 'BX', 'bx'; 'CX', 'cx'; 'DX', 'dx'; 'EX', 'ex'; and 2 more group(s). "
    )
