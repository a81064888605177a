"""Location of the weights directory."""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_DIR_ENV = "S2A_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = Path("~/.local/share/selfie2anime/weights")
MANIFEST_NAME = "manifest.json"


def resolve_weights_dir(weights_dir: Path | str | None = None) -> Path:
    """Return `weights_dir`, else $S2A_WEIGHTS_DIR, else ~/.local/share/selfie2anime/weights."""
    if weights_dir is not None:
        return Path(weights_dir).expanduser()
    from_env = os.environ.get(WEIGHTS_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return DEFAULT_WEIGHTS_DIR.expanduser()
