"""Reading UGATIT-pytorch checkpoints (`torch.save` of a dict of state dicts)."""

from __future__ import annotations

import logging
import math
import pickle
import warnings
import zipfile
from pathlib import Path

import torch

from container.model.config import DOWNSAMPLING_FACTOR, Mode, UGATITConfig
from container.model.networks import GENERATOR_A2B, NETWORK_NAMES
from container.weights.errors import ConversionError, WeightsFileError

logger = logging.getLogger(__name__)

# UGATIT-pytorch trains at 256px by default; light mode weights do not record the size.
DEFAULT_IMAGE_SIZE = 256


def read_pytorch_checkpoint(path: Path) -> tuple[UGATITConfig, dict[str, torch.Tensor]]:
    """Load a UGATIT-pytorch checkpoint and return its configuration and flat tensors.

    Tensor names are "<network>.<state dict key>", for example
    "genA2B.DownBlock.1.weight". Entries other than the six networks (such as
    optimizer states) are skipped. Loading uses `weights_only=True`, so the
    file cannot run code.

    Raises:
        WeightsFileError: the file is not a readable torch checkpoint.
        ConversionError: it is not a UGATIT-pytorch checkpoint with a genA2B generator.
    """
    try:
        with warnings.catch_warnings():
            # torch warns about legacy pickles before failing on them; the error below covers it.
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        logger.info("torch.load(weights_only=True) rejected %s: %s", path, error)
        raise WeightsFileError(
            f"{path} contains objects other than tensors, which are not loaded for safety; install a "
            "UGATIT-pytorch checkpoint saved with torch.save, a .safetensors file or a TensorFlow checkpoint"
        ) from error
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError) as error:
        raise WeightsFileError(
            f"{path} is not a readable torch checkpoint ({error}); it may be truncated, or it contains "
            "objects other than tensors, which are not loaded for safety"
        ) from error
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get(GENERATOR_A2B), dict):
        keys = sorted(map(str, checkpoint)) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ConversionError(
            f"{path} is not a UGATIT-pytorch checkpoint: expected a dict with a {GENERATOR_A2B} state dict, "
            f"found {keys}"
        )

    skipped = sorted(str(key) for key in checkpoint if key not in NETWORK_NAMES)
    if skipped:
        logger.info("skipping checkpoint entries that are not networks: %s", ", ".join(skipped))

    tensors: dict[str, torch.Tensor] = {}
    for network in NETWORK_NAMES:
        state = checkpoint.get(network)
        if state is None:
            continue
        for key, value in state.items():
            if not isinstance(value, torch.Tensor):
                raise ConversionError(f"{path}: {network}.{key} is a {type(value).__name__}, expected a tensor")
            tensors[f"{network}.{key}"] = value.detach().contiguous()
    return infer_config(tensors, path=path), tensors


def infer_config(tensors: dict[str, torch.Tensor], *, path: Path) -> UGATITConfig:
    """Derive the model configuration from UGATIT-pytorch tensor shapes.

    Raises:
        ConversionError: a tensor the shapes are read from is missing.
    """
    try:
        channels = tensors["genA2B.DownBlock.1.weight"].shape[0]
        mlp_width, mlp_inputs = tensors["genA2B.FC.0.weight"].shape
    except KeyError as error:
        raise ConversionError(f"{path}: genA2B lacks {error.args[0]}; it is not a UGATIT-pytorch generator") from error
    n_res = sum(1 for name in tensors if name.startswith("genA2B.UpBlock1_") and name.endswith(".conv1.weight"))

    mode: Mode
    if mlp_inputs == mlp_width:
        mode, image_size = "light", DEFAULT_IMAGE_SIZE
    else:
        mode, image_size = "full", math.isqrt(mlp_inputs // mlp_width) * DOWNSAMPLING_FACTOR

    # `model` contains every spectral-normalised conv except the final one that outputs the logit.
    def layers(networks: tuple[str, ...], default: int) -> int:
        for network in networks:
            prefix = f"{network}.model."
            count = sum(1 for name in tensors if name.startswith(prefix) and name.endswith(".weight_orig"))
            if count:
                return count + 1
        return default

    try:
        return UGATITConfig(
            mode=mode,
            layout="pytorch",
            channels=channels,
            n_res=max(n_res, 1),
            image_size=image_size,
            global_dis_layers=layers(("disGA", "disGB"), 7),
            local_dis_layers=layers(("disLA", "disLB"), 5),
        )
    except ValueError as error:
        raise ConversionError(f"{path}: unsupported model shape ({error})") from error
