"""Load a ``Revision`` from the workspace (the PR) or from a git revision (the base).

The base is read with ``git show <ref>:<path>`` (results, params.yaml, schema.yaml and dvc.lock
are committed), so base values and plots are the base revision's own outputs: nothing is checked
out or recomputed. Paths come from each revision's own params.yaml ``paths:`` section.
"""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mlpipe.config import PathsConfig
from mlpipe.errors import MlpipeError
from mlpipe.io import atomic_path
from mlpipe.markdown_escape import md, md_code
from mlpipe.report.markdown import Figure
from mlpipe.report.revision import PLOT_NAMES, Revision

# DVC's own lock file name (not a project path: DVC always writes it next to dvc.yaml).
DVC_LOCK = "dvc.lock"


class GitError(MlpipeError):
    """A git revision cannot be read; the message says which and how to fix it."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)


def stale_stages(root: Path) -> list[str] | None:
    """Stages ``dvc status`` says are not up to date in the workspace at ``root`` (their code,
    params or inputs changed since the last run, or outputs are missing); None when ``dvc``
    cannot tell (not installed, not a DVC repository)."""
    try:
        result = subprocess.run(
            ["dvc", "status", "--json"], cwd=root, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        return None
    if result.returncode != 0:
        return None
    try:
        status = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        return None
    return sorted(name for name in status if not name.endswith(".dvc"))


def uncommitted_files(root: Path, paths: Sequence[str]) -> dict[str, str]:
    """Which of ``paths`` (relative to ``root``, the workspace) HEAD does not hold as they are:
    path -> ``untracked``, ``ignored`` (by .gitignore) or ``changed`` (modified, staged, added
    or deleted since HEAD). Files that git holds as HEAD has them, or that do not exist, are
    left out; {} when git cannot tell (not a repository)."""
    wanted = list(dict.fromkeys(str(Path(p).as_posix()) for p in paths))
    if not wanted:
        return {}
    prefix = _git(root, "rev-parse", "--show-prefix")
    if prefix.returncode != 0:
        return {}
    inside = prefix.stdout.decode().strip()  # root's place in the repository ("" at the top)
    status = _git(
        root,
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--ignored=traditional",
        "--",
        *wanted,
    )
    if status.returncode != 0:
        return {}
    found: dict[str, str] = {}
    entries = status.stdout.decode("utf-8", "replace").split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if "R" in code or "C" in code:
            i += 1  # a rename or copy: the next entry is the old path
        state = {"??": "untracked", "!!": "ignored"}.get(code, "changed")
        found[path.removeprefix(inside)] = state
    return {p: found[p] for p in wanted if p in found}


def resolve_commit(root: Path, ref: str) -> str:
    """The full commit id of ``ref``; GitError with a fix when git does not know it."""
    result = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if result.returncode != 0:
        raise GitError(
            f"base revision '{ref}' not found in the git repository at {root}. "
            "Fetch it first (git fetch origin main), or in CI check out with fetch-depth: 0."
        )
    return result.stdout.decode().strip()


def git_revision(root: Path, ref: str, params_path: str | Path = "params.yaml") -> Revision:
    """The base side: every file read from ``ref`` in git, none from the workspace."""
    commit = resolve_commit(root, ref)

    def read(rel: str) -> str | None:
        result = _git(root, "show", f"{commit}:./{rel}")
        return result.stdout.decode() if result.returncode == 0 else None

    return dataclasses.replace(_load(read, str(Path(params_path))), label=ref, commit=commit[:8])


def workspace_revision(root: Path, params_path: str | Path, label: str | None = None) -> Revision:
    """The PR side: the files in the workspace (after `dvc repro`)."""

    def read(rel: str) -> str | None:
        path = root / rel
        return path.read_text(encoding="utf-8") if path.is_file() else None

    head = _git(root, "rev-parse", "HEAD")
    commit = head.stdout.decode().strip()[:8] if head.returncode == 0 else "workspace"
    if label is None:
        branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
        label = branch if branch and branch != "HEAD" else commit
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    dirty = status.returncode == 0 and bool(status.stdout.strip())
    params_rel = str(Path(params_path))
    revision = _load(read, params_rel)
    return dataclasses.replace(revision, label=label, commit=commit, dirty=dirty)


def _load(read: Callable[[str], str | None], params_rel: str = "params.yaml") -> Revision:
    params = _yaml(read(params_rel), params_rel)
    paths = _paths(params)
    plots = {}
    for name in PLOT_NAMES:
        records = _json(read(f"{paths.plots}/{name}.json"), f"{paths.plots}/{name}.json")
        if records is not None:
            plots[name] = records
    lock = _yaml(read(DVC_LOCK), DVC_LOCK)
    return Revision(
        label="",
        commit="",
        params=params,
        metrics=_json(read(paths.metrics), paths.metrics),
        slices=_json(read(paths.slices), paths.slices),
        validation=_json(read(paths.validation), paths.validation),
        plots=plots,
        schema_text=read(paths.schema),
        data_hash=_out_hash(lock, paths.ingested),
        drift=_json(read(paths.drift), paths.drift),
        ingest=_json(read(paths.ingest_report), paths.ingest_report),
        tune=_json(read(paths.tune), paths.tune),
        train_hash=_out_hash(lock, paths.train),
        intervals=_json(read(paths.intervals), paths.intervals),
        audit=_json(read(paths.audit), paths.audit),
        importance=_json(read(f"{paths.plots}/importance.json"), f"{paths.plots}/importance.json"),
    )


def _paths(params: dict[str, Any]) -> PathsConfig:
    """The revision's paths: its params.yaml ``paths:`` over the defaults (tolerant of keys
    this version does not know, so an older or newer base still loads)."""
    raw = params.get("paths") or {}
    known = {f.name for f in dataclasses.fields(PathsConfig)}
    return PathsConfig(**{k: str(v) for k, v in raw.items() if k in known})


def _yaml(text: str | None, where: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise MlpipeError(f"{where}: not valid YAML: {exc}") from None
    return data if isinstance(data, dict) else {}


def _json(text: str | None, where: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MlpipeError(f"{where}: not valid JSON ({exc}); rerun dvc repro") from None


def workspace_predictions(root: Path, path: str) -> tuple[pd.DataFrame | None, str | None]:
    """The PR's per-row test predictions (``paths.test_predictions``), or None and why not."""
    file = root / path
    if not file.is_file():
        return None, (
            f"the workspace has no per-row test predictions ({md_code(path)}): run `dvc repro`"
        )
    return pd.read_parquet(file), None


def base_predictions(
    root: Path, ref: str, params: dict[str, Any]
) -> tuple[pd.DataFrame | None, str | None]:
    """The base revision's per-row test predictions, or None and why not.

    The reason is markdown (data-derived names escaped). The file is a DVC output (not in
    git): its md5 comes from the base's dvc.lock, its bytes from the local DVC cache or, failing
    that, DVC's default remote (``dvc.api``, credentials as DVC finds them). In CI the step
    that holds the remote's credentials puts them in the cache first
    (``mlpipe fetch-predictions``).
    """
    commit = resolve_commit(root, ref)
    path = _paths(params).test_predictions
    lock_text = _git(root, "show", f"{commit}:./{DVC_LOCK}")
    lock = _yaml(lock_text.stdout.decode() if lock_text.returncode == 0 else None, DVC_LOCK)
    md5 = _out_hash(lock, path)
    if md5 is None:
        return None, (
            f"{md_code(ref)} has no per-row test predictions (no {md_code(path)} in its "
            "dvc.lock: a run from before evaluate wrote them, or not committed)"
        )
    try:
        data = _read_dvc_object(root, md5, path, commit)
    except Exception as exc:  # DVC's errors have many types; the message says what failed
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, (
            f"{md_code(path)} of {md_code(ref)} (md5 `{md5}`) is neither in the local DVC "
            f"cache nor readable from the default remote ({md(first, 160)}); "
            f"{md_code(f'mlpipe fetch-predictions --base {ref}')} fetches it where the "
            "remote's credentials are"
        )
    return pd.read_parquet(io.BytesIO(data)), None


def _read_dvc_object(root: Path, md5: str, path: str, commit: str) -> bytes:
    """The bytes of a DVC-tracked file of revision ``commit``: from the local cache when it
    holds ``md5``, else through ``dvc.api`` (which reads the default remote)."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        cached = Path(repo.cache.local.oid_to_path(md5))
    if cached.is_file():
        return cached.read_bytes()
    import dvc.api

    return dvc.api.read(path, repo=str(root), rev=commit, mode="rb")


def fetch_predictions(root: Path, ref: str, params: dict[str, Any]) -> tuple[bool, str]:
    """Put the base revision's per-row test predictions in the local DVC cache (from the
    default remote); (whether they are there now, a sentence saying what happened)."""
    from dvc.repo import Repo

    commit = resolve_commit(root, ref)
    path = _paths(params).test_predictions
    lock_text = _git(root, "show", f"{commit}:./{DVC_LOCK}")
    lock = _yaml(lock_text.stdout.decode() if lock_text.returncode == 0 else None, DVC_LOCK)
    md5 = _out_hash(lock, path)
    if md5 is None:
        return False, f"`{ref}` has no per-row test predictions (no `{path}` in its dvc.lock)"
    with Repo(str(root)) as repo:
        if repo.cache.local.exists(md5):
            return True, f"`{path}` of `{ref}` (md5 {md5}) is already in the DVC cache"
        try:
            repo.fetch(targets=[path], revs=[commit], workspace=False)
        except Exception as exc:  # DVC's errors have many types; the message says what failed
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return False, f"could not fetch `{path}` of `{ref}` (md5 {md5}): {first}"
        if repo.cache.local.exists(md5):
            return True, f"fetched `{path}` of `{ref}` (md5 {md5}) into the DVC cache"
    return False, (
        f"`{path}` of `{ref}` (md5 {md5}) is not in the default remote: was it pushed "
        "(`dvc push` on the base branch)?"
    )


def _out_hash(lock: dict[str, Any], path: str) -> str | None:
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if out.get("path") == path:
                return out.get("md5")
    return None


# PNG figures (in paths.figures) linked, and uploaded by CML, only with `mlpipe report --images`.
FIGURES = {"roc": "ROC", "precision_recall": "Precision-recall", "confusion": "Confusion"}


def extract_figures(root: Path, base_commit: str, figures_dir: str, out_dir: Path) -> list[Figure]:
    """Write the base's committed PNGs (from git) into ``out_dir``; pair them with the PR's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    for name, title in FIGURES.items():
        pr_png = Path(figures_dir) / f"{name}.png"
        if not (root / pr_png).is_file():
            continue
        blob = _git(root, "show", f"{base_commit}:./{pr_png.as_posix()}")
        base_path = None
        if blob.returncode == 0:
            target = out_dir / f"base-{name}.png"
            with atomic_path(target) as tmp:
                tmp.write_bytes(blob.stdout)
            base_path = target.as_posix()
        figures.append(Figure(title, base_path, pr_png.as_posix()))
    return figures
