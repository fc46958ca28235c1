"""Repositories built once per test session and copied for every test that needs one.

A cold `dvc repro` of the default pipeline is the most expensive thing the suite does, so it
happens once per session: the first process that asks for a template builds it under a file
lock in the directory every pytest-xdist worker of this session shares (the controller's base
temp dir; the session's own base temp dir without xdist); the other workers wait for the lock
and find it built. Tests never use a template in place: each worker copies it (``cp -a``-like,
workspace, git and DVC cache included) and each test that changes a repository copies again,
so nothing on disk is shared between tests running at the same time.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from support.repo import Repo


def session_root(factory: pytest.TempPathFactory) -> Path:
    """The directory all workers of this test session share (cleaned up like tmp_path)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_template(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    """The path of template ``name``, built once per session by ``build(path)``.

    Read-only: copy it (``Repo(path).copy(dest)``). A build that raised leaves no marker, so
    the next caller builds again and sees the same error.
    """
    root = session_root(factory) / "templates"
    root.mkdir(exist_ok=True)
    target, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            if target.exists():
                shutil.rmtree(target)
            build(target)
            done.touch()
    return target


def copy_template(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Repo:
    """A private copy (this worker's) of template ``name``; see ``shared_template``."""
    template = shared_template(factory, name, build)
    return Repo(template).copy(factory.mktemp(name) / "repo")
