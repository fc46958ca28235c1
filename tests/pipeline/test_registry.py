"""The model registry: GTO versions and stages as git tags, the model fetched by name and stage.

Real git, dvc and gto in a temporary copy of the reproduced repository, with a temporary local
DVC remote; never the working checkout.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.repo import BIN, CHEAP_IMPORTANCE, PROJECT, Repo
from support.s3 import S3Server, new_bucket, use_s3

pytestmark = pytest.mark.slow
MODEL = "data/model/model.skops"
NAME = "churn-model"
WORKFLOW = PROJECT / ".github/workflows/model-registry.yml"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_artifact_declaration_matches_params_and_gto_config() -> None:
    dvc_yaml = yaml.safe_load((PROJECT / "dvc.yaml").read_text())
    params = yaml.safe_load((PROJECT / "params.yaml").read_text())
    artifact = dvc_yaml["artifacts"][NAME]
    assert artifact["type"] == "model"
    assert artifact["path"] == params["paths"]["model"]  # one path, declared twice: keep equal
    gto = yaml.safe_load((PROJECT / ".gto").read_text())
    assert gto == {"types": ["model"], "stages": ["dev", "staging", "prod"]}


@pytest.mark.long(40)
def test_register_assign_show_and_get_from_remote(work_repo: Repo, tmp_path: Path) -> None:
    repo = work_repo
    remote = tmp_path / "remote"
    repo.dvc("remote", "modify", "--local", "local", "url", str(remote))
    repo.commit("model v1 (dvc.lock and results of the repro)")
    repo.dvc("push")
    v1 = _md5(repo.path / MODEL)

    out = repo.run("gto", "register", NAME, "--version", "v1.0.0").stdout
    assert f"Created git tag '{NAME}@v1.0.0' that registers version" in out
    out = repo.run("gto", "assign", NAME, "--version", "v1.0.0", "--stage", "prod").stdout
    assert f"Created git tag '{NAME}#prod#1' that assigns stage to version 'v1.0.0'" in out

    # A second model version (other seed), registered but not promoted.
    repo.set_params(**{"train.seed": 7, **CHEAP_IMPORTANCE})
    repo.dvc("repro")
    repo.commit("model v2: train.seed 7")
    repo.dvc("push")
    v2 = _md5(repo.path / MODEL)
    assert v2 != v1
    repo.run("gto", "register", NAME, "--bump-minor")
    repo.run("gto", "assign", NAME, "--version", "v1.1.0", "--stage", "staging")

    shown = json.loads(repo.run("gto", "show", "--json").stdout)
    assert shown[NAME]["version"] == "v1.1.0"
    assert shown[NAME]["stage"] == {"dev": None, "staging": "v1.1.0", "prod": "v1.0.0"}
    table = repo.run("gto", "show", NAME).stdout
    rows = [line for line in table.splitlines() if NAME in line]
    assert any("v1.0.0" in row and "prod" in row and f"{NAME}@v1.0.0" in row for row in rows)
    assert any("v1.1.0" in row and "staging" in row for row in rows)
    assert repo.run("gto", "show", f"{NAME}#prod", "--ref").stdout.strip() == f"{NAME}@v1.0.0"
    refs = repo.git("tag", "-l").stdout.split()
    assert sorted(refs) == sorted(
        [
            f"{NAME}@v1.0.0",
            f"{NAME}#prod#1",
            f"{NAME}@v1.1.0",
            f"{NAME}#staging#2",
        ]  # assignments are numbered per artifact
    )

    # Fetch by stage with no local copy or cache left: the bytes must come from the remote.
    (repo.path / MODEL).unlink()
    shutil.rmtree(repo.path / ".dvc" / "cache")
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    repo.dvc(
        "artifacts",
        "get",
        str(repo.path),
        NAME,
        "--stage",
        "prod",
        "-o",
        str(consumer / "prod.skops"),
    )
    repo.dvc(
        "artifacts",
        "get",
        str(repo.path),
        NAME,
        "--stage",
        "staging",
        "-o",
        str(consumer / "staging.skops"),
    )
    assert _md5(consumer / "prod.skops") == v1
    assert _md5(consumer / "staging.skops") == v2

    # What the tag-triggered workflow runs: parse the tag, fetch that version, smoke-test it.
    result = repo.run(".github/scripts/model-smoke.sh", f"{NAME}#prod#1", str(tmp_path / "ci"))
    assert f"tag {NAME}#prod#1: assignment of {NAME} v1.0.0 prod" in result.stdout
    ref = json.loads((tmp_path / "ci" / "ref.json").read_text())
    assert (ref["artifact"], ref["version"], ref["stage"]) == (NAME, "v1.0.0", "prod")
    smoke = json.loads((tmp_path / "ci" / "smoke.json").read_text())
    assert smoke["ok"] is True and smoke["model_md5"] == v1
    assert smoke["output"]["shape"] == [200, 2]
    not_a_tag = repo.run(
        ".github/scripts/model-smoke.sh", "main", str(tmp_path / "x"), check=False
    )
    assert not_a_tag.returncode == 1
    assert "'main' is not a GTO tag" in not_a_tag.stderr

    # Control: without the remote there is nothing to fetch.
    remote.rename(tmp_path / "remote-away")
    failed = repo.dvc(
        "artifacts",
        "get",
        str(repo.path),
        NAME,
        "--stage",
        "prod",
        "-o",
        str(consumer / "again.skops"),
        check=False,
    )
    assert failed.returncode != 0
    assert "No storage files available" in failed.stderr + failed.stdout
    assert not (consumer / "again.skops").exists()


def test_registry_workflow_is_valid() -> None:
    path = PROJECT / ".github/workflows/model-registry.yml"
    schema = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    lint = subprocess.run(
        [str(BIN / "actionlint"), str(path)], capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_registry_workflow_parses_tags_and_smoke_tests_the_model() -> None:
    """The workflow is triggered by GTO tags and runs the smoke test on the fetched model."""
    workflow = yaml.safe_load((PROJECT / ".github/workflows/model-registry.yml").read_text())
    trigger = workflow[True]  # YAML 1.1 reads the `on:` key as True
    assert trigger["push"]["tags"] == ["*@v*", "*#*"]
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    script = "\n".join(step.get("run", "") for step in steps)
    assert '.github/scripts/model-smoke.sh "$TAG"' in script
    helper = (PROJECT / ".github/scripts/model-smoke.sh").read_text()
    for command in ("gto check-ref", "dvc artifacts get", "mlpipe smoke-test"):
        assert command in helper
    for job in workflow["jobs"].values():
        env = json.dumps(job.get("env", {})) + json.dumps([s.get("env", {}) for s in job["steps"]])
        assert "AKIA" not in env  # credentials come from secrets only
    assert workflow["permissions"] == {"contents": "read"}


def _step_script(name: str) -> str:
    """The `run:` script of the registry workflow's step called name."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["smoke-test"]["steps"]
    return next(step["run"] for step in steps if step.get("name") == name)


def test_registry_workflow_fetches_the_tagged_model_from_an_s3_compatible_store(
    work_repo: Repo, s3: S3Server, tmp_path: Path
) -> None:
    """The workflow's own steps, in a fresh clone of a tag, with the secrets and variables the
    README names: DVC_REMOTE_URL plus MLPIPE_S3_ENDPOINT for a store that is not AWS."""
    repo = work_repo
    bucket = new_bucket(s3)
    use_s3(repo, s3, bucket)
    repo.commit("model v1")
    repo.dvc("push", env=s3.env())
    v1 = _md5(repo.path / MODEL)
    repo.run("gto", "register", NAME, "--version", "v1.0.0")

    ci = repo.clone(tmp_path / "ci")  # what actions/checkout gives: no cache, no config.local
    (ci.path / ".venv").symlink_to(BIN.parent)  # what `make env` gives
    env = {
        **s3.env(),
        "DVC_REMOTE_URL": f"s3://{bucket}/mlpipe",
        "MLPIPE_S3_ENDPOINT": s3.endpoint,
        "TAG": f"{NAME}@v1.0.0",
    }
    for step in ("Point DVC at the shared remote", "Fetch the tagged model and smoke-test it"):
        ci.run("bash", "-eo", "pipefail", "-c", _step_script(step), env=env)

    smoke = json.loads((ci.path / "model-smoke" / "smoke.json").read_text())
    assert smoke["ok"] is True and smoke["model_md5"] == v1
    assert _md5(ci.path / "model-smoke" / "model.skops") == v1
    local = (ci.path / ".dvc" / "config.local").read_text()
    assert s3.endpoint in local and f"s3://{bucket}/mlpipe" in local
    assert ci.git("status", "--porcelain", "--", ".dvc").stdout == ""  # nothing to commit
