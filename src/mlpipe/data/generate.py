"""The embedded default dataset: a deterministic generator of realistic customer-churn data.

Rows are produced in fixed blocks of ``BLOCK_ROWS``, each from its own seeded random stream, so
the output depends only on (rows, seed) — never on memory limits or chunking — and a block can
be generated and written without holding the whole table in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

BLOCK_ROWS = 100_000
SNAPSHOT = np.datetime64("2025-01-01", "D")
TARGET = "churned"

CONTRACTS = ("month-to-month", "one-year", "two-year")
PLANS = ("basic", "standard", "premium")
PAYMENT_METHODS = ("electronic check", "mailed check", "bank transfer", "credit card")
REGIONS = ("north", "south", "east", "west", "central")
# Calibrated so that about a quarter of customers churn.
_INTERCEPT = -1.55


def churn_blocks(rows: int, seed: int) -> Iterator[pd.DataFrame]:
    """Yield the churn table in blocks of at most BLOCK_ROWS rows (deterministic per seed)."""
    if rows < 1:
        raise ValueError(f"rows must be positive, got {rows}")
    streams = np.random.SeedSequence(seed).spawn((rows + BLOCK_ROWS - 1) // BLOCK_ROWS)
    for index, stream in enumerate(streams):
        start = index * BLOCK_ROWS
        yield _block(np.random.default_rng(stream), start, min(BLOCK_ROWS, rows - start))


def generate_churn(rows: int, seed: int) -> pd.DataFrame:
    """The whole churn table in memory (for tests and small row counts)."""
    return pd.concat(list(churn_blocks(rows, seed)), ignore_index=True)


def _choice(rng: np.random.Generator, options: tuple[str, ...], p: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw with per-row probabilities ``p`` of shape (n, k)."""
    cumulative = np.cumsum(p, axis=1)
    u = rng.random(len(p))[:, None]
    idx = (u > cumulative).sum(axis=1).clip(0, len(options) - 1)
    return np.asarray(options, dtype=object)[idx]


def _block(rng: np.random.Generator, start: int, n: int) -> pd.DataFrame:
    tenure = np.minimum(rng.exponential(22.0, n), 72.0).astype(np.int64)
    signup = SNAPSHOT - (tenure * 30 + rng.integers(0, 30, n)).astype("timedelta64[D]")

    long_tenure = (tenure / 72.0)[:, None]
    contract_p = np.hstack(
        [0.70 - 0.50 * long_tenure, 0.20 + 0.15 * long_tenure, 0.10 + 0.35 * long_tenure]
    )
    contract = _choice(rng, CONTRACTS, contract_p)
    plan = rng.choice(np.asarray(PLANS, dtype=object), n, p=[0.45, 0.35, 0.20])
    payment = rng.choice(np.asarray(PAYMENT_METHODS, dtype=object), n, p=[0.35, 0.2, 0.22, 0.23])
    region = rng.choice(np.asarray(REGIONS, dtype=object), n, p=[0.22, 0.24, 0.18, 0.2, 0.16])

    base = np.select([plan == "basic", plan == "standard"], [25.0, 55.0], 90.0)
    monthly = np.round(base * rng.lognormal(0.0, 0.18, n) + rng.normal(0, 3, n).clip(-8, 8), 2)
    monthly = np.maximum(monthly, 9.99)
    total = np.round(monthly * np.maximum(tenure, 0.5) * rng.uniform(0.92, 1.04, n), 2)

    age = np.clip(rng.normal(46, 15, n), 18, 90).round()
    paperless = rng.random(n) < 0.58
    partner = rng.random(n) < 0.48
    dependents = rng.random(n) < np.where(partner, 0.45, 0.12)
    tech_support = rng.random(n) < np.select(
        [plan == "premium", plan == "standard"], [0.6, 0.35], 0.15
    )
    satisfaction = np.clip(np.round(rng.normal(3.6, 1.1, n)), 1, 5)
    calls = rng.poisson(np.where(satisfaction <= 2, 2.6, 0.9))
    usage = np.round(rng.lognormal(2.3, 0.9, n), 2)
    last_login = np.round(rng.exponential(9.0, n), 0)

    logit = (
        _INTERCEPT
        + np.select([contract == "month-to-month", contract == "two-year"], [1.3, -1.1], 0.0)
        - 0.55 * np.log1p(tenure)
        + 0.75 * (payment == "electronic check")
        + 0.018 * (monthly - 55.0)
        + 0.7 * ((plan == "premium") & ~tech_support)
        + 0.45 * np.maximum(calls - 2, 0)
        + np.select([satisfaction <= 2, satisfaction >= 5], [0.9, -0.5], 0.0)
        + 1.2 / (1.0 + np.exp(-(last_login - 25.0) / 4.0))
        + 0.35 * ((age - 46.0) / 15.0) ** 2
        - 0.3 * (partner & dependents)
        + 0.25 * (region == "south")
        + rng.normal(0.0, 0.4, n)
    )
    churned = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:09d}" for i in range(start, start + n)],
            "signup_date": signup.astype("datetime64[s]"),
            "tenure_months": tenure,
            "contract": contract,
            "plan": plan,
            "payment_method": payment,
            "region": region,
            "monthly_charges": monthly,
            "total_charges": total,
            "age": age,
            "paperless_billing": paperless,
            "has_partner": partner,
            "has_dependents": dependents,
            "tech_support": tech_support,
            "support_calls": calls.astype(np.int64),
            "data_usage_gb": usage,
            "last_login_days": last_login,
            "satisfaction_score": satisfaction,
            TARGET: churned,
        }
    )
    # A few percent of values are missing, as in any CRM export.
    for column, rate in (
        ("total_charges", 0.02),
        ("age", 0.03),
        ("satisfaction_score", 0.06),
        ("last_login_days", 0.025),
        ("region", 0.01),
    ):
        mask = rng.random(n) < rate
        frame[column] = frame[column].mask(mask)
    for column in ("contract", "plan", "payment_method", "region", "customer_id"):
        frame[column] = frame[column].astype("string")
    return frame
