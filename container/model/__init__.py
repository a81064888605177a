"""Image stylisers the worker can run: the U-GAT-IT generator and the preview cartoon style."""

from __future__ import annotations

import importlib
from typing import Any

# Exports resolve on first use, so importing `container.model.stylizer` for the
# preview style does not import torch.
_EXPORTS = {
    "GanStylizer": "container.model.inference",
    "StylizedFace": "container.model.inference",
    "UGATITConfig": "container.model.config",
    "GeneratorOutput": "container.model.outputs",
    "DiscriminatorOutput": "container.model.outputs",
    "NETWORK_NAMES": "container.model.networks",
    "build_generator": "container.model.networks",
    "build_network": "container.model.networks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
