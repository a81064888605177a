"""The UGATIT-pytorch layout: parameter names as that project saves them, and its forward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from container.model.config import UGATITConfig
from container.model.networks import build_network
from tests.model.factories import seeded_network, small_config

TOLERANCE = 1e-5


def test_generator_keys_match_upstream_names() -> None:
    config = UGATITConfig(layout="pytorch", mode="light", channels=4, n_res=2, image_size=32)
    expected = {
        "DownBlock.1.weight", "DownBlock.5.weight", "DownBlock.9.weight",
        "DownBlock.12.conv_block.1.weight", "DownBlock.12.conv_block.5.weight",
        "DownBlock.13.conv_block.1.weight", "DownBlock.13.conv_block.5.weight",
        "gap_fc.weight", "gmp_fc.weight", "conv1x1.weight", "conv1x1.bias",
        "FC.0.weight", "FC.2.weight", "gamma.weight", "beta.weight",
        "UpBlock1_1.conv1.weight", "UpBlock1_1.norm1.rho", "UpBlock1_1.conv2.weight", "UpBlock1_1.norm2.rho",
        "UpBlock1_2.conv1.weight", "UpBlock1_2.norm1.rho", "UpBlock1_2.conv2.weight", "UpBlock1_2.norm2.rho",
        "UpBlock2.2.weight", "UpBlock2.3.rho", "UpBlock2.3.gamma", "UpBlock2.3.beta",
        "UpBlock2.7.weight", "UpBlock2.8.rho", "UpBlock2.8.gamma", "UpBlock2.8.beta",
        "UpBlock2.11.weight",
    }  # fmt: skip
    state = build_network(config, "genA2B").state_dict()
    assert set(state) == expected
    assert tuple(state["UpBlock1_1.norm1.rho"].shape) == (1, 16, 1, 1)
    assert tuple(state["FC.0.weight"].shape) == (16, 16)


def test_full_mode_mlp_reads_whole_bottleneck() -> None:
    config = UGATITConfig(layout="pytorch", mode="full", channels=4, n_res=2, image_size=32)
    state = build_network(config, "genA2B").state_dict()
    assert tuple(state["FC.0.weight"].shape) == (16, 8 * 8 * 16)


def test_local_discriminator_keys_match_upstream_names() -> None:
    config = UGATITConfig(layout="pytorch", channels=4)
    spectral = ("weight_orig", "weight_u", "weight_v")
    expected = {f"model.{index}.{name}" for index in (1, 4, 7, 10) for name in (*spectral, "bias")}
    expected |= {f"{layer}.{name}" for layer in ("gap_fc", "gmp_fc", "conv") for name in spectral}
    expected |= {"conv1x1.weight", "conv1x1.bias"}
    assert set(build_network(config, "disLA").state_dict()) == expected


def test_global_discriminator_has_seven_layers() -> None:
    config = UGATITConfig(layout="pytorch", channels=4)
    state = build_network(config, "disGA").state_dict()
    assert {name for name in state if name.endswith("weight_orig") and name.startswith("model.")} == {
        f"model.{index}.weight_orig" for index in (1, 4, 7, 10, 13, 16)
    }
    assert tuple(state["conv1x1.weight"].shape) == (4 * 32, 4 * 64, 1, 1)


# --- a plain re-statement of UGATIT-pytorch's forward, for comparison with the optimised modules ---


def _mixed_norm(x: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
    in_mean, in_var = x.mean(dim=(2, 3), keepdim=True), x.var(dim=(2, 3), keepdim=True)
    ln_mean, ln_var = x.mean(dim=(1, 2, 3), keepdim=True), x.var(dim=(1, 2, 3), keepdim=True)
    return rho * (x - in_mean) / torch.sqrt(in_var + 1e-5) + (1 - rho) * (x - ln_mean) / torch.sqrt(ln_var + 1e-5)


def _conv(x: torch.Tensor, weight: torch.Tensor, pad: int, stride: int = 1, bias: torch.Tensor | None = None) -> torch.Tensor:
    return F.conv2d(F.pad(x, (pad,) * 4, mode="reflect"), weight, bias, stride=stride)


def _naive_generator(s: dict[str, torch.Tensor], x: torch.Tensor, *, n_res: int, light: bool) -> tuple[torch.Tensor, ...]:
    x = F.relu(F.instance_norm(_conv(x, s["DownBlock.1.weight"], 3)))
    x = F.relu(F.instance_norm(_conv(x, s["DownBlock.5.weight"], 1, stride=2)))
    x = F.relu(F.instance_norm(_conv(x, s["DownBlock.9.weight"], 1, stride=2)))
    for i in range(n_res):
        y = F.relu(F.instance_norm(_conv(x, s[f"DownBlock.{12 + i}.conv_block.1.weight"], 1)))
        x = x + F.instance_norm(_conv(y, s[f"DownBlock.{12 + i}.conv_block.5.weight"], 1))
    gap_weight, gmp_weight = s["gap_fc.weight"], s["gmp_fc.weight"]
    gap_logit = F.adaptive_avg_pool2d(x, 1).flatten(1) @ gap_weight.t()
    gmp_logit = F.adaptive_max_pool2d(x, 1).flatten(1) @ gmp_weight.t()
    x = torch.cat([x * gap_weight[0, :, None, None], x * gmp_weight[0, :, None, None]], dim=1)
    x = F.relu(F.conv2d(x, s["conv1x1.weight"], s["conv1x1.bias"]))
    heatmap = x.sum(dim=1, keepdim=True)
    features = F.adaptive_avg_pool2d(x, 1).flatten(1) if light else x.flatten(1)
    features = F.relu(F.relu(features @ s["FC.0.weight"].t()) @ s["FC.2.weight"].t())
    gamma = (features @ s["gamma.weight"].t())[:, :, None, None]
    beta = (features @ s["beta.weight"].t())[:, :, None, None]
    for i in range(1, n_res + 1):
        block = f"UpBlock1_{i}"
        y = F.relu(_mixed_norm(_conv(x, s[f"{block}.conv1.weight"], 1), s[f"{block}.norm1.rho"]) * gamma + beta)
        x = x + _mixed_norm(_conv(y, s[f"{block}.conv2.weight"], 1), s[f"{block}.norm2.rho"]) * gamma + beta
    for conv, norm in ((2, 3), (7, 8)):
        x = _conv(F.interpolate(x, scale_factor=2, mode="nearest"), s[f"UpBlock2.{conv}.weight"], 1)
        x = F.relu(_mixed_norm(x, s[f"UpBlock2.{norm}.rho"]) * s[f"UpBlock2.{norm}.gamma"] + s[f"UpBlock2.{norm}.beta"])
    return torch.tanh(_conv(x, s["UpBlock2.11.weight"], 3)), torch.cat([gap_logit, gmp_logit], 1), heatmap


@pytest.mark.parametrize("mode", ["light", "full"])
def test_generator_matches_plain_forward(mode: str) -> None:
    config = small_config(layout="pytorch", mode=mode)
    module = seeded_network(config, "genA2B", seed=11)
    images = torch.rand(2, 3, 32, 32) * 2 - 1

    with torch.inference_mode():
        output = module(images)
        expected = _naive_generator(module.state_dict(), images, n_res=config.n_res, light=config.light)

    assert (output.image - expected[0]).abs().max() < TOLERANCE
    assert (output.cam_logit - expected[1]).abs().max() < TOLERANCE
    assert (output.heatmap - expected[2]).abs().max() < 10 * TOLERANCE


def test_discriminator_matches_plain_forward() -> None:
    config = small_config(layout="pytorch")
    module = seeded_network(config, "disLA", seed=12)
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    s = module.state_dict()

    def normalized(prefix: str) -> torch.Tensor:
        # Eval-mode spectral norm: sigma = u . (W v) with the stored vectors, no power iteration.
        weight = s[f"{prefix}.weight_orig"]
        sigma = torch.dot(s[f"{prefix}.weight_u"], weight.reshape(weight.shape[0], -1) @ s[f"{prefix}.weight_v"])
        return weight / sigma

    with torch.inference_mode():
        output = module(images)
        x = images
        for index, stride in ((1, 2), (4, 2), (7, 2), (10, 1)):
            x = F.leaky_relu(_conv(x, normalized(f"model.{index}"), 1, stride=stride, bias=s[f"model.{index}.bias"]), 0.2)
        gap_logit = x.mean(dim=(2, 3)) @ normalized("gap_fc").t()
        gmp_logit = x.amax(dim=(2, 3)) @ normalized("gmp_fc").t()
        x = torch.cat([x * s["gap_fc.weight_orig"][0, :, None, None], x * s["gmp_fc.weight_orig"][0, :, None, None]], 1)
        x = F.leaky_relu(F.conv2d(x, s["conv1x1.weight"], s["conv1x1.bias"]), 0.2)
        logit = _conv(x, normalized("conv"), 1)

    assert (output.logit - logit).abs().max() < TOLERANCE
    assert (output.cam_logit - torch.cat([gap_logit, gmp_logit], 1)).abs().max() < TOLERANCE
    assert (output.heatmap - x.sum(dim=1, keepdim=True)).abs().max() < 10 * TOLERANCE
