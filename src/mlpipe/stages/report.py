"""`mlpipe report`: the pull-request comment (markdown) comparing the workspace with a base ref.

Also `mlpipe gate`: the same gate, printed as text, exit 1 when it fails.

The comment (--output, or stdout) is kept under GitHub's comment limit; --summary writes the
same report with the job summary's larger budget, so what the comment had to leave out is there.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
from pathlib import Path

from mlpipe.config import Params, load_params
from mlpipe.io import InputError, write_text
from mlpipe.markdown_escape import code_span, md_code
from mlpipe.report.gate import GateResult, evaluate_gate, leakage_checks
from mlpipe.report.markdown import COMMENT_BUDGET, SUMMARY_BUDGET, PullRequest, build_report
from mlpipe.report.noise import Noise, compare_rows, intervals_from_report
from mlpipe.report.revision import PLOT_NAMES, Revision, incomparable
from mlpipe.report.sources import (
    base_predictions,
    extract_figures,
    fetch_predictions,
    git_revision,
    stale_stages,
    uncommitted_files,
    workspace_predictions,
    workspace_revision,
)

log = logging.getLogger(__name__)
# A link the note of a shortened comment may hold as it is.
_URL = re.compile(r"https?://[\w.:/%?=&#~+-]+")


def _noise(root: Path, params: Params, base: Revision, head: Revision, ref: str) -> Noise:
    """The bootstrap comparison of the two revisions' per-row test predictions, or why none."""
    settings = params.evaluate.bootstrap
    noise = Noise(
        settings.confidence,
        pr_intervals=intervals_from_report(head.intervals),
        base_intervals=intervals_from_report(base.intervals),
    )
    if base.metrics is None or "test" not in base.metrics:
        return dataclasses.replace(noise, unavailable=f"{md_code(ref)} has no test metrics")
    if (reason := incomparable(base, head)) is not None:
        return dataclasses.replace(noise, unavailable=f"not comparable: {reason}")
    pr_rows, why = workspace_predictions(root, params.paths.test_predictions)
    if pr_rows is None:
        return dataclasses.replace(noise, unavailable=why)
    base_rows, why = base_predictions(root, ref, base.params)
    if base_rows is None:
        return dataclasses.replace(noise, unavailable=why)
    comparison = compare_rows(
        base_rows,
        pr_rows,
        settings,
        base_positive=(base.params.get("data") or {}).get("positive_class"),
        pr_positive=params.data.positive_class,
    )
    log.info(
        "bootstrap of the test metrics' changes: %s, %d resamples of %d rows",
        "paired" if comparison.paired else f"unpaired ({comparison.unpaired_reason})",
        comparison.resamples,
        comparison.resampled_rows[1],
    )
    return dataclasses.replace(noise, comparison=comparison)


def _workspace_results(params: Params) -> tuple[str, ...]:
    """The result files the report reads from the workspace (each named here, so the
    configuration reference lists this command among their readers): those not committed
    as they are get a note in their section of the comment."""
    paths = params.paths
    plots = [f"{paths.plots}/{name}.json" for name in (*PLOT_NAMES, "importance")]
    return (
        paths.metrics,
        paths.intervals,
        paths.slices,
        paths.validation,
        paths.ingest_report,
        paths.schema,
        paths.audit,
        paths.drift,
        paths.tune,
        *plots,
    )


def _load(args: argparse.Namespace) -> tuple[Revision, Revision, GateResult, Noise]:
    params = load_params(args.params)
    root = Path.cwd()
    head = workspace_revision(root, args.params, getattr(args, "head_ref", None))
    head = dataclasses.replace(
        head,
        stale=tuple(stale_stages(root) or ()),
        uncommitted=uncommitted_files(root, _workspace_results(params)),
    )
    base = git_revision(root, args.base, args.params)
    dataset = params.gate.dataset
    if head.stale:
        log.warning(
            "not reproduced: dvc status lists %s as changed; the workspace's results are from "
            "older code, params or data (run dvc repro first)",
            ", ".join(head.stale),
        )
    if head.metrics is None or dataset not in head.metrics:
        raise InputError(
            f"{params.paths.metrics}: no {dataset} metrics in the workspace. "
            "Run `dvc repro` first."
        )
    base_metrics = None if base.metrics is None else base.metrics.get(dataset)
    no_baseline = f"{code_span(args.base)} has no {dataset} metrics"
    if base_metrics is not None and (reason := incomparable(base, head)) is not None:
        base_metrics, no_baseline = None, f"not comparable: {reason}"
    noise = _noise(root, params, base, head, args.base)
    gate = evaluate_gate(params.gate, head.metrics[dataset], base_metrics, no_baseline, noise)
    leakage = leakage_checks(head.audit, params.audit.leakage)
    return base, head, dataclasses.replace(gate, checks=gate.checks + leakage), noise


def _log_gate(gate: GateResult, stale: tuple[str, ...] = ()) -> None:
    if stale:
        log.error(
            "gate not passed: the workspace is not reproduced (dvc status lists %s); run dvc "
            "repro",
            ", ".join(stale),
        )
        return
    if gate.passed:
        log.info("gate passed (%d checks)", len(gate.checks))
    for message in gate.failures:
        log.error("gate failed: %s", message)


def _full_report(args: argparse.Namespace) -> str:
    """Where the comment's note sends a reader for what it left out (markdown)."""
    url = getattr(args, "summary_url", None)
    if url:
        if not _URL.fullmatch(url):
            raise InputError(
                f"--summary-url {url!r} is not an http(s) URL of plain characters; pass the "
                "run's page, e.g. "
                "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
            )
        return f"[the job summary of this run]({url})"
    if getattr(args, "summary", None):
        return f"the job summary ({md_code(args.summary)})"
    return ""


def run(args: argparse.Namespace) -> int:
    full_report = _full_report(args)
    base, head, gate, noise = _load(args)
    figures = []
    params = load_params(args.params)
    if args.images:
        figures = extract_figures(Path.cwd(), base.commit, params.paths.figures, Path(args.images))
    source = PullRequest(args.pull_request or 0, args.fork)

    def report(budget: int, where: str) -> str:
        return build_report(
            base,
            head,
            gate,
            all_params=args.all_params,
            figures=figures,
            source=source,
            noise=noise,
            budget=budget,
            full_report=where,
        )

    text = report(COMMENT_BUDGET, full_report)
    summary_path = getattr(args, "summary", None)
    if summary_path:
        files = (params.paths.metrics, params.paths.slices, params.paths.drift)
        where = "the result files (" + ", ".join(md_code(f) for f in files) + ")"
        write_text(summary_path, report(SUMMARY_BUDGET, where))
        log.info("wrote %s (the job summary's version)", summary_path)
    # Not reproduced: no verdict, as `mlpipe gate` gives none (the comment says so).
    passed = gate.passed and not head.stale
    verdict = "not passed: not reproduced" if head.stale else "passed" if passed else "failed"
    if args.output:
        write_text(args.output, text)
        log.info("wrote %s (gate %s)", args.output, verdict)
    else:
        print(text, end="")
    _log_gate(gate, head.stale)
    return 1 if args.fail_on_gate and not passed else 0


def run_gate(args: argparse.Namespace) -> int:
    _, head, gate, _ = _load(args)
    if head.stale:
        raise InputError(
            f"the workspace is not reproduced: dvc status lists {', '.join(head.stale)} as "
            "changed, so its metrics do not belong to this code and params. Run `dvc repro`, "
            "then `mlpipe gate` again"
        )
    icon = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}
    for check in gate.checks:
        print(f"{icon[check.status]}  {check.message}")
    if not gate.has_baseline:
        print(f"no baseline ({gate.no_baseline or args.base}): drop rules skipped")
    elif gate.noise_unavailable:
        print(f"no interval of the change ({gate.noise_unavailable}): drop rules on point values")
    print(f"gate {'passed' if gate.passed else 'FAILED'}")
    return 0 if gate.passed else 1


def run_fetch(args: argparse.Namespace) -> int:
    """`mlpipe fetch-predictions`: the base's per-row test predictions into the DVC cache."""
    root = Path.cwd()
    base = git_revision(root, args.base, args.params)
    ok, message = fetch_predictions(root, args.base, base.params)
    (log.info if ok else log.error)("%s", message)
    return 0 if ok else 1
