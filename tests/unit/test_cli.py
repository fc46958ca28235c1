"""The `mlpipe` command: help says what each subcommand reads and writes; --help is light."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlpipe.cli import _STAGES, _stop_cleanly, _Stopped, build_parser, main
from mlpipe.io import InputError, atomic_path, write_json
from support.repo import BIN

SUBCOMMANDS = [*_STAGES, "schema", "metrics"]
HEAVY = ("pandas", "numpy", "sklearn", "scipy", "pyarrow", "matplotlib", "skops", "yaml")


def _help(*argv: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--help"])
    assert caught.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys=capsys)
    assert "generate -> ingest -> validate -> split -> train -> evaluate" in text
    assert "dvc repro" in text
    for name in SUBCOMMANDS:
        assert f"    {name}" in text


@pytest.mark.parametrize(
    ("argv", "reads", "writes"),
    [
        (["generate"], "Reads: params.yaml [generate]", "Writes: --output (Parquet)"),
        (["ingest"], "Reads: --source, params.yaml [data]", "--report (JSON)"),
        (["validate"], "Reads: --input, --schema", "Writes: --report (JSON) on success"),
        (["split"], "Reads: --input, --validation", "Writes: --train, --test"),
        (
            ["audit"],
            "Reads: --input, --schema, --validation, --unlabelled, params.yaml [data, audit]",
            "--label-issues (CSV: rows whose label looks wrong, worst first)",
        ),
        (["train"], "Reads: --train, --schema", "Writes: --model (skops)"),
        (["evaluate"], "Reads: --model, --train, --test", "--plots (dir of JSON)"),
        (["schema", "infer"], "Reads: --input, params.yaml", "Writes: --output"),
        (["metrics"], "Reads: --metrics (default: paths.metrics)", "Writes: nothing"),
    ],
)
def test_subcommand_help_says_what_it_reads_and_writes(
    argv: list[str], reads: str, writes: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = " ".join(_help(*argv, capsys=capsys).split())
    assert reads in text and writes in text
    assert "--params PARAMS" in text


def test_every_stage_path_option_is_required() -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--train", "t.parquet"])
    args = parser.parse_args(["train", "--train", "a", "--schema", "b", "--model", "c"])
    assert (args.train, args.schema, args.model, args.params) == ("a", "b", "c", "params.yaml")


def test_missing_option_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["split", "--input", "x"])
    assert caught.value.code == 2
    assert "the following arguments are required: --validation, --train, --test" in (
        capsys.readouterr().err
    )


def test_user_error_is_one_line_and_exit_2(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "metrics.json"
    with caplog.at_level(logging.ERROR, logger="mlpipe"):
        assert main(["metrics", "--metrics", str(missing)]) == 2
    assert [r.getMessage() for r in caplog.records] == [
        f"metrics failed: {missing}: file not found"
    ]


def test_verbose_keeps_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        main(["-v", "metrics", "--metrics", str(tmp_path / "m.json")])


def test_success_prints_and_returns_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"test": {"rows": 5.0}})
    assert main(["metrics", "--metrics", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "rows             5"


def test_help_imports_no_heavy_library() -> None:
    """`mlpipe --help` (and a subcommand's help) must not import pandas, sklearn, ..."""
    code = (
        "import json, sys\n"
        "from mlpipe import cli\n"
        "for argv in (['--help'], ['train', '--help'], ['evaluate', '--help']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if '.' not in m)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert "mlpipe" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_installed_command_help_with_importtime() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(BIN / "mlpipe"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "usage: mlpipe" in result.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "mlpipe.cli" in imported
    assert not {m for m in imported if m.split(".")[0] in HEAVY}


@pytest.mark.slow  # a stage process that imports scikit-learn
@pytest.mark.parametrize(("given", "spin"), [(None, "0"), ("active", "30000000000")])
def test_openmp_waits_sleep_unless_the_user_chose(
    given: str | None, spin: str, tmp_path: Path
) -> None:
    """The OpenMP runtime scikit-learn loads (libgomp) prints its settings with
    OMP_DISPLAY_ENV=VERBOSE. Unset, libgomp spins 300 000 times before a waiting thread sleeps;
    a stage runs with PASSIVE waits (spin count 0) unless the user set a policy."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    missing = tmp_path / "missing.parquet"
    command = ["train", "--train", str(missing), "--schema", "s.yaml", "--model", "m.skops"]
    result = subprocess.run(
        [str(BIN / "mlpipe"), *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2  # a user error, after the stage imported scikit-learn
    assert f"GOMP_SPINCOUNT = '{spin}'" in result.stderr


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["drift", "--reference", "ref.csv", "--current", "batch.csv"], "--output-md"),
        (["monitor", "--current", "batch.csv"], "--output-md"),
        (["monitor", "--current", "batch.csv"], "--output-json"),
        (["predict", "--model", "m.skops", "--input", "batch.csv"], "--output"),
    ],
)
def test_an_output_that_is_the_input_batch_is_refused_and_the_batch_kept(
    command: list[str], option: str, tmp_path: Path
) -> None:
    """The review's case: `--output-md batch.csv` replaced the batch with the markdown. Refused
    before the subcommand's module (pandas, scikit-learn: seconds) is imported."""
    from support.repo import PROJECT

    batch = tmp_path / "batch.csv"
    batch.write_text("customer_id,tenure_months\nc1,3\n")
    files = [
        "--params",
        str(PROJECT / "params.yaml"),
        "--schema",
        str(PROJECT / "data/schema.yaml"),
    ]
    argv = [*command, option, "batch.csv", *files]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(BIN / "mlpipe"), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert f"{option} batch.csv is the same file as --" in result.stderr
    assert batch.read_text() == "customer_id,tenure_months\nc1,3\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "mlpipe.io" in imported
    assert not {m for m in imported if m.split(".")[0] in HEAVY}


@pytest.mark.timing
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_unwinds_an_atomic_write_and_the_handlers_come_back(
    tmp_path: Path, signum: int
) -> None:
    """SIGTERM's default action skips `finally`, leaving an atomic write's temporary file; while
    a subcommand runs, both signals raise instead (a real signal to this process). A run
    started as a shell's background job inherits SIGINT ignored, which `_stop_cleanly` keeps
    (see the next tests): Python's own handler is put back for this test."""
    restore = signal.signal(
        signum, signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
    )
    try:
        _unwinds_and_restores(tmp_path, signum)
    finally:
        signal.signal(signum, restore)


def _unwinds_and_restores(tmp_path: Path, signum: int) -> None:
    before = signal.getsignal(signum)
    slept = False
    with (
        pytest.raises(_Stopped) as caught,
        _stop_cleanly(),
        atomic_path(tmp_path / "out" / "s.parquet") as tmp,
    ):
        tmp.write_text("half of the scores")
        os.kill(os.getpid(), signum)
        time.sleep(30)  # the handler raises before or in this sleep
        slept = True
    assert caught.value.signum == signum and not slept
    assert not (tmp_path / "out").exists()  # no temporary file, no directory it created
    assert signal.getsignal(signum) is before


def test_main_installs_signal_handlers_only_while_it_runs(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    write_json(path, {"test": {"rows": 5.0}})
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    assert main(["metrics", "--metrics", str(path)]) == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    code = "import signal, mlpipe.cli; print(signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "True"  # importing sets nothing


def test_a_signal_the_parent_ignores_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as for a shell's `cmd &`
    try:
        with _stop_cleanly():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
