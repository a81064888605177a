"""Location of the weights directory."""

from __future__ import annotations

import os
from pathlib import Path

WEIGHTS_DIR_ENV = "S2A_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = Path("~/.local/share/selfie2anime/weights")
MANIFEST_NAME = "manifest.json"
# Downloads and files being verified carry this prefix until they are moved into place.
TEMPORARY_PREFIX = ".weights-"


def resolve_weights_dir(weights_dir: Path | str | None = None) -> Path:
    """Return `weights_dir`, else $S2A_WEIGHTS_DIR, else ~/.local/share/selfie2anime/weights."""
    if weights_dir is not None:
        return Path(weights_dir).expanduser()
    from_env = os.environ.get(WEIGHTS_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return DEFAULT_WEIGHTS_DIR.expanduser()


def has_installed_files(directory: Path) -> bool:
    """Return whether `directory` exists and contains anything besides unfinished install files.

    A download cut off by a kill leaves a temporary file behind. It is not an install,
    so it does not turn an empty weights folder into a broken one.
    """
    if not directory.is_dir():
        return False
    return any(not entry.name.startswith(TEMPORARY_PREFIX) for entry in directory.iterdir())
