"""Model files load without running code: crafted files are refused, their payload never runs."""

from __future__ import annotations

import io
import json
import pickle
import zipfile
import zoneinfo
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from mlpipe.model.features import model_frame
from mlpipe.model.persist import (
    TRUSTED_TYPES,
    UnsafeModelError,
    load_model,
    model_bytes,
    save_model,
    untrusted_types,
)
from support.tiny import tiny_frame, tiny_model, tiny_schema, tiny_spec


class Payload:
    """Writes a marker file when skops restores it (through __setstate__)."""

    marker: str = ""

    def __setstate__(self, state: dict) -> None:
        Path(state["marker"]).write_text("payload ran")


class PicklePayload:
    """Creates a marker file when unpickled: __reduce__ makes pickle call open(marker, 'w')."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _skops_calling(function: str, argument: str) -> bytes:
    """A skops archive whose root node calls ``function(argument)`` when constructed.

    Built from a genuine skops file (ZoneInfo is stored as a constructor call) with the
    constructor's name swapped, which is what an attacker would do.
    """
    raw = sio.dumps(zoneinfo.ZoneInfo("UTC"))
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        schema = json.loads(archive.read("schema.json"))
    module, name = function.rsplit(".", 1)
    schema["__module__"], schema["__class__"] = module, name
    schema["content"]["content"][0]["content"] = json.dumps(argument)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return out.getvalue()


def test_exec_payload_in_skops_schema_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "exec-ran"
    evil = tmp_path / "model.skops"
    evil.write_bytes(_skops_calling("builtins.exec", f"open({str(marker)!r}, 'w').write('x')"))

    # Control: the file is live. skops, told to trust the type, runs the code.
    sio.load(evil, trusted=["builtins.exec"])
    assert marker.read_text() == "x"
    marker.unlink()

    with pytest.raises(UnsafeModelError) as info:
        load_model(evil)
    message = str(info.value)
    assert "refusing to load" in message
    assert "builtins.exec" in message
    assert not marker.exists()


@pytest.mark.parametrize(
    "function", ["builtins.eval", "os.system", "numpy.load", "builtins.__import__"]
)
def test_other_callables_named_in_a_skops_file_are_refused(tmp_path: Path, function: str) -> None:
    evil = tmp_path / "model.skops"
    evil.write_bytes(_skops_calling(function, "anything"))
    assert untrusted_types(evil) == [function]
    with pytest.raises(UnsafeModelError, match=f"not trusted: {function}"):
        load_model(evil)


def test_custom_class_with_setstate_payload_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "setstate-ran"
    obj = Payload()
    obj.__dict__["marker"] = str(marker)
    evil = tmp_path / "model.skops"
    evil.write_bytes(sio.dumps(obj))
    qualname = f"{Payload.__module__}.Payload"

    sio.load(evil, trusted=[qualname])  # control: loading it for real runs the payload
    assert marker.read_text() == "payload ran"
    marker.unlink()

    with pytest.raises(UnsafeModelError, match=qualname.replace(".", r"\.")):
        load_model(evil)
    assert not marker.exists()


def test_pickle_renamed_to_skops_is_refused_unread(tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"
    data = pickle.dumps(PicklePayload(marker))
    pickle.loads(data)  # control: unpickling creates the marker
    assert marker.exists()
    marker.unlink()

    evil = tmp_path / "model.skops"
    evil.write_bytes(data)
    with pytest.raises(UnsafeModelError, match="refusing to load a pickle file"):
        load_model(evil)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"customer_id,plan\nc1,basic\n", "not a skops model file"),
        (b"", "not a skops model file"),
        (b"PK\x03\x04 truncated zip", "not a valid skops model file"),
    ],
)
def test_files_that_are_not_skops_archives_are_refused(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(content)
    with pytest.raises(UnsafeModelError, match=expected):
        load_model(path)


def test_missing_file_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(UnsafeModelError, match=r"model file not found. Run `dvc repro`"):
        load_model(tmp_path / "absent.skops")


@pytest.mark.parametrize(
    ("task", "estimator"),
    [
        (task, estimator)
        for estimator in (
            "logistic_regression",
            "random_forest",
            "hist_gradient_boosting",
            "xgboost",
        )
        for task in ("binary", "multiclass", "regression")
    ],
)
def test_every_estimator_round_trips_with_the_exact_allow_list(
    tmp_path: Path, task: str, estimator: str
) -> None:
    """The allow-list is exactly what the estimators need: none is refused, none is loose.
    (Ten boosting rounds: the types a boosted model holds do not depend on how many.)"""
    model = tiny_model(task, estimator, rows=200, max_iter=10)
    path = tmp_path / "model.skops"
    save_model(model, path)
    assert set(sio.get_untrusted_types(file=path)) <= TRUSTED_TYPES
    loaded = load_model(path)
    x = model_frame(tiny_frame(50, task, seed=3), tiny_spec(tiny_schema(task)))
    method = "predict" if task == "regression" else "predict_proba"
    np.testing.assert_array_equal(getattr(loaded, method)(x), getattr(model, method)(x))
    assert model_bytes(model) == path.read_bytes()  # deterministic: same model, same bytes
