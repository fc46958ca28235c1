"""The `mlpipe` command: one subcommand per pipeline stage, plus tools around them.

Only argparse is imported at start-up; a subcommand imports its module when it runs, so
`mlpipe --help` is instant. dvc.yaml passes every path as an option (declared in params.yaml).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence

from mlpipe.errors import MlpipeError

log = logging.getLogger("mlpipe")
# The log lines every command writes on stderr.
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_DATE_FORMAT = "%H:%M:%S"

DESCRIPTION = """\
mlpipe: a cached DVC pipeline (generate -> ingest -> validate -> split -> train -> evaluate,
with audit and drift).
Normally run through `dvc repro`, which calls these subcommands with the paths from params.yaml.
"""

# name -> (module with run(args), help, description of files read and written, options)
# Each option: (flag, help). All options are required paths unless noted.
_STAGES: dict[str, tuple[str, str, str, list[tuple[str, str] | tuple[str, str, bool]]]] = {
    "generate": (
        "mlpipe.stages.generate",
        "write the embedded churn dataset (the default raw data)",
        "Reads: params.yaml [generate]. Writes: --output (Parquet).",
        [("--output", "raw table to write (paths.raw)")],
    ),
    "ingest": (
        "mlpipe.stages.ingest",
        "read the source CSV/Parquet table and normalise it",
        "Reads: --source, params.yaml [data]. Writes: --output (Parquet), --report (JSON), "
        "--unlabelled (Parquet: rows without a target, data.unlabelled: drop).",
        [
            ("--source", "CSV or Parquet file to read (data.source)"),
            ("--output", "typed table to write (paths.ingested)"),
            ("--report", "JSON report of normalisations (paths.ingest_report)"),
            (
                "--unlabelled",
                "rows without a target, with their source row numbers (default: paths.unlabelled)",
                False,
            ),
        ],
    ),
    "validate": (
        "mlpipe.stages.validate",
        "check the table against the schema contract",
        "Reads: --input, --schema, params.yaml [validate]. Writes: --report (JSON) on success; "
        "on violations lists every one and exits 1 without writing.",
        [
            ("--input", "table to check (paths.ingested)"),
            ("--schema", "schema contract (paths.schema)"),
            ("--report", "validation report to write (paths.validation)"),
        ],
    ),
    "audit": (
        "mlpipe.stages.audit",
        "target leakage and label issues of the validated table",
        "Reads: --input, --schema, --validation, --unlabelled, params.yaml [data, audit]. "
        "Writes: --report "
        "(JSON: each feature's power alone, possible target leakage, the label-issue count), "
        "--label-issues (CSV: rows whose label looks wrong, worst first). Leakage is logged "
        "as WARNING lines.",
        [
            ("--input", "validated table (paths.ingested)"),
            ("--schema", "schema contract (paths.schema)"),
            ("--validation", "validation report; must say ok (paths.validation)"),
            (
                "--unlabelled",
                "rows ingest set aside without a target: their `row` numbers map the table's "
                "rows to the source's (default: paths.unlabelled; none when absent)",
                False,
            ),
            ("--report", "audit report to write (paths.audit)"),
            ("--label-issues", "label-issues table to write (paths.label_issues)"),
        ],
    ),
    "split": (
        "mlpipe.stages.split",
        "seeded stratified / random / time-based train-test split",
        "Reads: --input, --validation, params.yaml [data, split]. Writes: --train, --test.",
        [
            ("--input", "validated table (paths.ingested)"),
            ("--validation", "validation report; must say ok (paths.validation)"),
            ("--train", "training rows to write (paths.train)"),
            ("--test", "test rows to write (paths.test)"),
        ],
    ),
    "train": (
        "mlpipe.stages.train",
        "fit the scikit-learn Pipeline chosen in params",
        "Reads: --train, --schema, params.yaml [data, train]. Writes: --model (skops).",
        [
            ("--train", "training rows (paths.train)"),
            ("--schema", "schema contract: feature kinds and task (paths.schema)"),
            ("--model", "model file to write (paths.model)"),
        ],
    ),
    "evaluate": (
        "mlpipe.stages.evaluate",
        "metrics, slice metrics, plot data and PNG figures",
        "Reads: --model, --train, --test, --schema, --audit, params.yaml [data, train, "
        "evaluate]. Writes: --metrics, --slices (JSON), --plots (dir of JSON), --figures (dir "
        "of PNG), --card (markdown model card, with the audit's findings), --predictions "
        "(per-row test predictions, Parquet), --intervals (the test metrics' bootstrap "
        "intervals, JSON).",
        [
            ("--model", "model file (paths.model)"),
            ("--train", "training rows (paths.train)"),
            ("--test", "test rows (paths.test)"),
            ("--schema", "schema contract (paths.schema)"),
            ("--metrics", "metrics JSON to write (paths.metrics)"),
            ("--slices", "slice metrics JSON to write (paths.slices)"),
            ("--plots", "directory of plot data to write (paths.plots)"),
            ("--figures", "directory of PNG figures to write (paths.figures)"),
            ("--card", "model card to write (paths.model_card)"),
            (
                "--ingest-report",
                "ingest report: the card counts the unlabelled rows (default: "
                "paths.ingest_report; skipped when absent)",
                False,
            ),
            (
                "--predictions",
                "per-row test predictions to write (default: paths.test_predictions)",
                False,
            ),
            (
                "--intervals",
                "test metrics' intervals to write (default: paths.intervals)",
                False,
            ),
            (
                "--audit",
                "audit report, shown in the model card (default: paths.audit; skipped when "
                "absent)",
                False,
            ),
        ],
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlpipe", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text, files, options) in _STAGES.items():
        p = sub.add_parser(name, help=help_text, description=f"{help_text}.\n{files}")
        _params_option(p)
        for flag, flag_help, *optional in options:  # (flag, help, False): not required
            p.add_argument(flag, required=not optional, help=flag_help)
        p.set_defaults(handler=_module_runner(module))

    schema = sub.add_parser("schema", help="infer the schema contract from data")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True, metavar="ACTION")
    infer = schema_sub.add_parser(
        "infer",
        help="write schema.yaml from a table",
        description="Infer column kinds, ranges, categories and missing budgets from a table "
        "(default: data.source, read and normalised as the ingest stage does) and write "
        "schema.yaml for review. With data.task auto, says which task it decided.\n"
        "Reads: --input, params.yaml [data, paths]. Writes: --output.",
    )
    _params_option(infer)
    infer.add_argument("--input", help="table to infer from (default: data.source)")
    infer.add_argument("--output", help="schema file to write (default: paths.schema)")
    infer.set_defaults(handler=_module_runner("mlpipe.stages.schema"))

    _add_init_command(sub)
    _add_tune_command(sub)
    metrics = sub.add_parser(
        "metrics",
        help="print the metrics table",
        description="Print the test and train metrics as a table, each test metric with its "
        "bootstrap interval when the intervals file exists.\n"
        "Reads: --metrics (default: paths.metrics), --intervals (default: paths.intervals when "
        "--metrics is not given). Writes: nothing.",
    )
    _params_option(metrics)
    metrics.add_argument("--metrics", help="metrics JSON (default: paths.metrics)")
    metrics.add_argument(
        "--intervals", help="intervals JSON of the test metrics (default: paths.intervals)"
    )
    metrics.set_defaults(handler=_module_runner("mlpipe.stages.show"))
    _add_report_commands(sub)
    _add_production_commands(sub)
    _add_drift_commands(sub)
    _add_monitor_commands(sub)
    return parser


def _add_init_command(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser(
        "init",
        help="set up the pipeline for your table: roles, task, gate, schema, DVC",
        description="Read --source as ingest will, decide the task, positive class, id and date "
        "columns, slices, split method and gate rules, set them in params.yaml (comments "
        "kept), write the schema as `mlpipe schema infer` does, `dvc add` the file and remove "
        "the demo generate stage. Prints each decision with its reason and the next command. "
        "Flags override a decision.\n"
        "Reads: --source, params.yaml, dvc.yaml. Writes: params.yaml, paths.schema, dvc.yaml, "
        "<source>.dvc (nothing with --dry-run).",
    )
    _params_option(init)
    init.add_argument("--source", required=True, help="CSV or Parquet file of the project")
    init.add_argument("--target", required=True, help="the column to predict")
    init.add_argument(
        "--task",
        choices=("auto", "binary", "multiclass", "regression"),
        default="auto",
        help="default: decided from the target's values",
    )
    init.add_argument("--positive-class", help="binary: the class to detect (as text)")
    init.add_argument("--id-columns", metavar="A,B|none", help="columns that identify rows")
    init.add_argument("--date-column", metavar="C|none", help="the date column")
    init.add_argument("--slices", metavar="A,B|none", help="columns to report metrics per value")
    init.add_argument(
        "--dry-run", action="store_true", help="print the params.yaml diff; write nothing"
    )
    init.set_defaults(handler=_module_runner("mlpipe.stages.init"))


def _add_tune_command(sub: argparse._SubParsersAction) -> None:
    tune = sub.add_parser(
        "tune",
        help="search the train params by cross-validation on the training split (Optuna)",
        description="Run an Optuna study (seeded TPE) over params.yaml [tune] space: the "
        "estimator and its hyperparameters, scored by the mean of a K-fold cross-validation on "
        "the training split only (the test split is never read); binary tasks also choose "
        "train.threshold on the out-of-fold predictions. Trial 0 is the current [train] "
        "section. Trials are kept in the journal, so a stopped study resumes where it was.\n"
        "Reads: --train, --schema, params.yaml [data, split, train, tune], --journal. Writes: "
        "--journal, --output (JSON); with --apply the winning keys in params.yaml (comments "
        "kept).",
        formatter_class=argparse.RawTextHelpFormatter,
    )
    _params_option(tune)
    tune.add_argument(
        "--trials", type=int, metavar="N", help="trials, the baseline included (tune.trials)"
    )
    tune.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="start no trial after S seconds (the result is then not reproducible)",
    )
    tune.add_argument(
        "--apply", action="store_true", help="write the winning keys into params.yaml"
    )
    tune.add_argument("--train", help="training rows (default: paths.train)")
    tune.add_argument("--schema", help="schema contract (default: paths.schema)")
    tune.add_argument("--output", help="result JSON to write (default: paths.tune)")
    tune.add_argument("--journal", help="Optuna journal file (default: paths.tune_journal)")
    tune.set_defaults(handler=_module_runner("mlpipe.stages.tune"))


def _add_report_commands(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "report",
        help="pull-request report: metric, param, data and plot diffs against a base ref",
        description="Compare the workspace's results (after dvc repro) with those committed at "
        "--base, evaluate the gate (params.yaml [gate]) and write the markdown comment.\n"
        "Reads: params.yaml, result files of the workspace and of --base (via git show), the "
        "per-row test predictions of both (the base's from the DVC cache or default remote: "
        "intervals of the changes, paired row by row). Writes: --output (default: stdout). No "
        "image is linked unless --images is given.",
    )
    report.add_argument(
        "--output",
        help="markdown file to write (default: stdout): the comment, kept under GitHub's "
        "65,536-character limit (tables shortened, then sections left out, when over)",
    )
    report.add_argument(
        "--summary",
        metavar="FILE",
        help="also write the report for the job summary (kept under its 1 MiB limit) to FILE",
    )
    report.add_argument(
        "--summary-url",
        metavar="URL",
        help="link to the job summary for the comment's note when it had to shorten",
    )
    report.add_argument(
        "--fail-on-gate", action="store_true", help="exit 1 when the gate fails (after writing)"
    )
    report.add_argument(
        "--all-params", action="store_true", help="also list every PR param, not only changes"
    )
    report.add_argument(
        "--pull-request", type=int, metavar="N", help="the PR's number (for the reproduce advice)"
    )
    report.add_argument(
        "--fork",
        action="store_true",
        help="the PR's branch is in a fork: advise `git fetch origin pull/N/head`, no --pull",
    )
    report.add_argument(
        "--images",
        metavar="DIR",
        help="opt-in: link the PNG figures (base copies extracted into DIR); "
        "`cml comment` then uploads them",
    )
    gate = sub.add_parser(
        "gate",
        help="check the merge gate against a base ref; exit 1 with the reasons when it fails",
        description="Evaluate params.yaml [gate] on the workspace's metrics against those "
        "committed at --base; drop rules follow gate.noise (the change's bootstrap interval).\n"
        "Reads: params.yaml, metrics and per-row test predictions of the workspace and --base. "
        "Writes: nothing.",
    )
    fetch = sub.add_parser(
        "fetch-predictions",
        help="put the base ref's per-row test predictions into the DVC cache (from the remote)",
        description="Fetch the per-row test predictions of --base (a DVC output of evaluate, "
        "named in its dvc.lock) from DVC's default remote into the local cache, so `mlpipe "
        "report --base` pairs the rows without the remote's credentials (CI runs it in the "
        "step that has them).\nReads: params.yaml and dvc.lock of --base (via git show), the "
        "DVC remote. Writes: the DVC cache. Exit 1 when they cannot be fetched.",
    )
    for p, handler in ((report, "run"), (gate, "run_gate"), (fetch, "run_fetch")):
        _params_option(p)
        p.add_argument("--base", required=True, help="git ref to compare with, e.g. origin/main")
        if p is not fetch:
            p.add_argument(
                "--head-ref", help="name shown for the PR side (default: current branch or commit)"
            )
        p.set_defaults(handler=_report_runner(handler))


def _report_runner(function: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module("mlpipe.stages.report"), function)(args)

    return run


def _params_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--params", default="params.yaml", help="params file (default: params.yaml)"
    )


def _module_runner(
    module: str, inputs: Sequence[str] = (), outputs: Sequence[str] = ()
) -> Callable[[argparse.Namespace], int]:
    """The handler running ``module``'s ``run(args)``. ``inputs`` / ``outputs`` name the file
    options (argparse dests) that must not be the same file: the ones given on the command line
    are compared before the module is imported (seconds of scikit-learn for some), so a wrong
    option is refused at once; the stage checks again with the defaults from params.yaml."""

    def run(args: argparse.Namespace) -> int:
        if outputs:
            from mlpipe.io import check_outputs_are_not_inputs

            check_outputs_are_not_inputs(
                {_option(dest): getattr(args, dest) for dest in inputs},
                {_option(dest): getattr(args, dest) for dest in outputs},
            )
        return importlib.import_module(module).run(args)

    return run


def _option(dest: str) -> str:
    """The command-line option of an argparse dest ("output_md" -> "--output-md")."""
    return "--" + dest.replace("_", "-")


def _add_production_commands(sub: argparse._SubParsersAction) -> None:
    """Batch scoring and the serving smoke test: not pipeline stages, run by hand or in CI."""
    predict = sub.add_parser(
        "predict",
        help="score a CSV/Parquet file with a model file",
        description="Validate the input against the schema (target optional), score it chunk by "
        "chunk and write id columns + prediction (+ proba_<class>) to --output.\n"
        "Reads: --model, --input, --schema, params.yaml [data, validate, train (threshold), "
        "predict]. Writes: --output (.csv or .parquet), only if the file keeps the data "
        "contract: a budget (max_missing, validate.max_invalid_fraction) is crossed when the "
        "file's count is significantly above it (binomial test at predict.contract_alpha); "
        "with predict.bad_rows: skip, rows breaking a row rule go with their reasons to "
        "<output stem>.rejected.<suffix> instead of the output.\n"
        "Exit 0: every row scored. Exit 4: scored, some rows set aside (bad_rows: skip). "
        "Exit 2: bad input (nothing written).",
        formatter_class=argparse.RawTextHelpFormatter,
    )
    _params_option(predict)
    predict.add_argument("--model", required=True, help="model file (e.g. paths.model)")
    predict.add_argument("--input", required=True, help="CSV or Parquet table to score")
    predict.add_argument("--output", required=True, help="predictions to write (.csv/.parquet)")
    predict.add_argument("--schema", help="schema contract (default: paths.schema)")
    predict.add_argument(
        "--chunk-rows", type=int, help="rows per chunk (default: predict.chunk_rows)"
    )
    predict.set_defaults(
        handler=_module_runner("mlpipe.stages.predict", ("input", "model", "schema"), ("output",))
    )

    smoke = sub.add_parser(
        "smoke-test",
        help="load a model in a fresh process, predict on schema rows, check and time it",
        description="Synthesise rows from the schema (seed predict.seed), load the model in a "
        "new Python process, predict, check output shape and values, report load time and "
        "latency as JSON. Exit 1 with the reason when a check fails.\n"
        "Reads: --model, --schema, params.yaml [data, predict]. Writes: --output or stdout.",
    )
    _params_option(smoke)
    smoke.add_argument("--model", required=True, help="model file (e.g. paths.model)")
    smoke.add_argument("--schema", help="schema contract (default: paths.schema)")
    smoke.add_argument("--rows", type=int, help="rows to synthesise (default: predict.smoke_rows)")
    smoke.add_argument("--output", help="JSON report to write (default: print to stdout)")
    smoke.set_defaults(handler=_module_runner("mlpipe.stages.smoke_test"))


def _add_drift_commands(sub: argparse._SubParsersAction) -> None:
    drift = sub.add_parser(
        "drift",
        help="per-feature drift of a table against a reference (PSI, KS, chi-square)",
        description="Compare --current with --reference column by column: population stability "
        "index, KS test (numeric, datetime) or chi-square test (categorical, boolean); flag "
        "columns over the thresholds in params.yaml [drift].\n"
        "Reads: --reference, --current (Parquet, or CSV read as ingest does), --schema, "
        "params.yaml [data, drift]. Writes: --output-json, --output-md (markdown); with neither, "
        "prints the markdown.",
        formatter_class=argparse.RawTextHelpFormatter,
    )
    _params_option(drift)
    drift.add_argument("--reference", required=True, help="reference table (e.g. paths.train)")
    drift.add_argument("--current", required=True, help="table to compare (e.g. paths.test)")
    drift.add_argument("--schema", help="schema contract (default: paths.schema)")
    drift.add_argument("--output-json", help="JSON report to write (paths.drift)")
    drift.add_argument("--output-md", help="markdown report to write (paths.drift_report)")
    drift.set_defaults(
        handler=_module_runner(
            "mlpipe.stages.drift", ("reference", "current", "schema"), ("output_json", "output_md")
        )
    )


def _add_monitor_commands(sub: argparse._SubParsersAction) -> None:
    monitor = sub.add_parser(
        "monitor",
        help="drift and live metrics of a new batch against the model card; alert verdict",
        description="Read --current as `mlpipe predict` does (ingest normalisation, schema "
        "checks, target optional), compare it with the training reference (drift) and, with "
        "--labels, score it and compare live metrics with the model card's test metrics. "
        "Verdict ok/alert from params.yaml [monitor].\n"
        "Exit 0: ok. Exit 3: alert (thresholds crossed; outputs written). Exit 2: bad input "
        "(nothing written).\n"
        "Reads: --current, --reference, --card, --model and --intervals (with --labels), "
        "--schema, params.yaml [data, validate, predict, drift, monitor, evaluate (bootstrap)]. "
        "Writes: --output-json, --output-md, --output-png; with neither JSON nor markdown, "
        "prints the markdown.\n"
        "With --labels and monitor.noise significant, a live metric alerts only when it is "
        "worse than monitor.max_metric_drop_relative allows and its drop is beyond noise (the "
        "card's test interval from --intervals and a bootstrap of the batch).",
        formatter_class=argparse.RawTextHelpFormatter,
    )
    _params_option(monitor)
    monitor.add_argument("--current", required=True, help="new batch (.csv/.tsv/.parquet)")
    monitor.add_argument(
        "--labels", action="store_true", help="the batch has the target: compute live metrics"
    )
    monitor.add_argument("--model", help="model file (default: paths.model)")
    monitor.add_argument("--card", help="model card (default: paths.model_card)")
    monitor.add_argument(
        "--intervals",
        help="the card's test-metric intervals, JSON (default: paths.intervals)",
    )
    monitor.add_argument("--reference", help="reference table (default: paths.train)")
    monitor.add_argument("--schema", help="schema contract (default: paths.schema)")
    monitor.add_argument("--output-json", help="JSON result to write")
    monitor.add_argument("--output-md", help="markdown report to write (an issue body)")
    monitor.add_argument("--output-png", help="PNG summary to write")
    monitor.set_defaults(
        handler=_module_runner(
            "mlpipe.stages.monitor",
            ("current", "reference", "card", "intervals", "model", "schema"),
            ("output_json", "output_md", "output_png"),
        )
    )


def quiet_openmp_waits() -> None:
    """Make idle OpenMP threads sleep instead of spinning, unless the user chose a policy.

    scikit-learn's gradient boosting and its predictions run OpenMP regions with one thread per
    core. With the default (spinning) waits, a machine busier than its cores (other jobs, a
    shared CI runner, parallel experiments) makes the spinning threads take the CPU from the
    working ones: the evaluate stage took 67 s instead of 19 s on the 2-core build box under
    load. The policy is read when the OpenMP runtime loads, so this runs before any stage
    imports scikit-learn. Results do not depend on it.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class _Stopped(BaseException):
    """SIGTERM or SIGINT arrived while a subcommand ran (see ``_stop_cleanly``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    raise _Stopped(signum)


@contextlib.contextmanager
def _stop_cleanly() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGINT raise ``_Stopped`` in the main thread.

    SIGTERM's default action (``kill``, a CI timeout) ends the process without running
    ``finally`` clauses, leaving the hidden temporary file of an atomic write
    (``mlpipe.io.atomic_path``) beside the output. As an exception, the signal unwinds every
    ``with`` block, which removes it. A signal the parent chose to ignore (a shell's background
    job ignores SIGINT) stays ignored. The previous handlers are restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = {
        s: signal.signal(s, _stop)
        for s in (signal.SIGTERM, signal.SIGINT)
        if signal.getsignal(s) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; the exit status: its own, 2 for a user error (one line, no
    traceback), 128 + the signal's number when SIGTERM (143) or SIGINT (130) stopped it."""
    quiet_openmp_waits()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=LOG_FORMAT,
        datefmt=LOG_DATE_FORMAT,
        stream=sys.stderr,
    )
    start = time.perf_counter()
    try:
        with _stop_cleanly():
            code = args.handler(args)
    except MlpipeError as exc:  # bad input: one clear line, not a traceback
        if args.verbose:
            raise
        log.error("%s failed: %s", args.command, exc)
        return 2
    except _Stopped as stop:
        log.error(
            "%s stopped by %s: files not finished were discarded (no partial output left)",
            args.command,
            signal.Signals(stop.signum).name,
        )
        return 128 + stop.signum
    log.info("%s finished in %.2f s", args.command, time.perf_counter() - start)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
