"""The faster layer helpers give what the plain PyTorch operations they replace give."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from container.model.tf_layers import PaddedConv2d, conv2d_by_kernel_rows, upsample2x_reflect_padded


def _plain_upsample_and_pad(x: torch.Tensor) -> torch.Tensor:
    return F.pad(F.interpolate(x, scale_factor=2, mode="nearest"), (1, 1, 1, 1), mode="reflect")


@pytest.mark.parametrize("shape", [(1, 3, 2, 2), (2, 5, 3, 7), (3, 16, 9, 4)])
@pytest.mark.parametrize("memory_format", [torch.channels_last, torch.contiguous_format], ids=["nhwc", "nchw"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_upsample_with_padding_equals_interpolate_then_pad(
    shape: tuple[int, int, int, int], memory_format: torch.memory_format, dtype: torch.dtype
) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape))).to(dtype)
    x = x.contiguous(memory_format=memory_format)

    result = upsample2x_reflect_padded(x)

    assert torch.equal(result, _plain_upsample_and_pad(x))
    assert result.dtype == dtype
    assert result.is_contiguous(memory_format=memory_format)


def test_upsample_with_padding_reads_a_strided_view() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)[:, :, ::2, 1::2]

    assert torch.equal(upsample2x_reflect_padded(x), _plain_upsample_and_pad(x))


@pytest.mark.parametrize(("out_channels", "kernel"), [(3, 7), (1, 3), (4, 5)])
def test_convolution_by_kernel_rows_matches_conv2d(out_channels: int, kernel: int) -> None:
    generator = torch.Generator().manual_seed(kernel)
    x = torch.randn(2, 8, 20, 17, generator=generator).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(out_channels, 8, kernel, kernel, generator=generator)
    bias = torch.randn(out_channels, generator=generator)

    expected = F.conv2d(x.double(), weight.double(), bias.double())
    assert torch.allclose(conv2d_by_kernel_rows(x, weight, bias).double(), expected, atol=1e-4)
    assert torch.allclose(conv2d_by_kernel_rows(x, weight, None).double(), expected - bias.double()[:, None, None], atol=1e-4)


@pytest.mark.parametrize(("kernel", "stride", "pad"), [(3, 1, 1), (7, 1, 3), (4, 2, 1), (4, 1, 1)])
def test_convolve_on_padded_input_equals_forward(kernel: int, stride: int, pad: int) -> None:
    torch.manual_seed(kernel + stride)
    layer = PaddedConv2d(6, 3, kernel=kernel, stride=stride, pad=pad).eval()
    x = torch.randn(2, 6, 12, 12)

    with torch.inference_mode():
        padded = F.pad(x, layer.padding, mode="reflect")
        assert torch.equal(layer.convolve(padded), layer(x))
