"""Exceptions raised while installing, checking and loading generator weights.

Every message states what is wrong, on which file or tensor, and what to do
next, so the CLI and the worker can show it as is.
"""

from __future__ import annotations


class WeightsError(Exception):
    """Base class of all weights errors."""


class WeightsNotInstalledError(WeightsError):
    """The weights directory has no manifest.json or no weights file."""


class ManifestError(WeightsError):
    """manifest.json is unreadable, incomplete or describes an unsupported model."""


class WeightsFileError(WeightsError):
    """The weights file is missing, truncated or not a readable safetensors/checkpoint file."""


class ChecksumMismatchError(WeightsError):
    """A file's SHA-256 differs from the expected one."""


class TensorMismatchError(WeightsError):
    """Tensors are missing, unexpected or have the wrong shape for the model the manifest describes."""


class ModeMismatchError(TensorMismatchError):
    """The file contains light-mode weights where full mode is expected, or the reverse."""


class UnsupportedSourceError(WeightsError):
    """The install source is neither a supported file nor an http(s) URL."""


class DownloadError(WeightsError):
    """Downloading weights failed or returned fewer bytes than announced."""


class ConversionError(WeightsError):
    """A checkpoint could not be converted to the safetensors layout."""


class InvalidSha256Error(WeightsError):
    """A --sha256 value is not 64 hexadecimal digits."""
