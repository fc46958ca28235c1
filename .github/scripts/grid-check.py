"""Check every item of an experiment grid against params.yaml before anything is queued.

Usage: python grid-check.py [--params params.yaml] [--base OVERRIDE ... --base-label LABEL] \
           --item LABEL "key=value key=value" [--item LABEL "..." ...]

Each item's overrides are applied, as `dvc exp run -S` applies them (DVC's own
`dvc.utils.hydra.apply_overrides`), to a temporary copy of params.yaml (after the `--base`
overrides, e.g. run-grid.sh's `generate.rows=N`), and the result is loaded with mlpipe's
params check, which names unknown keys and values of the wrong type or out of range. A key
that is not in params.yaml is refused too: `dvc exp run -S` can only change existing keys.
Prints one `run-grid: error: LABEL (<text>): <reason>` line per bad item on stderr (run-grid.sh
labels them `grid item N`); when the base overrides alone are bad, only they are reported.
Exit status: 0 every item is valid; 2 some item is not (or params.yaml cannot be read).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml
from dvc.utils.hydra import apply_overrides, to_hydra_overrides
from omegaconf import OmegaConf

from mlpipe.config import ConfigError, params_from_dict

_MISSING = object()


def _missing_keys(params: dict, overrides: list[str]) -> list[str]:
    """Keys of `overrides` that params.yaml does not have (hydra's own key syntax)."""
    config = OmegaConf.create(params)
    missing = []
    for override in to_hydra_overrides(overrides):
        key = override.key_or_group
        if OmegaConf.select(config, key, default=_MISSING) is _MISSING:
            missing.append(key)
    return missing


def _reason(exc: BaseException) -> str:
    """The most specific message of a chain of exceptions, on one line."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return " ".join(str(exc).split())


def check_item(params_file: Path, base: list[str], overrides: list[str]) -> str | None:
    """Why the item cannot be queued, or None when it can."""
    params = yaml.safe_load(params_file.read_text(encoding="utf-8")) or {}
    overrides = [*base, *overrides]
    for override in overrides:
        key, _, value = override.partition("=")
        if "[" in key:
            return (
                f"'{key}': a list item cannot be set on its own (Hydra's override syntax); "
                "set the whole list, e.g. evaluate.slices=[contract,tenure_months]"
            )
        if "," in value and not value.startswith(("[", "{", "'", '"')):
            return (
                f"'{value}' is a list of values (a sweep); write one grid item per value, "
                f"e.g. '{key}={value.split(',')[0]}; {key}={value.split(',')[1]}'"
            )
    try:
        missing = _missing_keys(params, overrides)
    except Exception as exc:  # hydra's parse errors: the override is not valid syntax
        return f"not a valid override: {_reason(exc)}"
    with tempfile.TemporaryDirectory(prefix="grid-check-") as tmp:
        copy = Path(tmp) / "params.yaml"
        shutil.copyfile(params_file, copy)
        # A missing key is added (`+key=value`) so that mlpipe's check can say what is wrong
        # with it (an unknown key, with the allowed ones) instead of hydra's "not in struct".
        applied = [f"+{o}" if o.split("=", 1)[0] in missing else o for o in overrides]
        try:
            apply_overrides(copy, applied)
        except Exception as exc:
            return f"not a valid override: {_reason(exc)}"
        result = yaml.safe_load(copy.read_text(encoding="utf-8")) or {}
    try:
        params_from_dict(result)
    except ConfigError as exc:
        return str(exc)
    if missing:
        return (
            f"'{missing[0]}' is not in params.yaml, and `dvc exp run -S` can only change keys "
            "that are there: add it to params.yaml (and commit) first"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--base", action="append", default=[], metavar="OVERRIDE")
    parser.add_argument("--base-label", default="base")
    parser.add_argument(
        "--item", nargs=2, action="append", default=[], metavar=("LABEL", "OVERRIDES")
    )
    args = parser.parse_args(argv)
    if not args.params.is_file():
        _error(f"{args.params} not found: run from the repository root")
        return 2
    if args.base:
        reason = check_item(args.params, [], args.base)
        if reason is not None:
            _error(f"{args.base_label} ({' '.join(args.base)}): {reason}")
            return 2
    bad = 0
    for label, text in args.item:
        reason = check_item(args.params, args.base, text.split())
        if reason is not None:
            _error(f"{label} ({text}): {reason}")
            bad += 1
    return 2 if bad else 0


def _error(message: str) -> None:
    print(f"run-grid: error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
