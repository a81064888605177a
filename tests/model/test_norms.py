"""Normalisation statistics stay finite and exact in every dtype the worker uses."""

from __future__ import annotations

import pytest
import torch

from container.model.norms import LIN, AdaLIN, InstanceNorm


def _activation(dtype: torch.dtype, *, scale: float) -> torch.Tensor:
    values = torch.randn(2, 8, 16, 16, generator=torch.Generator().manual_seed(3)) * scale + 5
    return values.to(dtype).contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=["fp32", "bf16", "fp16"])
def test_instance_norm_of_large_activations(dtype: torch.dtype) -> None:
    # Deviations of about 400 square to about 160,000, beyond float16's maximum of 65,504.
    x = _activation(dtype, scale=400.0)

    result = InstanceNorm(8, affine=False)(x).float()

    assert torch.isfinite(result).all()
    assert result.std(dim=(2, 3)).mean().item() == pytest.approx(1.0, abs=0.05)


def test_adalin_and_lin_match_float64() -> None:
    x = _activation(torch.float32, scale=3.0)
    gamma = torch.linspace(0.5, 1.5, 8).repeat(2, 1)
    beta = torch.linspace(-1.0, 1.0, 8).repeat(2, 1)
    adalin = AdaLIN(8, tf_semantics=True, smoothing=True)
    lin = LIN(8, tf_semantics=True)
    with torch.no_grad():
        adalin.rho.copy_(torch.linspace(0.0, 1.0, 8))
        lin.rho.copy_(torch.linspace(1.0, 0.0, 8))

    def mixed(x: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
        x = x.double()
        instance = (x - x.mean(dim=(2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(2, 3), keepdim=True, unbiased=False) + 1e-5)
        layer = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(1, 2, 3), keepdim=True, unbiased=False) + 1e-5)
        rho = rho.double().reshape(1, -1, 1, 1)
        return rho * instance + (1 - rho) * layer

    smoothed = torch.clamp(adalin.rho.detach() - 0.1, 0.0, 1.0)
    expected_adalin = mixed(x, smoothed) * gamma.double()[:, :, None, None] + beta.double()[:, :, None, None]
    expected_lin = mixed(x, lin.rho.detach())

    with torch.no_grad():
        assert torch.allclose(adalin(x, gamma, beta).double(), expected_adalin, atol=1e-4)
        assert torch.allclose(lin(x).double(), expected_lin, atol=1e-4)
