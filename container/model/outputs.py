"""Return types of the U-GAT-IT networks."""

from __future__ import annotations

from typing import NamedTuple

import torch


class GeneratorOutput(NamedTuple):
    """Generator result for a batch of B images.

    Attributes:
        image: translated images [B, 3, H, W] in [-1, 1].
        cam_logit: CAM classifier logits [B, 2] for the average-pool and the
            max-pool branch. Training pushes them up for inputs from the source
            domain (selfies for A->B) and down for inputs already in the target
            domain.
        heatmap: attention map [B, 1, H/4, W/4], the channel sum of the CAM-weighted bottleneck.
    """

    image: torch.Tensor
    cam_logit: torch.Tensor
    heatmap: torch.Tensor


class DiscriminatorOutput(NamedTuple):
    """Discriminator result for a batch of B images.

    Attributes:
        logit: patch realness logits [B, 1, h, w].
        cam_logit: CAM classifier logits [B, 2] (average-pool, max-pool branch).
        heatmap: attention map [B, 1, h, w].
    """

    logit: torch.Tensor
    cam_logit: torch.Tensor
    heatmap: torch.Tensor
