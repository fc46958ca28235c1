"""DVC does not follow imports: every local module a stage imports must be among its deps."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from support.repo import PROJECT

SRC = PROJECT / "src"


def _module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(SRC).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*parts, module]) if module else ".".join(parts)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return {n for n in names if n == "mlpipe" or n.startswith("mlpipe.")}


def _has_code(path: Path) -> bool:
    """Package __init__ files holding only a docstring carry no behaviour."""
    body = ast.parse(path.read_text()).body
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body)


def local_closure(entry: Path) -> set[Path]:
    """Every local source file reachable from ``entry`` through imports (parents included)."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__
                found = _module_file(".".join(parts[:i]))
                if found is not None and found not in seen:
                    todo.append(found)
    return {p for p in seen if p.name != "__init__.py" or _has_code(p)}


def _stages() -> dict:
    return yaml.safe_load((PROJECT / "dvc.yaml").read_text())["stages"]


def _covered(path: Path, deps: list[str]) -> bool:
    rel = path.relative_to(PROJECT).as_posix()
    return any(rel == d or rel.startswith(d.rstrip("/") + "/") for d in deps)


@pytest.mark.parametrize("stage", sorted(_stages()))
def test_stage_deps_cover_every_local_import(stage: str) -> None:
    spec = _stages()[stage]
    command = spec["cmd"].split()[1]
    entry = SRC / "mlpipe" / "stages" / f"{command}.py"
    assert entry.is_file(), f"stage {stage} runs `mlpipe {command}` but {entry} is missing"
    # The CLI module itself is what dvc runs.
    needed = local_closure(entry) | local_closure(SRC / "mlpipe" / "cli.py")
    missing = sorted(
        p.relative_to(PROJECT).as_posix() for p in needed if not _covered(p, spec["deps"])
    )
    assert not missing, f"stage '{stage}' imports modules missing from its deps: {missing}"


def test_the_closure_walk_sees_transitive_imports() -> None:
    """Guard the checker itself: evaluate reaches model/train.py through model/predict.py."""
    closure = local_closure(SRC / "mlpipe" / "stages" / "evaluate.py")
    assert SRC / "mlpipe" / "model" / "train.py" in closure
    assert SRC / "mlpipe" / "model" / "estimators.py" in closure


def test_dvcignore_covers_bytecode() -> None:
    assert "__pycache__" in (PROJECT / ".dvcignore").read_text()
