"""Normalisation layers of U-GAT-IT: instance norm, AdaLIN and LIN.

AdaLIN and LIN mix instance-norm and layer-norm statistics with a learned
per-channel rho. The two upstream implementations differ in details that change
the output, so each layer takes them as arguments:

- the TensorFlow original uses population variances (`tf.nn.moments`), stores
  its parameters as vectors of shape [C], and in AdaLIN by default uses
  rho - 0.1 clipped to [0, 1] ("smoothing");
- UGATIT-pytorch uses unbiased variances (`torch.var`), stores parameters as
  [1, C, 1, 1], and uses rho unchanged.

All three layers compute the statistics once in float32 and then apply one
fused per-channel scale and shift, which is several times faster on CPU than
`torch.var_mean` or `nn.InstanceNorm2d` on channels_last tensors.
"""

from __future__ import annotations

import torch
from torch import nn

EPSILON = 1e-5
# AdaLIN smoothing in the TF original: rho is reduced by this amount and clipped to [0, 1].
SMOOTHING_OFFSET = 0.1


def _instance_moments(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return per-sample, per-channel mean and population variance [B, C] in float32.

    float32 CPU inputs go through `torch.batch_norm_update_stats` one sample at a time.
    Other inputs take two passes (mean, then mean squared deviation), which avoid the
    cancellation of E[x^2] - E[x]^2 and are still much faster than Welford's `var_mean`.
    bf16 inputs stay in bf16 because torch's reductions accumulate them in float32,
    and converting the activation first was slower end to end on CPU. fp16 inputs
    are converted, because their squared deviations overflow.
    """
    batch, channels, height, width = x.shape
    if x.dtype == torch.float16:
        # Squared deviations above about 256 overflow float16, so its statistics use float32.
        x = x.float()
    if x.dtype == torch.float32 and x.device.type == "cpu":
        # On one sample this returns the per-channel mean and population variance, 2-3x
        # faster than the reductions below on CPU (torch 2.13). Its variance has a relative
        # error near 1e-6 against float64, and it returns the input dtype, hence float32 only.
        moments = [torch.batch_norm_update_stats(x[index : index + 1], None, None, 0.0) for index in range(batch)]
        return torch.stack([mean for mean, _ in moments]), torch.stack([variance for _, variance in moments])
    if x.is_contiguous():
        values = x.reshape(batch, channels, height * width)
        mean = values.mean(dim=2, keepdim=True)
        variance = (values - mean).square_().mean(dim=2)
        mean = mean[:, :, 0]
    else:
        # channels_last: this view is free and puts C innermost, where the reduction vectorises.
        values = x.permute(0, 2, 3, 1).reshape(batch, height * width, channels)
        mean = values.mean(dim=1, keepdim=True)
        variance = (values - mean).square_().mean(dim=1)
        mean = mean[:, 0, :]
    return mean.float(), variance.float()


def _apply_scale_shift(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Return x * scale + shift with per-sample, per-channel float32 scale and shift [B, C]."""
    return torch.addcmul(shift.to(x.dtype)[:, :, None, None], x, scale.to(x.dtype)[:, :, None, None])


def _mixed_scale_shift(
    x: torch.Tensor, rho: torch.Tensor, *, unbiased: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return scale and shift [B, C] such that x * scale + shift is rho * IN(x) + (1 - rho) * LN(x)."""
    mean, variance = _instance_moments(x)
    # Layer statistics follow from the instance ones (law of total variance), saving a pass over x.
    layer_mean = mean.mean(dim=1, keepdim=True)
    layer_variance = (variance + (mean - layer_mean).square()).mean(dim=1, keepdim=True)
    if unbiased:
        pixels = x.shape[2] * x.shape[3]
        variance = variance * (pixels / (pixels - 1))
        layer_variance = layer_variance * (pixels * x.shape[1] / (pixels * x.shape[1] - 1))

    instance_rstd = torch.rsqrt(variance + EPSILON)
    layer_rstd = torch.rsqrt(layer_variance + EPSILON)
    scale = rho * instance_rstd + (1 - rho) * layer_rstd
    shift = -(rho * mean * instance_rstd + (1 - rho) * layer_mean * layer_rstd)
    return scale, shift


class InstanceNorm(nn.Module):
    """Instance norm with population variance and eps 1e-5, like `nn.InstanceNorm2d`.

    Args:
        channels: number of feature channels.
        affine: learn a per-channel `weight` and `bias` (the TF original's
            encoder does; UGATIT-pytorch's does not).
    """

    def __init__(self, channels: int, *, affine: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, variance = _instance_moments(x)
        scale = torch.rsqrt(variance + EPSILON)
        shift = -mean * scale
        if self.weight is not None and self.bias is not None:
            weight = self.weight.float()
            scale = scale * weight
            shift = shift * weight + self.bias.float()
        return _apply_scale_shift(x, scale, shift)


class AdaLIN(nn.Module):
    """Adaptive layer-instance normalisation: gamma and beta come from the generator's MLP.

    Args:
        channels: number of feature channels.
        tf_semantics: True for the TF original (rho of shape [C], population
            variance), False for UGATIT-pytorch (rho of shape [1, C, 1, 1],
            unbiased variance).
        smoothing: use rho - 0.1 clipped to [0, 1]; the TF original's default.
    """

    def __init__(self, channels: int, *, tf_semantics: bool, smoothing: bool = False) -> None:
        super().__init__()
        shape = (channels,) if tf_semantics else (1, channels, 1, 1)
        self.rho = nn.Parameter(torch.full(shape, 0.9))
        self.unbiased = not tf_semantics
        self.smoothing = smoothing

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        rho = self.rho.float().reshape(1, -1)
        if self.smoothing:
            rho = torch.clamp(rho - SMOOTHING_OFFSET, 0.0, 1.0)
        scale, shift = _mixed_scale_shift(x, rho, unbiased=self.unbiased)
        gamma = gamma.float()
        return _apply_scale_shift(x, scale * gamma, shift * gamma + beta.float())


class LIN(nn.Module):
    """Layer-instance normalisation with learned rho, gamma and beta.

    Args:
        channels: number of feature channels.
        tf_semantics: True for the TF original (parameters of shape [C],
            population variance), False for UGATIT-pytorch (shape [1, C, 1, 1],
            unbiased variance).
    """

    def __init__(self, channels: int, *, tf_semantics: bool) -> None:
        super().__init__()
        shape = (channels,) if tf_semantics else (1, channels, 1, 1)
        self.rho = nn.Parameter(torch.zeros(shape))
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.unbiased = not tf_semantics

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rho = self.rho.float().reshape(1, -1)
        gamma = self.gamma.float().reshape(1, -1)
        beta = self.beta.float().reshape(1, -1)
        scale, shift = _mixed_scale_shift(x, rho, unbiased=self.unbiased)
        return _apply_scale_shift(x, scale * gamma, shift * gamma + beta)
