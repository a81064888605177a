"""U-GAT-IT networks with the parameter names and forward of znxlwm/UGATIT-pytorch.

Checkpoints saved by that project (`torch.save` of a dict with `genA2B`,
`genB2A`, `disGA`, `disGB`, `disLA`, `disLB` state dicts) load into these
modules unchanged, so the `nn.Sequential` indices below are part of the file
format. Its forward differs from the TF original in several ways:

- convolutions in the generator have no bias, and instance norms are not affine;
- the two CAM branches have separate classifiers without bias;
- AdaLIN has no smoothing, and variances are unbiased;
- the full-mode MLP flattens in NCHW order;
- the discriminator pads symmetrically, so its 4x4 stride-1 convolutions shrink the map.
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from container.model.config import UGATITConfig
from container.model.norms import LIN, AdaLIN, InstanceNorm
from container.model.outputs import DiscriminatorOutput, GeneratorOutput

LEAKY_RELU_SLOPE = 0.2


def _conv_in_relu(in_channels: int, out_channels: int, *, kernel: int, stride: int, pad: int) -> list[nn.Module]:
    return [
        nn.ReflectionPad2d(pad),
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride, bias=False),
        InstanceNorm(out_channels, affine=False),
        nn.ReLU(inplace=True),
    ]


class ResnetBlock(nn.Module):
    """Encoder residual block; parameters live at `conv_block.1` and `conv_block.5`."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        layers = _conv_in_relu(channels, channels, kernel=3, stride=1, pad=1)
        layers += _conv_in_relu(channels, channels, kernel=3, stride=1, pad=1)[:3]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetAdaILNBlock(nn.Module):
    """Decoder residual block with AdaLIN (`adaILN` upstream)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, bias=False)
        self.norm1 = AdaLIN(channels, tf_semantics=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, bias=False)
        self.norm2 = AdaLIN(channels, tf_semantics=False)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        out = F.relu(self.norm1(out, gamma, beta), inplace=True)
        out = self.conv2(F.pad(out, (1, 1, 1, 1), mode="reflect"))
        return x + self.norm2(out, gamma, beta)


def _cam_fuse(
    x: torch.Tensor, fuse: nn.Conv2d, avg_scale: torch.Tensor, max_scale: torch.Tensor
) -> torch.Tensor:
    """Apply fuse(cat(x * avg_scale, x * max_scale)) as one 1x1 convolution of x."""
    channels = x.shape[1]
    weight = fuse.weight[:, :channels] * avg_scale[None, :, None, None]
    weight = weight + fuse.weight[:, channels:] * max_scale[None, :, None, None]
    return F.conv2d(x, weight, fuse.bias)


class TorchGenerator(nn.Module):
    """`ResnetGenerator` of UGATIT-pytorch with 3 input and output channels."""

    def __init__(self, config: UGATITConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.channels
        width = config.bottleneck_channels

        down = _conv_in_relu(3, ch, kernel=7, stride=1, pad=3)
        for i in range(2):
            down += _conv_in_relu(ch * 2**i, ch * 2 ** (i + 1), kernel=3, stride=2, pad=1)
        down += [ResnetBlock(width) for _ in range(config.n_res)]
        self.DownBlock = nn.Sequential(*down)

        self.gap_fc = nn.Linear(width, 1, bias=False)
        self.gmp_fc = nn.Linear(width, 1, bias=False)
        self.conv1x1 = nn.Conv2d(2 * width, width, 1, bias=True)

        self.FC = nn.Sequential(
            nn.Linear(config.mlp_input_features, width, bias=False),
            nn.ReLU(),
            nn.Linear(width, width, bias=False),
            nn.ReLU(),
        )
        self.gamma = nn.Linear(width, width, bias=False)
        self.beta = nn.Linear(width, width, bias=False)

        # Upstream names these attributes UpBlock1_1 .. UpBlock1_<n_res>.
        for i in range(config.n_res):
            setattr(self, f"UpBlock1_{i + 1}", ResnetAdaILNBlock(width))

        up: list[nn.Module] = []
        for i in range(2):
            in_channels = width // 2**i
            up += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.ReflectionPad2d(1),
                nn.Conv2d(in_channels, in_channels // 2, 3, bias=False),
                LIN(in_channels // 2, tf_semantics=False),
                nn.ReLU(inplace=True),
            ]
        up += [nn.ReflectionPad2d(3), nn.Conv2d(ch, 3, 7, bias=False), nn.Tanh()]
        self.UpBlock2 = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> GeneratorOutput:
        x = self.DownBlock(x)

        gap_logit = self.gap_fc(x.mean(dim=(2, 3)))
        gmp_logit = self.gmp_fc(x.amax(dim=(2, 3)))
        cam_logit = torch.cat([gap_logit, gmp_logit], dim=1)
        x = F.relu(_cam_fuse(x, self.conv1x1, self.gap_fc.weight[0], self.gmp_fc.weight[0]))
        heatmap = x.sum(dim=1, keepdim=True)

        if self.config.light:
            features = x.mean(dim=(2, 3))
        else:
            features = x.reshape(x.shape[0], -1)
        hidden = self.FC(features)
        gamma, beta = self.gamma(hidden), self.beta(hidden)

        for i in range(self.config.n_res):
            x = getattr(self, f"UpBlock1_{i + 1}")(x, gamma, beta)
        return GeneratorOutput(image=self.UpBlock2(x), cam_logit=cam_logit, heatmap=heatmap)


class TorchDiscriminator(nn.Module):
    """`Discriminator` of UGATIT-pytorch (n_layers=7 global, 5 local), spectral norm in eval mode.

    In eval mode `torch.nn.utils.spectral_norm` divides by the singular value
    estimated from the stored `weight_u` and `weight_v`, without a power
    iteration, so the output depends only on the checkpoint.
    """

    def __init__(self, config: UGATITConfig, *, n_layers: int) -> None:
        super().__init__()
        ch = config.channels
        layers: list[nn.Module] = []
        in_channels, out_channels = 3, ch
        for _ in range(n_layers - 2):
            layers += [
                nn.ReflectionPad2d(1),
                spectral_norm(nn.Conv2d(in_channels, out_channels, 4, stride=2, bias=True)),
                nn.LeakyReLU(LEAKY_RELU_SLOPE),
            ]
            in_channels, out_channels = out_channels, out_channels * 2
        layers += [
            nn.ReflectionPad2d(1),
            spectral_norm(nn.Conv2d(in_channels, out_channels, 4, stride=1, bias=True)),
            nn.LeakyReLU(LEAKY_RELU_SLOPE),
        ]
        self.model = nn.Sequential(*layers)
        width = out_channels

        self.gap_fc = spectral_norm(nn.Linear(width, 1, bias=False))
        self.gmp_fc = spectral_norm(nn.Linear(width, 1, bias=False))
        self.conv1x1 = nn.Conv2d(2 * width, width, 1, bias=True)
        self.pad = nn.ReflectionPad2d(1)
        self.conv = spectral_norm(nn.Conv2d(width, 1, 4, bias=False))
        self.eval()

    def forward(self, x: torch.Tensor) -> DiscriminatorOutput:
        x = self.model(x)
        gap_logit = self.gap_fc(x.mean(dim=(2, 3)))
        gmp_logit = self.gmp_fc(x.amax(dim=(2, 3)))
        cam_logit = torch.cat([gap_logit, gmp_logit], dim=1)
        # Upstream scales the map by the first parameter of each classifier,
        # which under spectral norm is the weight before normalisation.
        gap_weight = cast(torch.Tensor, self.gap_fc.weight_orig)
        gmp_weight = cast(torch.Tensor, self.gmp_fc.weight_orig)
        fused = _cam_fuse(x, self.conv1x1, gap_weight[0], gmp_weight[0])
        x = F.leaky_relu(fused, LEAKY_RELU_SLOPE)
        heatmap = x.sum(dim=1, keepdim=True)
        return DiscriminatorOutput(logit=self.conv(self.pad(x)), cam_logit=cam_logit, heatmap=heatmap)
