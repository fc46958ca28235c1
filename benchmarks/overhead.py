"""What DVC and per-stage processes cost on top of the work itself (issue 2 / issue 7 goals).

In one run, in temporary repositories (never the working checkout), prints side by side:

1. no-op ``dvc repro`` vs ``dvc status`` on the same up-to-date repo, median of ``--repeats``
   runs each (interleaved). Goal: ratio <= 1.3.
2. cold ``dvc repro --force`` (every stage runs, empty DVC cache, fresh copy of the repo each
   time) vs a plain single-process Python script that does the same work on the same data by
   calling the same library functions, writing the same outputs. Median of ``--cold-repeats``
   runs each, interleaved. Goal: ratio <= 1.5.

Usage::

    python benchmarks/overhead.py                 # 20 000 rows (the default params)
    python benchmarks/overhead.py --rows 100000 --repeats 7 --cold-repeats 3

The plain script is this file run with ``--plain DIR`` (inside a repo copy); it is a child
process like the stages, so both sides pay Python start-up and imports.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import BIN, Repo, machine, make_repo, median, run_timed, thread_env

NOOP_GOAL = 1.3
COLD_GOAL = 1.5


def plain_pipeline(root: Path) -> dict[str, float]:
    """Every stage's work in one process, in memory, using the library functions.

    Writes the same files the pipeline declares (paths from ``root/params.yaml``). Returns
    seconds per step.
    """
    from mlpipe.config import load_params
    from mlpipe.data.drift import compute_drift, drift_markdown
    from mlpipe.data.generate import generate_churn
    from mlpipe.data.ingest import normalize
    from mlpipe.data.schema import load_schema
    from mlpipe.data.split import split_table
    from mlpipe.data.validate import validate_table
    from mlpipe.evaluation.card import FileVersion, file_md5
    from mlpipe.evaluation.evaluate import evaluate_model, train_sample
    from mlpipe.io import write_json, write_parquet, write_text
    from mlpipe.model.features import feature_spec
    from mlpipe.model.persist import save_model
    from mlpipe.model.train import fit_model
    from mlpipe.stages.evaluate import write_evaluation

    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    params = load_params(root / "params.yaml")
    paths, data = params.paths, params.data
    raw = generate_churn(params.generate.rows, params.generate.seed)
    write_parquet(root / paths.raw, raw)
    lap("generate")
    table, report = normalize(raw, data.csv.na_values)
    write_parquet(root / paths.ingested, table)
    write_json(root / paths.ingest_report, {"rows": len(table), "normalized": report.as_dict()})
    lap("ingest")
    schema = load_schema(root / paths.schema)
    result = validate_table(
        table,
        schema,
        extra_columns=params.validate.extra_columns,
        max_invalid_fraction=params.validate.max_invalid_fraction,
    )
    if not result.ok:
        raise SystemExit(f"validation failed: {[str(v) for v in result.errors]}")
    write_json(root / paths.validation, result.as_dict())
    lap("validate")
    train, test = split_table(
        table,
        data.target,
        params.split.method,
        params.split.test_size,
        params.split.seed,
        data.date_column,
    )
    write_parquet(root / paths.train, train)
    write_parquet(root / paths.test, test)
    lap("split")
    spec = feature_spec(
        schema, data.numeric_features, data.categorical_features, data.boolean_features
    )
    model = fit_model(train, spec, schema.target, schema.task, params.train)
    save_model(model, root / paths.model)
    lap("train")
    sample = train_sample(len(train), params.evaluate.train_rows, params.evaluate.seed)
    scored = train if sample is None else train.iloc[sample].reset_index(drop=True)
    evaluation = evaluate_model(
        model, scored, test, spec, schema, params.evaluate, data.positive_class
    )
    write_evaluation(
        evaluation,
        model=model,
        schema=schema,
        spec=spec,
        params=params,
        files={
            "model": FileVersion(paths.model, file_md5(root / paths.model)),
            "train": FileVersion(paths.train, file_md5(root / paths.train), len(train)),
            "test": FileVersion(paths.test, file_md5(root / paths.test), len(test)),
        },
        outputs={
            "plots": root / paths.plots,
            "figures": root / paths.figures,
            "slices": root / paths.slices,
            "metrics": root / paths.metrics,
            "card": root / paths.model_card,
        },
    )
    lap("evaluate")
    drift = compute_drift(train, test, schema, params.drift, data=params.data)
    write_json(root / paths.drift, drift.as_dict())
    write_text(root / paths.drift_report, drift_markdown(drift))
    lap("drift")
    return steps


def measure(
    rows: int, repeats: int, cold_repeats: int, workdir: Path, threads: int | None = None
) -> dict[str, Any]:
    """Both comparisons on ``rows`` generated rows; returns every timing and the ratios.

    ``threads`` caps OpenMP/BLAS threads in every child (None: the libraries' default).
    """
    base = make_repo(workdir / "base", rows=rows)
    extra = thread_env(threads)
    cold_dvc: list[float] = []
    cold_plain: list[float] = []
    plain_steps: list[dict[str, float]] = []
    for i in range(cold_repeats):
        repo = base.copy(workdir / f"cold-dvc-{i}")
        cold_dvc.append(
            run_timed(
                [str(BIN / "dvc"), "repro", "--force"], repo.path, {**repo.env, **extra}
            ).seconds
        )
        print(f"  cold dvc repro #{i + 1}: {cold_dvc[-1]:.2f} s", flush=True)
        plain = base.copy(workdir / f"cold-plain-{i}")
        timed = run_timed(
            [sys.executable, str(Path(__file__).resolve()), "--plain", str(plain.path)],
            plain.path,
            {**plain.env, **extra},
        )
        cold_plain.append(timed.seconds)
        plain_steps.append(json.loads(timed.stdout.strip().splitlines()[-1]))
        print(f"  plain script #{i + 1}:   {cold_plain[-1]:.2f} s", flush=True)
    # The last cold-dvc repo is reproduced and up to date: time no-op repro vs status there,
    # and the same pair on a one-stage repo (`cp`): DVC's own ratio, with no mlpipe in it.
    up_to_date = Repo(workdir / f"cold-dvc-{cold_repeats - 1}")
    floor = _one_stage_repo(workdir / "one-stage")
    status: list[float] = []
    noop: list[float] = []
    floor_status: list[float] = []
    floor_noop: list[float] = []
    for _ in range(repeats):
        for repo, st, rp in ((up_to_date, status, noop), (floor, floor_status, floor_noop)):
            st.append(
                run_timed([str(BIN / "dvc"), "status"], repo.path, {**repo.env, **extra}).seconds
            )
            result = run_timed([str(BIN / "dvc"), "repro"], repo.path, {**repo.env, **extra})
            if "Running stage" in result.stdout:
                raise RuntimeError(f"no-op dvc repro ran a stage:\n{result.stdout}")
            rp.append(result.seconds)
    return {
        "rows": rows,
        "threads": threads,
        "status_s": status,
        "noop_repro_s": noop,
        "cold_repro_s": cold_dvc,
        "plain_s": cold_plain,
        "plain_steps_s": {k: median([s[k] for s in plain_steps]) for k in plain_steps[0]},
        "noop_ratio": median(noop) / median(status),
        "one_stage_status_s": floor_status,
        "one_stage_noop_repro_s": floor_noop,
        "one_stage_noop_ratio": median(floor_noop) / median(floor_status),
        "cold_ratio": median(cold_dvc) / median(cold_plain),
    }


def _one_stage_repo(path: Path) -> Repo:
    """A git + DVC repo with one stage (``cp in.txt out.txt``), reproduced and committed."""
    path.mkdir(parents=True)
    repo = Repo(path)
    repo.git("init", "-q")
    repo.dvc("init", "-q")
    (path / "in.txt").write_text("a\n")
    (path / "dvc.yaml").write_text(
        "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"
    )
    repo.dvc("repro", "-q")
    repo.commit("one stage")
    return repo


def report(result: dict[str, Any]) -> str:
    """The side-by-side table, as Markdown."""

    def verdict(ratio: float, goal: float) -> str:
        return f"{'met' if ratio <= goal else 'MISSED'} (goal <= {goal}x)"

    def runs(values: list[float]) -> str:
        return ", ".join(f"{v:.2f}" for v in values)

    one_repro, one_status = result["one_stage_noop_repro_s"], result["one_stage_status_s"]
    lines = [
        f"Overhead at {result['rows']:,} rows, OMP_NUM_THREADS="
        f"{result.get('threads') or 'unset'} (medians; every run in seconds in brackets)",
        "",
        "| comparison | pipeline | baseline | ratio | goal |",
        "| --- | --- | --- | --- | --- |",
        f"| no-op `dvc repro` vs `dvc status` | {median(result['noop_repro_s']):.2f} s "
        f"[{runs(result['noop_repro_s'])}] | {median(result['status_s']):.2f} s "
        f"[{runs(result['status_s'])}] | {result['noop_ratio']:.2f}x | "
        f"{verdict(result['noop_ratio'], NOOP_GOAL)} |",
        f"| reference, not a goal: the same on a one-stage DVC repo (`cp a b`) | "
        f"{median(one_repro):.2f} s [{runs(one_repro)}] | "
        f"{median(one_status):.2f} s [{runs(one_status)}] | "
        f"{result['one_stage_noop_ratio']:.2f}x | DVC's own floor |",
        f"| cold `dvc repro --force` vs plain script | {median(result['cold_repro_s']):.2f} s "
        f"[{runs(result['cold_repro_s'])}] | {median(result['plain_s']):.2f} s "
        f"[{runs(result['plain_s'])}] | {result['cold_ratio']:.2f}x | "
        f"{verdict(result['cold_ratio'], COLD_GOAL)} |",
        "",
        "Plain script, median seconds per step (in-process): "
        + ", ".join(f"{k} {v:.2f}" for k, v in result["plain_steps_s"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="generated rows (default 20000)")
    parser.add_argument("--repeats", type=int, default=5, help="no-op/status runs (default 5)")
    parser.add_argument("--cold-repeats", type=int, default=3, help="cold runs (default 3)")
    parser.add_argument(
        "--threads", type=int, help="set OMP_NUM_THREADS (and BLAS threads) in every child"
    )
    parser.add_argument("--workdir", type=Path, help="keep the temporary repos here")
    parser.add_argument("--json", type=Path, help="also write the raw figures as JSON here")
    parser.add_argument("--plain", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain:
        from mlpipe.cli import quiet_openmp_waits

        quiet_openmp_waits()  # the same OpenMP settings as the `mlpipe` stage commands
        print(json.dumps(plain_pipeline(args.plain)))
        return 0
    print("machine: " + "; ".join(f"{k} {v}" for k, v in machine().items()), flush=True)
    with tempfile.TemporaryDirectory(prefix="mlpipe-overhead-") as tmp:
        workdir = args.workdir or Path(tmp)
        result = measure(args.rows, args.repeats, args.cold_repeats, workdir, args.threads)
    print()
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
