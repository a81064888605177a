"""Convert a TensorFlow U-GAT-IT checkpoint (taki0112/UGATIT) to a safetensors file and manifest.

TensorFlow is imported only here and only for reading the checkpoint; install
it with the `convert` extra (`pip install 'selfie2anime[convert]'`).

Usage:
    python -m container.model.convert_tf CHECKPOINT_DIR OUTPUT_DIR [--no-smoothing] [--image-size N]
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import sys
from pathlib import Path

import numpy as np
import torch

from container.model.config import DOWNSAMPLING_FACTOR, CamVariant, Mode, UGATITConfig
from container.model.networks import NETWORK_NAMES
from container.model.tf_names import OPTIMIZER_SLOT_SUFFIXES, TF_SCOPES, network_mapping
from container.weights.errors import ConversionError, WeightsError, WeightsFileError
from container.weights.manifest import Manifest, ModelDescription

logger = logging.getLogger(__name__)

# Light-mode checkpoints do not record the image size; the TF original trains at 256px by default.
DEFAULT_IMAGE_SIZE = 256
_A2B = TF_SCOPES["genA2B"]


def find_checkpoint_prefix(path: Path) -> str:
    """Return the checkpoint prefix (path without .index) for a directory or prefix.

    The directory may contain the checkpoint itself or, as in the official
    release, one sub-directory per model. The newest checkpoint listed in a
    `checkpoint` state file is used, else the only `.index` file found.

    Raises:
        WeightsFileError: no checkpoint, or several candidates.
    """
    import tensorflow as tf

    if path.with_name(path.name + ".index").is_file():
        return str(path)
    if not path.is_dir():
        raise WeightsFileError(f"{path} is neither a TensorFlow checkpoint directory nor a checkpoint prefix")
    latest = tf.train.latest_checkpoint(str(path))
    if latest:
        return str(latest)
    state_dirs = sorted({item.parent for item in path.rglob("checkpoint") if item.is_file()})
    if len(state_dirs) == 1:
        latest = tf.train.latest_checkpoint(str(state_dirs[0]))
        if latest:
            return str(latest)
    indexes = sorted(path.rglob("*.index"))
    if len(indexes) == 1:
        return str(indexes[0].with_suffix(""))
    if not indexes:
        raise WeightsFileError(f"no TensorFlow checkpoint (*.index) found under {path}")
    listing = ", ".join(str(item) for item in indexes[:5])
    raise WeightsFileError(f"several checkpoints under {path} ({listing}); pass the directory of the one to convert")


def _infer_smoothing(prefix: str) -> bool:
    """Read AdaLIN smoothing from the TF model directory name (…_sn_smoothing); default True."""
    name = Path(prefix).parent.name
    if name.startswith("UGATIT"):
        return name.endswith("_smoothing")
    return True


def infer_config(
    shapes: dict[str, list[int]], *, smoothing: bool, image_size: int | None
) -> tuple[UGATITConfig, tuple[str, ...]]:
    """Derive the model configuration and the networks present from TF variable shapes.

    Raises:
        ConversionError: the checkpoint has no A->B generator or an unexpected shape.
    """
    try:
        channels = shapes[f"{_A2B}/conv/conv2d/kernel"][3]
        mlp_inputs, mlp_width = shapes[f"{_A2B}/MLP/linear_0/dense/kernel"]
    except KeyError as error:
        raise ConversionError(
            f"the checkpoint has no {error.args[0]}; it is not a U-GAT-IT checkpoint from taki0112/UGATIT"
        ) from error
    n_res = sum(1 for name in shapes if re.fullmatch(rf"{_A2B}/resblock_\d+/res1/conv_0/conv2d/kernel", name))
    mode: Mode
    if mlp_inputs == mlp_width:
        mode = "light"
        size = image_size or DEFAULT_IMAGE_SIZE
    else:
        mode = "full"
        size = math.isqrt(mlp_inputs // mlp_width) * DOWNSAMPLING_FACTOR
        if image_size is not None and image_size != size:
            raise ConversionError(f"the full-mode MLP implies {size}px images, not the requested {image_size}px")
    cam_variant: CamVariant = "split" if f"{_A2B}/CAM_logit/dense/kernel" in shapes else "shared"

    def discriminator_layers(scope: str, default: int) -> int:
        count = sum(1 for name in shapes if re.fullmatch(rf"{scope}/conv_\d+/kernel", name))
        return count + 2 if count else default

    try:
        config = UGATITConfig(
            mode=mode,
            layout="tf",
            channels=channels,
            n_res=max(n_res, 1),
            image_size=size,
            smoothing=smoothing,
            cam_variant=cam_variant,
            global_dis_layers=discriminator_layers(TF_SCOPES["disGA"], 7),
            local_dis_layers=discriminator_layers(TF_SCOPES["disLA"], 5),
        )
    except ValueError as error:
        raise ConversionError(f"unsupported checkpoint shape: {error}") from error
    networks = tuple(name for name in NETWORK_NAMES if any(key.startswith(TF_SCOPES[name] + "/") for key in shapes))
    return config, networks


def read_tf_checkpoint(
    path: Path, *, smoothing: bool | None = None, image_size: int | None = None
) -> tuple[UGATITConfig, dict[str, torch.Tensor]]:
    """Read a TF U-GAT-IT checkpoint and return its configuration and tensors in the "tf" layout.

    Tensor names are "<network>.<module key>". Optimizer slots and counters are
    skipped. Any other variable under a generator or discriminator scope that
    has no place in the module raises an error, so nothing is silently dropped.

    Args:
        path: checkpoint directory or prefix.
        smoothing: AdaLIN smoothing; None reads it from the model directory name.
        image_size: image size for light mode, which the checkpoint does not record.

    Raises:
        WeightsFileError: no readable checkpoint.
        ConversionError: variables are missing, unexpected or have the wrong shape.
    """
    import tensorflow as tf

    prefix = find_checkpoint_prefix(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as error:
        raise WeightsFileError(f"reading TensorFlow checkpoint {prefix} failed: {error}") from error
    shapes: dict[str, list[int]] = reader.get_variable_to_shape_map()
    if smoothing is None:
        smoothing = _infer_smoothing(prefix)
    config, networks = infer_config(shapes, smoothing=smoothing, image_size=image_size)
    logger.info("converting %s: %s mode, %d channels, networks %s", prefix, config.mode, config.channels, networks)

    tensors: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    missing: list[str] = []
    for network in networks:
        for key, (name, transform) in network_mapping(config, network).items():
            if name not in shapes:
                missing.append(name)
                continue
            used.add(name)
            array = np.asarray(reader.get_tensor(name), dtype=np.float32)
            tensors[f"{network}.{key}"] = torch.from_numpy(transform(array))
    if missing:
        raise ConversionError(f"the checkpoint lacks {len(missing)} variables: {', '.join(missing[:5])}")

    scopes = tuple(TF_SCOPES[network] + "/" for network in networks)
    leftover = sorted(
        name for name in shapes
        if name.startswith(scopes) and name not in used and not name.endswith(OPTIMIZER_SLOT_SUFFIXES)
    )  # fmt: skip
    if leftover:
        raise ConversionError(
            f"the checkpoint has {len(leftover)} model variables this converter does not know, such as "
            f"{', '.join(leftover[:5])}; it is not the U-GAT-IT architecture this project supports"
        )
    return config, tensors


def convert_tf_checkpoint(
    path: Path, output_dir: Path, *, smoothing: bool | None = None, image_size: int | None = None
) -> Manifest:
    """Convert a TF checkpoint into a verified safetensors file and manifest.json in `output_dir`.

    `output_dir` can then be installed with `selfie2anime model install OUTPUT_DIR/<file>`,
    or be the weights directory itself.

    NOTE: in full mode at 256px all converted tensors (about 2.6 GB) stay in memory
    until they are written, plus about 1 GB while the largest MLP kernel is
    transposed. This is an estimate, not measured on the official checkpoint.

    Raises:
        WeightsFileError: no readable checkpoint.
        ConversionError: variables are missing, unexpected or have the wrong shape.
        TensorMismatchError: the converted tensors fail the strict load.
    """
    from container.weights.install import write_weights

    config, tensors = read_tf_checkpoint(path, smoothing=smoothing, image_size=image_size)
    networks = tuple(name for name in NETWORK_NAMES if any(key.startswith(f"{name}.") for key in tensors))
    description = ModelDescription.from_config(config, networks)
    return write_weights(output_dir, description, tensors, source=str(path.resolve()))


def main(argv: list[str] | None = None) -> int:
    """Run the converter from the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m container.model.convert_tf",
        description="Convert a TensorFlow U-GAT-IT checkpoint to a safetensors file plus manifest.json.",
    )
    parser.add_argument("checkpoint", type=Path, help="TF checkpoint directory or prefix (path without .index)")
    parser.add_argument("output_dir", type=Path, help="directory for the .safetensors file and manifest.json")
    parser.add_argument(
        "--no-smoothing",
        dest="smoothing",
        action="store_false",
        default=None,
        help="the model was trained with --smoothing False (default: read from the model directory name)",
    )
    parser.add_argument("--image-size", type=int, help="image size in pixels for light mode (default 256)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        manifest = convert_tf_checkpoint(
            args.checkpoint, args.output_dir, smoothing=args.smoothing, image_size=args.image_size
        )
    except WeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {args.output_dir / manifest.file} ({manifest.mode} mode, sha256 {manifest.sha256})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
