"""`mlpipe init`: from a CSV/Parquet file and a target column to a runnable pipeline.

Reads the table as ingest will, decides the column roles (``mlpipe.data.roles``), the gate
rules (``mlpipe.report.gate.suggested_rules``) and the split, sets those keys in params.yaml
(``mlpipe.params_edit``: comments and DVC's layout kept), writes the schema as `mlpipe schema
infer` does, `dvc add`s the file and removes the demo `generate` stage when the source is not
its output. Every check runs before anything is written; ``--dry-run`` writes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import subprocess
import sys
from pathlib import Path

import yaml

from mlpipe.audit.table import leakage_lines
from mlpipe.config import ConfigError, Params, load_params, params_from_dict
from mlpipe.data import roles
from mlpipe.data.contract import infer_contract, read_normalized
from mlpipe.data.schema import check_params
from mlpipe.init_plan import InitOptions, decide, params_values
from mlpipe.io import InputError, write_text
from mlpipe.params_edit import remove_key, set_keys, unified_diff

log = logging.getLogger(__name__)
DEMO_STAGE = "generate"
_PIPELINE_FILES = ("dvc.yaml", "dvc.lock")


def run(args: argparse.Namespace) -> int:
    params_path = Path(args.params)
    root = params_path.resolve().parent
    params = load_params(params_path)
    source = _source(args.source, root)
    options = InitOptions(
        target=args.target,
        task=args.task,
        positive_class=args.positive_class,
        id_columns=_names(args.id_columns),
        date_column=None if _names(args.date_column) == () else args.date_column,
        date_given=args.date_column is not None,
        slices=_names(args.slices),
    )
    data = dataclasses.replace(  # for reading: the file's columns and the csv options
        params.data, source=source, target=args.target, id_columns=options.id_columns or ()
    )

    def check_header(names: list[str]) -> None:
        if args.target not in names:
            raise InputError(
                f"{source}: --target '{args.target}' is not a column; its {len(names)} columns "
                f"are: {', '.join(names[:30])}{', ...' if len(names) > 30 else ''}"
            )

    path, rows = Path(args.source), params.memory.chunk_rows
    frame, report = read_normalized(path, data, rows, on_header=check_header)
    decisions = decide(frame, source, options, params)
    old_text = params_path.read_text(encoding="utf-8")
    new_text = set_keys(old_text, params_values(decisions))
    new_params = _checked(new_text, params_path.name)
    data = new_params.data
    if any(not roles.is_text(frame[c]) for c in data.id_columns):  # ingest keeps ids as
        frame, report = read_normalized(path, data, rows)  # written ("00123"): read again
    contract = infer_contract(frame, data, report, source, params.paths.unlabelled)
    for level, message in contract.messages:
        log.log(level, "%s", message)
    check_params(contract.schema, data, params.paths.schema)
    remove_demo, add = _dvc_plan(root, source, params)
    pipeline = {}  # dvc.yaml and dvc.lock: (text now, text after init)
    for name in _PIPELINE_FILES:
        if (root / name).exists():
            text = (root / name).read_text(encoding="utf-8")
            after = remove_key(text, f"stages.{DEMO_STAGE}", name) if remove_demo else text
            pipeline[name] = (text, after)
    _print_summary(decisions, remove_demo, add, source)
    for line in leakage_lines(frame, contract.schema, data, new_params.audit):
        print(f"audit: {line}")
    schema_path = root / params.paths.schema
    old_schema = schema_path.read_text(encoding="utf-8") if schema_path.exists() else None
    if args.dry_run:
        print(unified_diff(old_text, new_text, params_path.name) or "params.yaml: no change")
        print(_schema_change(params.paths.schema, old_schema, contract.text, dry=True))
        print("dry run: nothing written")
        return 0
    if add:
        _dvc(root, "add", source)
    for name, (old, new) in pipeline.items():
        if new != old:
            write_text(root / name, new)
    write_text(params_path, new_text)
    write_text(schema_path, contract.text)
    print(_schema_change(params.paths.schema, old_schema, contract.text, dry=False))
    files = [params_path.name, params.paths.schema, *pipeline]
    files += [f"{source}.dvc", (Path(source).parent / ".gitignore").as_posix()]
    shown = " ".join(f for f in dict.fromkeys(files) if (root / f).exists())
    print(f"next: git add {shown} && dvc repro")
    return 0


def _source(given: str, root: Path) -> str:
    """The source as a path relative to the project root (posix); InputError when missing."""
    path = Path(given)
    if not path.exists():
        raise InputError(
            f"--source {given}: file not found. Put the table in the project (e.g. under "
            "data/raw/) and pass its path"
        )
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise InputError(
            f"--source {given}: outside the project ({root}); copy it under data/raw/ first"
        ) from None


def _names(option: str | None) -> tuple[str, ...] | None:
    """A comma-separated flag: None when not given, () for 'none'."""
    if option is None:
        return None
    if option.strip().lower() == "none":
        return ()
    return tuple(name.strip() for name in option.split(",") if name.strip())


def _checked(text: str, name: str) -> Params:
    """The params the new text holds (ConfigError naming the key if init wrote a bad one)."""
    try:
        return params_from_dict(yaml.safe_load(text))
    except ConfigError as exc:
        raise ConfigError(f"{name} after init: {exc}; nothing was written") from None


def _dvc_plan(root: Path, source: str, params: Params) -> tuple[bool, bool]:
    """(remove the demo stage?, `dvc add` the source?): the demo stage goes when the source is
    not its output; the source is added unless DVC (a .dvc file, a stage) or git tracks it."""
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            stages = list(repo.index.stages)
    except NotDvcRepoError:
        raise InputError(
            f"{root} is not a DVC project: run mlpipe init at the project root (or `dvc init`)"
        ) from None
    outputs = {
        Path(os.path.relpath(out.fs_path, root)).as_posix()
        for stage in stages
        for out in stage.outs
    }
    demo = any(getattr(stage, "name", None) == DEMO_STAGE for stage in stages)
    remove_demo = demo and source != Path(params.paths.raw).as_posix()
    in_git = subprocess.run(
        ["git", "ls-files", "--error-unmatch", source], cwd=root, capture_output=True
    )
    add = source not in outputs and in_git.returncode != 0
    return remove_demo, add


def _dvc(root: Path, *args: str) -> None:
    dvc = Path(sys.executable).with_name("dvc")
    command = [str(dvc) if dvc.exists() else "dvc", *args]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise InputError(f"`dvc {' '.join(args)}` failed: {result.stderr.strip()[-800:]}")


def _print_summary(
    decisions: dict[str, roles.Decision], remove_demo: bool, add: bool, source: str
) -> None:
    for key, decision in decisions.items():
        print(f"{key}: {_shown(decision.value)} — {decision.reason}")
    if remove_demo:
        print(
            f"dvc.yaml: the '{DEMO_STAGE}' stage (the demo data generator) is removed, also from "
            "dvc.lock: your source is not its output"
        )
    if add:
        print(f"dvc: `dvc add {source}` (data is tracked by DVC, not git)")
    else:
        print(f"dvc: {source} is already tracked")


def _schema_change(path: str, old: str | None, new: str, dry: bool) -> str:
    verb = "would write" if dry else "wrote"
    state = "new" if old is None else "unchanged" if old == new else "changed"
    return f"{path}: {verb} the schema ({state}), as `mlpipe schema infer` does"


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], dict):
            return f"{len(value)} rules"
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
