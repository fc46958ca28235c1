"""Numbers stored as text: thousands separators, the 95 % rule, and numbers that are not what
they look like: "1,535" / "0,432" (decimal comma or thousands?), codes with leading zeros
("00123") and id columns, which ingest keeps as text as written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpipe.config import CsvConfig
from mlpipe.data.ingest import (
    NormalizeReport,
    convert_chunk,
    iter_source,
    normalize,
    normalize_chunks,
    read_source,
    report_notes,
    report_warnings,
)

NA = CsvConfig().na_values
CHUNK_SIZES = [1, 2, 3, 7, 40]


def test_thousands_separators_become_numbers() -> None:
    raw = pd.DataFrame({"total": ["1,234.50", "999", "12,000", "7.25"]})
    out, report = normalize(raw, NA)
    assert out["total"].tolist() == [1234.5, 999.0, 12000.0, 7.25]
    assert out["total"].dtype == np.float64
    assert report.thousands == {"total": 2}


def test_a_rare_unparseable_value_in_a_number_column_becomes_missing() -> None:
    values = [str(i) for i in range(40)] + ["12abc"]
    out, report = normalize(pd.DataFrame({"n": values}), NA)
    assert out["n"].isna().sum() == 1 and out["n"].iloc[0] == 0
    assert report.unparsed_numeric == {"n": 1}


def test_mostly_text_column_stays_text() -> None:
    raw = pd.DataFrame({"code": ["A1", "B2", "3", "C4"]})
    out, report = normalize(raw, NA)
    assert out["code"].tolist() == ["A1", "B2", "3", "C4"]
    assert report.as_dict()["thousands_separator_to_number"] == {}


def test_text_in_a_numeric_column_within_the_tolerated_share_becomes_missing() -> None:
    values = [str(i) for i in range(40)] + ["n/a-ish"]
    table, report = normalize(pd.DataFrame({"x": values}), NA)
    assert table["x"].isna().sum() == 1
    assert report.unparsed_numeric == {"x": 1}


def test_text_beyond_the_tolerated_share_keeps_the_column_as_text() -> None:
    values = [str(i) for i in range(10)] + ["unknown"] * 3
    table, report = normalize(pd.DataFrame({"x": values}), NA)
    assert table["x"].tolist()[-1] == "unknown"
    assert report.unparsed_numeric == {}


def _types(frame: pd.DataFrame) -> dict[str, str]:
    return {c: str(t) for c, t in frame.dtypes.items()}


def test_three_decimal_commas_in_a_semicolon_file_are_not_multiplied_by_1000(
    tmp_path: Path,
) -> None:
    # The review's three.csv: weight_kg was read as int64 432, 1535, 50 with no warning.
    path = tmp_path / "three.csv"
    path.write_text("id;weight_kg;price;y\n1;0,432;8,59;1\n2;1,535;8,60;0\n3;0,050;1,00;1\n")
    table, report = normalize(read_source(path, CsvConfig()), NA)
    assert _types(table) == {"id": "int64", "weight_kg": "string", "price": "string", "y": "int64"}
    assert table["weight_kg"].tolist() == ["0,432", "1,535", "0,050"]
    assert report.thousands == {} and report.ambiguous == {}
    assert report_warnings(report) == [
        "column(s) weight_kg, price hold numbers written with the decimal mark ',' but "
        "data.csv.decimal is '.', so they stay text (categorical). Set data.csv.decimal: ',' "
        "in params.yaml"
    ]
    fixed, fixed_report = normalize(read_source(path, CsvConfig(decimal=",")), NA, decimal=",")
    assert fixed["weight_kg"].tolist() == [0.432, 1.535, 0.05]
    assert fixed["price"].tolist() == [8.59, 8.6, 1.0]
    assert report_warnings(fixed_report) == []


def test_a_column_of_only_one_group_values_is_read_with_thousands_and_a_warning() -> None:
    # data.csv.thousands: auto, decimal '.': ',' between digit groups can only separate
    # thousands, but "1,535" could be a decimal comma in a file whose decimal setting is wrong.
    raw = pd.DataFrame({"weight_kg": ["1,535", "2,001", "950", "NA"]})
    table, report = normalize(raw, NA)
    assert str(table["weight_kg"].dtype) == "float64"
    assert table["weight_kg"].tolist()[:3] == [1535.0, 2001.0, 950.0]
    assert report.thousands == {"weight_kg": 2} and report.ambiguous == {}
    assert report.assumed_thousands == {"weight_kg": ("1,535", "2,001")}
    assert report_warnings(report) == [
        "column 'weight_kg': values like '1,535', '2,001' were read with ',' separating "
        "thousands ('1,535' is 1535, not 1.535): data.csv.decimal is '.' and "
        "data.csv.thousands is auto. If ',' is the decimal mark of this file set "
        "data.csv.decimal: ',' in params.yaml; if it separates thousands set "
        "data.csv.thousands: ',' to say so (no warning then)"
    ]


def test_an_explicit_thousands_separator_reads_one_groups_without_a_warning() -> None:
    raw = pd.DataFrame({"amount": ["30,200", "1,535", "950"]})
    table, report = normalize(raw, NA, thousands=",")
    assert table["amount"].tolist() == [30200, 1535, 950]
    assert str(table["amount"].dtype) == "int64"
    assert report.as_dict()["thousands_separator_to_number"] == {"amount": 2}
    assert report_warnings(report) == [] and report.assumed_thousands == {}


def test_one_groups_stay_text_when_another_column_uses_the_other_decimal_mark() -> None:
    # "0,432" in another column shows the file writes decimals with ',': "1,535" may be 1.535.
    raw = pd.DataFrame({"weight_kg": ["1,535", "2,001", "950"], "price": ["0,5", "8,59", "1"]})
    table, report = normalize(raw, NA)
    assert table["weight_kg"].tolist() == ["1,535", "2,001", "950"]
    assert report.ambiguous == {"weight_kg": ("1,535", "2,001")}
    assert report.other_decimal == ("price",)
    assert report_warnings(report)[1] == (
        "column 'weight_kg': values like '1,535', '2,001' have one ',' group and no decimal "
        "part: '1,535' is 1535 if ',' separates thousands, or 1.535 if ',' is the decimal mark, "
        "and column(s) price use ',' as the decimal mark. The column stays text rather than "
        "risk a factor of 1000. If ',' is the decimal mark set data.csv.decimal: ',' in "
        "params.yaml; if it separates thousands set data.csv.thousands: ','"
    )
    # Saying which character separates thousands settles it.
    explicit, explicit_report = normalize(raw, NA, thousands=",")
    assert explicit["weight_kg"].tolist() == [1535, 2001, 950]
    assert explicit_report.ambiguous == {}


def test_the_same_ambiguity_with_a_decimal_comma_names_the_dot() -> None:
    table, report = normalize(pd.DataFrame({"w": ["1.535", "7"]}), NA, decimal=",")
    assert table["w"].tolist() == [1535, 7]
    assert report_warnings(report)[0].startswith(
        "column 'w': values like '1.535' were read with '.' separating thousands ('1.535' is "
        "1535, not 1.535): data.csv.decimal is ',' and data.csv.thousands is auto."
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1,234", "12,345,678", "5"], [1234, 12345678, 5]),  # another value has two groups
        (["1,234", "1,234.5", "5"], [1234.0, 1234.5, 5.0]),  # ... a decimal part
        (["1,234", "7.25", "5"], [1234.0, 7.25, 5.0]),  # '.' is the decimal mark here
        (["0", "0.5", "12"], [0.0, 0.5, 12.0]),  # "0" and "0.5" are not leading zeros
    ],
)
def test_thousands_next_to_unambiguous_numbers_stay_numbers(
    values: list[str], expected: list[float]
) -> None:
    table, report = normalize(pd.DataFrame({"n": values}), NA)
    assert table["n"].tolist() == expected
    assert report_warnings(report) == [] and report_notes(report) == []


def test_a_zero_first_group_is_never_a_thousands_number() -> None:
    # 39 integers and one "0,432": numeric, and "0,432" is not a number (was read as 432).
    raw = pd.DataFrame({"n": [str(i) for i in range(39)] + ["0,432"]})
    table, report = normalize(raw, NA)
    assert str(table["n"].dtype) == "float64" and pd.isna(table["n"].iloc[-1])
    assert table["n"].iloc[:3].tolist() == [0.0, 1.0, 2.0]
    assert report.unparsed_numeric == {"n": 1} and report.unparsed_examples == {"n": ("0,432",)}


def test_numbers_with_leading_zeros_stay_text_with_a_note() -> None:
    raw = pd.DataFrame({"zip": ["00501", "10001", " 02134 ", ""], "n": ["1", "2", "3", "4"]})
    table, report = normalize(raw, NA)
    assert _types(table) == {"zip": "string", "n": "int64"}
    assert table["zip"].tolist()[:3] == ["00501", "10001", "02134"]
    assert pd.isna(table["zip"].iloc[3])
    assert report.leading_zeros == {"zip": ("00501", "02134")}
    assert report_notes(report) == [
        "column 'zip': kept as text because its numbers have leading zeros, e.g. '00501', "
        "'02134' (a code such as a zip or account number; converting would drop the zeros)"
    ]
    assert report_warnings(report) == []


def test_id_columns_are_kept_as_written() -> None:
    raw = pd.DataFrame(
        {
            "rid": ["000001", " 21 ", "", "7", "yes"],
            "seq": ["1", "2", "", "4", "5"],
            "day": ["2024-01-01"] * 5,
        }
    )
    table, report = normalize(raw, NA, keep_text=("rid", "seq", "day"))
    assert _types(table) == {"rid": "string", "seq": "string", "day": "string"}
    assert table["rid"].tolist()[:2] == ["000001", "21"] and pd.isna(table["rid"].iloc[2])
    assert table["seq"].dropna().tolist() == ["1", "2", "4", "5"]  # not 1.0, 2.0 ... floats
    assert report.stripped == {"rid": 1} and report.to_missing == {"rid": 1, "seq": 1}
    assert report.leading_zeros == {} and report_notes(report) == []
    # Without keep_text the same columns are converted: the keep is what protects them.
    converted, _ = normalize(raw, NA)
    assert _types(converted) == {"rid": "string", "seq": "float64", "day": "datetime64[s]"}


def _late_evidence() -> pd.DataFrame:
    """40 rows; the value that decides each column comes last (or first)."""
    ints = [str(i + 100) for i in range(40)]
    return pd.DataFrame(
        {
            "grouped_then_clear": ["1,234", *ints[1:39], "12,345,678"],  # int64
            "grouped_only": [*ints[:39], "1,535"],  # int64, read with thousands (warning)
            "zero_late": [*ints[:39], "00123"],  # text, leading zeros
            "zero_comma_late": [*ints[:39], "0,432"],  # float64, last value missing
            "rid": [f"{i:06d}" if i else "" for i in range(40)],  # id: text
        }
    )


def test_whole_table_decisions_with_late_evidence() -> None:
    table, report = normalize(_late_evidence(), NA, keep_text=("rid",))
    assert _types(table) == {
        "grouped_then_clear": "int64",
        "grouped_only": "int64",
        "zero_late": "string",
        "zero_comma_late": "float64",
        "rid": "string",
    }
    assert table["grouped_then_clear"].iloc[[0, -1]].tolist() == [1234, 12345678]
    assert table["grouped_only"].iloc[-1] == 1535
    assert table["zero_late"].iloc[[0, -1]].tolist() == ["100", "00123"]
    assert pd.isna(table["zero_comma_late"].iloc[-1])
    assert table["rid"].iloc[1:3].tolist() == ["000001", "000002"]
    assert report.assumed_thousands == {"grouped_only": ("1,535",)} and report.ambiguous == {}
    assert report.leading_zeros == {"zero_late": ("00123",)}


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_chunked_decisions_equal_the_whole_table(size: int) -> None:
    raw = _late_evidence()
    whole, whole_report = normalize(raw, NA, keep_text=("rid",))
    chunks = [raw.iloc[start : start + size] for start in range(0, len(raw), size)]
    plan = normalize_chunks(lambda: iter(chunks), NA, keep_text=("rid",))
    chunked = pd.concat([convert_chunk(c, plan) for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert plan.report == whole_report
    assert report_warnings(plan.report) == report_warnings(whole_report)
    assert report_notes(plan.report) == report_notes(whole_report)


# --- data.csv.thousands, currency and percent signs -------------------------------------------


def _column(values: list[str], **options: object) -> tuple[pd.Series, NormalizeReport]:
    table, report = normalize(pd.DataFrame({"x": values}), NA, **options)  # type: ignore[arg-type]
    return table["x"], report


@pytest.mark.parametrize(
    ("values", "options", "expected"),
    [
        (["30,200", "1,234,567.89", "5"], {}, [30200.0, 1234567.89, 5.0]),
        (["1.234,5", "1 234,5", "7"], {"decimal": ","}, [1234.5, 1234.5, 7.0]),
        # French exports: non-breaking space U+00A0 and narrow no-break space U+202F
        (["1\u00a0234,5", "1\u202f234,5", "7"], {"decimal": ","}, [1234.5, 1234.5, 7.0]),
        (["1 234.5", "2 000 000", "7"], {"thousands": " "}, [1234.5, 2000000.0, 7.0]),
        (["1.234,5", "2.000.000", "7"], {"decimal": ",", "thousands": "."}, [1234.5, 2e6, 7.0]),
    ],
)
def test_thousands_separators_by_setting(
    values: list[str], options: dict, expected: list[float]
) -> None:
    column, report = _column(values, **options)
    assert column.tolist() == expected
    assert report.thousands == {"x": 2}
    assert report_warnings(report) == []


@pytest.mark.parametrize(
    ("values", "options", "setting"),
    [
        (["30,200", "1,500,000", "12"], {"thousands": "none"}, "none"),
        (["1 234,5", "2 000,5", "7"], {"decimal": ",", "thousands": "."}, "."),
        (["1,234.5", "2,000.5", "7"], {"thousands": " "}, " "),
    ],
)
def test_a_separator_the_setting_rejects_keeps_the_column_text_with_a_warning(
    values: list[str], options: dict, setting: str
) -> None:
    column, report = _column(values, **options)
    assert column.tolist() == values
    assert report.rejected_separators == {"x": tuple(values[:2])}
    assert report_warnings(report) == [
        f"column 'x': values like {values[0]!r}, {values[1]!r} separate thousands with a "
        f"character data.csv.thousands ({setting!r}) does not accept, so the column stays text "
        "(categorical). Set data.csv.thousands: auto in params.yaml (or the file's separator)"
    ]


@pytest.mark.parametrize(
    ("values", "thousands"),
    [
        (["1,2345", "1,23,456", "12"], "auto"),  # groups of three digits only
        (["1,234 567", "1,234.567,8", "12"], "auto"),  # one separator per value, one decimal
        (["0,432", "00,123", "12"], ","),  # a first group "0" is never grouped
    ],
)
def test_malformed_groups_are_not_numbers(values: list[str], thousands: str) -> None:
    column, report = _column(values, thousands=thousands)
    assert column.tolist() == values  # 2 of 3 are not numbers: the column stays text
    assert report.thousands == {}


def test_currency_signs_before_and_after_and_accounting_negatives() -> None:
    values = ["$1,200", "$1,200.50", "-$5.00", "$-7", "($3.50)", "$ 12"] * 4
    column, report = _column(values)
    assert column.tolist()[:6] == [1200.0, 1200.5, -5.0, -7.0, -3.5, 12.0]
    assert str(column.dtype) == "float64"
    assert report.as_dict()["currency_to_number"] == {"x": 24}
    assert report.as_dict()["parentheses_to_negative"] == {"x": 4}
    assert report.as_dict()["thousands_separator_to_number"] == {"x": 8}
    assert report_warnings(report) == []
    assert report_notes(report) == [
        "column 'x': 24 value(s) with '$' read as numbers without the sign (amounts in that "
        "currency; values in parentheses are negative)"
    ]


@pytest.mark.parametrize(
    ("values", "options", "expected"),
    [
        (
            ["€ 1.200,50", "1.200,50 €", "€3", "(€ 2,5)"],
            {"decimal": ","},
            [1200.5, 1200.5, 3, -2.5],
        ),
        (["£1,200", "£0.99", "-£4", "£7"], {}, [1200.0, 0.99, -4.0, 7.0]),
        (["¥1,200", "¥3", "¥-4", "¥1,234,567"], {}, [1200, 3, -4, 1234567]),
        (["1 200,50\u00a0€", "3 €", "4,5 €", "7 €"], {"decimal": ","}, [1200.5, 3, 4.5, 7]),
    ],
)
def test_each_currency_sign_is_read(values: list[str], options: dict, expected: list) -> None:
    column, report = _column(values, **options)
    assert column.tolist() == expected
    assert report.currency == {"x": 4} and report_warnings(report) == []


def test_percent_values_keep_the_unit_they_show() -> None:
    column, report = _column(["12%", "7.5 %", "100%", "-3%"])
    assert column.tolist() == [12.0, 7.5, 100.0, -3.0]  # 12% is 12, not 0.12
    assert report.as_dict()["percent_to_number"] == {"x": 4}
    assert report_notes(report) == [
        "column 'x': 4 value(s) with '%' read as numbers as written: '12%' is 12, not 0.12 "
        "(the column keeps the unit it shows)"
    ]


def test_a_column_mixing_currencies_stays_text_with_a_warning() -> None:
    values = ["$5", "$6", "€4", "$7"]
    column, report = _column(values)
    assert column.tolist() == values
    assert report.currency == {}
    assert report_warnings(report) == [
        "column 'x': its numbers carry different signs ('$' x3, '€' x1), e.g. '$5', '$6', "
        "'€4', '$7', so it stays text (categorical): a column holds one unit. Convert the "
        "values to one currency or unit in the source, or split the column"
    ]


def test_currency_and_percent_in_one_column_stay_text() -> None:
    column, report = _column(["$5", "12%", "$7"])
    assert column.tolist() == ["$5", "12%", "$7"]
    assert report.mixed_signs["x"][0] == (("$", 2), ("%", 1))


def test_a_sign_on_a_minority_of_numbers_keeps_the_column_text() -> None:
    values = [str(i) for i in range(20)] + ["$5", "$6"]
    column, report = _column(values)
    assert column.tolist() == values
    assert report_warnings(report) == [
        "column 'x': only 2 of its 22 numbers carry '$', e.g. '$5', '$6', so it stays text "
        "(categorical) rather than guess the unit of the others (a sign must be on at least "
        "95% of them). Write every value of the column with the sign, or none"
    ]


def test_a_sign_on_95_percent_of_the_numbers_is_enough() -> None:
    column, report = _column([f"${i}" for i in range(19)] + ["0"])
    assert column.tolist() == [*range(19), 0]
    assert report.currency == {"x": 19}


@pytest.mark.parametrize("value", ["$5$", "(-5)", "--5", "5-", "$", "%5", "US$5", "5 USD", "$(5)"])
def test_values_that_only_look_like_money_are_not_numbers(value: str) -> None:
    column, report = _column([str(i) for i in range(40)] + [value])
    assert pd.isna(column.iloc[-1])
    assert report.unparsed_examples == {"x": (value,)}


def test_ids_and_leading_zero_codes_with_thousands_stay_text() -> None:
    raw = pd.DataFrame({"rid": ["1,234", "5,678", "9"], "zip": ["00123", "1,234", "7"]})
    table, report = normalize(raw, NA, keep_text=("rid",))
    assert table["rid"].tolist() == ["1,234", "5,678", "9"]
    assert table["zip"].tolist() == ["00123", "1,234", "7"]
    assert report.leading_zeros == {"zip": ("00123",)}


def _money() -> pd.DataFrame:
    """40 rows; the sign, group or mix that decides each column comes late."""
    ints = [str(i + 100) for i in range(40)]
    return pd.DataFrame(
        {
            "dollars": [f"${i:,}" for i in range(990, 1030)],  # float: currency, thousands
            "rates": [f"{i}%" for i in range(39)] + ["(4%)"],  # int: percent, one negative
            "mixed_late": [f"${i}" for i in range(39)] + ["€5"],  # text: two currencies
            "minority_late": [*ints[:37], "$1", "$2", "$3"],  # text: sign on 3 of 40
            "grouped_late": [*ints[:39], "30,200"],  # int: thousands in the last row
        }
    )


@pytest.mark.parametrize("size", CHUNK_SIZES)
def test_chunked_signs_and_separators_equal_the_whole_table(size: int) -> None:
    raw = _money()
    whole, whole_report = normalize(raw, NA)
    assert {c: str(t) for c, t in whole.dtypes.items()} == {
        "dollars": "int64",
        "rates": "int64",
        "mixed_late": "string",
        "minority_late": "string",
        "grouped_late": "int64",
    }
    assert whole["dollars"].iloc[[0, -1]].tolist() == [990, 1029]
    assert whole["rates"].iloc[-1] == -4 and whole["grouped_late"].iloc[-1] == 30200
    chunks = [raw.iloc[start : start + size] for start in range(0, len(raw), size)]
    plan = normalize_chunks(lambda: iter(chunks), NA)
    chunked = pd.concat([convert_chunk(c, plan) for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    assert plan.report == whole_report
    assert report_warnings(plan.report) == report_warnings(whole_report)
    assert report_notes(plan.report) == report_notes(whole_report)


@pytest.mark.parametrize("size", [1, 7, 40])
def test_chunked_csv_with_money_equals_the_whole_table(tmp_path: Path, size: int) -> None:
    path = tmp_path / "money.csv"
    _money().to_csv(path, index=False)  # quoted: "$1,000" holds the delimiter
    whole, _ = normalize(read_source(path, CsvConfig()), NA)
    plan = normalize_chunks(lambda: iter_source(path, CsvConfig(), size), NA)
    chunked = [convert_chunk(c, plan) for c in iter_source(path, CsvConfig(), size)]
    pd.testing.assert_frame_equal(pd.concat(chunked, ignore_index=True), whole)
    assert whole["dollars"].iloc[10] == 1000
