"""Factories for the six U-GAT-IT networks in either parameter layout."""

from __future__ import annotations

from torch import nn

from container.model.config import UGATITConfig
from container.model.ugatit_pytorch import TorchDiscriminator, TorchGenerator
from container.model.ugatit_tf import TFDiscriminator, TFGenerator

GENERATOR_A2B = "genA2B"
# The names UGATIT-pytorch uses as keys of its checkpoint dict; A is selfies, B is anime.
GENERATORS: tuple[str, ...] = (GENERATOR_A2B, "genB2A")
GLOBAL_DISCRIMINATORS: tuple[str, ...] = ("disGA", "disGB")
LOCAL_DISCRIMINATORS: tuple[str, ...] = ("disLA", "disLB")
NETWORK_NAMES: tuple[str, ...] = GENERATORS + GLOBAL_DISCRIMINATORS + LOCAL_DISCRIMINATORS


def build_generator(config: UGATITConfig) -> nn.Module:
    """Build an untrained generator; its forward returns a `GeneratorOutput`."""
    if config.layout == "tf":
        return TFGenerator(config)
    return TorchGenerator(config)


def build_network(config: UGATITConfig, name: str) -> nn.Module:
    """Build the untrained network called `name` (one of `NETWORK_NAMES`).

    Raises:
        ValueError: `name` is not a U-GAT-IT network name.
    """
    if name in GENERATORS:
        return build_generator(config)
    if name in GLOBAL_DISCRIMINATORS:
        n_layers = config.global_dis_layers
    elif name in LOCAL_DISCRIMINATORS:
        n_layers = config.local_dis_layers
    else:
        raise ValueError(f"unknown network {name!r}; expected one of {', '.join(NETWORK_NAMES)}")
    if config.layout == "tf":
        return TFDiscriminator(config, n_layers=n_layers)
    return TorchDiscriminator(config, n_layers=n_layers)
