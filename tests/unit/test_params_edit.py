"""params.yaml edits: only the keys set change, comments and DVC's writer layout are kept."""

from __future__ import annotations

import pytest
import yaml
from dvc.utils.serialize import dumps_yaml, parse_yaml_for_update

from mlpipe.config import ConfigError, params_from_dict
from mlpipe.params_edit import remove_key, set_keys, unified_diff
from support.repo import PROJECT

PARAMS = (PROJECT / "params.yaml").read_text(encoding="utf-8")
DVC_YAML = (PROJECT / "dvc.yaml").read_text(encoding="utf-8")

SAMPLE = """\
# header comment
a:
  lst:               # eol of lst
  - x
  - y
  # between 1
  # between 2
  nxt: 1
  rules:
  - metric: m
    min: 1
  # after rules
  ds: test           # eol of ds
  opt:               # empty is null
"""


def _line(start: str) -> str:
    """The project's params.yaml line that starts with ``start``."""
    return next(line for line in PARAMS.splitlines() if line.startswith(start))


def _changed_lines(old: str, new: str) -> list[str]:
    return [
        line
        for line in unified_diff(old, new, "p").splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_nothing_set_is_the_same_text() -> None:
    assert set_keys(PARAMS, {}) == PARAMS
    assert set_keys(PARAMS, {"data.target": "churned", "train.seed": 42}) == PARAMS


def test_only_the_lines_of_the_keys_set_change_and_comments_stay() -> None:
    new = set_keys(
        PARAMS,
        {
            "data.source": "data/raw/x.csv",
            "data.id_columns": [],
            "data.date_column": None,
            "data.positive_class": "True",
            "evaluate.slices": ["a", "b"],
        },
    )
    ids = _line("  id_columns:")
    positive = _line("  positive_class:")
    date = _line("  date_column:")
    assert _changed_lines(PARAMS, new) == [
        "-  source: data/raw/churn.parquet         # CSV or Parquet file the ingest stage reads",
        "+  source: data/raw/x.csv                 # CSV or Parquet file the ingest stage reads",
        f"-{positive}",
        f"-{ids}",
        "-  - customer_id",
        f"-{date}",
        "+  positive_class: 'True'" + positive[len("  positive_class: 'True'") :],
        "+  id_columns: []" + ids[len("  id_columns: []") :],
        "+  date_column:" + date[len("  date_column:") :].replace("signup_date", " " * 11, 1),
        "-  - contract",
        "-  - region",
        "-  - plan",
        "+  - a",
        "+  - b",
    ]
    parsed = yaml.safe_load(new)["data"]
    assert parsed["id_columns"] == [] and parsed["date_column"] is None
    assert parsed["positive_class"] == "True"  # text, not a YAML boolean


def test_every_comment_line_survives() -> None:
    new = set_keys(
        PARAMS,
        {
            "data.id_columns": [],
            "evaluate.slices": [],
            "gate.rules": [{"metric": "r2", "min": 0.0, "max_drop": 0.03}],
            "monitor.metrics": ["rmse", "mae", "r2"],
        },
    )
    comments = [line.split("#", 1)[1] for line in PARAMS.splitlines() if "#" in line]
    assert [line.split("#", 1)[1] for line in new.splitlines() if "#" in line] == comments
    assert yaml.safe_load(new)["gate"]["rules"] == [{"metric": "r2", "min": 0.0, "max_drop": 0.03}]
    assert "  rules:\n  - metric: r2\n    min: 0.0\n    max_drop: 0.03\n  dataset: test" in new


def test_the_layout_is_dvcs_own() -> None:
    """What `dvc exp run -S` writes for the same change (DVC's round-trip dumper)."""
    values = {"data.target": "y", "split.method": "random", "data.positive_class": None}
    document = parse_yaml_for_update(PARAMS, "params.yaml")
    for dotted, value in values.items():
        section, key = dotted.split(".")
        document[section][key] = value
    assert set_keys(PARAMS, values) == dumps_yaml(document)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"a.lst": []},
            "a:\n  lst: []            # eol of lst\n  # between 1\n  # between 2\n  nxt: 1\n",
        ),
        ({"a.lst": ["z"]}, "  lst:               # eol of lst\n  - z\n  # between 1\n"),
        ({"a.lst": None}, "  lst:               # eol of lst\n  # between 1\n  # between 2\n"),
        ({"a.rules": []}, "  rules: []\n  # after rules\n  ds: test"),
        (
            {"a.rules": [{"metric": "r2", "min": 0.0}]},
            "  rules:\n  - metric: r2\n    min: 0.0\n  # after rules\n  ds: test",
        ),
        ({"a.opt": ["p", "q"]}, "  opt:               # empty is null\n  - p\n  - q\n"),
        ({"a.ds": None}, "  ds:                # eol of ds\n"),
        ({"a.new": None, "b.x": [1]}, "  new:\nb:\n  x:\n  - 1\n"),
    ],
)
def test_lists_and_nulls_keep_their_comments(values: dict, expected: str) -> None:
    new = set_keys(SAMPLE, values)
    assert expected in new
    assert "# header comment" in new and new.count("#") >= SAMPLE.count("#")
    parsed = yaml.safe_load(new)
    for dotted, value in values.items():
        section, key = dotted.split(".")
        assert parsed[section][key] == value
    assert set_keys(new, values) == new  # idempotent


def test_a_bad_file_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"params\.yaml: not valid YAML"):
        set_keys("a: [1,\n", {"a.b": 1})
    with pytest.raises(ConfigError, match=r"params\.yaml: 'a' \(of a\.b\) must be a mapping"):
        set_keys("a: 1\n", {"a.b": 1})


def test_remove_key_cuts_exactly_the_stage() -> None:
    new = remove_key(DVC_YAML, "stages.generate")
    before, after = yaml.safe_load(DVC_YAML), yaml.safe_load(new)
    del before["stages"]["generate"]
    assert after == before
    removed = _changed_lines(DVC_YAML, new)
    assert removed[0] == "-  generate:" and all(line.startswith("-") for line in removed)
    stage = DVC_YAML.split("  generate:")[1].split("  ingest:")[0]
    assert len(removed) == stage.count("\n")  # its lines through the blank line after it
    assert new.startswith(DVC_YAML.split("  generate:")[0])  # the header comment kept
    assert remove_key(new, "stages.generate") == new


def test_remove_the_last_entry_keeps_the_comment_of_the_next_section() -> None:
    new = remove_key(DVC_YAML, "stages.drift")
    assert "# The model registry's entry" in new and "  drift:\n" not in new
    assert list(yaml.safe_load(new)["stages"])[-1] == "evaluate"


def test_params_written_by_init_load() -> None:
    new = set_keys(PARAMS, {"gate.rules": [{"metric": "rmse", "max_drop_relative": 0.05}]})
    assert params_from_dict(yaml.safe_load(new)).gate.rules[0].metric == "rmse"
