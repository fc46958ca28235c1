"""CPU time of the data stages (ingest, validate, split) on the local engine: this checkout's
code against a baseline revision's (default: the merge of the Dask engine's first phase), in
the same invocation, on the same generated rows. The chunk-wise form of ingest and split (one
code path for the local and the Dask engine) must not slow the local engine.

    python benchmarks/data_stages.py --rows 20000 --repeats 3 [--baseline REV]

Each stage runs as its own process (``mlpipe <stage>``, with ``PYTHONPATH`` pointing at the
code under test); the figures are medians of ``--repeats``, interleaved (baseline, current,
baseline, ...). Writes nothing in the checkout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import BIN, ROOT, median, run_timed, thread_env

BASELINE = "21eb9ea"  # main with issue #33 phase 1 merged
STAGES = {
    "ingest": [
        "ingest",
        "--source",
        "raw.parquet",
        "--output",
        "ingested.parquet",
        "--report",
        "ingest.json",
        "--unlabelled",
        "unlabelled.parquet",
    ],
    "validate": [
        "validate",
        "--input",
        "ingested.parquet",
        "--schema",
        "schema.yaml",
        "--report",
        "validation.json",
    ],
    "split": [
        "split",
        "--input",
        "ingested.parquet",
        "--validation",
        "validation.json",
        "--train",
        "train.parquet",
        "--test",
        "test.parquet",
    ],
}
CODE = "import sys; from mlpipe.cli import main; sys.exit(main(sys.argv[1:]))"


def _source(revision: str, into: Path) -> Path:
    """The ``src`` tree of ``revision``, unpacked in ``into``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlpipe-data-stages-") as tmp:
        work = Path(tmp)
        sources = {"baseline": _source(args.baseline, work / "baseline"), "current": ROOT / "src"}
        for name in ("params.yaml", "data/schema.yaml"):
            shutil.copy(ROOT / name, work / Path(name).name)
        env = {**os.environ, **thread_env(1), "PYTHONPATH": str(sources["current"])}
        _set_rows(work, args.rows)
        run_timed(
            [str(BIN / "python"), "-c", CODE, "generate", "--output", "raw.parquet"], work, env
        )
        cpu: dict[tuple[str, str], list[float]] = {}
        outputs: dict[str, dict[str, bytes]] = {}
        for _ in range(args.repeats):
            for version, src in sources.items():
                run_env = {**os.environ, **thread_env(1), "PYTHONPATH": str(src)}
                for stage, stage_args in STAGES.items():
                    timed = run_timed(
                        [str(BIN / "python"), "-c", CODE, *stage_args], work, run_env
                    )
                    cpu.setdefault((version, stage), []).append(timed.cpu_seconds)
                outputs[version] = {
                    name: (work / name).read_bytes()
                    for name in ("ingested.parquet", "unlabelled.parquet")
                }
    same = outputs["baseline"] == outputs["current"]
    print(f"{args.rows} rows, median CPU seconds of {args.repeats} runs, baseline {args.baseline}")
    print("| stage | baseline | current | current / baseline |")
    print("| --- | --- | --- | --- |")
    totals = {"baseline": 0.0, "current": 0.0}
    for stage in STAGES:
        base, current = median(cpu["baseline", stage]), median(cpu["current", stage])
        totals["baseline"] += base
        totals["current"] += current
        print(f"| {stage} | {base:.2f} | {current:.2f} | {current / base:.2f} |")
    ratio = totals["current"] / totals["baseline"]
    print(f"| all three | {totals['baseline']:.2f} | {totals['current']:.2f} | {ratio:.2f} |")
    print(f"ingested and unlabelled tables byte-identical to the baseline's: {same}")


def _set_rows(work: Path, rows: int) -> None:
    params = (work / "params.yaml").read_text().splitlines()
    out = []
    section = None
    for line in params:
        if line and not line.startswith(" "):
            section = line.split(":")[0]
        if section == "generate" and line.strip().startswith("rows:"):
            line = f"  rows: {rows}"
        out.append(line)
    (work / "params.yaml").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
