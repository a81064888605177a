"""Inspecting, verifying and loading the installed weights."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from torch import nn

from container.model.config import MODES
from container.model.inference import GanStylizer, Precision
from container.model.networks import GENERATOR_A2B, NETWORK_NAMES
from container.weights.errors import (
    ChecksumMismatchError,
    ManifestError,
    ModeMismatchError,
    WeightsError,
    WeightsFileError,
    WeightsNotInstalledError,
)
from container.weights.files import sha256_file
from container.weights.loader import check_weights_file, load_network
from container.weights.manifest import Manifest, read_manifest, require_generator
from container.weights.paths import MANIFEST_NAME, resolve_weights_dir

logger = logging.getLogger(__name__)


def require_manifest(weights_dir: Path) -> Manifest:
    """Read manifest.json from `weights_dir`.

    Raises:
        WeightsNotInstalledError: there is no manifest.json.
        ManifestError: it is invalid.
    """
    try:
        return read_manifest(weights_dir)
    except FileNotFoundError as error:
        raise WeightsNotInstalledError(
            f"no weights installed in {weights_dir} ({MANIFEST_NAME} not found); "
            "run `selfie2anime model install PATH|URL` or set S2A_WEIGHTS_DIR to the directory that has them"
        ) from error
    except OSError as error:
        raise ManifestError(f"reading {weights_dir / MANIFEST_NAME} failed: {error}") from error


def check_file(weights_dir: Path, manifest: Manifest, *, hash_file: bool) -> Path:
    """Check that the weights file exists, has the recorded size and, if `hash_file`, the recorded SHA-256.

    Raises:
        WeightsFileError: the file is missing or its size differs (truncated or replaced).
        ChecksumMismatchError: its SHA-256 differs from the manifest's.
    """
    path = weights_dir / manifest.file
    try:
        size = path.stat().st_size
    except FileNotFoundError as error:
        raise WeightsFileError(
            f"weights file {path} named in {MANIFEST_NAME} is missing; install the weights again"
        ) from error
    if size != manifest.size_bytes:
        state = "truncated" if size < manifest.size_bytes else "larger than recorded"
        raise WeightsFileError(
            f"weights file {path} is {size} bytes but {MANIFEST_NAME} records {manifest.size_bytes} ({state}); "
            "install the weights again"
        )
    if hash_file:
        digest = sha256_file(path)
        if digest != manifest.sha256:
            raise ChecksumMismatchError(
                f"weights file {path} has SHA-256 {digest} but {MANIFEST_NAME} records {manifest.sha256}; "
                "the file is damaged or was replaced. Install the weights again"
            )
    return path


def weights_info(weights_dir: Path | None = None) -> dict[str, Any]:
    """Describe the installed weights from the manifest, without hashing the file.

    Returns:
        The manifest fields plus `weights_dir`, `path` and `file_present`.

    Raises:
        WeightsNotInstalledError: nothing is installed.
        ManifestError: manifest.json is invalid.
    """
    directory = resolve_weights_dir(weights_dir)
    manifest = require_manifest(directory)
    path = directory / manifest.file
    info: dict[str, Any] = {"weights_dir": str(directory), "path": str(path), "file_present": path.is_file()}
    info.update({key: value for key, value in vars(manifest).items() if key != "extra"})
    info["networks"] = list(manifest.networks)
    return info


def verify_weights(weights_dir: Path | None = None) -> Manifest:
    """Re-hash the installed file and load every network it lists strictly.

    Raises:
        WeightsNotInstalledError: nothing is installed.
        ManifestError: manifest.json is invalid, or the weights lack the genA2B generator.
        WeightsFileError: the file is missing, truncated or unreadable.
        ChecksumMismatchError: its SHA-256 differs from the manifest's.
        TensorMismatchError: a tensor is missing, unexpected or has the wrong shape
            (ModeMismatchError when the file contains the other mode).
    """
    directory = resolve_weights_dir(weights_dir)
    manifest = require_manifest(directory)
    require_generator(manifest)
    path = check_file(directory, manifest, hash_file=True)
    check_weights_file(path, manifest.to_config(), manifest.networks)
    logger.info("verified %s in %s", ", ".join(manifest.networks), path)
    return manifest


def weights_installed(weights_dir: Path | None = None) -> bool:
    """True if a manifest and a weights file of the recorded size are present; does not hash."""
    directory = resolve_weights_dir(weights_dir)
    try:
        manifest = require_manifest(directory)
        check_file(directory, manifest, hash_file=False)
    except WeightsError:
        return False
    return True


def load_installed_network(network: str, weights_dir: Path | None = None, *, device: str = "cpu") -> nn.Module:
    """Load one installed network (for example "disGB" or "genB2A" to score candidates), strictly.

    Its forward returns `GeneratorOutput` or `DiscriminatorOutput`.

    Raises:
        ValueError: `network` is not one of the six U-GAT-IT network names.
        WeightsNotInstalledError: nothing is installed.
        ManifestError: manifest.json is invalid, or the installed checkpoint lacks `network`.
        WeightsFileError: the file is missing, truncated or unreadable.
        ChecksumMismatchError: its SHA-256 differs from the manifest's.
        TensorMismatchError: a tensor is missing, unexpected or has the wrong shape.
    """
    if network not in NETWORK_NAMES:
        raise ValueError(f"unknown network {network!r}; expected one of {', '.join(NETWORK_NAMES)}")
    directory = resolve_weights_dir(weights_dir)
    manifest = require_manifest(directory)
    if network not in manifest.networks:
        raise ManifestError(
            f"the weights in {directory} have no {network} (networks: {', '.join(manifest.networks)}); "
            "install a checkpoint that contains it"
        )
    path = check_file(directory, manifest, hash_file=True)
    return load_network(path, manifest.to_config(), network, device=device)


def load_gan_stylizer(
    weights_dir: Path | None = None,
    *,
    device: str = "cpu",
    batch_size: int = 4,
    threads: int | None = None,
    precision: Precision = "auto",
    mode: str | None = None,
    keep_cpu_memory: bool = True,
) -> GanStylizer:
    """Load the installed A->B generator and wrap it for the worker.

    The file is re-hashed and loaded strictly; nothing runs on random or
    partially loaded weights.

    Args:
        weights_dir: the weights directory; None uses $S2A_WEIGHTS_DIR or the default.
        device: torch device, e.g. "cpu" or "cuda".
        batch_size: faces per forward pass.
        threads: CPU threads for torch; None keeps torch's default.
        precision: "auto", "fp32", "bf16" or "fp16" (see `resolve_precision`).
        mode: "light" or "full" to require that mode; None accepts what is installed.
        keep_cpu_memory: on CPU, keep freed memory for reuse (see `GanStylizer`).

    Raises:
        WeightsNotInstalledError: nothing is installed.
        ManifestError: manifest.json is invalid.
        WeightsFileError: the file is missing, truncated or unreadable.
        ChecksumMismatchError: its SHA-256 differs from the manifest's.
        ModeMismatchError: the weights are in the other mode than `mode`, or
            the tensors contradict the manifest's mode.
        TensorMismatchError: a tensor is missing, unexpected or has the wrong shape.
        ValueError: `mode` is not "light" or "full", or an invalid batch_size, threads or precision.
    """
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    directory = resolve_weights_dir(weights_dir)
    manifest = require_manifest(directory)
    if mode is not None and manifest.mode != mode:
        raise ModeMismatchError(
            f"the weights in {directory} are {manifest.mode} mode but {mode} mode was requested; "
            f"install {mode}-mode weights, or load them without requesting a mode"
        )
    if GENERATOR_A2B not in manifest.networks:
        raise ManifestError(
            f"the weights in {directory} have no {GENERATOR_A2B} generator (networks: "
            f"{', '.join(manifest.networks)}); install a checkpoint that contains it"
        )
    path = check_file(directory, manifest, hash_file=True)
    config = manifest.to_config()
    generator = load_network(path, config, GENERATOR_A2B, device=device)
    logger.info(
        "loaded %s from %s (%s, %s mode, sha256 %s, source %s)",
        GENERATOR_A2B, path, manifest.format, manifest.mode, manifest.sha256, manifest.source or "unknown",
    )  # fmt: skip
    return GanStylizer(
        generator,
        image_size=config.image_size,
        device=device,
        batch_size=batch_size,
        threads=threads,
        precision=precision,
        description=f"U-GAT-IT selfie2anime, {manifest.mode} mode",
        keep_cpu_memory=keep_cpu_memory,
    )
