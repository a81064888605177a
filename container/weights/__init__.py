"""Installing, verifying and strictly loading the U-GAT-IT generator weights."""

from container.weights.errors import (
    ChecksumMismatchError,
    ConversionError,
    DownloadError,
    InvalidSha256Error,
    ManifestError,
    ModeMismatchError,
    TensorMismatchError,
    UnsupportedSourceError,
    WeightsError,
    WeightsFileError,
    WeightsNotInstalledError,
)
from container.weights.install import install_weights
from container.weights.installed import (
    load_gan_stylizer,
    load_installed_network,
    verify_weights,
    weights_info,
    weights_installed,
)
from container.weights.manifest import Manifest
from container.weights.paths import WEIGHTS_DIR_ENV, resolve_weights_dir

__all__ = [
    "WEIGHTS_DIR_ENV",
    "ChecksumMismatchError",
    "ConversionError",
    "DownloadError",
    "InvalidSha256Error",
    "Manifest",
    "ManifestError",
    "ModeMismatchError",
    "TensorMismatchError",
    "UnsupportedSourceError",
    "WeightsError",
    "WeightsFileError",
    "WeightsNotInstalledError",
    "install_weights",
    "load_gan_stylizer",
    "load_installed_network",
    "resolve_weights_dir",
    "verify_weights",
    "weights_info",
    "weights_installed",
]
