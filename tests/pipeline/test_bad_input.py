"""Bad input, through the real CLI and a real `dvc repro` in a temporary repository.

Every case asserts the message (what, where, how to fix), a non-zero exit, no partial output
(no temporary files, the failing stage's outputs either untouched or removed by DVC, which
deletes a stage's outputs before running it), and that the previous outputs of every later
stage, their dvc.lock entries and the DVC cache are untouched. Where the failing command can
run on its own (before `dvc repro`), it is run directly too and must leave every file as it was.

`dvc repro` runs the stages as `mlpipe` processes; the direct runs call the same entry point in
the test's process (``Repo.mlpipe_in_process``: the same output, log lines and exit status,
without a new process spending ~2 s of CPU on its imports).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from support.byod import messy_table, snapshot, temp_files, use_own_data, write_source
from support.repo import Repo, make_repo, ran_stages
from support.templates import copy_template

pytestmark = pytest.mark.slow

ORDER = ["generate", "ingest", "validate", "audit", "split", "train", "evaluate", "drift"]
OUTS = {
    "ingest": ("data/interim/ingested.parquet", "data/results/ingest.json"),
    "validate": ("data/results/validation.json",),
    "audit": ("data/results/audit.json", "data/results/label_issues.csv"),
    "split": ("data/processed/train.parquet", "data/processed/test.parquet"),
    "train": ("data/model/model.skops",),
    "evaluate": (
        "data/results/metrics.json",
        "data/results/slices.json",
        "data/results/plots/",
        "data/results/figures/",
        "data/results/model_card.md",
    ),
    "drift": ("data/results/drift.json", "data/results/drift.md"),
}
SOURCE = "data/raw/customers.csv"
INGEST = (
    "ingest",
    "--source",
    SOURCE,
    "--output",
    OUTS["ingest"][0],
    "--report",
    OUTS["ingest"][1],
)
TRAIN = (
    "train",
    "--train",
    OUTS["split"][0],
    "--schema",
    "data/schema.yaml",
    "--model",
    OUTS["train"][0],
)
EVALUATE = (
    "evaluate",
    "--model",
    "data/model/model.skops",
    "--train",
    OUTS["split"][0],
    "--test",
    OUTS["split"][1],
    "--schema",
    "data/schema.yaml",
    "--metrics",
    "data/results/metrics.json",
    "--slices",
    "data/results/slices.json",
    "--plots",
    "data/results/plots",
    "--figures",
    "data/results/figures",
    "--card",
    "data/results/model_card.md",
    "--audit",
    OUTS["audit"][0],
)
VALIDATE = (
    "validate",
    "--input",
    OUTS["ingest"][0],
    "--schema",
    "data/schema.yaml",
    "--report",
    OUTS["validate"][0],
)


def _build_byod_base(dest: Path) -> None:
    repo = make_repo(dest)
    use_own_data(
        repo,
        "customers.csv",
        messy_table(),
        "churn",
        **{
            "data.id_columns": ["customer"],
            "data.date_column": "signup",
            "evaluate.slices": ["plan"],
        },
    )
    repo.dvc("repro")
    repo.commit("own data")


@pytest.fixture(scope="session")
def byod_base(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """A repository on the messy customer table, reproduced and committed (read-only): built
    once per session for all xdist workers, this worker's copy."""
    return copy_template(tmp_path_factory, "byod-messy", _build_byod_base)


def _table_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False)


def _rewrite(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Repo], None]:
    def mutate(repo: Repo) -> None:
        write_source(repo, "customers.csv", _table_text(change(messy_table())))

    return mutate


def _params(**values: object) -> Callable[[Repo], None]:
    return lambda repo: repo.set_params(**values)


def _raw(content: str | bytes, name: str = "customers.csv") -> Callable[[Repo], None]:
    def mutate(repo: Repo) -> None:
        rel = write_source(repo, name, content)
        repo.set_params(**{"data.source": rel})

    return mutate


def _non_utf8(repo: Repo) -> None:
    text = _table_text(messy_table()).encode()
    at = text.index(b"Lima")
    data = text[:at] + b"S\xe3o Paulo" + text[at + len(b"Lima") :]
    write_source(repo, "customers.csv", data)
    offset = data.index(b"\xe3")
    line = data[:offset].count(b"\n") + 1
    expected = f"byte 0xe3 at offset {offset} (line {line}) is not valid utf-8. Re-export"
    repo.expected = expected  # type: ignore[attr-defined]


def _schema_typo(repo: Repo) -> None:
    path = repo.path / "data/schema.yaml"
    text = path.read_text()
    path.write_text(text.replace("age: {kind: numeric,", "age: {kind: numeric, maximum: 99,"))


def _with(frame: pd.DataFrame, **columns: object) -> pd.DataFrame:
    return frame.assign(**columns)


def _set_rows(column: str, rows: slice, value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[frame.index[rows], column] = value
        return frame

    return change


def _duplicate_header(repo: Repo) -> None:
    text = _table_text(messy_table())
    header, rest = text.split("\n", 1)
    write_source(repo, "customers.csv", header.replace("score", "age") + "\n" + rest)


def _ragged(repo: Repo) -> None:
    lines = _table_text(messy_table()).splitlines()
    lines[41] += ",extra,cells"
    write_source(repo, "customers.csv", "\n".join(lines) + "\n")


def _time_split_on_text_dates(repo: Repo) -> None:
    frame = messy_table()
    frame["signup"] = pd.to_datetime(frame["signup"]).dt.strftime("%d-%m-%Y")  # no known form
    write_source(repo, "customers.csv", _table_text(frame))
    repo.set_params(**{"split.method": "time"})
    expected = (
        f"data.date_column 'signup' holds text like '{frame['signup'].iloc[0]}', not dates: "
        "ingest reads ISO dates (2020-01-13) and common forms such as 31/01/2020 or Jan 31, "
        "2020 (data.date_format sets another); convert the column or use split.method: "
        "random/stratified"
    )
    # The user re-infers the schema, as the README says: it warns, validate then passes.
    assert expected in repo.mlpipe_in_process("schema", "infer").stderr
    repo.expected = expected  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Repo], None]
    stage: str  # the stage `dvc repro` must fail in
    message: str  # in the output of `dvc repro` (and of the direct command)
    direct: tuple[str, ...] | None = None  # the failing command, run on its own first
    direct_message: str | None = None  # when it differs from ``message``


CASES = [
    Case(
        "file missing",
        _params(**{"data.source": "data/raw/nope.csv"}),
        "ingest",
        "No such file or directory",
        (
            "ingest",
            "--source",
            "data/raw/nope.csv",
            "--output",
            OUTS["ingest"][0],
            "--report",
            OUTS["ingest"][1],
        ),
        "data/raw/nope.csv: source file not found. Put your table there and `dvc add` it",
    ),
    Case("empty file", _raw(""), "ingest", "the file is empty (0 bytes)", INGEST),
    Case(
        "header only",
        _raw(_table_text(messy_table()).split("\n")[0] + "\n"),
        "ingest",
        "only a header line (9 columns), no data rows",
        INGEST,
    ),
    Case(
        "wrong delimiter",
        _params(**{"data.csv.delimiter": ";"}),
        "ingest",
        "with delimiter ';'; set data.csv.delimiter in params.yaml to the file's delimiter",
        INGEST,
    ),
    Case("non-UTF-8 bytes", _non_utf8, "ingest", "<expected>", INGEST),
    Case(
        "target column missing",
        _params(**{"data.target": "churned"}),
        "ingest",
        "data.target names column 'churned', which is not in the file; its 9 columns are: "
        "customer, signup, plan, age, income, member, city, score, churn. Fix data.target",
        INGEST,
    ),
    Case(
        "target all empty",
        _rewrite(lambda f: _with(f, churn="")),
        "ingest",
        "target 'churn' has no values: all 300 rows are empty. Choose another data.target or "
        "fill in the labels",
        ("schema", "infer"),
    ),
    Case(
        "target single class",
        _rewrite(lambda f: _with(f, churn="no")),
        "validate",
        "churn: at least two classes — only class 'False' (300 rows)",
        ("schema", "infer"),
        "target 'churn' has a single value (False) in all 300 labelled rows",
    ),
    Case(
        "schema column missing",
        _rewrite(lambda f: f.drop(columns=["age"])),
        "validate",
        "age: column present — column is missing (300 rows)",
    ),
    Case(
        "unexpected extra column (validate.extra_columns: fail)",
        lambda repo: (
            _rewrite(lambda f: _with(f, notes="x"))(repo),
            repo.set_params(**{"validate.extra_columns": "fail"}),
        ),
        "validate",
        "notes: known column — column is not in the schema (300 rows)",
    ),
    Case(
        "text in a numeric column beyond the tolerated share",
        _rewrite(_set_rows("income", slice(0, 60), "unknown")),
        "validate",
        "income: type numeric — values that are not numbers, e.g. ['unknown'] (60 rows)",
    ),
    Case(
        "category outside the schema",
        _rewrite(_set_rows("plan", slice(0, 10), "platinum")),
        "validate",
        "plan: allowed categories — unknown categories 'platinum' x10 (10 rows)",
    ),
    Case(
        "too many missing values",
        _rewrite(_set_rows("score", slice(0, 180), "")),
        "validate",
        "score: missing fraction <= 0.1534 — 0.6",
    ),
    Case(
        "duplicate column names",
        _duplicate_header,
        "ingest",
        "duplicate column names ['age']; every column needs a unique name",
        INGEST,
    ),
    Case(
        "params typo",
        lambda repo: _edit_params(repo, lambda p: p["data"].update(targt="churn")),
        "ingest",
        "unknown key 'data.targt'. Allowed keys in 'data': boolean_features, categorical_features",
        INGEST,
    ),
    Case(
        "regression target that is not numeric",
        _params(**{"data.task": "regression"}),
        "audit",  # the first stage after validate that reads data.task against the schema
        "data.task is regression but data/schema.yaml says task binary; run `mlpipe schema infer`",
        ("schema", "infer"),
        "data.task is regression but target 'churn' is not numeric (values such as "
        "['False', 'True'])",
    ),
    Case(
        "unsupported file type",
        _raw(b"PK\x03\x04 not a table", "customers.xlsx"),
        "ingest",
        "unsupported file type '.xlsx'; use .csv, .tsv or .parquet",
        (
            "ingest",
            "--source",
            "data/raw/customers.xlsx",
            "--output",
            OUTS["ingest"][0],
            "--report",
            OUTS["ingest"][1],
        ),
    ),
    Case(
        "rows that do not match the header",
        _ragged,
        "ingest",
        "rows do not match the header",
        INGEST,
    ),
    Case(
        "positive class that is not a class",
        _params(**{"data.positive_class": "yes"}),
        "train",
        "data.positive_class 'yes' is not one of the target's classes ['False', 'True'] "
        "(yes/no labels are read as booleans)",
        TRAIN,
    ),
    Case(
        "slice column not in the data (checked at ingest, before training)",
        _params(**{"evaluate.slices": ["region"]}),
        "ingest",
        "evaluate.slices names column 'region', which is not in the file; its 9 columns are: ",
        INGEST,
    ),
    Case(
        "gate metric the task does not have (checked at validate, before training)",
        _params(**{"gate.rules": [{"metric": "rmse", "max": 1.0}]}),
        "validate",
        "params.yaml: gate.rules names metric 'rmse', which a binary model does not have (the "
        "task is from the schema). Metrics of a binary model: rows, positive_rate, accuracy,",
    ),
    Case(
        "numeric slice column",
        _params(**{"evaluate.slices": ["plan", "age"]}),
        "evaluate",
        "evaluate.slices: 'age' is numeric; slices are per category, use a categorical or "
        "boolean column. Set evaluate.slices in params.yaml to some of the categorical or "
        "boolean columns ['plan', 'city', 'member'], or to []",
        EVALUATE,
    ),
    Case(
        "duplicate ids (rows exported twice)",
        _rewrite(lambda f: pd.concat([f, f.iloc[:5]], ignore_index=True)),
        "validate",
        "customer: unique ids — 5 id(s) occur more than once, e.g. ['K00000', 'K00001', "
        "'K00002']; copies of a record can land in both train and test and inflate the test "
        "metrics. Remove the duplicate rows, or if repeats are legitimate, do not declare "
        "'customer' an id",
    ),
    Case(
        "time split on a date column that is not ISO",
        _time_split_on_text_dates,
        "split",
        "<expected>",
    ),
    Case(
        "schema typo",
        _schema_typo,
        "validate",
        "unknown key 'columns.age.maximum'",
        VALIDATE,
    ),
]


def _edit_params(repo: Repo, change: Callable[[dict], None]) -> None:
    params = repo.params()
    change(params)
    (repo.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _lock(repo: Repo) -> dict:
    return yaml.safe_load((repo.path / "dvc.lock").read_text())["stages"]


def _owner(rel: str) -> str | None:
    for stage, outs in OUTS.items():
        if any(rel == o or (o.endswith("/") and rel.startswith(o)) for o in outs):
            return stage
    return None


def test_there_are_at_least_fifteen_cases() -> None:
    assert len({c.name for c in CASES}) == len(CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_fails_cleanly(byod_base: Repo, tmp_path: Path, case: Case) -> None:
    repo = byod_base.copy(tmp_path / "repo")
    case.mutate(repo)
    expected = getattr(repo, "expected", case.message)
    before, lock_before = snapshot(repo), _lock(repo)

    if case.direct is not None and case.direct != VALIDATE:
        direct = repo.mlpipe_in_process(*case.direct, check=False)
        assert direct.returncode == 2, direct.stderr
        assert (case.direct_message or expected) in direct.stderr
        assert f"{case.direct[0]} failed: " in direct.stderr  # one line, no traceback
        assert "Traceback" not in direct.stderr
        assert snapshot(repo) == before  # nothing written, nothing removed
        assert temp_files(repo) == []

    result = repo.dvc("repro", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"failed to reproduce '{case.stage}'" in output
    assert expected in output
    assert "Traceback" not in output
    assert temp_files(repo) == []
    ran = ran_stages(result.stdout)
    assert ran[-1:] == [case.stage] or (case.stage == "ingest" and ran == [])

    after, lock_after = snapshot(repo), _lock(repo)
    later = ORDER[ORDER.index(case.stage) :]
    for stage in later:  # the failing stage and everything after it: lock as before
        assert lock_after.get(stage) == lock_before.get(stage), stage
    for rel, data in before.items():
        owner = _owner(rel)
        if rel.startswith(".dvc/cache/"):
            assert after.get(rel) == data, f"cache entry changed: {rel}"
        elif owner == case.stage:
            assert after.get(rel, data) == data, f"{rel} half-written"  # removed by DVC, or same
        elif owner in later:
            assert after.get(rel) == data, f"{rel} of stage {owner} changed"

    if case.direct == VALIDATE or case.stage == "validate":
        direct = repo.mlpipe_in_process(*VALIDATE, check=False)
        assert direct.returncode in (1, 2)
        assert expected in direct.stderr
        assert not (repo.path / OUTS["validate"][0]).exists()


def test_extra_column_only_warns_by_default(byod_base: Repo, tmp_path: Path) -> None:
    repo = byod_base.copy(tmp_path / "repo")
    _rewrite(lambda f: _with(f, notes="x"))(repo)
    result = repo.dvc("repro")
    assert "schema warning: notes: known column — column is not in the schema" in result.stderr
    validation = repo.read_json("data/results/validation.json")
    assert validation["ok"] is True
    assert [w["column"] for w in validation["warnings"]] == ["notes"]


def test_a_wrong_slice_name_stops_repro_at_ingest_before_training(
    byod_base: Repo, tmp_path: Path
) -> None:
    repo = byod_base.copy(tmp_path / "repo")
    repo.set_params(**{"evaluate.slices": ["plan", "regoin"]})
    result = repo.dvc("repro", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert ran_stages(result.stdout) == ["ingest"]  # no split, train or evaluate ran
    assert "failed to reproduce 'ingest'" in output
    assert (
        "data/raw/customers.csv: evaluate.slices names column 'regoin', which is not in the "
        "file; its 9 columns are: "
    ) in output
    assert (
        "Fix evaluate.slices in params.yaml (categorical or boolean columns, or [] for none)"
        in (output)
    )
