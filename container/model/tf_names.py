"""Variable names of the TensorFlow U-GAT-IT checkpoint and how each maps to a module tensor.

taki0112/UGATIT builds the A->B generator under the scope "generator_B" and
the B->A one under "generator_A". Each discriminator scope contains a
"global" and a "local" network. Layers without spectral norm come from `tf.layers`,
which adds a "conv2d" or "dense" scope. Kernels are stored [kh, kw, in, out]
for convolutions and [in, out] for dense layers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from container.model.config import UGATITConfig
from container.model.networks import GENERATORS, GLOBAL_DISCRIMINATORS

Transform = Callable[[np.ndarray], np.ndarray]

TF_SCOPES: dict[str, str] = {
    "genA2B": "generator_B",
    "genB2A": "generator_A",
    "disGA": "discriminator_A/global",
    "disGB": "discriminator_B/global",
    "disLA": "discriminator_A/local",
    "disLB": "discriminator_B/local",
}
# Names of optimizer slots that sit beside each trained variable in a training checkpoint.
OPTIMIZER_SLOT_SUFFIXES: tuple[str, ...] = ("/Adam", "/Adam_1")


def conv_kernel(kernel: np.ndarray) -> np.ndarray:
    """Convert a TF conv kernel [kh, kw, in, out] to a PyTorch weight [out, in, kh, kw]."""
    return np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))


def dense_kernel(kernel: np.ndarray) -> np.ndarray:
    """Convert a TF dense kernel [in, out] to a PyTorch linear weight [out, in]."""
    return np.ascontiguousarray(kernel.T)


def unchanged(array: np.ndarray) -> np.ndarray:
    """Keep vectors (biases, norm parameters, `u`) as they are."""
    return array


Mapping = dict[str, tuple[str, Transform]]


def _layers_conv(mapping: Mapping, key: str, scope: str) -> None:
    """Map a `tf.layers.conv2d` convolution (kernel and bias under scope/conv2d)."""
    mapping[f"{key}.weight"] = (f"{scope}/conv2d/kernel", conv_kernel)
    mapping[f"{key}.bias"] = (f"{scope}/conv2d/bias", unchanged)


def _dense(mapping: Mapping, key: str, scope: str) -> None:
    mapping[f"{key}.weight"] = (f"{scope}/dense/kernel", dense_kernel)
    mapping[f"{key}.bias"] = (f"{scope}/dense/bias", unchanged)


def _instance_norm(mapping: Mapping, key: str, scope: str) -> None:
    mapping[f"{key}.weight"] = (f"{scope}/gamma", unchanged)
    mapping[f"{key}.bias"] = (f"{scope}/beta", unchanged)


def _spectral_conv(mapping: Mapping, key: str, scope: str) -> None:
    """Map a spectral-normalised conv, whose variables sit directly in its scope."""
    mapping[f"{key}.conv.weight"] = (f"{scope}/kernel", conv_kernel)
    mapping[f"{key}.conv.bias"] = (f"{scope}/bias", unchanged)
    mapping[f"{key}.u"] = (f"{scope}/u", unchanged)


def generator_mapping(config: UGATITConfig) -> Mapping:
    """Return {module key: (TF name relative to the generator scope, transform)}."""
    mapping: Mapping = {}
    _layers_conv(mapping, "stem.conv.conv", "conv")
    _instance_norm(mapping, "stem.norm", "ins_norm")
    for i in range(2):
        _layers_conv(mapping, f"down.{i}.conv.conv", f"conv_{i}")
        _instance_norm(mapping, f"down.{i}.norm", f"ins_norm_{i}")
    for i in range(config.n_res):
        for j in (1, 2):
            _layers_conv(mapping, f"encoder.{i}.conv{j}.conv", f"resblock_{i}/res{j}/conv_0")
            _instance_norm(mapping, f"encoder.{i}.norm{j}", f"resblock_{i}/res{j}/instance_norm")

    mapping["cam.weight"] = ("CAM_logit/kernel", dense_kernel)
    mapping["cam.bias"] = ("CAM_logit/bias", unchanged)
    if config.cam_variant == "split":
        mapping["cam.logit_weight"] = ("CAM_logit/dense/kernel", dense_kernel)
        mapping["cam.logit_bias"] = ("CAM_logit/dense/bias", unchanged)
    _layers_conv(mapping, "cam.fuse", "conv_1x1")

    _dense(mapping, "mlp.fc1", "MLP/linear_0")
    _dense(mapping, "mlp.fc2", "MLP/linear_1")
    _dense(mapping, "mlp.gamma", "MLP/gamma")
    _dense(mapping, "mlp.beta", "MLP/beta")

    # The TF code names these scopes without an underscore: adaptive_resblock0, adaptive_resblock1, ...
    for i in range(config.n_res):
        for j in (1, 2):
            _layers_conv(mapping, f"decoder.{i}.conv{j}.conv", f"adaptive_resblock{i}/res{j}/conv_0")
            mapping[f"decoder.{i}.norm{j}.rho"] = (f"adaptive_resblock{i}/res{j}/instance_layer_norm/rho", unchanged)
    for i in range(2):
        _layers_conv(mapping, f"up.{i}.conv.conv", f"up_conv_{i}")
        for name in ("rho", "gamma", "beta"):
            mapping[f"up.{i}.norm.{name}"] = (f"layer_ins_norm_{i}/{name}", unchanged)
    _layers_conv(mapping, "head.conv", "G_logit")
    return mapping


def discriminator_mapping(n_layers: int) -> Mapping:
    """Return {module key: (TF name relative to the discriminator scope, transform)}."""
    mapping: Mapping = {}
    for i in range(n_layers - 2):
        _spectral_conv(mapping, f"downsampling.{i}", f"conv_{i}")
    _spectral_conv(mapping, "conv_last", "conv_last")
    mapping["cam.weight"] = ("CAM_logit/kernel", dense_kernel)
    mapping["cam.bias"] = ("CAM_logit/bias", unchanged)
    mapping["cam.u"] = ("CAM_logit/u", unchanged)
    _layers_conv(mapping, "cam.fuse", "conv_1x1")
    _spectral_conv(mapping, "logit", "D_logit")
    return mapping


def network_mapping(config: UGATITConfig, network: str) -> Mapping:
    """Return {module key: (full TF variable name, transform)} for one of the six networks."""
    if network in GENERATORS:
        relative = generator_mapping(config)
    elif network in GLOBAL_DISCRIMINATORS:
        relative = discriminator_mapping(config.global_dis_layers)
    else:
        relative = discriminator_mapping(config.local_dis_layers)
    scope = TF_SCOPES[network]
    return {key: (f"{scope}/{name}", transform) for key, (name, transform) in relative.items()}
