"""Small U-GAT-IT models with deterministic random weights, and checkpoints made from them.

Weights come from NumPy's PCG64 generator rather than torch's, so golden
outputs do not change when torch changes its random number streams.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from container.model.config import UGATITConfig
from container.model.networks import NETWORK_NAMES, build_network


def small_config(*, layout: str = "tf", mode: str = "light", image_size: int = 32, channels: int = 4) -> UGATITConfig:
    """A configuration whose forward takes milliseconds on a CPU."""
    return UGATITConfig(layout=layout, mode=mode, image_size=image_size, channels=channels)  # type: ignore[arg-type]


def random_state(module: nn.Module, *, seed: int) -> dict[str, torch.Tensor]:
    """Return a state dict for `module` with plausible random values (norm scales near 1, rho in [0, 1])."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, tensor in sorted(module.state_dict().items()):
        shape = tuple(tensor.shape)
        leaf = name.rsplit(".", 1)[-1]
        parent = name.rsplit(".", 2)[-2] if name.count(".") else ""
        if leaf == "rho":
            value = rng.uniform(0.0, 1.0, size=shape)
        elif leaf == "gamma" or (leaf == "weight" and "norm" in parent):
            value = 1.0 + rng.normal(0.0, 0.1, size=shape)
        elif leaf in ("u", "weight_u", "weight_v"):
            value = rng.normal(0.0, 1.0, size=shape)
        elif leaf in ("bias", "beta"):
            value = rng.normal(0.0, 0.1, size=shape)
        else:
            fan_in = int(np.prod(shape[1:])) or 1
            value = rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=shape)
        state[name] = torch.from_numpy(value.astype(np.float32))
    return state


def seeded_network(config: UGATITConfig, name: str, *, seed: int = 0) -> nn.Module:
    """Build network `name` and fill it with `random_state`."""
    module = build_network(config, name)
    module.load_state_dict(random_state(module, seed=seed))
    return module.eval()


def pytorch_checkpoint(config: UGATITConfig, *, seed: int = 0, networks: tuple[str, ...] = NETWORK_NAMES) -> dict[str, dict[str, torch.Tensor]]:
    """A checkpoint dict shaped like UGATIT-pytorch's `torch.save(params, ...)`."""
    assert config.layout == "pytorch"
    return {name: seeded_network(config, name, seed=seed + index).state_dict() for index, name in enumerate(networks)}


def save_pytorch_checkpoint(path: Path, config: UGATITConfig, *, seed: int = 0, networks: tuple[str, ...] = NETWORK_NAMES) -> Path:
    """Write `pytorch_checkpoint` to `path` with `torch.save` and return the path."""
    torch.save(pytorch_checkpoint(config, seed=seed, networks=networks), path)
    return path
