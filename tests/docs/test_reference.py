"""docs/gen_reference.py: the committed reference pages match the code, and say the right things.

The up-to-date checks read the checkout (params.yaml, dvc.yaml, the pages) and write nothing;
every test that writes uses a copy in a temporary directory.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import re
import shutil
import subprocess
import sys
import typing
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from mlpipe import cli, config
from support.repo import PROJECT, base_env

PAGES = ("docs/reference/configuration.md", "docs/reference/cli.md")


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_reference", PROJECT / "docs" / "gen_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_reference"] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def _page(rel: str) -> str:
    return (PROJECT / rel).read_text(encoding="utf-8")


def _rows(page: str) -> dict[str, list[str]]:
    """First cell (`key`) -> the cells of that table row."""
    rows = {}
    for line in page.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[cells[0].strip("`")] = cells
    return rows


# --- the committed pages are what the code generates --------------------------------------


def test_committed_pages_are_up_to_date() -> None:
    wanted = gen.pages(gen.default_inputs(PROJECT))
    assert sorted(str(p) for p in wanted) == sorted(PAGES)
    for rel, text in wanted.items():
        assert _page(str(rel)) == text, (
            f"{rel} is stale: run `python docs/gen_reference.py` and commit it"
        )


def test_check_command_passes_whatever_the_hash_seed_and_terminal_width() -> None:
    """Same code, same bytes: no set order, no terminal width in the output."""
    for seed, columns in (("1", "40"), ("12345", "250")):
        env = {**base_env(), "PYTHONHASHSEED": seed, "COLUMNS": columns}
        result = subprocess.run(
            [sys.executable, "docs/gen_reference.py", "--check"],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""


def _copy_root(tmp_path: Path) -> Path:
    for rel in ("params.yaml", "dvc.yaml", *PAGES):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / rel, tmp_path / rel)
    return tmp_path


def test_check_names_the_stale_page_and_writing_fixes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy_root(tmp_path)
    cli_page = root / "docs/reference/cli.md"
    cli_page.write_text(cli_page.read_text().replace("score a CSV", "score an Excel"))

    assert gen.main(["--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "docs/reference/cli.md is out of date" in err
    assert "configuration.md" not in err
    assert "score an Excel" in cli_page.read_text()  # --check writes nothing

    assert gen.main(["--root", str(root)]) == 0
    assert capsys.readouterr().out == "wrote docs/reference/cli.md\n"
    assert cli_page.read_text() == _page("docs/reference/cli.md")
    assert sorted(p.name for p in cli_page.parent.iterdir()) == ["cli.md", "configuration.md"]
    assert gen.main(["--check", "--root", str(root)]) == 0


def test_a_changed_params_yaml_comment_makes_the_check_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy_root(tmp_path)
    params = root / "params.yaml"
    text = params.read_text()
    assert "# share of the rows put in the test set" in text
    params.write_text(text.replace("# share of the rows put in the test set", "# test share"))
    assert gen.main(["--check", "--root", str(root)]) == 1
    assert "docs/reference/configuration.md is out of date" in capsys.readouterr().err


# --- a change in the code changes the pages -------------------------------------------------


@dataclass(frozen=True)
class ServeConfig:
    """Serving the model over HTTP."""

    port: int = 8080
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class ParamsPlus(config.Params):
    serve: ServeConfig = field(default_factory=ServeConfig)


def _inputs(**changes: Any) -> Any:
    return dataclasses.replace(gen.default_inputs(PROJECT), **changes)


def test_a_new_section_appears_with_type_default_description_and_reruns() -> None:
    params_yaml = _page("params.yaml") + (
        "\nserve:\n  port: 9000      # the port to listen on\n"
        "  # Where to listen.\n  host: 127.0.0.1\n"
    )
    dvc = yaml.safe_load(_page("dvc.yaml"))
    dvc["stages"]["serve"] = {"cmd": "mlpipe serve", "params": ["serve.port"]}
    ranges = {**config._RANGES, "serve.port": (1, 65535)}
    page = gen.configuration_page(
        _inputs(
            params_cls=ParamsPlus,
            params_yaml=params_yaml,
            dvc_yaml=yaml.safe_dump(dvc),
            ranges=ranges,
        )
    )
    assert page != _page("docs/reference/configuration.md")
    assert "## `serve`\n\nServing the model over HTTP.\n" in page
    rows = _rows(page)
    assert rows["serve.port"] == [
        "`serve.port`",
        "int in [1, 65535]",
        "`8080` (params.yaml: `9000`)",
        "the port to listen on",
        "`serve`",
    ]
    assert rows["serve.host"][3:] == ["Where to listen.", "nothing"]


def test_a_key_without_description_is_an_error_naming_it() -> None:
    with pytest.raises(gen.ReferenceError) as error:
        gen.configuration_page(_inputs(params_cls=ParamsPlus))
    message = str(error.value)
    assert "no description for: serve.port, serve.host." in message
    assert "Write a comment on the key in params.yaml" in message


def test_a_new_subcommand_and_option_appear_in_the_cli_page() -> None:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    boot = sub.add_parser("bootstrap", help="start a project from a CSV", description="Set up.")
    boot.add_argument("--csv", required=True, help="the data")
    boot.add_argument("--mode", choices=["binary", "regression"], default="binary", help="kind")
    boot.set_defaults(handler=cli._module_runner("mlpipe.stages.show"))

    page = gen.cli_page(parser)
    assert page != _page("docs/reference/cli.md")
    assert "| [`bootstrap`](#mlpipe-bootstrap) | start a project from a CSV |" in page
    assert "## mlpipe bootstrap\n\nSet up.\n\n```text\nmlpipe bootstrap [-h] --csv CSV" in page
    rows = _rows(page)
    assert rows["--csv"] == ["`--csv`", "`CSV` (str)", "yes", "—", "the data"]
    assert rows["--mode"][1:4] == [
        "`MODE` (str); one of: `binary`, `regression`",
        "no",
        "`binary`",
    ]


# --- every key is there, and the spot checks ------------------------------------------------


def _yaml_keys(node: Any, prefix: str = "") -> list[str]:
    keys = []
    for name, value in node.items():
        dotted = f"{prefix}{name}"
        keys.append(dotted)
        if isinstance(value, dict):
            keys += _yaml_keys(value, f"{dotted}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                keys += _yaml_keys(item, f"{dotted}[].")
    return keys


def _dataclass_keys(cls: type, prefix: str = "") -> list[str]:
    keys = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if cls is config.Params and f.name == "extra":
            continue
        dotted = f"{prefix}{f.name}"
        keys.append(dotted)
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            keys += _dataclass_keys(hint, f"{dotted}.")
        elif typing.get_origin(hint) is tuple and dataclasses.is_dataclass(
            typing.get_args(hint)[0]
        ):
            keys += _dataclass_keys(typing.get_args(hint)[0], f"{dotted}[].")
    return keys


def test_every_params_yaml_key_and_dataclass_field_is_documented() -> None:
    page = _page("docs/reference/configuration.md")
    rows = _rows(page)
    headings = set(re.findall(r"^#{2,3} `([^`]+)`$", page, flags=re.M))
    yaml_keys = _yaml_keys(yaml.safe_load(_page("params.yaml")))
    field_keys = _dataclass_keys(config.Params)
    assert len(field_keys) > 80 and "gate.rules[].max_drop" in field_keys
    for key in sorted(set(yaml_keys) | set(field_keys)):
        assert key in rows or key in headings, f"{key} is not in configuration.md"
    for key, cells in rows.items():
        assert len(cells) == 5 and all(cells), f"{key}: an empty cell in {cells}"


def test_configuration_spot_checks() -> None:
    page = _page("docs/reference/configuration.md")
    assert page.startswith("<!-- generated by docs/gen_reference.py — do not edit -->\n")
    rows = _rows(page)
    assert rows["train.seed"][4] == "`train`, `evaluate`; also read by `mlpipe tune`"
    assert rows["memory.chunk_rows"][4] == (
        "nothing (read by `mlpipe ingest`, `mlpipe validate`, `mlpipe split`, `mlpipe train`, "
        "`mlpipe schema infer`, `mlpipe init`, `mlpipe drift`)"
    )
    assert rows["memory.chunk_rows"][1] == "int ≥ 1000"
    assert rows["split.test_size"][1:3] == ["float in [0.01, 0.99]", "`0.2`"]
    assert rows["split.test_size"][4] == "`split` → `train`, `evaluate`, `drift`"
    assert rows["data.task"][1] == "one of: `auto`, `binary`, `multiclass`, `regression`"
    assert rows["data.positive_class"][1:3] == ["null or str", "`null`"]
    assert rows["data.numeric_features"][1] == "null or list of str"
    assert rows["data.id_columns"][2] == "`[]` (params.yaml: `[customer_id]`)"
    assert rows["train.random_forest.max_depth"][1] == "null or int ≥ 1"
    assert rows["train.logistic_regression.class_weight"][1] == "null or one of: `balanced`"
    assert rows["train.threshold"][4] == (
        "`train`, `evaluate`; also read by `mlpipe tune`, `mlpipe predict`, `mlpipe monitor`"
    )
    assert rows["tune.trials"][4] == "nothing (read by `mlpipe tune`)"
    assert rows["gate.dataset"][4] == "nothing (read by `mlpipe report`, `mlpipe gate`)"
    assert rows["gate.rules[].metric"][2] == "required"
    assert rows["gate.rules"][2].startswith("`[{metric: roc_auc, min: 0.75, max_drop: 0.015}, ")
    assert rows["predict.smoke_rows"][4] == "nothing (read by `mlpipe smoke-test`)"
    # a path reruns the stages whose command, deps or outs use it
    assert rows["paths.model"][4] == "`train`, `evaluate`; also read by `mlpipe monitor`"
    # the report and the gate read the tune result from the workspace (and git) too
    assert (
        rows["paths.tune"][4] == "nothing (read by `mlpipe tune`, `mlpipe report`, `mlpipe gate`)"
    )
    assert (
        rows["paths.audit"][4]
        == "`audit`, `evaluate`; also read by `mlpipe report`, `mlpipe gate`"
    )
    assert rows["generate.rows"][4] == (
        "`generate` → `ingest`, `validate`, `audit`, `split`, `train`, `evaluate`, `drift`"
    )
    # descriptions: a comment in params.yaml (with the one above the key), else the docstring
    assert rows["evaluate.slices"][3].startswith("Columns to report metrics per value")
    assert rows["train.hist_gradient_boosting.max_iter"][3] == (
        "`max_iter`: boosting iterations (trees per class)."
    )
    assert rows["data.csv.delimiter"][3] == r"auto \| , \| ; \| \t \| \|"


def test_cli_page_lists_every_subcommand_and_option_in_parser_order() -> None:
    page = _page("docs/reference/cli.md")
    parser = cli.build_parser()
    commands = [c for c, _, _ in gen.leaf_commands(parser)]
    assert commands[:3] == ["generate", "ingest", "validate"]
    assert "schema infer" in commands and "smoke-test" in commands
    positions = [page.index(f"mlpipe {c}\n\n") for c in commands]
    assert positions == sorted(positions)
    for command, sub, _ in gen.leaf_commands(parser):
        section = page[page.index(f"mlpipe {command}\n\n") :]
        for action in sub._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert f"`{flag}`" in section, f"mlpipe {command} {flag}"
    rows_by_command = {
        c: _rows(page[page.index(f"## mlpipe {c}\n") :].split("\n## ")[0])
        for c in ("predict", "report")
    }
    assert rows_by_command["predict"]["--chunk-rows"][1:4] == ["`CHUNK_ROWS` (int)", "no", "—"]
    assert rows_by_command["report"]["--base"][2] == "yes"
    assert rows_by_command["report"]["--params"][3] == "`params.yaml`"
    assert "(+ proba_&lt;class>)" in page  # not an HTML tag


# --- the parts ------------------------------------------------------------------------------


def test_yaml_comments_inline_wrapped_above_quoted_and_list_items() -> None:
    text = (
        "# file header\n"
        "\n"
        "a:                 # section a\n"
        "  x: 1             # first line\n"
        "                   # second line\n"
        "  # about y\n"
        "  y: 'p # q'\n"
        "  z: 2\n"
        "rules:\n"
        "- metric: m        # the metric\n"
        "  min: 1\n"
        "- metric: n\n"
        "  max: 2           # ceiling\n"
    )
    assert gen.yaml_comments(text) == {
        "a": "section a",
        "a.x": "first line second line",
        "a.y": "about y",
        "a.z": "",
        "rules": "",
        "rules[].metric": "the metric",
        "rules[].min": "",
        "rules[].max": "ceiling",
    }


def test_params_reads_follows_aliases_and_entry_functions() -> None:
    source = (
        "def run(args):\n"
        "    params = load_params(args.params)\n"
        "    paths, data = params.paths, params.data\n"
        "    use(paths.model, data.csv.decimal, params.evaluate.threshold.real)\n"
        "    return _helper(params)\n"
        "def _helper(params: Params):\n"
        "    return params.gate\n"
        "def other(args):\n"
        "    return load_params(args.params).memory.chunk_rows\n"
    )
    known = {"paths", "paths.model", "data", "data.csv", "data.csv.decimal", "evaluate"}
    known |= {"evaluate.threshold", "gate", "memory", "memory.chunk_rows"}
    assert gen.params_reads(source, known, {"run"}) == {
        "paths.model",
        "data.csv.decimal",
        "evaluate.threshold",
        "gate",
    }
    assert gen.params_reads(source, known, {"other"}) == {"memory.chunk_rows"}
    assert "memory.chunk_rows" in gen.params_reads(source, known)


def test_a_handler_that_is_a_plain_function_is_read_from_its_own_module() -> None:
    from mlpipe.stages import report

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.add_parser("check-gate", help="the gate").set_defaults(handler=report.run_gate)
    assert gen.handler_targets(sub.choices["check-gate"]) == (
        ["mlpipe.stages.report"],
        {"run_gate"},
    )
    rows = _rows(gen.configuration_page(_inputs(parser=parser)))
    assert rows["gate.dataset"][4] == (
        "nothing (read by `mlpipe report`, `mlpipe gate`, `mlpipe check-gate`)"
    )
    assert "check-gate" not in rows["paths.figures"][4]  # only `report --images` reads it
