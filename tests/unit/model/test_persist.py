"""Model files: byte-identical for the same model; foreign types are refused, never run."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from mlpipe.config import TrainConfig
from mlpipe.data.schema import Schema
from mlpipe.model.features import feature_spec, model_frame
from mlpipe.model.persist import (
    UnsafeModelError,
    load_model,
    model_bytes,
    save_model,
    untrusted_types,
)
from mlpipe.model.train import fit_model

# Set by Canary.__setstate__: proves whether loading ran the file's code.
CANARY_CALLS: list[str] = []


class Canary:
    """A type from an untrusted module whose restore hook records that it ran."""

    def __init__(self) -> None:
        self.payload = "rm -rf /"

    def __setstate__(self, state: dict[str, object]) -> None:
        CANARY_CALLS.append("executed")
        self.__dict__.update(state)


class Unsaveable:
    """An object whose state cannot be read, so serialising it fails midway."""

    def __getstate__(self) -> dict[str, object]:
        raise RuntimeError("cannot be saved")


@pytest.fixture(scope="module")
def model(
    churn_split: tuple[pd.DataFrame, pd.DataFrame], schema: Schema, quick: TrainConfig
) -> Pipeline:
    return fit_model(churn_split[0], feature_spec(schema), "churned", "binary", quick)


def _tiny() -> LogisticRegression:
    return LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])


def test_same_model_gives_byte_identical_files(model: Pipeline, tmp_path: Path) -> None:
    assert model_bytes(model) == model_bytes(model)
    save_model(model, tmp_path / "a.skops")
    save_model(model, tmp_path / "b.skops")
    assert (tmp_path / "a.skops").read_bytes() == (tmp_path / "b.skops").read_bytes()
    # two separately fitted, identical models too (skops itself names objects by id())
    assert model_bytes(_tiny()) == model_bytes(_tiny())
    assert model_bytes(_tiny()) != model_bytes(LogisticRegression(C=0.5).fit([[0], [1]], [0, 1]))


def test_archive_is_normalised(model: Pipeline) -> None:
    with zipfile.ZipFile(io.BytesIO(model_bytes(model))) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        schema = json.loads(archive.read("schema.json"))
    assert names[0] == "schema.json" and names[1:] == sorted(names[1:])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert all(n == "schema.json" or n[: -len(".npy")].isdigit() for n in names)
    assert schema["__module__"] == "sklearn.pipeline"


def test_load_round_trip_predicts_the_same(
    model: Pipeline,
    churn_split: tuple[pd.DataFrame, pd.DataFrame],
    schema: Schema,
    tmp_path: Path,
) -> None:
    path = tmp_path / "model.skops"
    save_model(model, path)
    loaded = load_model(path)
    x = model_frame(churn_split[1], feature_spec(schema))
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert untrusted_types(path) == []


def test_a_custom_class_is_refused_and_not_executed(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    path.write_bytes(sio.dumps({"model": _tiny(), "extra": Canary()}))
    CANARY_CALLS.clear()
    with pytest.raises(UnsafeModelError) as caught:
        load_model(path)
    assert str(caught.value) == (
        f"{path}: refusing to load: the file contains types that are not trusted: "
        f"{__name__}.Canary. Only the scikit-learn and numpy types mlpipe's estimators "
        "need are allowed (mlpipe.model.persist.TRUSTED_TYPES)"
    )
    assert CANARY_CALLS == []
    # Control: loading it the unsafe way does run the hook, so the check above can fail.
    sio.load(str(path), trusted=sio.get_untrusted_types(file=str(path)))
    assert CANARY_CALLS == ["executed"]
    CANARY_CALLS.clear()


def test_a_pipeline_calling_os_system_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shell.skops"
    path.write_bytes(sio.dumps(Pipeline([("run", FunctionTransformer(os.system))])))
    with pytest.raises(UnsafeModelError, match=r"not trusted: posix\.system\. Only the"):
        load_model(path)


def test_an_edited_schema_referencing_os_system_is_refused(tmp_path: Path) -> None:
    """Tamper with a genuine model file: its top object now claims to be os.system."""
    marker = tmp_path / "pwned"
    with zipfile.ZipFile(io.BytesIO(model_bytes(_tiny()))) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(entries["schema.json"])
    schema["__module__"], schema["__class__"] = "os", "system"
    schema["content"]["content"]["command"] = {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(f"touch {marker}"),
        "is_json": True,
        "__id__": 999,
    }
    entries["schema.json"] = json.dumps(schema).encode()
    path = tmp_path / "tampered.skops"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(UnsafeModelError, match=r"not trusted: os\.system\. Only"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip", "not a skops model file"),
        (None, "model file not found. Run `dvc repro` or `dvc pull`."),
    ],
)
def test_missing_or_corrupt_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "model.skops"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UnsafeModelError) as caught:
        load_model(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_zip_without_schema_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(UnsafeModelError, match="not a valid skops model file"):
        load_model(path)


def test_save_model_failure_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    save_model(_tiny(), path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="cannot be saved"):
        save_model(Unsaveable(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.skops"]
