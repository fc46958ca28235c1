"""The Optuna study of `mlpipe tune`, wrapped thinly: trials kept in a journal file, trial 0 the
baseline, a seeded TPE sampler, resumable and reproducible.

Reproducible across interruptions: the sampler of each new trial is seeded from ``tune.seed``,
the trial's index (how many trials completed before it) and how many failed before it, and the
TPE sampler reads only finished trials (``constant_liar=False``). What it proposes therefore
depends on the trials already in the journal, never on which process ran them: a study killed
after trial k and resumed proposes what an uninterrupted one would have. A trial that was
running when the process died stays "running" in the journal and is ignored; the same index
runs again.

Two processes filling one journal at once cannot be: each trial stores its index, and a trial
whose index is not its position among the finished trials shows that the study ran in parallel
(``StudyRun.concurrent``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpipe.errors import MlpipeError
from mlpipe.model.space import Param, suggest
from mlpipe.tune.cv import TrialScore, TuneError

log = logging.getLogger(__name__)

# Seconds a journal lock may stay without a write before a run takes it over.
LOCK_GRACE = 5
# How the sampler is set up (recorded in the result JSON).
SAMPLER = {
    "name": "TPESampler",
    "multivariate": False,
    "constant_liar": False,
    "n_startup_trials": 10,
    "seeding": "each trial: numpy SeedSequence([tune.seed, trial index, failed trials before])",
}


@dataclass(frozen=True)
class Trial:
    """A finished trial: ``index`` 0 is the baseline; ``values`` are the searched keys it set."""

    index: int
    values: dict[str, Any]
    score: TrialScore


@dataclass(frozen=True)
class StudyRun:
    """The first ``trials`` finished trials of a study, in order, and how the run went.

    ``failed``: (values, error) of trials whose fit raised. ``reused``: finished trials found
    in the journal (not rerun). ``stopped_by_timeout``: ``timeout`` ended the study before
    ``trials`` finished. ``concurrent``: trials ran in parallel (not reproducible).
    """

    trials: tuple[Trial, ...]
    failed: tuple[tuple[dict[str, Any], str], ...]
    reused: int
    stopped_by_timeout: bool
    concurrent: bool

    def not_reproducible(self, asked: int) -> list[str]:
        """Why another run with the same inputs could give other trials (empty: it cannot)."""
        reasons = []
        if self.stopped_by_timeout:
            finished = len(self.trials)
            reasons.append(
                f"--timeout stopped the study after {finished} of {asked} trials "
                f"(`mlpipe tune --trials {finished}` gives these again)"
            )
        if self.concurrent:
            reasons.append(
                "trials ran in parallel on one journal (the sampler saw other histories)"
            )
        return reasons


def run_study(
    objective: Callable[[dict[str, Any]], TrialScore],
    space: tuple[Param, ...],
    baseline: dict[str, Any],
    *,
    journal: str | Path,
    name: str,
    direction: str,
    seed: int,
    trials: int,
    timeout: float | None = None,
) -> StudyRun:
    """Run (or resume) the study ``name`` in ``journal`` until it has ``trials`` finished trials.

    ``objective`` scores the searched keys' values (it fits the folds); trial 0 scores
    ``baseline`` (the current params' values, recorded with the params that lie inside the
    space so the sampler learns from them). ``timeout`` (seconds): start no new trial after it.
    """
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock
    from optuna.trial import TrialState, create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    Path(journal).parent.mkdir(parents=True, exist_ok=True)
    # A process killed while it appends leaves the lock behind; the next run breaks it after
    # LOCK_GRACE seconds without a write (an append holds it for milliseconds).
    lock = JournalFileSymlinkLock(str(journal), grace_period=LOCK_GRACE)
    storage = JournalStorage(JournalFileBackend(str(journal), lock_obj=lock))

    def study(trial_seed: int | None = None) -> optuna.Study:
        sampler = optuna.samplers.TPESampler(
            seed=trial_seed,
            multivariate=SAMPLER["multivariate"],
            constant_liar=SAMPLER["constant_liar"],
            n_startup_trials=SAMPLER["n_startup_trials"],
        )
        return optuna.create_study(
            study_name=name,
            storage=storage,
            direction=direction,
            sampler=sampler,
            load_if_exists=True,
        )

    def finished() -> tuple[list[optuna.trial.FrozenTrial], int]:
        every = study().get_trials(deepcopy=False)
        done = [t for t in every if t.state == TrialState.COMPLETE]
        return done, sum(t.state == TrialState.FAIL for t in every)

    started, stopped = time.monotonic(), False
    done, failures = finished()
    reused = min(len(done), trials)
    if reused:
        log.info("resuming study %s in %s: %d finished trial(s) reused", name, journal, reused)
    if not done:
        start = time.perf_counter()
        score = objective(baseline)
        study().add_trial(
            create_trial(
                params={p.key: baseline[p.key] for p in space if _inside(p, baseline)},
                distributions={p.key: _distribution(p) for p in space if _inside(p, baseline)},
                value=score.value,
                user_attrs=_attrs(0, baseline, score),
            )
        )
        _log_trial(0, trials, baseline, score, time.perf_counter() - start)
    while True:
        done, failures = finished()
        if len(done) >= trials:
            break
        if timeout is not None and time.monotonic() - started >= timeout:
            stopped = True
            log.warning("--timeout %gs: stopped after %d of %d trials", timeout, len(done), trials)
            break
        if failures > trials:
            raise TuneError(
                f"{failures} trials failed (see the warnings); check tune.space for ranges the "
                "estimators cannot fit"
            )
        index = len(done)
        start = time.perf_counter()
        current = study(trial_seed(seed, index, failures))
        trial = current.ask()
        values = suggest(trial, space)
        try:
            score = objective(values)
        except MlpipeError:
            raise
        except (ValueError, ArithmeticError) as exc:  # the estimator cannot fit these values
            log.warning("trial %d/%d failed (%s): %s", index + 1, trials, _short(values), exc)
            trial.set_user_attr("values", values)
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            current.tell(trial, state=TrialState.FAIL)
            continue
        for key, value in _attrs(index, values, score).items():
            trial.set_user_attr(key, value)
        current.tell(trial, score.value)
        _log_trial(index, trials, values, score, time.perf_counter() - start)
    every = study().get_trials(deepcopy=False)
    done = [t for t in every if t.state == TrialState.COMPLETE][:trials]
    last = done[-1].number
    failed = tuple(  # those before the last trial kept: a later run's failures are not these
        (dict(t.user_attrs.get("values", {})), str(t.user_attrs.get("error", "")))
        for t in every
        if t.state == TrialState.FAIL and t.number < last
    )
    return StudyRun(
        trials=tuple(_trial(t) for t in done),
        failed=failed,
        reused=reused,
        stopped_by_timeout=stopped,
        concurrent=any(t.user_attrs.get("index") != i for i, t in enumerate(done)),
    )


def sampler_description(seed: int) -> dict[str, Any]:
    """How the trials were sampled, for the result JSON (Optuna's version included: another
    version may propose other trials)."""
    from importlib.metadata import version

    return {**SAMPLER, "seed": seed, "optuna": version("optuna")}


def study_name(state: dict[str, Any]) -> str:
    """The study's name in the journal, from everything its trials depend on (``state``: the
    training data's hash, the space, the folds, the baseline, ...; not how many trials are
    asked for). The same state resumes the study; any change starts another one."""
    text = json.dumps(state, sort_keys=True, default=str)
    return "mlpipe-tune-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def trial_seed(seed: int, index: int, failures: int) -> int:
    """The sampler's seed for the trial at ``index`` after ``failures`` failed trials."""
    return int(np.random.SeedSequence([seed, index, failures]).generate_state(1)[0])


def _inside(param: Param, values: dict[str, Any]) -> bool:
    return param.key in values and param.contains(values[param.key])


def _distribution(param: Param) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if param.kind == "categorical":
        return CategoricalDistribution(list(param.choices))
    if param.kind == "int":
        return IntDistribution(int(param.low), int(param.high), log=param.log)
    return FloatDistribution(param.low, param.high, log=param.log)


def _attrs(index: int, values: dict[str, Any], score: TrialScore) -> dict[str, Any]:
    return {
        "index": index,
        "values": values,
        "folds": list(score.folds),
        "threshold": score.threshold,
        "at_current": list(score.at_current),
    }


def _trial(frozen: Any) -> Trial:
    attrs = frozen.user_attrs
    score = TrialScore(
        value=float(frozen.value),
        folds=tuple(float(v) for v in attrs["folds"]),
        threshold=attrs.get("threshold"),
        at_current=tuple(float(v) for v in attrs.get("at_current", ())),
    )
    return Trial(index=int(attrs["index"]), values=dict(attrs["values"]), score=score)


def _short(values: dict[str, Any]) -> str:
    return ", ".join(f"{k.removeprefix('train.')}={v}" for k, v in values.items())


def _log_trial(
    index: int, trials: int, values: dict[str, Any], score: TrialScore, seconds: float
) -> None:
    """Log trial ``index`` (0: the baseline) as the user counts: "trial 1/4 (baseline)" to
    "trial 4/4" for ``trials`` = 4."""
    threshold = "" if score.threshold is None else f", threshold {score.threshold:g}"
    log.info(
        "trial %d/%d%s: %.6f (folds %s%s) in %.1f s: %s",
        index + 1,
        trials,
        " (baseline)" if index == 0 else "",
        score.value,
        " ".join(f"{v:.4f}" for v in score.folds),
        threshold,
        seconds,
        _short(values),
    )
