"""params.yaml -> typed, frozen config: every bad value is an error naming the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from mlpipe.config import (
    AuditConfig,
    ConfigError,
    HistGradientBoostingConfig,
    Params,
    load_params,
    params_from_dict,
)
from support.repo import PROJECT

DATE_FIX = (
    "Use strftime codes, e.g. '%d/%m/%Y' for 31/01/2020 or '%m/%d/%Y' for 01/31/2020 (null: "
    "recognise the form by itself)"
)


def test_committed_params_load_into_typed_frozen_config() -> None:
    params = load_params(PROJECT / "params.yaml")
    assert params.generate.rows == 20_000
    assert params.data.id_columns == ("customer_id",)
    assert params.data.csv.na_values == ("", "NA", "N/A", "NaN", "null", "?")
    assert params.memory.chunk_rows == 1_000_000
    assert params.train.estimator == "hist_gradient_boosting"
    assert isinstance(params.train.hist_gradient_boosting, HistGradientBoostingConfig)
    assert params.evaluate.slices == ("contract", "region", "plan")
    assert params.audit == AuditConfig()  # params.yaml spells out the defaults
    assert params.data.exclude_columns == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.train.seed = 1  # type: ignore[misc]


def test_empty_mapping_gives_defaults() -> None:
    assert params_from_dict({}) == Params()


def test_int_is_accepted_where_a_float_is_expected() -> None:
    params = params_from_dict({"train": {"logistic_regression": {"C": 2}}})
    assert params.train.logistic_regression.C == 2.0
    assert isinstance(params.train.logistic_regression.C, float)


def test_open_sections_are_kept_as_mappings() -> None:
    params = params_from_dict({"report": {"title": "churn"}})
    assert params.extra == {"report": {"title": "churn"}}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"trian": {}},
            "unknown section 'trian'. Allowed sections: audit, data, drift, engine, evaluate, "
            "gate, generate, memory, monitor, paths, predict, report, split, train, tune, "
            "validate",
        ),
        (
            {"train": {"hist_gradient_boosting": {"learnin_rate": 0.1}}},
            "unknown key 'train.hist_gradient_boosting.learnin_rate'. Allowed keys in "
            "'train.hist_gradient_boosting': class_weight, early_stopping, l2_regularization, "
            "learning_rate, max_iter, max_leaf_nodes, min_samples_leaf",
        ),
        (
            {"generate": {"rows": "many"}},
            "'generate.rows' must be an integer, got 'many'",
        ),
        ({"generate": {"rows": 1.5}}, "'generate.rows' must be an integer, got 1.5"),
        ({"generate": {"rows": True}}, "'generate.rows' must be an integer, got True"),
        ({"split": {"test_size": "0.2"}}, "'split.test_size' must be a number, got '0.2'"),
        (
            {"train": {"hist_gradient_boosting": {"early_stopping": "no"}}},
            "'train.hist_gradient_boosting.early_stopping' must be true or false, got 'no'",
        ),
        ({"generate": {"rows": 10}}, "'generate.rows' is 10; allowed range: [100, inf]"),
        ({"split": {"test_size": 1.5}}, "'split.test_size' is 1.5; allowed range: [0.01, 0.99]"),
        (
            {"evaluate": {"calibration_bins": 1}},
            "'evaluate.calibration_bins' is 1; allowed range: [2, 100]",
        ),
        (
            {"train": {"random_forest": {"max_depth": 0}}},
            "'train.random_forest.max_depth' is 0; allowed range: [1, inf]",
        ),
        (
            {"train": {"estimator": "lightgbm"}},
            "'train.estimator' is 'lightgbm'; allowed values: 'logistic_regression', "
            "'random_forest', 'hist_gradient_boosting', 'xgboost'",
        ),
        (
            {"split": {"method": "kfold"}},
            "'split.method' is 'kfold'; allowed values: 'stratified', 'random', 'time'",
        ),
        (
            {"validate": {"extra_columns": "ignore"}},
            "'validate.extra_columns' is 'ignore'; allowed values: 'warn', 'fail'",
        ),
        (
            {"predict": {"bad_rows": "drop"}},
            "'predict.bad_rows' is 'drop'; allowed values: 'fail', 'skip'",
        ),
        (
            {"predict": {"contract_alpha": 0}},
            "'predict.contract_alpha' is 0.0; allowed range: [1e-12, 0.5]",
        ),
        (
            {"train": {"logistic_regression": {"class_weight": "auto"}}},
            "'train.logistic_regression.class_weight' is 'auto'; allowed values: 'balanced'",
        ),
        ({"data": {"target": None}}, "'data.target' must be a non-empty string, got None"),
        ({"data": {"target": ""}}, "'data.target' must be a non-empty string, got ''"),
        ({"data": {"id_columns": "customer_id"}}, "'data.id_columns' must be a list, got str"),
        (
            {"data": {"id_columns": [1]}},
            "'data.id_columns[0]' must be a non-empty string, got 1; if you mean the text '1', "
            "quote it in params.yaml: '1'",
        ),
        (
            {"data": {"positive_class": 0}},  # a 0/1 target: YAML reads 0 as a number
            "'data.positive_class' must be a non-empty string, got 0; if you mean the text '0', "
            "quote it in params.yaml: '0'",
        ),
        (
            {"data": {"positive_class": True}},
            "'data.positive_class' must be a non-empty string, got True; if you mean the text "
            "'True', quote it in params.yaml: 'True'",
        ),
        ({"data": {"csv": []}}, "'data.csv' must be a mapping, got list"),
        (
            {"memory": {"chunk_rows": 999}},
            "'memory.chunk_rows' is 999; allowed range: [1000, inf]",
        ),
        (
            {"data": {"csv": {"chunk_rows": 5000}}},  # an older params.yaml
            "'data.csv.chunk_rows' is now 'memory.chunk_rows'; move the setting there",
        ),
        (
            {"data": {"chunk_rows": 5000}},
            "'data.chunk_rows' is now 'memory.chunk_rows'; move the setting there",
        ),
        (
            {"data": {"csv": {"decimal": ";"}}},
            "'data.csv.decimal' is ';'; allowed values: '.', ','",
        ),
        (
            {"data": {"csv": {"decimal": ",", "delimiter": ","}}},
            "'data.csv.decimal' is ',', the same as 'data.csv.delimiter'; a file cannot use one "
            "character for both. Set data.csv.delimiter to the file's delimiter (e.g. ';' for "
            "decimal-comma exports) or 'auto'",
        ),
        (
            {"data": {"csv": {"thousands": "'"}}},
            "'data.csv.thousands' is \"'\"; allowed values: 'auto', 'none', ',', '.', ' '",
        ),
        (
            {"data": {"csv": {"thousands": "."}}},  # decimal '.' by default
            "'data.csv.thousands' is '.', the same as 'data.csv.decimal'; a number cannot use "
            "one character for both. Set data.csv.thousands to the separator between digit "
            "groups (or auto, or none)",
        ),
        (
            {"generate": {"chunk_rows": 5000}},  # the generator's blocks are fixed
            "unknown key 'generate.chunk_rows'. Allowed keys in 'generate': rows, seed",
        ),
        (
            {"data": {"unlabelled": "keep"}},
            "'data.unlabelled' is 'keep'; allowed values: 'drop', 'fail'",
        ),
        (
            {"data": {"date_format": "%d/%m"}},
            "'data.date_format' is '%d/%m': it needs a year (%Y), a month (%m, %b or %B) and a "
            f"day (%d). {DATE_FIX}",
        ),
        (
            {"data": {"date_format": "%d/%m/%Y %Q"}},
            f"'data.date_format' is '%d/%m/%Y %Q': unknown code(s) %Q. {DATE_FIX}",
        ),
        (
            {"data": {"date_format": "%d%m%Y%d"}},
            "'data.date_format' is '%d%m%Y%d': it does not read back the dates it writes (are "
            f"two codes run together?). {DATE_FIX}",
        ),
        (
            {"data": {"date_format": 5}},
            "'data.date_format' must be a non-empty string, got 5; if you mean the text '5', "
            "quote it in params.yaml: '5'",
        ),
        (
            {"evaluate": {"threshold": 0.3}},  # before `mlpipe tune` could choose it
            "'evaluate.threshold' is now 'train.threshold'; move the setting there",
        ),
        ({"train": {"threshold": 1.5}}, "'train.threshold' is 1.5; allowed range: [0, 1]"),
        ({"tune": {"folds": 1}}, "'tune.folds' is 1; allowed range: [2, 20]"),
        ({"tune": {"trials": 0}}, "'tune.trials' is 0; allowed range: [1, 10000]"),
        ({"tune": {"seed": -1}}, "'tune.seed' is -1; allowed range: [0, 4.29497e+09]"),
        (
            {"tune": {"threshold": "recall"}},
            "'tune.threshold' is 'recall'; allowed values: 'f1', 'accuracy'",
        ),
        (
            {"tune": {"estimators": None}},
            "'tune.estimators' is empty; list at least one estimator",
        ),
        (
            {"tune": {"estimators": ["random_forest", "random_forest"]}},
            "'tune.estimators' lists 'random_forest' twice",
        ),
        (
            {"tune": {"metric": "f1", "threshold": "accuracy"}},
            "'tune.metric' is 'f1', which depends on the decision threshold, but "
            "'tune.threshold' chooses the threshold for 'accuracy'; set tune.threshold: f1 (or "
            "leave it empty to keep train.threshold)",
        ),
        (
            {"tune": {"space": {"random_forest": {"max_depth": {"low": 3.5, "high": 9}}}}},
            "'tune.space.random_forest.max_depth': train.random_forest.max_depth is a whole "
            "number, so low and high must be whole numbers (got 3.5 and 9)",
        ),
        (
            {"tune": {"space": {"random_forest": {"max_features": {"low": 0.1, "high": 2}}}}},
            "'tune.space.random_forest.max_features' is [0.1, 2], outside what "
            "train.random_forest.max_features allows: [1e-09, 1]",
        ),
        (
            {
                "tune": {
                    "space": {"logistic_regression": {"C": {"low": 0, "high": 1, "log": True}}}
                }
            },
            "'tune.space.logistic_regression.C': a log-scale range must start above 0 (low is "
            "0); raise low or set log: false",
        ),
        (
            {"tune": {"space": {"hist_gradient_boosting": {"max_iter": {"low": 100}}}}},
            "'tune.space.hist_gradient_boosting.max_iter': low (100) must be below high (0)",
        ),
        (
            {"tune": {"space": {"hist_gradient_boosting": {"max_iter": {"lo": 1}}}}},
            "unknown key 'tune.space.hist_gradient_boosting.max_iter.lo'. Allowed keys in "
            "'tune.space.hist_gradient_boosting.max_iter': high, log, low",
        ),
        (
            {"audit": {"leakage": "error"}},
            "'audit.leakage' is 'error'; allowed values: 'warn', 'fail'",
        ),
        (
            {"audit": {"max_feature_power": 1.5}},
            "'audit.max_feature_power' is 1.5; allowed range: [0.01, 1]",
        ),
        ({"audit": {"folds": 1}}, "'audit.folds' is 1; allowed range: [2, 20]"),
        ({"audit": {"max_rows": 10}}, "'audit.max_rows' is 10; allowed range: [100, inf]"),
        ({"audit": {"bins": 500}}, "'audit.bins' is 500; allowed range: [2, 255]"),
        (
            {"audit": {"label_issues": True}},
            "unknown key 'audit.label_issues'. Allowed keys in 'audit': bins, folds, leakage, "
            "max_feature_power, max_rows, seed",
        ),
        (
            {"data": {"exclude_columns": "lwage"}},
            "'data.exclude_columns' must be a list, got str",
        ),
        ({"train": 3}, "'train' must be a mapping, got int"),
        ({"gate": [1]}, "'gate' must be a mapping, got list"),
        ([1, 2], "the top level must be a mapping of sections"),
    ],
)
def test_bad_params_name_the_key_and_what_is_allowed(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        params_from_dict(raw)
    assert str(caught.value) == message


def test_date_formats_people_use_are_accepted() -> None:
    for form in ("%d/%m/%Y", "%m/%d/%Y", "%Y%m%d", "%d %b %Y", "%B %d, %Y", "%d.%m.%Y %H:%M"):
        assert params_from_dict({"data": {"date_format": form}}).data.date_format == form


def test_list_items_may_be_empty_strings() -> None:
    # na_values entries may be the empty string (the key ends with "]").
    params = params_from_dict({"data": {"csv": {"na_values": ["", "-"]}}})
    assert params.data.csv.na_values == ("", "-")


def test_load_params_prefixes_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"split": {"seed": "x"}}))
    with pytest.raises(ConfigError, match=r"params\.yaml: 'split\.seed' must be an integer"):
        load_params(path)


def test_load_params_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_params(tmp_path / "nope.yaml")
    assert "nope.yaml: file not found. Run mlpipe from the repository root or pass --params." in (
        str(caught.value)
    )


def test_load_params_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match=r"params\.yaml: not valid YAML"):
        load_params(path)


def test_empty_params_file_is_all_defaults(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("")
    assert load_params(path) == Params()


def _scalar_leaves(tree: dict, prefix: str = "") -> list[tuple[str, object]]:
    """(dotted key, value) of every non-list, non-mapping value in a params tree."""
    found: list[tuple[str, object]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            found += _scalar_leaves(value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            found.append((f"{prefix}{key}", value))
    return found


def _override_value(value: object) -> str:
    """value written as a `-S key=value` right-hand side (Hydra's override grammar)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def test_dvc_exp_run_set_param_changes_only_the_line_it_sets(tmp_path: Path) -> None:
    """`dvc exp run -S key=value` rewrites params.yaml with DVC's YAML writer
    (dvc.utils.hydra.apply_overrides). The committed file is in that writer's layout: setting
    any value to itself leaves it byte-identical (comments, blank lines and list layout kept),
    and a new value changes exactly one line."""
    from dvc.utils.hydra import apply_overrides

    original = (PROJECT / "params.yaml").read_text()
    path = tmp_path / "params.yaml"
    leaves = _scalar_leaves(yaml.safe_load(original))
    assert len(leaves) > 60  # every section is covered
    same = [f"{key}={_override_value(value)}" for key, value in leaves]
    path.write_text(original)
    apply_overrides(path, same)  # all at once (one load and dump instead of one per key)
    if path.read_text() != original:  # name the keys whose own `-S` rewrites the file
        for override in same:
            path.write_text(original)
            apply_overrides(path, [override])
            assert path.read_text() == original, f"-S {override} (same value) rewrote lines"
        pytest.fail("the same-value overrides together rewrote params.yaml, none alone did")

    path.write_text(original)
    apply_overrides(path, ["train.hist_gradient_boosting.max_iter=50"])
    old, new = original.splitlines(), path.read_text().splitlines()
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [("    max_iter: 150", "    max_iter: 50")]


@pytest.mark.parametrize(
    ("section", "key", "read"),
    [
        ("data", "id_columns", lambda p: p.data.id_columns),
        ("evaluate", "slices", lambda p: p.evaluate.slices),
        ("monitor", "metrics", lambda p: p.monitor.metrics),
        ("gate", "rules", lambda p: p.gate.rules),
        ("data", "exclude_columns", lambda p: p.data.exclude_columns),
    ],
)
def test_an_empty_list_setting_is_the_empty_list(section: str, key: str, read: object) -> None:
    # DVC's writer (`dvc exp run -S`) writes null as `key:` with nothing after it.
    params = params_from_dict(yaml.safe_load(f"{section}:\n  {key}:\n"))
    assert read(params) == ()  # type: ignore[operator]


def test_empty_na_values_is_the_empty_list() -> None:
    params = params_from_dict(yaml.safe_load("data:\n  csv:\n    na_values:\n"))
    assert params.data.csv.na_values == ()


@pytest.mark.parametrize("key", ["numeric_features", "categorical_features", "boolean_features"])
def test_empty_feature_lists_mean_take_the_kinds_from_the_schema(key: str) -> None:
    # null is not [] here: null takes the kinds from the schema, [] means no such features.
    empty = params_from_dict(yaml.safe_load(f"data:\n  {key}:\n"))
    none = params_from_dict({"data": {key: []}})
    assert getattr(empty.data, key) is None
    assert getattr(none.data, key) == ()


def test_an_empty_scalar_setting_is_still_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        params_from_dict(yaml.safe_load("data:\n  source:\n"))
    assert str(caught.value) == "'data.source' must be a non-empty string, got None"


def test_thousands_may_equal_the_delimiter() -> None:
    # A comma-delimited export quotes "1,234.5": ',' separates fields and thousands.
    params = params_from_dict({"data": {"csv": {"delimiter": ",", "thousands": ","}}})
    assert params.data.csv.thousands == ","
    assert load_params(PROJECT / "params.yaml").data.csv.thousands == "auto"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"evaluate": {"bootstrap": {"resamples": 10}}},
            "'evaluate.bootstrap.resamples' is 10; allowed range: [100, 100000]",
        ),
        (
            {"evaluate": {"bootstrap": {"confidence": 95}}},
            "'evaluate.bootstrap.confidence' is 95.0; allowed range: [0.5, 0.999]",
        ),
        (
            {"evaluate": {"bootstrap": {"max_rows": 10}}},
            "'evaluate.bootstrap.max_rows' is 10; allowed range: [1000, 1e+07]",
        ),
        (
            {"evaluate": {"bootstrap": {"resample": 500}}},
            "unknown key 'evaluate.bootstrap.resample'. Allowed keys in 'evaluate.bootstrap': "
            "confidence, max_rows, resamples, seed",
        ),
        (
            {"gate": {"noise": "strict"}},
            "'gate.noise' is 'strict'; allowed values: 'significant', 'non_inferiority', 'ignore'",
        ),
        (
            {"gate": {"rules": [{"metric": "f1", "max_drop": 0.1, "noise": "loose"}]}},
            "'gate.rules[0].noise' is 'loose'; allowed values: 'significant', "
            "'non_inferiority', 'ignore'",
        ),
    ],
)
def test_bootstrap_and_noise_settings_are_validated(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        params_from_dict(raw)
    assert message in str(info.value)


def test_committed_bootstrap_and_noise_settings() -> None:
    params = load_params(PROJECT / "params.yaml")
    boot = params.evaluate.bootstrap
    assert (boot.resamples, boot.confidence, boot.seed, boot.max_rows) == (1000, 0.95, 42, 50_000)
    assert params.gate.noise == "significant"
    assert params.paths.test_predictions == "data/processed/test_predictions.parquet"
    rule = params_from_dict({"gate": {"rules": [{"metric": "f1", "noise": "ignore"}]}})
    assert rule.gate.rules[0].noise == "ignore"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"engine": {"kind": "spark"}},
            "'engine.kind' is 'spark'; allowed values: 'local', 'dask'",
        ),
        (
            {"engine": {"dask": {"adress": "tcp://h:1"}}},
            "unknown key 'engine.dask.adress'. Allowed keys in 'engine.dask': address, "
            "memory_limit, n_workers, threads_per_worker",
        ),
        (
            {"engine": {"dask": {"address": "10.0.0.5:8786"}}},
            "'engine.dask.address' is '10.0.0.5:8786'; give the scheduler's address with its "
            "protocol, e.g. tcp://10.0.0.5:8786 (or leave it empty for a LocalCluster)",
        ),
        (
            {"engine": {"dask": {"memory_limit": "4 gigs"}}},
            "'engine.dask.memory_limit' is '4 gigs'; write a size such as 4GiB or 1.5GB (units: "
            "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), or auto",
        ),
        (
            {"engine": {"dask": {"n_workers": 0}}},
            "'engine.dask.n_workers' is 0; allowed range: [1, 1024]",
        ),
        (
            {"train": {"xgboost": {"subsample": 0}}},
            "'train.xgboost.subsample' is 0.0; allowed range: [1e-09, 1]",
        ),
        (
            {"train": {"xgboost": {"early_stopping_rounds": -1}}},
            "'train.xgboost.early_stopping_rounds' is -1; allowed range: [0, inf]",
        ),
        (
            {"train": {"xgboost": {"n_trees": 10}}},
            "unknown key 'train.xgboost.n_trees'. Allowed keys in 'train.xgboost': "
            "colsample_bytree, early_stopping_rounds, learning_rate, max_bin, max_depth, "
            "min_child_weight, n_estimators, reg_alpha, reg_lambda, subsample, "
            "validation_fraction",
        ),
    ],
)
def test_engine_and_xgboost_settings_are_validated(raw: object, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        params_from_dict(raw)
    assert str(error.value) == message


def test_engine_and_xgboost_defaults() -> None:
    params = load_params(PROJECT / "params.yaml")
    assert params.engine.kind == "local" and params.engine.dask.address is None
    assert (params.engine.dask.n_workers, params.engine.dask.memory_limit) == (2, "auto")
    assert params.train.xgboost.early_stopping_rounds == 0
    assert (
        params_from_dict({"engine": {"dask": {"memory_limit": "1.5 GB"}}}).engine.dask.memory_limit
        == "1.5 GB"
    )
