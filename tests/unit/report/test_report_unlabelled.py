"""The PR comment's data section counts the rows ingest set aside without a target."""

from __future__ import annotations

import dataclasses
import json

from mlpipe.config import GateConfig
from mlpipe.report.gate import evaluate_gate
from mlpipe.report.markdown import build_report
from mlpipe.report.revision import Revision
from mlpipe.report.sources import _load

VALIDATION = {
    "ok": True,
    "rows": 263,
    "columns": 20,
    "checks_passed": 9,
    "checks_run": 9,
    "warnings": [],
    "errors": [],
    "target_counts": {},
}
BASE = Revision(label="main", commit="abc12345", validation=VALIDATION)


def _report(head: Revision) -> str:
    return build_report(BASE, head, evaluate_gate(GateConfig(rules=()), {}, None))


def test_the_data_section_counts_the_unlabelled_rows_and_names_their_table() -> None:
    head = dataclasses.replace(
        BASE,
        label="pr",
        params={"paths": {"unlabelled": "data/interim/no|label.parquet"}},
        ingest={"rows": 263, "unlabelled_rows": 59},
    )
    text = _report(head)
    assert (
        "59 row(s) without a target value set aside by ingest (`data.unlabelled: drop`): in "
        "neither train nor test; <code>data&#47;interim&#47;no&#124;label&#46;parquet</code> "
        "holds them, to score with `mlpipe predict`."
    ) in text
    assert text.index("Validation passed: 263 rows") < text.index("59 row(s) without")


def test_no_line_without_unlabelled_rows_or_an_ingest_report() -> None:
    for ingest in (None, {"rows": 263, "unlabelled_rows": 0}, {"rows": 263}):
        text = _report(dataclasses.replace(BASE, label="pr", ingest=ingest))
        assert "without a target value" not in text


def test_a_revision_loads_its_ingest_report_from_paths() -> None:
    files = {
        "params.yaml": "paths:\n  ingest_report: out/ingest.json\n",
        "out/ingest.json": json.dumps({"rows": 10, "unlabelled_rows": 3}),
    }
    revision = _load(files.get)
    assert revision.ingest == {"rows": 10, "unlabelled_rows": 3}
    assert _load({"params.yaml": ""}.get).ingest is None
