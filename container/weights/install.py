"""Installing weights: fetch, check the hash, convert to safetensors, verify, then move into place."""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import save_file

from container.model.networks import NETWORK_NAMES
from container.weights.download import download, has_credentials, is_url, redact_url
from container.weights.errors import (
    ChecksumMismatchError,
    ConversionError,
    InvalidSha256Error,
    ManifestError,
    UnsupportedSourceError,
    WeightsError,
    WeightsFileError,
)
from container.weights.files import fsync_directory, normalize_sha256, sha256_file
from container.weights.loader import check_weights_file, read_header
from container.weights.manifest import Manifest, ModelDescription, read_manifest, require_generator, write_manifest
from container.weights.paths import MANIFEST_NAME, TEMPORARY_PREFIX, resolve_weights_dir
from container.weights.pytorch_checkpoint import read_pytorch_checkpoint

logger = logging.getLogger(__name__)

_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_PROTOCOL_2_PLUS = b"\x80"
# Names of this module's temporary files, after their directory, as they appear in error messages.
_TEMPORARY_FILE_PATTERN = "/" + re.escape(TEMPORARY_PREFIX) + r"[A-Za-z0-9_]+\.(?:safetensors\.tmp|download)"
# The safetensors header length is a little-endian u64; beyond this, the file is something else.
_MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024


def install_weights(source: str, *, sha256: str | None = None, weights_dir: Path | None = None) -> Manifest:
    """Install generator weights into the weights directory.

    The source is a local path or an http(s) URL of either a safetensors file
    written by selfie2anime (with its manifest.json beside it, or its
    description in the header) or a UGATIT-pytorch `.pt` checkpoint. A local
    directory is read as a TensorFlow U-GAT-IT checkpoint, which needs the
    `convert` extra. Every network is loaded strictly before the new file and
    manifest replace the old ones, so a failed install leaves the previous
    weights working.

    Args:
        source: local path or http(s) URL.
        sha256: expected hex SHA-256 of the source file, checked before anything else.
        weights_dir: target directory; None uses $S2A_WEIGHTS_DIR or the default.

    Returns:
        The manifest of the installed weights.

    Raises:
        InvalidSha256Error: `sha256` is not 64 hexadecimal digits.
        UnsupportedSourceError: the source is not a supported file, directory or URL.
        DownloadError: the download failed or was cut short.
        ChecksumMismatchError: the source's SHA-256 differs from `sha256`.
        WeightsFileError: the source is missing, truncated or unreadable.
        ConversionError: a checkpoint could not be converted.
        ManifestError: a manifest or header description is invalid.
        TensorMismatchError: tensors do not match the model they claim to be.
    """
    expected = _parse_sha256(sha256)
    directory = resolve_weights_dir(weights_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:
        # A regular file or a dangling symbolic link is in the way.
        raise WeightsFileError(
            f"the weights directory {directory} is not a directory; give a folder with --weights-dir"
        ) from error
    _remove_stale_temporary_files(directory)

    if is_url(source):
        display_url = redact_url(source)
        if has_credentials(source):
            raise UnsupportedSourceError(
                f"{display_url} carries a user name or password, which downloads do not support; "
                "download the file yourself and install the local copy"
            )
        path, digest = download(source, directory, expected_sha256=expected)
        try:
            with _named_as(display_url, directory):
                return _install_file(path, directory, source=display_url, sha256=digest, owned=True)
        finally:
            path.unlink(missing_ok=True)

    if "://" in source:
        raise UnsupportedSourceError(f"unsupported URL {source!r}: only http:// and https:// can be downloaded")
    path = Path(source).expanduser()
    if not path.exists():
        raise WeightsFileError(f"{path} not found; give the path of a weights file, checkpoint directory or URL")
    if not path.is_dir() and not path.is_file():
        raise UnsupportedSourceError(
            f"{path} is not a regular file or directory (a device, pipe or socket); give a weights file, "
            "checkpoint directory or URL"
        )
    if path.is_dir():
        if expected is not None:
            raise UnsupportedSourceError(
                f"--sha256 checks a single file, but {path} is a directory; check the checkpoint files' "
                "hashes yourself or install without --sha256"
            )
        return _install_tf_checkpoint(path, directory)

    digest = sha256_file(path)
    if expected is not None and digest != expected:
        raise ChecksumMismatchError(
            f"{path} has SHA-256 {digest}, expected {expected}; the file is damaged or not the one you meant"
        )
    with _named_as(str(path), directory):
        return _install_file(path, directory, source=str(path.resolve()), sha256=digest, owned=False)


# A temporary file this much older than its last write belongs to an install that was killed.
STALE_TEMPORARY_SECONDS = 15 * 60


def _remove_stale_temporary_files(directory: Path) -> None:
    """Delete temporary files that killed installs left behind, sparing any that are still being written."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for entry in directory.glob(f"{TEMPORARY_PREFIX}*"):
        try:
            if entry.is_file() and entry.stat().st_mtime < cutoff:
                entry.unlink()
                logger.info("removed %s, left behind by an interrupted install", entry)
        except OSError as error:
            logger.warning("could not remove %s: %s", entry, error)


@contextmanager
def _named_as(source: str, directory: Path) -> Iterator[None]:
    """Show `source` instead of this module's temporary files in `directory` in the weights errors raised inside."""
    spellings = sorted({str(directory), os.path.abspath(directory)}, key=len, reverse=True)
    temporary_name = re.compile("(?:" + "|".join(map(re.escape, spellings)) + ")" + _TEMPORARY_FILE_PATTERN)
    try:
        yield
    except WeightsError as error:
        message = temporary_name.sub(lambda _: source, str(error))
        if message == str(error):
            raise
        raise type(error)(message) from error


def _parse_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_sha256(value)
    except ValueError as error:
        raise InvalidSha256Error(f"{error}; copy the full SHA-256 published with the weights") from error


def detect_kind(path: Path) -> str:
    """Return "safetensors" or "torch" from the file's first bytes.

    Raises:
        UnsupportedSourceError: neither format.
        WeightsFileError: the file cannot be read.
    """
    try:
        with path.open("rb") as stream:
            head = stream.read(9)
    except OSError as error:
        raise WeightsFileError(f"reading {path} failed: {error}") from error
    if head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_PROTOCOL_2_PLUS):
        return "torch"
    if len(head) == 9 and 0 < int.from_bytes(head[:8], "little") < _MAX_SAFETENSORS_HEADER and head[8:9] == b"{":
        return "safetensors"
    raise UnsupportedSourceError(
        f"{path} is neither a safetensors file nor a torch checkpoint; install a selfie2anime .safetensors "
        "file, a UGATIT-pytorch .pt checkpoint or a TensorFlow checkpoint directory"
    )


def _install_file(path: Path, directory: Path, *, source: str, sha256: str, owned: bool) -> Manifest:
    """Install a local safetensors or torch file; `owned` files (downloads) may be moved instead of copied."""
    kind = detect_kind(path)
    if kind == "torch":
        config, tensors = read_pytorch_checkpoint(path)
        networks = tuple(name for name in NETWORK_NAMES if any(key.startswith(f"{name}.") for key in tensors))
        return write_weights(directory, ModelDescription.from_config(config, networks), tensors, source=source)

    description = _describe_safetensors(path, sha256=sha256, use_manifest=not owned)
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX, suffix=".safetensors.tmp")
    os.close(descriptor)
    temporary = Path(name)
    try:
        if owned:
            os.replace(path, temporary)
        else:
            shutil.copyfile(path, temporary)
        return _commit(directory, temporary, description, source=source, sha256=sha256)
    finally:
        temporary.unlink(missing_ok=True)


def _describe_safetensors(path: Path, *, sha256: str, use_manifest: bool) -> ModelDescription:
    """Take the description from a manifest.json beside `path` that names it, else from the header."""
    beside = path.parent / MANIFEST_NAME
    if use_manifest and beside.is_file():
        try:
            manifest = read_manifest(path.parent)
        except ManifestError as error:
            raise ManifestError(f"the manifest beside {path} is invalid: {error}") from error
        if manifest.file == path.name:
            if manifest.sha256 != sha256:
                raise ChecksumMismatchError(
                    f"{path} has SHA-256 {sha256} but {beside} records {manifest.sha256}; the file is "
                    "damaged or was replaced"
                )
            return manifest.description
    _, metadata = read_header(path)
    return ModelDescription.from_header_metadata(metadata, file=path)


def _install_tf_checkpoint(path: Path, directory: Path) -> Manifest:
    if not any(path.rglob("*.index")):
        raise UnsupportedSourceError(
            f"{path} is a directory without a TensorFlow checkpoint (no '*.index' file in it or below); "
            "give the checkpoint directory itself, a .safetensors file, a .pt checkpoint or a URL"
        )
    try:
        import tensorflow  # noqa: F401 (only checks that the convert extra is installed)
    except ImportError as error:
        raise ConversionError(
            f"{path} looks like a TensorFlow checkpoint directory, and converting it needs TensorFlow "
            f"({error}); install the convert extra (in a checkout: `.venv/bin/pip install -e '.[convert]'`) "
            "and install again"
        ) from error
    from container.model.convert_tf import read_tf_checkpoint

    config, tensors = read_tf_checkpoint(path)
    networks = tuple(name for name in NETWORK_NAMES if any(key.startswith(f"{name}.") for key in tensors))
    return write_weights(directory, ModelDescription.from_config(config, networks), tensors, source=str(path.resolve()))


def write_weights(
    directory: Path, description: ModelDescription, tensors: dict[str, torch.Tensor], *, source: str
) -> Manifest:
    """Save `tensors` as a safetensors file in `directory`, verify it and point manifest.json at it.

    Raises:
        ManifestError: the description is invalid.
        TensorMismatchError: the tensors do not match the described model.
    """
    directory.mkdir(parents=True, exist_ok=True)
    description.to_config()
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX, suffix=".safetensors.tmp")
    os.close(descriptor)
    temporary = Path(name)
    try:
        try:
            save_file(tensors, str(temporary), metadata=description.header_metadata())
        except SafetensorError as error:
            raise WeightsFileError(f"writing the weights into {directory} failed: {error}") from error
        return _commit(directory, temporary, description, source=source, sha256=sha256_file(temporary))
    finally:
        temporary.unlink(missing_ok=True)


def _commit(
    directory: Path, temporary: Path, description: ModelDescription, *, source: str, sha256: str
) -> Manifest:
    """Verify `temporary` strictly, rename it into place and replace manifest.json."""
    require_generator(description)
    check_weights_file(temporary, description.to_config(), description.networks)

    with temporary.open("rb+") as stream:
        os.fsync(stream.fileno())
    file_name = f"ugatit-{description.mode}-{sha256[:16]}.safetensors"
    target = directory / file_name
    size = temporary.stat().st_size
    os.replace(temporary, target)
    fsync_directory(directory)

    previous = _previous_file(directory)
    manifest = Manifest(
        **vars(description),
        file=file_name,
        sha256=sha256,
        size_bytes=size,
        source=source,
        installed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    try:
        write_manifest(directory, manifest)
    except BaseException:
        # The old manifest still names the old file, so the new one would only take up space.
        if previous != target:
            target.unlink(missing_ok=True)
        raise
    if previous is not None and previous != target:
        previous.unlink(missing_ok=True)
    logger.info("installed %s (%s mode, %s) from %s", target, description.mode, description.format, source)
    return manifest


def _previous_file(directory: Path) -> Path | None:
    """Return the weights file the current manifest names, if there is a readable manifest."""
    try:
        return directory / read_manifest(directory).file
    except (OSError, ManifestError):
        return None
