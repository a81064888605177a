"""Starts the worker: reads settings, loads the stylizer, runs the queue loop.

S2A_STYLE chooses the stylizer: `gan` needs installed weights and refuses to start without
them (the setting in AWS); `preview` is the cartoon filter; `auto` (the default on one
machine) uses the GAN when weights are installed and otherwise announces the preview style.
"""

from __future__ import annotations

import os

from container.model.stylizer import PREVIEW_REASON_NO_WEIGHTS, Stylizer
from container.worker.loop import Worker, WorkerConfig
from functions.core import keys
from functions.core.observability import worker_logger as logger
from functions.core.settings import Settings, SettingsError

STYLES = ("auto", "gan", "preview")
# Reasons for the preview style, shown in the worker log and on the command line.
PREVIEW_WITHOUT_WEIGHTS = PREVIEW_REASON_NO_WEIGHTS
PREVIEW_CHOSEN = "requested with style preview (S2A_STYLE or --style)"


class StylizerUnavailable(RuntimeError):
    """Raised when the configured stylizer cannot be loaded."""


def load_stylizer(style: str, *, device: str = "cpu", batch_size: int = 4, threads: int | None = None, precision: str = "auto") -> Stylizer:
    """Return the stylizer for S2A_STYLE; never a GAN with random or partial weights.

    Raises:
        ValueError: an unknown style name.
        StylizerUnavailable: `gan` was requested and no valid weights are installed.
    """
    if style not in STYLES:
        raise ValueError(f"S2A_STYLE={style!r} is not one of {', '.join(STYLES)}")
    if style == "preview":
        return _preview(PREVIEW_CHOSEN)

    from container.weights import WeightsNotInstalledError, load_gan_stylizer, resolve_weights_dir
    from container.weights.paths import has_installed_files

    directory = resolve_weights_dir()
    # Only an absent or empty weights folder means "not installed". A folder with a broken
    # or partial install is an error below, never a quiet switch to the preview style.
    if style == "auto" and not has_installed_files(directory):
        logger.warning("no GAN weights installed; using the preview style (see README to install weights)")
        return _preview(PREVIEW_WITHOUT_WEIGHTS)
    try:
        stylizer = load_gan_stylizer(device=device, batch_size=batch_size, threads=threads, precision=precision)  # type: ignore[arg-type]
    except WeightsNotInstalledError as error:
        hint = ""
        if style == "auto":
            hint = (
                f"; {directory} is not empty, so the preview style is not used either. Install weights, "
                "or empty the folder or set S2A_STYLE=preview to run the preview style"
            )
        raise StylizerUnavailable(f"could not load the GAN weights: {error}{hint}") from error
    except Exception as error:
        raise StylizerUnavailable(f"could not load the GAN weights: {error}") from error
    if stylizer.image_size != keys.FACE_SIZE:
        raise StylizerUnavailable(
            f"the installed GAN weights are for {stylizer.image_size}x{stylizer.image_size} faces, but the "
            f"validator aligns faces to {keys.FACE_SIZE}x{keys.FACE_SIZE}; install weights trained at {keys.FACE_SIZE} px"
        )
    return stylizer


def _preview(reason: str) -> Stylizer:
    from container.model.cartoon import CartoonStylizer

    return CartoonStylizer(reason=reason)


def main() -> int:
    try:
        settings = Settings.from_env()
        batch_size = int(os.environ.get("S2A_BATCH_SIZE", "4"))
        threads = os.environ.get("S2A_THREADS")
        stylizer = load_stylizer(
            os.environ.get("S2A_STYLE", "auto"),
            device=os.environ.get("S2A_DEVICE", "cpu"),
            batch_size=batch_size,
            threads=int(threads) if threads else None,
            precision=os.environ.get("S2A_PRECISION", "auto"),
        )
    except (SettingsError, ValueError, StylizerUnavailable) as error:
        logger.error("worker cannot start", extra={"error": str(error)})
        return 1
    config = WorkerConfig(
        batch_size=batch_size,
        wait_seconds=int(os.environ.get("S2A_WAIT_SECONDS", "20")),
        visibility_timeout=int(os.environ.get("S2A_VISIBILITY_TIMEOUT", "300")),
        heartbeat_seconds=float(os.environ.get("S2A_HEARTBEAT_SECONDS", "60")),
        retry_delay_seconds=int(os.environ.get("S2A_RETRY_DELAY_SECONDS", "30")),
    )
    worker = Worker(settings, stylizer, config)
    worker.install_signal_handlers()
    worker.run()
    return 0
