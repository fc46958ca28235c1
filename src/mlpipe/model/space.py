"""The search space of `mlpipe tune` (pure): which ``train.*`` keys a trial sets, the values a
sampler gives them, and the TrainConfig that results.

A key is a dotted params.yaml key (``train.estimator``, ``train.random_forest.max_depth``). The
space is conditional: ``train.estimator`` first, then the ranges of the chosen estimator only.
The sampler is anything with Optuna's ``suggest_*`` methods (``Suggester``), so this module does
not import Optuna.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mlpipe.config import SearchRange, TrainConfig, TuneConfig

ESTIMATOR_KEY = "train.estimator"
THRESHOLD_KEY = "train.threshold"
# Sampled floats are rounded to this many significant digits: the value evaluated is the value
# --apply writes (0.0735, not 0.07346129837).
SIGNIFICANT_DIGITS = 3
# A value within this share of its range's width from an end (on the log scale for a log
# range) is "on the edge": the best value may lie outside the range.
EDGE_SHARE = 0.01
_CLASS_WEIGHTS: tuple[Any, ...] = (None, "balanced")


class Suggester(Protocol):
    """What a trial offers (Optuna's ``Trial`` has these methods)."""

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        """A float in [low, high]."""
        ...  # pragma: no cover

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        """An int in [low, high]."""
        ...  # pragma: no cover

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        """One of ``choices``."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class Param:
    """One searched key. ``estimator``: the estimator whose section holds it (None for
    ``train.estimator`` itself). ``kind`` float/int: a range (``low``, ``high``, ``log``);
    categorical: ``choices``."""

    key: str
    kind: Literal["float", "int", "categorical"]
    estimator: str | None = None
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (ranges of integers as integers)."""
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        cast = int if self.kind == "int" else float
        return {"low": cast(self.low), "high": cast(self.high), "log": self.log}

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this param can take."""
        if self.kind == "categorical":
            return any(value == c and type(value) is type(c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return self.low <= value <= self.high and (self.kind == "float" or value == int(value))

    def edge(self, value: Any) -> str | None:
        """ "low" or "high" when ``value`` is within ``EDGE_SHARE`` of that end of the range,
        else None (always None for a categorical)."""
        if self.kind == "categorical" or not self.contains(value):
            return None
        scale = math.log if self.log else float
        position = (scale(value) - scale(self.low)) / (scale(self.high) - scale(self.low))
        if position <= EDGE_SHARE:
            return "low"
        if position >= 1 - EDGE_SHARE:
            return "high"
        return None


def search_space(tune: TuneConfig, task: str) -> tuple[Param, ...]:
    """The params a trial sets: ``train.estimator`` (one of ``tune.estimators``), then each
    listed estimator's ranges and, for classification, its class weighting."""
    params = [Param(ESTIMATOR_KEY, "categorical", choices=tuple(tune.estimators))]
    train_hints = typing.get_type_hints(TrainConfig)
    for estimator in tune.estimators:
        space = getattr(tune.space, estimator)
        hints = typing.get_type_hints(train_hints[estimator])
        for item in dataclasses.fields(space):
            value = getattr(space, item.name)
            key = f"train.{estimator}.{item.name}"
            if isinstance(value, SearchRange):
                hint = hints[item.name]
                whole = hint is int or int in typing.get_args(hint)
                kind: Literal["float", "int"] = "int" if whole else "float"
                params.append(Param(key, kind, estimator, value.low, value.high, value.log))
            elif item.name == "class_weight" and value and task != "regression":
                params.append(Param(key, "categorical", estimator, choices=_CLASS_WEIGHTS))
    return tuple(params)


def suggest(trial: Suggester, space: tuple[Param, ...]) -> dict[str, Any]:
    """The values of one trial: the estimator, then the params of that estimator only.

    Floats are rounded to ``SIGNIFICANT_DIGITS`` (kept inside the range), so the value
    evaluated is the one written to params.yaml.
    """
    estimator = trial.suggest_categorical(ESTIMATOR_KEY, list(space[0].choices))
    values: dict[str, Any] = {ESTIMATOR_KEY: estimator}
    for param in space[1:]:
        if param.estimator != estimator:
            continue
        if param.kind == "categorical":
            values[param.key] = trial.suggest_categorical(param.key, list(param.choices))
        elif param.kind == "int":
            low, high = int(param.low), int(param.high)
            values[param.key] = int(trial.suggest_int(param.key, low, high, log=param.log))
        else:
            raw = trial.suggest_float(param.key, param.low, param.high, log=param.log)
            values[param.key] = min(max(_round(raw), param.low), param.high)
    return values


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def train_values(config: TrainConfig) -> dict[str, Any]:
    """Every key of the ``train`` section as a dotted key -> value (nested sections flattened)."""
    out: dict[str, Any] = {}

    def visit(node: Any, prefix: str) -> None:
        for item in dataclasses.fields(node):
            value = getattr(node, item.name)
            if dataclasses.is_dataclass(value):
                visit(value, f"{prefix}{item.name}.")
            else:
                out[f"{prefix}{item.name}"] = value

    visit(config, "train.")
    return out


def with_values(config: TrainConfig, values: Mapping[str, Any]) -> TrainConfig:
    """``config`` with each dotted ``train.*`` key of ``values`` set (KeyError for a key the
    train section does not have)."""
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] != "train" or len(parts) not in (2, 3):
            raise KeyError(key)
        if len(parts) == 2:
            if parts[1] not in {f.name for f in dataclasses.fields(config)}:
                raise KeyError(key)
            config = dataclasses.replace(config, **{parts[1]: value})
            continue
        section = getattr(config, parts[1])
        if parts[2] not in {f.name for f in dataclasses.fields(section)}:
            raise KeyError(key)
        section = dataclasses.replace(section, **{parts[2]: value})
        config = dataclasses.replace(config, **{parts[1]: section})
    return config


def searched_values(config: TrainConfig, space: tuple[Param, ...]) -> dict[str, Any]:
    """The values ``config`` has for the params a trial of its estimator would set."""
    current = train_values(config)
    keys = [ESTIMATOR_KEY] + [p.key for p in space[1:] if p.estimator == config.estimator]
    return {key: current[key] for key in keys}
