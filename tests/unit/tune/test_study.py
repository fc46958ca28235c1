"""The Optuna study of `mlpipe tune` on a real journal file, with a cheap objective: the
baseline is trial 0, a study resumes without rerunning trials, and an interrupted, resumed study
proposes exactly what an uninterrupted one does."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest

from mlpipe.config import TrainConfig, TuneConfig
from mlpipe.model.space import search_space, searched_values
from mlpipe.tune.cv import TrialScore, TuneError
from mlpipe.tune.study import run_study, study_name, trial_seed

SPACE = search_space(
    TuneConfig(estimators=("logistic_regression", "hist_gradient_boosting")), "binary"
)
BASELINE = searched_values(TrainConfig(), SPACE)  # hist_gradient_boosting, l2_regularization 0.0


class Objective:
    """A score that peaks at C=0.3 (logistic regression) and learning_rate=0.1; counts calls."""

    def __init__(self, stop_at: int | None = None, fail: set[int] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.stop_at, self.fail = stop_at, fail or set()

    def __call__(self, values: dict[str, Any]) -> TrialScore:
        self.calls.append(values)
        if len(self.calls) == self.stop_at:
            raise KeyboardInterrupt  # the process is stopped in the middle of a trial
        if len(self.calls) in self.fail:
            raise ValueError("the solver diverged")
        if values["train.estimator"] == "logistic_regression":
            x = math.log10(values["train.logistic_regression.C"] / 0.3)
        else:
            x = math.log10(values["train.hist_gradient_boosting.learning_rate"] / 0.1) + 0.2
        value = round(1 - x * x, 6)
        return TrialScore(value, (value, value), 0.5, (value, value))


def _run(journal: Path, objective: Objective, trials: int, **kw: Any):
    return run_study(
        objective,
        SPACE,
        BASELINE,
        journal=journal,
        name="mlpipe-tune-test",
        direction="maximize",
        seed=42,
        trials=trials,
        **kw,
    )


def _seen(run) -> list[tuple[int, dict[str, Any], float]]:
    return [(t.index, t.values, t.score.value) for t in run.trials]


def test_trial_0_is_the_baseline_and_the_sampler_learns_from_its_in_range_params(
    tmp_path: Path,
) -> None:
    objective = Objective()
    run = _run(tmp_path / "j.log", objective, 3)
    assert objective.calls[0] == BASELINE
    assert run.trials[0].index == 0 and run.trials[0].values == BASELINE
    assert [t.index for t in run.trials] == [0, 1, 2]
    assert (run.reused, run.stopped_by_timeout, run.concurrent, run.failed) == (
        0,
        False,
        False,
        (),
    )
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.log"))
    )
    first = optuna.load_study(study_name="mlpipe-tune-test", storage=storage).trials[0]
    # l2_regularization 0.0 lies outside its log range: recorded as a value, not as a param
    assert "train.hist_gradient_boosting.l2_regularization" not in first.params
    assert first.params["train.hist_gradient_boosting.learning_rate"] == 0.05
    assert first.user_attrs["values"] == BASELINE


def test_a_resumed_study_reuses_its_trials_and_continues_as_one_run_would(tmp_path: Path) -> None:
    whole = _run(tmp_path / "whole.log", Objective(), 5)
    first, rest = Objective(), Objective()
    _run(tmp_path / "parts.log", first, 2)
    resumed = _run(tmp_path / "parts.log", rest, 5)
    assert len(first.calls) == 2 and len(rest.calls) == 3  # trials 0 and 1 were not rerun
    assert resumed.reused == 2
    assert _seen(resumed) == _seen(whole)
    fewer = _run(tmp_path / "parts.log", Objective(), 3)  # the first 3 of the 5 in the journal
    assert _seen(fewer) == _seen(whole)[:3] and fewer.reused == 3


def test_a_trial_stopped_midway_is_run_again_and_the_result_is_the_same(tmp_path: Path) -> None:
    # 12 trials: the last ones come from TPE itself (after its 10 random start-up trials)
    whole = _run(tmp_path / "whole.log", Objective(), 12)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "killed.log", Objective(stop_at=12), 12)  # during trial 11
    resumed = _run(tmp_path / "killed.log", Objective(), 12)
    assert resumed.reused == 11
    assert _seen(resumed) == _seen(whole)
    assert not resumed.concurrent  # the stopped trial stays "running" and is ignored


def test_a_failed_trial_is_recorded_and_the_study_goes_on(tmp_path: Path) -> None:
    run = _run(tmp_path / "j.log", Objective(fail={3}), 4)
    assert [t.index for t in run.trials] == [0, 1, 2, 3]
    assert len(run.failed) == 1
    values, error = run.failed[0]
    assert error == "ValueError: the solver diverged" and values["train.estimator"]
    assert run.trials[3].values != values  # the next trial samples with another seed
    fewer = _run(tmp_path / "j.log", Objective(), 2)  # the failure came after trial 1
    assert fewer.failed == () and [t.index for t in fewer.trials] == [0, 1]


def test_a_study_that_keeps_failing_stops(tmp_path: Path) -> None:
    with pytest.raises(TuneError, match="4 trials failed"):
        _run(tmp_path / "j.log", Objective(fail=set(range(2, 20))), 3)


def test_the_timeout_stops_the_study_and_says_it_is_not_reproducible(tmp_path: Path) -> None:
    run = _run(tmp_path / "j.log", Objective(), 10, timeout=1e-9)
    assert [t.index for t in run.trials] == [0] and run.stopped_by_timeout
    assert run.not_reproducible(10) == [
        "--timeout stopped the study after 1 of 10 trials (`mlpipe tune --trials 1` gives "
        "these again)"
    ]


def test_trials_run_in_parallel_are_detected(tmp_path: Path) -> None:
    _run(tmp_path / "j.log", Objective(), 2)
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "j.log"))
    )
    other = optuna.load_study(study_name="mlpipe-tune-test", storage=storage)
    # another process's trial that started when only the baseline had finished
    other.add_trial(
        optuna.trial.create_trial(
            value=0.1, user_attrs={"index": 1, "values": BASELINE, "folds": [0.1, 0.1]}
        )
    )
    run = _run(tmp_path / "j.log", Objective(), 3)
    assert run.concurrent
    assert "trials ran in parallel" in run.not_reproducible(3)[0]


def test_seeds_and_names_are_functions_of_their_inputs() -> None:
    assert trial_seed(42, 3, 0) == trial_seed(42, 3, 0)
    assert len({trial_seed(42, 3, 0), trial_seed(42, 4, 0), trial_seed(42, 3, 1)}) == 3
    assert study_name({"a": 1, "b": [2]}) == study_name({"b": [2], "a": 1})
    assert study_name({"a": 1}) != study_name({"a": 2})
    assert study_name({"a": 1}).startswith("mlpipe-tune-")
