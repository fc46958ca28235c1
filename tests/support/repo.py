"""Real git + dvc repositories in temporary directories, never the working checkout.

``make_repo`` copies the project's tracked and untracked-but-not-ignored files (so the tests
see the code under test, committed or not), makes a fresh git repository of them with one
commit, and returns a ``Repo`` whose commands run with this virtual environment's tools and
the copy's own ``src`` first on PYTHONPATH.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# Outputs of the pipeline that a clean clone does not have (they come from dvc repro).
_GENERATED = ("data/raw/", "data/interim/", "data/processed/", "data/model/")


def project_files() -> list[str]:
    """Files git would put in a clone: tracked plus untracked-not-ignored, minus deleted."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return sorted(f for f in out.split("\0") if f and (PROJECT / f).is_file())


# Permutation importance at one shuffle of 500 rows instead of five of 5 000: ~3.5 s less CPU
# per `mlpipe evaluate` on the default data (it is ~45 % of that stage). For tests whose change
# reruns evaluate anyway and that check nothing about importances: set in the same change, so
# the stages that rerun are the same ones.
CHEAP_IMPORTANCE = {"evaluate.importance_repeats": 1, "evaluate.importance_rows": 500}

# The variables that set the thread count of OpenMP (the histogram booster) and BLAS.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def base_env(src: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    if src is not None:
        env["PYTHONPATH"] = str(src)
    env.update(
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="mlpipe tests",
        GIT_AUTHOR_EMAIL="tests@mlpipe.invalid",
        GIT_COMMITTER_NAME="mlpipe tests",
        GIT_COMMITTER_EMAIL="tests@mlpipe.invalid",
        PYTHONHASHSEED="0",
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    return env


@dataclass
class Repo:
    """A temporary project repository with helpers to run commands in it."""

    path: Path

    @property
    def env(self) -> dict[str, str]:
        return base_env(self.path / "src")

    def run(
        self, *args: str, check: bool = True, env: dict[str, str] | None = None, timeout: int = 600
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(args),
            cwd=self.path,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
            )
        return result

    def dvc(self, *args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "dvc"), *args, check=check, **kw)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args, check=check)

    def mlpipe(
        self, *args: str, check: bool = True, **kw: Any
    ) -> subprocess.CompletedProcess[str]:
        return self.run(str(BIN / "mlpipe"), *args, check=check, **kw)

    def mlpipe_in_process(
        self, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``mlpipe ARGS`` through the command's entry point (``mlpipe.cli.main``) in this
        process, run in this repository: what it prints, what it logs and Python's warnings
        (on stderr, in the command's format and with a new interpreter's warning filters) and
        its exit status, as ``mlpipe`` would give them.

        For tests of what a command computes and writes: a new process spends ~3 s of CPU
        importing scikit-learn and skops before it reads a byte. What only a process shows
        (the installed command, signals, start-up) stays with ``mlpipe``, and each test file
        keeps at least one run of it.
        """
        from mlpipe.cli import LOG_DATE_FORMAT, LOG_FORMAT, main

        out, err = io.StringIO(), io.StringIO()
        handler = logging.StreamHandler(err)
        handler.setFormatter(logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT))
        root = logging.getLogger()
        level, environ, cwd = root.level, dict(os.environ), os.getcwd()
        root.addHandler(handler)  # main's logging.basicConfig is then a no-op, as in pytest
        root.setLevel(logging.INFO)
        try:
            os.chdir(self.path)
            env = self.env  # what ``mlpipe`` gets: the tools' PATH (git, dvc), the identity
            os.environ.clear()
            os.environ.update(env)
            with (
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
                _process_warnings(err),
            ):
                try:
                    code = main(list(args))
                except SystemExit as exit_:  # argparse's usage errors
                    code = exit_.code if isinstance(exit_.code, int) else 1
                except Exception:  # what the process would die of: a traceback, status 1
                    traceback.print_exc()
                    code = 1
        finally:
            os.chdir(cwd)
            root.removeHandler(handler)
            root.setLevel(level)
            os.environ.clear()
            os.environ.update(environ)  # main sets OMP_WAIT_POLICY for its own process
        result = subprocess.CompletedProcess(
            ["mlpipe", *args], code, out.getvalue(), err.getvalue()
        )
        if check and code != 0:
            raise AssertionError(
                f"mlpipe {' '.join(args)} (in process) exited {code}\n"
                f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
            )
        return result

    def read_json(self, rel: str) -> Any:
        return json.loads((self.path / rel).read_text())

    def params(self) -> dict[str, Any]:
        return yaml.safe_load((self.path / "params.yaml").read_text())

    def set_params(self, **dotted: Any) -> None:
        """Set params.yaml values by dotted key, e.g. set_params(**{"train.seed": 1})."""
        params = self.params()
        for key, value in dotted.items():
            node = params
            *parents, leaf = key.split(".")
            for part in parents:
                node = node[part]
            node[leaf] = value
        (self.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, "--allow-empty")
        return self.git("rev-parse", "HEAD").stdout.strip()

    def clone(self, dest: Path) -> Repo:
        """A real `git clone` of this repository (committed state only)."""
        subprocess.run(["git", "clone", "-q", str(self.path), str(dest)], check=True, env=self.env)
        return Repo(dest)

    def copy(self, dest: Path) -> Repo:
        """A byte copy, workspace and DVC cache included (fast way to reuse a repro)."""
        shutil.copytree(self.path, dest, symlinks=True)
        return Repo(dest)


@contextlib.contextmanager
def _process_warnings(stream: io.StringIO) -> Iterator[None]:
    """Python's warnings as a new process shows them: on its stderr (``stream``), with the
    interpreter's default filters (DeprecationWarning, PendingDeprecationWarning, ImportWarning
    and ResourceWarning ignored, the others once per place), not recorded by pytest."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: object = None,
        line: str | None = None,
    ) -> None:
        stream.write(warnings.formatwarning(message, category, filename, lineno, line))

    with warnings.catch_warnings():  # a fresh filter list: places warned before warn again
        warnings.resetwarnings()
        warnings.simplefilter("default")
        quiet = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
        for category in quiet:
            warnings.simplefilter("ignore", category)
        warnings.showwarning = show
        yield


def ran_stages(output: str) -> list[str]:
    """Stage names that `dvc repro` / `dvc exp run` executed, from their output."""
    return re.findall(r"Running stage '([^']+)'", output)


def make_repo(dest: Path, rows: int | None = None) -> Repo:
    """A fresh git repository holding the project's files (see module docstring)."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in project_files():
        if rel.startswith(_GENERATED):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / rel, target)
    repo = Repo(dest)
    repo.git("init", "-q", "-b", "main")
    if rows is not None:
        repo.set_params(**{"generate.rows": rows})
    repo.commit("initial import")
    return repo
