"""Model files: skops format, byte-for-byte deterministic, loaded without running foreign code.

Every estimator's model is a scikit-learn Pipeline in one skops archive (so ``paths.model``
keeps its ``.skops`` suffix whatever ``train.estimator`` is); an XGBoost model keeps its booster
in XGBoost's own UBJSON format as one binary entry of the archive (mlpipe.model.boosting).

skops stores an object graph, not a pickle. skops itself trusts a fixed set of harmless types
(containers, numpy arrays, scikit-learn estimators); beyond those, loading accepts only the
exact type names in ``TRUSTED_TYPES`` and refuses the file otherwise, naming the untrusted
types, before anything in it is instantiated. The list is exact on purpose: a skops file can
name any callable as a constructor (``builtins.exec`` with a string argument runs code), so
trusting whole prefixes such as ``builtins.`` or ``numpy.`` would let a crafted file run code.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio

from mlpipe.errors import MlpipeError
from mlpipe.io import atomic_path

# Type names (module.qualname), beyond skops' own defaults, that the estimators in
# model/estimators.py need (found by saving each estimator for each task; a test re-checks).
# Add a name here only after reading what the type does when constructed.
# HistGradientBoosting with categorical features keeps an internal ColumnTransformer whose
# numeric branch is FunctionTransformer(functools.partial(check_array, ...)): skops rebuilds a
# partial from its parts (the function is checked against this list separately, and
# constructing a partial calls nothing), and check_array only validates an array.
TRUSTED_TYPES = frozenset(
    {
        "functools.partial",
        # train.estimator: xgboost (mlpipe.model.boosting). Constructing them sets attributes
        # only: the booster's bytes are parsed by XGBoost (UBJSON, no code) when it first
        # predicts.
        "mlpipe.model.boosting.XGBoostClassifierModel",
        "mlpipe.model.boosting.XGBoostFeatures",
        "mlpipe.model.boosting.XGBoostRegressorModel",
        "numpy.dtype",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.tree._tree.Tree",
        "sklearn.utils.validation.check_array",
    }
)
# The archive's data entries, named by skops after object ids or random UUIDs: numpy arrays
# and byte strings (the XGBoost booster in UBJSON, mlpipe.model.boosting).
_DATA_FILES = (".npy", ".bin")
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class UnsafeModelError(MlpipeError):
    """The model file holds types that are not on the allow-list; it was not loaded."""


def model_bytes(model: Any) -> bytes:
    """Serialise with skops, then rewrite the archive deterministically.

    skops names objects by ``id()`` (memory addresses) and stamps zip entries with the current
    time; both change between runs. Ids are renumbered in order of first appearance and the
    archive is rebuilt with sorted entries and a fixed timestamp, so the same model gives the
    same bytes (and the same DVC hash) on every run and machine.
    """
    raw = sio.dumps(model)
    with zipfile.ZipFile(io.BytesIO(raw)) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    schema_text = entries.pop("schema.json").decode("utf-8")
    mapping: dict[str, str] = {}

    def renumber(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "__id__":
                    value = mapping.setdefault(str(value), str(len(mapping)))
                    out[key] = int(value)
                elif key == "file" and isinstance(value, str) and value.endswith(_DATA_FILES):
                    stem, suffix = value.rsplit(".", 1)
                    out[key] = f"{mapping.setdefault(stem, str(len(mapping)))}.{suffix}"
                else:
                    out[key] = renumber(value)
            return out
        if isinstance(node, list):
            return [renumber(v) for v in node]
        return node

    schema = renumber(json.loads(schema_text))
    renamed = {}
    for name, data in entries.items():
        stem, _, suffix = name.rpartition(".")
        known = name.endswith(_DATA_FILES) and stem in mapping
        renamed[f"{mapping[stem]}.{suffix}" if known else name] = data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        target.writestr(_info("schema.json"), json.dumps(schema, indent=2, sort_keys=True))
        for name in sorted(renamed):
            target.writestr(_info(name), renamed[name])
    return buffer.getvalue()


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def save_model(model: Any, path: str | Path) -> None:
    """Write the model file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(model_bytes(model))


def untrusted_types(path: str | Path) -> list[str]:
    """Types in the file that neither skops' defaults nor ``TRUSTED_TYPES`` allow.

    Reads only the archive's schema.json: nothing in the file is imported or instantiated.
    """
    return sorted(t for t in sio.get_untrusted_types(file=str(path)) if t not in TRUSTED_TYPES)


def load_model(path: str | Path) -> Any:
    """Load a skops model file, refusing any type outside the allow-list (nothing is executed).

    Pickle/joblib files and anything else that is not a skops archive are refused unread.
    """
    path = Path(path)
    if not path.is_file():
        raise UnsafeModelError(f"{path}: model file not found. Run `dvc repro` or `dvc pull`.")
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic.startswith(_PICKLE_MAGIC):
        raise UnsafeModelError(
            f"{path}: refusing to load a pickle file: unpickling can run arbitrary code. "
            "mlpipe model files are skops archives; retrain with `dvc repro` to get one"
        )
    if magic != _ZIP_MAGIC:
        raise UnsafeModelError(
            f"{path}: not a skops model file (expected a zip archive holding schema.json); "
            "refusing to load it"
        )
    try:
        bad = untrusted_types(path)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, TypeError) as exc:
        raise UnsafeModelError(f"{path}: not a valid skops model file ({exc})") from None
    if bad:
        raise UnsafeModelError(
            f"{path}: refusing to load: the file contains types that are not trusted: "
            f"{', '.join(bad)}. Only the scikit-learn and numpy types mlpipe's estimators "
            "need are allowed (mlpipe.model.persist.TRUSTED_TYPES)"
        )
    return sio.load(str(path), trusted=sorted(TRUSTED_TYPES))
