"""Strict loading of safetensors weights into the U-GAT-IT modules.

A network is built on the meta device, so it never contains random values.
Every parameter and buffer is then replaced by a tensor from the file
(`load_state_dict(strict=True, assign=True)`). Before that, the file's tensor
names and shapes are compared with the module's, and any difference is raised
with the tensor names.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from container.model.config import DOWNSAMPLING_FACTOR, UGATITConfig
from container.model.networks import build_network
from container.weights.errors import ModeMismatchError, TensorMismatchError, WeightsFileError

Shape = tuple[int, ...]
# Tensor names listed in full in an error message; the rest are counted.
_LISTED_NAMES = 5
# The shape [out, in] of the first MLP layer's weight distinguishes light mode (in == out) from full mode.
_MLP_FIRST_WEIGHT = {"tf": "mlp.fc1.weight", "pytorch": "FC.0.weight"}


def read_header(path: Path) -> tuple[dict[str, Shape], dict[str, str]]:
    """Return the tensor shapes and header metadata of a safetensors file without reading tensor data.

    Raises:
        WeightsFileError: the file is missing, truncated or not a safetensors file.
    """
    try:
        with safe_open(str(path), framework="pt", device="cpu") as reader:
            shapes = {name: tuple(reader.get_slice(name).get_shape()) for name in reader.keys()}
            metadata = reader.metadata() or {}
    except FileNotFoundError as error:
        raise WeightsFileError(f"weights file {path} not found; run `selfie2anime model install PATH|URL`") from error
    except (SafetensorError, OSError) as error:
        raise WeightsFileError(
            f"{path} is not a readable safetensors file ({error}); it may be truncated. "
            "Install the weights again with `selfie2anime model install PATH|URL`"
        ) from error
    return shapes, metadata


def expected_shapes(config: UGATITConfig, network: str) -> dict[str, Shape]:
    """Return the state-dict shapes of `network` built from `config`, without allocating it."""
    with torch.device("meta"):
        module = build_network(config, network)
    return {name: tuple(tensor.shape) for name, tensor in module.state_dict().items()}


def mode_from_shapes(config: UGATITConfig, network: str, shapes: dict[str, Shape]) -> tuple[str, int] | None:
    """Return (mode, image_size) that the MLP weight of `network` in `shapes` implies, or None if absent."""
    shape = shapes.get(f"{network}.{_MLP_FIRST_WEIGHT[config.layout]}")
    if shape is None or len(shape) != 2 or shape[0] == 0:
        return None
    width = shape[0]
    if shape[1] == width:
        return "light", config.image_size
    side = math.isqrt(shape[1] // width)
    return "full", side * DOWNSAMPLING_FACTOR


def check_network_shapes(
    config: UGATITConfig, network: str, shapes: dict[str, Shape], *, file: Path
) -> None:
    """Compare the tensors of `network` in a weights file with the module `config` describes.

    Args:
        config: the model the manifest describes.
        network: network name, the prefix of its tensor names in the file.
        shapes: all tensor shapes in the file, by full name.
        file: the file, for messages.

    Raises:
        ModeMismatchError: the file contains the other mode (light or full) or image size.
        TensorMismatchError: tensors are missing, unexpected or have the wrong shape.
    """
    implied = mode_from_shapes(config, network, shapes)
    if implied is not None and implied != (config.mode, config.image_size):
        mode, image_size = implied
        key = f"{network}.{_MLP_FIRST_WEIGHT[config.layout]}"
        raise ModeMismatchError(
            f"{file} contains {mode}-mode U-GAT-IT weights for {image_size}px images ({key} is "
            f"{list(shapes[key])}), but its description says {config.mode} mode at {config.image_size}px. "
            "The file and its manifest.json or header description do not belong together; "
            "install the weights again from their original source"
        )

    prefix = f"{network}."
    found = {name[len(prefix) :]: shape for name, shape in shapes.items() if name.startswith(prefix)}
    expected = expected_shapes(config, network)
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    wrong = [
        f"{prefix}{name} is {list(found[name])}, expected {list(expected[name])}"
        for name in sorted(expected.keys() & found.keys())
        if found[name] != expected[name]
    ]
    if not (missing or unexpected or wrong):
        return

    problems = []
    if missing:
        problems.append(f"missing tensors: {_listing([prefix + name for name in missing])}")
    if unexpected:
        problems.append(f"unexpected tensors: {_listing([prefix + name for name in unexpected])}")
    if wrong:
        problems.append(f"wrong shapes: {_listing(wrong)}")
    raise TensorMismatchError(
        f"{file} does not match a {config.mode}-mode U-GAT-IT {network} ({config.layout} layout, "
        f"{config.channels} channels, {config.n_res} residual blocks): {'; '.join(problems)}. "
        "The file belongs to another model or is damaged; install the weights again"
    )


def check_weights_file(path: Path, config: UGATITConfig, networks: tuple[str, ...]) -> None:
    """Check that the file at `path` contains exactly `networks` built from `config`, and load each strictly.

    Raises:
        WeightsFileError: the file is unreadable or truncated.
        TensorMismatchError: a tensor is stray, missing, unexpected, of the wrong shape or not
            floating point (ModeMismatchError when the file contains the other mode).
    """
    shapes, _ = read_header(path)
    check_no_stray_tensors(networks, shapes, file=path)
    for network in networks:
        check_network_shapes(config, network, shapes, file=path)
    for network in networks:
        load_network(path, config, network)


def check_no_stray_tensors(networks: tuple[str, ...], shapes: dict[str, Shape], *, file: Path) -> None:
    """Raise TensorMismatchError if the file has tensors outside the networks it lists."""
    prefixes = tuple(f"{network}." for network in networks)
    stray = sorted(name for name in shapes if not name.startswith(prefixes))
    if stray:
        raise TensorMismatchError(
            f"{file} has tensors outside its networks ({', '.join(networks)}): {_listing(stray)}. "
            "The file belongs to another model or is damaged; install the weights again"
        )


def _listing(names: list[str]) -> str:
    listing = ", ".join(names[:_LISTED_NAMES])
    if len(names) > _LISTED_NAMES:
        listing += f" and {len(names) - _LISTED_NAMES} more"
    return listing


def load_network(path: Path, config: UGATITConfig, network: str, *, device: str = "cpu") -> nn.Module:
    """Build `network` and load its tensors from the safetensors file at `path`, strictly.

    Raises:
        WeightsFileError: the file is unreadable or truncated.
        ModeMismatchError: the file contains the other mode.
        TensorMismatchError: a tensor is missing, unexpected or has the wrong shape.
    """
    shapes, _ = read_header(path)
    check_network_shapes(config, network, shapes, file=path)

    prefix = f"{network}."
    try:
        with safe_open(str(path), framework="pt", device=device) as reader:
            state = {name[len(prefix) :]: reader.get_tensor(name) for name in shapes if name.startswith(prefix)}
    except (SafetensorError, OSError) as error:
        raise WeightsFileError(f"reading {network} from {path} failed ({error}); install the weights again") from error

    not_float = sorted(f"{prefix}{name} ({tensor.dtype})" for name, tensor in state.items() if not tensor.is_floating_point())
    if not_float:
        raise TensorMismatchError(
            f"{path} contains U-GAT-IT {network} tensors that are not floating point: {_listing(not_float)}. "
            "The file belongs to another model or is damaged; install the weights again"
        )
    # Checkpoints saved in half or double precision load as float32, the modules' dtype.
    state = {name: tensor.float() for name, tensor in state.items()}

    with torch.device("meta"):
        module = build_network(config, network)
    try:
        module.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as error:
        raise TensorMismatchError(f"loading {network} from {path} failed: {error}") from error
    return module.eval()
