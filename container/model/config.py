"""Typed configuration for the U-GAT-IT networks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["light", "full"]
Layout = Literal["tf", "pytorch"]
CamVariant = Literal["shared", "split"]

MODES: tuple[str, ...] = ("light", "full")
LAYOUTS: tuple[str, ...] = ("tf", "pytorch")
CAM_VARIANTS: tuple[str, ...] = ("shared", "split")

# Each of the two downsampling steps halves the size, so the bottleneck is image_size / 4.
DOWNSAMPLING_FACTOR = 4


# Upper bounds far above any published U-GAT-IT (64 channels, 4 blocks, 256 px, 7 layers), so a
# damaged or hostile description is rejected before anything is allocated.
MAX_CHANNELS = 1024
MAX_RESIDUAL_BLOCKS = 64
MAX_IMAGE_SIZE = 2048
MAX_DIS_LAYERS = 16


@dataclass(frozen=True, kw_only=True)
class UGATITConfig:
    """Shape and variant of a U-GAT-IT model.

    Args:
        mode: "light" feeds the gamma/beta MLP the globally pooled bottleneck;
            "full" feeds it the whole flattened bottleneck feature map.
        layout: "tf" is faithful to the TensorFlow original (taki0112/UGATIT);
            "pytorch" matches the parameter names and forward of
            znxlwm/UGATIT-pytorch, so its `torch.save` checkpoints load unchanged.
        channels: base channel count (`ch` upstream); the bottleneck has 4x as many.
        n_res: residual blocks in the encoder and in the decoder each.
        image_size: side of the square input in pixels; full mode sizes its
            first MLP layer from it.
        smoothing: AdaLIN smoothing of the TF original, which uses rho - 0.1
            clipped to [0, 1]. Only the "tf" layout reads it.
        cam_variant: how the TF generator stores its CAM classifier. "shared" is
            one kernel and bias used for the logit and for weighting the feature
            map, as taki0112/UGATIT's `ops.py` does since August 2019. "split"
            is its earlier code, where the logit came from a `dense` layer and
            the map weights from a second kernel and bias. Only the "tf" layout
            reads it.
        global_dis_layers: layer count of the global discriminators (7 upstream).
        local_dis_layers: layer count of the local discriminators (5 upstream).
    """

    mode: Mode = "light"
    layout: Layout = "tf"
    channels: int = 64
    n_res: int = 4
    image_size: int = 256
    smoothing: bool = True
    cam_variant: CamVariant = "shared"
    global_dis_layers: int = 7
    local_dis_layers: int = 5

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.cam_variant not in CAM_VARIANTS:
            raise ValueError(f"cam_variant must be one of {CAM_VARIANTS}, got {self.cam_variant!r}")
        if not (1 <= self.channels <= MAX_CHANNELS and 1 <= self.n_res <= MAX_RESIDUAL_BLOCKS):
            raise ValueError(
                f"channels must be 1 to {MAX_CHANNELS} and n_res 1 to {MAX_RESIDUAL_BLOCKS}, "
                f"got {self.channels} and {self.n_res}"
            )
        if not 8 <= self.image_size <= MAX_IMAGE_SIZE or self.image_size % DOWNSAMPLING_FACTOR:
            raise ValueError(
                f"image_size must be a multiple of 4 from 8 to {MAX_IMAGE_SIZE}, got {self.image_size}"
            )
        if self.local_dis_layers < 4 or not self.local_dis_layers <= self.global_dis_layers <= MAX_DIS_LAYERS:
            raise ValueError(
                f"discriminators need 4 <= local_dis_layers <= global_dis_layers <= {MAX_DIS_LAYERS}, "
                f"got {self.local_dis_layers} and {self.global_dis_layers}"
            )

    @property
    def light(self) -> bool:
        """True in light mode."""
        return self.mode == "light"

    @property
    def bottleneck_channels(self) -> int:
        """Channel count between the encoder and the decoder."""
        return self.channels * DOWNSAMPLING_FACTOR

    @property
    def bottleneck_size(self) -> int:
        """Side of the bottleneck feature map in pixels."""
        return self.image_size // DOWNSAMPLING_FACTOR

    @property
    def mlp_input_features(self) -> int:
        """Input width of the first gamma/beta MLP layer."""
        if self.light:
            return self.bottleneck_channels
        return self.bottleneck_size * self.bottleneck_size * self.bottleneck_channels
