"""The data contract's budgets applied to a batch to score: row rules and significance tests.

The validate stage checks the table the schema was inferred from, so it applies the budgets
exactly (a share above ``max_missing`` fails). A batch to score (``mlpipe predict``,
``mlpipe monitor``) is a small sample of the same population: 4 missing values in 100 rows
where 1.8 are expected is ordinary noise, not a broken contract. So at scoring time a budget
is crossed only when the batch's count is *significantly* above it:

- Each column has two budgets: missing values (``max_missing``) and invalid values
  (``validate.max_invalid_fraction``): a number outside the schema's range, a fraction in an
  integer column, text that is not a number / not yes-no, an unknown category under
  ``predict.unknown_categories: fail``. Each is one test on the counts of the whole file.
- The test is the exact one-sided binomial test: with ``k`` bad values in ``n`` rows, the
  p-value is P(X >= k) for X ~ Binomial(n, r). It is refused when p < alpha / m
  (``predict.contract_alpha``, Bonferroni over the m tests run on the file), so a batch from
  a population within every budget is refused with probability at most alpha, whatever its
  size.
- ``r`` is the budget ``b`` widened for the size of the sample it came from: the schema's
  ``rows`` (the rows it was inferred from) saw ``b * rows`` bad values at most, and ``r`` is the
  exact (Clopper-Pearson) upper 1 - alpha confidence bound of that rate. This matters at
  ``b = 0`` (no missing value, no invalid value in training): the true rate is then not 0
  but below about -ln(alpha) / rows ("rule of three" at 95 %), so one stray missing value
  in a batch is not a proof of a broken contract, while a column 30 % missing or missing
  entirely still is. A schema without ``rows`` (written before it existed) tests ``b`` itself
  (at ``b = 0`` any bad value is then refused, as before).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from mlpipe.data.schema import ColumnSpec, category_text

MISSING = "missing"
INVALID = "invalid"
DECIMALS = 6
# How to fix each kind of invalid value (the reasons ``invalid_rows`` gives, see ``rule_of``).
FIXES = {
    "text": "correct the text, or leave the cell empty for a missing value",
    "range": "correct the values, or widen min / max (or set integer: false) in the schema if "
    "they are valid",
    "category": "map unknown categories to known ones, or set predict.unknown_categories: warn "
    "to score them as unknown",
}


@dataclass(frozen=True)
class BudgetCount:
    """The bad values of one budget of one column, summed over a file's chunks.

    ``kind`` is ``MISSING`` or ``INVALID``; ``budget`` the allowed share (0..1), ``setting``
    the key that sets it (for the message); ``examples`` up to five reasons with counts;
    ``rules`` the kinds of invalid values found (keys of ``FIXES``, see ``rule_of``).
    """

    column: str
    kind: str
    budget: float
    setting: str
    count: int
    examples: tuple[tuple[str, int], ...] = ()
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetTest:
    """One budget tested on a batch: ``count`` bad values in ``rows`` rows against the rate
    ``tested`` (the budget widened for the training sample, see the module docstring);
    crossed when ``p_value`` < ``level`` (alpha / number of tests)."""

    count: BudgetCount
    rows: int
    tested: float
    p_value: float
    level: float
    train_rows: int | None = None

    @property
    def crossed(self) -> bool:
        return self.p_value < self.level

    def message(self) -> str:
        """One line: column, count, expected share, p-value and the fix."""
        c = self.count
        what = "missing values" if c.kind == MISSING else "invalid values"
        shown = ", ".join(f"{reason} x{n}" for reason, n in c.examples)
        fix = (
            "fill them, or raise the column's max_missing in the schema if the population changed"
            if c.kind == MISSING
            else "; ".join(FIXES[rule] for rule in c.rules)
            + "; validate.max_invalid_fraction tolerates a share"
        )
        widened = (
            f", at most {share(self.tested)} for a schema inferred from {self.train_rows} rows"
            if self.tested > c.budget
            else ""
        )
        return (
            f"{c.column}: {c.count} {what} in {self.rows} rows ({share(c.count / self.rows)}"
            + (f": {shown}" if shown else "")
            + f"); the contract expects {share(c.budget)} ({c.setting}{widened}), binomial "
            f"p-value {self.p_value:.2g} < {self.level:.2g}: {fix}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "column": self.count.column,
            "budget": self.count.kind,
            "allowed": self.count.budget,
            "setting": self.count.setting,
            "rows": self.rows,
            "count": self.count.count,
            "tested_rate": round(self.tested, DECIMALS),
            "p_value": float(f"{self.p_value:.6g}"),
            "level": float(f"{self.level:.6g}"),
            "crossed": self.crossed,
        }


@lru_cache(maxsize=4096)  # one value per (budget, schema, level): scipy's call costs ~0.1 ms
def widened_rate(budget: float, train_rows: int | None, alpha: float) -> float:
    """The rate a batch is tested against: the upper 1 - ``alpha`` Clopper-Pearson bound of
    ``budget * train_rows`` events in ``train_rows`` rows (``budget`` itself without them)."""
    if not train_rows:
        return budget
    events = min(budget * train_rows, float(train_rows))
    if events >= train_rows:
        return 1.0
    from scipy import stats  # imported when used: ~1 s of start-up

    bound = float(stats.beta.ppf(1 - alpha, events + 1, train_rows - events))
    return max(budget, bound)


@lru_cache(maxsize=4096)  # batches of one size share their small counts (monitor, predict)
def p_value(count: int, rows: int, rate: float) -> float:
    """P(X >= count) for X ~ Binomial(rows, rate): how surprising ``count`` bad values are."""
    if count <= 0:
        return 1.0
    if rate <= 0:
        return 0.0
    from scipy import stats  # imported when used: ~1 s of start-up

    return float(stats.binom.sf(count - 1, rows, rate))


def evaluate_budgets(
    counts: Sequence[BudgetCount], rows: int, train_rows: int | None, alpha: float
) -> tuple[BudgetTest, ...]:
    """Test every budget of ``counts`` on a batch of ``rows`` rows at level alpha / len(counts)."""
    if not counts or rows <= 0:
        return ()
    level = alpha / len(counts)
    out = []
    for c in counts:
        rate = widened_rate(c.budget, train_rows, alpha)
        out.append(BudgetTest(c, rows, rate, p_value(c.count, rows, rate), level, train_rows))
    return tuple(out)


def invalid_rows(
    series: pd.Series,
    spec: ColumnSpec,
    unparsed: pd.Series | None = None,
    unknown_fail: bool = False,
) -> pd.Series:
    """Per row, why ``series`` breaks a row-level rule of ``spec`` ("" when it does not).

    Rules: below ``min`` / above ``max`` and a fraction in an ``integer`` column (numeric),
    a category the schema does not list when ``unknown_fail``, and the raw text of
    ``unparsed`` (text that normalisation could not read as a number or yes/no; "" where none).
    Datetime ranges are warnings only (as in the validate stage) and are not checked here.
    Reasons read "'abc' is not a number", "250 > max 90", "2.5 is not whole", "unknown
    category 'gold'"; several are joined with "; ".
    """
    reasons = np.full(len(series), "", dtype=object)
    if unparsed is not None:
        text = unparsed.fillna("").astype(str).to_numpy()
        word = "a number" if spec.kind == "numeric" else "yes/no"
        _add(reasons, text != "", lambda i: f"'{text[i]}' is not {word}")
    if spec.kind == "numeric" and pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            if spec.min is not None:
                low = float(spec.min)
                _add(reasons, values < low, lambda i: f"{values[i]:g} < min {low:g}")
            if spec.max is not None:
                high = float(spec.max)
                _add(reasons, values > high, lambda i: f"{values[i]:g} > max {high:g}")
            if spec.integer:
                fractional = np.isfinite(values) & (values != np.round(values))
                _add(reasons, fractional, lambda i: f"{values[i]:g} is not whole")
    elif spec.kind == "categorical" and unknown_fail and spec.categories is not None:
        text = category_text(series)
        unknown = (series.notna() & ~text.isin(spec.categories)).to_numpy()
        shown = text.to_numpy()
        _add(reasons, unknown, lambda i: f"unknown category '{shown[i]}'")
    return pd.Series(reasons, index=series.index, dtype=object)


def share(value: float) -> str:
    """A share as a percentage, with enough digits for small ones (0.035%)."""
    if value == 0:
        return "0%"
    return f"{value:.3%}" if value < 0.001 else f"{value:.1%}"


def rule_of(reason: str) -> str:
    """The kind of an ``invalid_rows`` reason: "text", "range" or "category"."""
    if reason.startswith("unknown category"):
        return "category"
    return "text" if reason.endswith((" is not a number", " is not yes/no")) else "range"


def _add(reasons: np.ndarray, mask: np.ndarray, reason: Callable[[int], str]) -> None:
    """Append ``reason(i)`` to ``reasons[i]`` for each row ``i`` of ``mask`` (in place)."""
    for i in np.flatnonzero(mask):
        text = reason(int(i))
        reasons[i] = f"{reasons[i]}; {text}" if reasons[i] else text
