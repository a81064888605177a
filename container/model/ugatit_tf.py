"""U-GAT-IT networks faithful to the TensorFlow original (taki0112/UGATIT).

What differs from common PyTorch ports, and is reproduced here:

- every convolution has a bias, including the spectral-normalised ones and the
  discriminator's final `D_logit`;
- the encoder's instance norms are affine (learned gamma and beta);
- the CAM classifier is one fully connected layer with bias, shared by the
  average-pool and max-pool branches, and the feature map is weighted by
  kernel + bias (see `ClassActivationMap` for the earlier "split" form);
- AdaLIN uses rho - 0.1 clipped to [0, 1] when smoothing is on, and all norms
  use population variances;
- in full mode the MLP reads the bottleneck flattened in NHWC order;
- padding follows TF's rule (`tf_layers.tf_padding`), so the 4x4 stride-1
  discriminator convolutions keep the feature map size.

The modules take NCHW tensors like any PyTorch module; weight layout
conversion from TF happens in `container.model.tf_names`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from container.model.config import UGATITConfig
from container.model.norms import LIN, AdaLIN, InstanceNorm
from container.model.outputs import DiscriminatorOutput, GeneratorOutput
from container.model.tf_layers import PaddedConv2d, spectral_normalize, upsample2x_reflect_padded

LEAKY_RELU_SLOPE = 0.2


class ConvNormReLU(nn.Module):
    """Padded convolution, affine instance norm, ReLU: the encoder's stem and downsampling step."""

    def __init__(self, in_channels: int, out_channels: int, *, kernel: int, stride: int, pad: int) -> None:
        super().__init__()
        self.conv = PaddedConv2d(in_channels, out_channels, kernel=kernel, stride=stride, pad=pad)
        self.norm = InstanceNorm(out_channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x)), inplace=True)


class ResBlock(nn.Module):
    """Encoder residual block: two 3x3 convolutions with affine instance norms."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = PaddedConv2d(channels, channels, kernel=3, pad=1)
        self.norm1 = InstanceNorm(channels, affine=True)
        self.conv2 = PaddedConv2d(channels, channels, kernel=3, pad=1)
        self.norm2 = InstanceNorm(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(x)), inplace=True)
        return x + self.norm2(self.conv2(out))


class AdaLINResBlock(nn.Module):
    """Decoder residual block: two 3x3 convolutions with AdaLIN driven by the MLP's gamma and beta."""

    def __init__(self, channels: int, *, smoothing: bool) -> None:
        super().__init__()
        self.conv1 = PaddedConv2d(channels, channels, kernel=3, pad=1)
        self.norm1 = AdaLIN(channels, tf_semantics=True, smoothing=smoothing)
        self.conv2 = PaddedConv2d(channels, channels, kernel=3, pad=1)
        self.norm2 = AdaLIN(channels, tf_semantics=True, smoothing=smoothing)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(x), gamma, beta), inplace=True)
        return x + self.norm2(self.conv2(out), gamma, beta)


class UpBlock(nn.Module):
    """Nearest-neighbour 2x upsampling, 3x3 convolution, LIN, ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = PaddedConv2d(in_channels, out_channels, kernel=3, pad=1)
        self.norm = LIN(out_channels, tf_semantics=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TF1 resize_nearest_neighbor (no half-pixel centres) picks source pixel i // 2, as
        # PyTorch's nearest mode does. The helper also applies the convolution's padding.
        return F.relu(self.norm(self.conv.convolve(upsample2x_reflect_padded(x))), inplace=True)


class ClassActivationMap(nn.Module):
    """CAM attention: a 1-unit classifier on pooled features whose weights also scale the map.

    The average-pool and max-pool branches share one classifier (`weight`
    [1, C], `bias` [1]). Each branch's logit is pooled @ weight.T + bias, and
    both branches scale the feature map channels by weight + bias. The two
    scaled maps are concatenated and fused back to C channels by a 1x1
    convolution.

    Args:
        channels: feature channels C.
        negative_slope: 0 for the generator's ReLU, 0.2 for the discriminator's leaky ReLU.
        spectral_norm: normalise the classifier weight (discriminators); keeps `u` [1, 1].
        split: the form of taki0112/UGATIT's code before August 2019. Without spectral
            norm (generators) the logit came from a separate dense layer
            (`logit_weight`, `logit_bias`) while the map was scaled by `weight` +
            `bias`. With spectral norm (discriminators) the variables are the
            same as in the shared form, but the map was scaled by the weight
            before normalisation.
    """

    u: torch.Tensor

    def __init__(self, channels: int, *, negative_slope: float, spectral_norm: bool, split: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels))
        self.bias = nn.Parameter(torch.zeros(1))
        self.spectral_norm = spectral_norm
        self.split = split
        if spectral_norm:
            self.register_buffer("u", torch.randn(1, 1))
        elif split:
            self.logit_weight = nn.Parameter(torch.zeros(1, channels))
            self.logit_bias = nn.Parameter(torch.zeros(1))
        self.fuse = nn.Conv2d(2 * channels, channels, kernel_size=1, bias=True)
        self.negative_slope = negative_slope

    def _classifier(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (logit weight [1, C], logit bias [1], map scale [C])."""
        if self.spectral_norm:
            normalized = spectral_normalize(self.weight, self.u)
            map_weight = self.weight if self.split else normalized
            return normalized, self.bias, (map_weight + self.bias)[0]
        if self.split:
            return self.logit_weight, self.logit_bias, (self.weight + self.bias)[0]
        return self.weight, self.bias, (self.weight + self.bias)[0]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (cam_logit [B, 2], fused feature map [B, C, H, W])."""
        logit_weight, logit_bias, map_scale = self._classifier()
        # The logits use float32 elementwise operations, which autocast leaves alone. F.linear
        # would round them to bf16 on CUDA. The pooled features have shape [B, 2, C].
        pooled = torch.stack([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1).float()
        cam_logit = (pooled * logit_weight.float()).sum(dim=2) + logit_bias.float()

        # fuse(cat(x * s, x * s)) equals a 1x1 convolution of x whose weight folds in s,
        # which saves the concatenation and half the multiply-adds.
        channels = x.shape[1]
        fused_weight = self.fuse.weight[:, :channels] + self.fuse.weight[:, channels:]
        fused_weight = fused_weight * map_scale[None, :, None, None]
        out = F.conv2d(x, fused_weight, self.fuse.bias)
        return cam_logit, F.leaky_relu(out, self.negative_slope)


class GammaBetaMLP(nn.Module):
    """MLP that turns the bottleneck into AdaLIN's gamma and beta."""

    def __init__(self, in_features: int, channels: int, *, light: bool) -> None:
        super().__init__()
        self.light = light
        self.fc1 = nn.Linear(in_features, channels)
        self.fc2 = nn.Linear(channels, channels)
        self.gamma = nn.Linear(channels, channels)
        self.beta = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.light:
            features = x.mean(dim=(2, 3))
        else:
            # TF flattens NHWC; permuting first gives the same feature order.
            features = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        hidden = F.relu(self.fc2(F.relu(self.fc1(features))))
        return self.gamma(hidden), self.beta(hidden)


class TFGenerator(nn.Module):
    """U-GAT-IT generator as in the TF original; input and output are RGB in [-1, 1].

    The TF code sizes the MLP as ch * n_res, which equals the bottleneck width
    only at its default n_res=4 (other values fail there); this module always
    uses the bottleneck width.
    """

    def __init__(self, config: UGATITConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.channels
        width = config.bottleneck_channels

        # --- encoder ---
        self.stem = ConvNormReLU(3, ch, kernel=7, stride=1, pad=3)
        self.down = nn.ModuleList(
            [ConvNormReLU(ch * 2**i, ch * 2 ** (i + 1), kernel=3, stride=2, pad=1) for i in range(2)]
        )
        self.encoder = nn.ModuleList([ResBlock(width) for _ in range(config.n_res)])

        # --- attention and AdaLIN parameters ---
        self.cam = ClassActivationMap(
            width, negative_slope=0.0, spectral_norm=False, split=config.cam_variant == "split"
        )
        self.mlp = GammaBetaMLP(config.mlp_input_features, width, light=config.light)

        # --- decoder ---
        self.decoder = nn.ModuleList([AdaLINResBlock(width, smoothing=config.smoothing) for _ in range(config.n_res)])
        self.up = nn.ModuleList([UpBlock(width // 2**i, width // 2 ** (i + 1)) for i in range(2)])
        self.head = PaddedConv2d(ch, 3, kernel=7, pad=3)

    def forward(self, x: torch.Tensor) -> GeneratorOutput:
        x = self.stem(x)
        for block in self.down:
            x = block(x)
        for block in self.encoder:
            x = block(x)

        cam_logit, x = self.cam(x)
        heatmap = x.sum(dim=1, keepdim=True)
        gamma, beta = self.mlp(x)

        for block in self.decoder:
            x = block(x, gamma, beta)
        for block in self.up:
            x = block(x)
        return GeneratorOutput(image=torch.tanh(self.head(x)), cam_logit=cam_logit, heatmap=heatmap)


class TFDiscriminator(nn.Module):
    """PatchGAN discriminator with CAM as in the TF original; all convolutions spectral-normalised.

    Args:
        config: model configuration (channels, CAM variant).
        n_layers: 7 for the global discriminator, 5 for the local one. There are
            n_layers - 2 stride-2 convolutions; TF's `n_dis` is 6 for both, and
            its local discriminator uses two fewer downsampling steps.
    """

    def __init__(self, config: UGATITConfig, *, n_layers: int) -> None:
        super().__init__()
        ch = config.channels
        downsampling = [PaddedConv2d(3, ch, kernel=4, stride=2, pad=1, spectral_norm=True)]
        for i in range(1, n_layers - 2):
            downsampling.append(
                PaddedConv2d(ch * 2 ** (i - 1), ch * 2**i, kernel=4, stride=2, pad=1, spectral_norm=True)
            )
        self.downsampling = nn.ModuleList(downsampling)
        width = ch * 2 ** (n_layers - 2)
        self.conv_last = PaddedConv2d(width // 2, width, kernel=4, stride=1, pad=1, spectral_norm=True)
        self.cam = ClassActivationMap(
            width, negative_slope=LEAKY_RELU_SLOPE, spectral_norm=True, split=config.cam_variant == "split"
        )
        self.logit = PaddedConv2d(width, 1, kernel=4, stride=1, pad=1, spectral_norm=True)

    def forward(self, x: torch.Tensor) -> DiscriminatorOutput:
        for conv in self.downsampling:
            x = F.leaky_relu(conv(x), LEAKY_RELU_SLOPE)
        x = F.leaky_relu(self.conv_last(x), LEAKY_RELU_SLOPE)
        cam_logit, x = self.cam(x)
        heatmap = x.sum(dim=1, keepdim=True)
        return DiscriminatorOutput(logit=self.logit(x), cam_logit=cam_logit, heatmap=heatmap)
