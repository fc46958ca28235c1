"""`mlpipe report`: the pull-request comment (markdown) comparing the workspace with a base ref.

Also `mlpipe gate`: the same gate, printed as text, exit 1 when it fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from mlpipe.config import load_params
from mlpipe.io import InputError, write_text
from mlpipe.report.gate import GateResult, evaluate_gate, leakage_checks
from mlpipe.report.markdown import PullRequest, build_report
from mlpipe.report.revision import Revision, incomparable
from mlpipe.report.sources import extract_figures, git_revision, stale_stages, workspace_revision

log = logging.getLogger(__name__)


def _load(args: argparse.Namespace) -> tuple[Revision, Revision, GateResult]:
    params = load_params(args.params)
    root = Path.cwd()
    head = workspace_revision(root, args.params, getattr(args, "head_ref", None))
    head = dataclasses.replace(head, stale=tuple(stale_stages(root) or ()))
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
    no_baseline = f"`{args.base}` has no {dataset} metrics"
    if base_metrics is not None and (reason := incomparable(base, head)) is not None:
        base_metrics, no_baseline = None, f"not comparable: {reason}"
    gate = evaluate_gate(params.gate, head.metrics[dataset], base_metrics, no_baseline)
    leakage = leakage_checks(head.audit, params.audit.leakage)
    return base, head, dataclasses.replace(gate, checks=gate.checks + leakage)


def _log_gate(gate: GateResult) -> None:
    if gate.passed:
        log.info("gate passed (%d checks)", len(gate.checks))
    for message in gate.failures:
        log.error("gate failed: %s", message)


def run(args: argparse.Namespace) -> int:
    base, head, gate = _load(args)
    figures = []
    if args.images:
        figures_dir = load_params(args.params).paths.figures
        figures = extract_figures(Path.cwd(), base.commit, figures_dir, Path(args.images))
    source = PullRequest(args.pull_request or 0, args.fork)
    text = build_report(
        base, head, gate, all_params=args.all_params, figures=figures, source=source
    )
    if args.output:
        write_text(args.output, text)
        log.info("wrote %s (gate %s)", args.output, "passed" if gate.passed else "failed")
    else:
        print(text, end="")
    _log_gate(gate)
    return 1 if args.fail_on_gate and not gate.passed else 0


def run_gate(args: argparse.Namespace) -> int:
    _, head, gate = _load(args)
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
    print(f"gate {'passed' if gate.passed else 'FAILED'}")
    return 0 if gate.passed else 1
