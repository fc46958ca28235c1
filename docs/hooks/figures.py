"""MkDocs hook: put the figures the evaluate stage writes into the site, as images/figures/*.png.

The PNGs are committed under `paths.figures` of params.yaml (data/results/figures), outside
docs/, and MkDocs serves only files under docs/; this adds them to the build without a copy
or a symlink, so `mkdocs build --strict` works from a fresh clone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from mkdocs.structure.files import File, Files

SITE_FOLDER = "images/figures"


def _figures_dir(config: Any) -> Path:
    root = Path(config.config_file_path).parent
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    return root / params["paths"]["figures"]


def on_files(files: Files, config: Any) -> Files:
    for png in sorted(_figures_dir(config).glob("*.png")):
        files.append(File.generated(config, f"{SITE_FOLDER}/{png.name}", abs_src_path=str(png)))
    return files
