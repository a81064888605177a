"""A small TensorFlow U-GAT-IT for the converter test: official variable names, TF-op forward.

The variable names and shapes follow taki0112/UGATIT (`UGATIT.py`, `ops.py`)
and are written out here independently of `container.model.tf_names`. The
forward pass uses TensorFlow ops on NHWC tensors the way that code does. The
test therefore compares the PyTorch module with TF semantics, not with itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

Variables = dict[str, np.ndarray]


# --- checkpoint contents -----------------------------------------------------------------------


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.values: Variables = {}

    def add(self, name: str, shape: tuple[int, ...], *, kind: str = "weight") -> None:
        if kind == "weight":
            fan_in = int(np.prod(shape[:-1])) or 1
            value = self.rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=shape)
        elif kind == "bias":
            value = self.rng.normal(0.0, 0.1, size=shape)
        elif kind == "gamma":
            value = 1.0 + self.rng.normal(0.0, 0.1, size=shape)
        elif kind == "rho":
            # Values near 0 and 1 exercise the smoothing clip (rho - 0.1 clipped to [0, 1]).
            value = self.rng.uniform(-0.05, 1.0, size=shape).clip(0.0, 1.0)
        else:
            value = self.rng.normal(0.0, 1.0, size=shape)
        self.values[name] = value.astype(np.float32)

    def layers_conv(self, scope: str, kernel: int, cin: int, cout: int) -> None:
        self.add(f"{scope}/conv2d/kernel", (kernel, kernel, cin, cout))
        self.add(f"{scope}/conv2d/bias", (cout,), kind="bias")

    def sn_conv(self, scope: str, kernel: int, cin: int, cout: int) -> None:
        self.add(f"{scope}/kernel", (kernel, kernel, cin, cout))
        self.add(f"{scope}/bias", (cout,), kind="bias")
        self.add(f"{scope}/u", (1, cout), kind="normal")

    def dense(self, scope: str, cin: int, cout: int) -> None:
        self.add(f"{scope}/dense/kernel", (cin, cout))
        self.add(f"{scope}/dense/bias", (cout,), kind="bias")


def generator_variables(
    builder: _Builder, scope: str, *, ch: int, n_res: int, light: bool, image_size: int, split_cam: bool
) -> None:
    b = builder
    # Encoder: stem, two downsampling steps, residual blocks.
    b.layers_conv(f"{scope}/conv", 7, 3, ch)
    b.add(f"{scope}/ins_norm/gamma", (ch,), kind="gamma")
    b.add(f"{scope}/ins_norm/beta", (ch,), kind="bias")
    channel = ch
    for i in range(2):
        b.layers_conv(f"{scope}/conv_{i}", 3, channel, channel * 2)
        b.add(f"{scope}/ins_norm_{i}/gamma", (channel * 2,), kind="gamma")
        b.add(f"{scope}/ins_norm_{i}/beta", (channel * 2,), kind="bias")
        channel *= 2

    for i in range(n_res):
        for res in ("res1", "res2"):
            b.layers_conv(f"{scope}/resblock_{i}/{res}/conv_0", 3, channel, channel)
            b.add(f"{scope}/resblock_{i}/{res}/instance_norm/gamma", (channel,), kind="gamma")
            b.add(f"{scope}/resblock_{i}/{res}/instance_norm/beta", (channel,), kind="bias")

    # CAM and the gamma/beta MLP.
    if split_cam:
        b.dense(f"{scope}/CAM_logit", channel, 1)
    b.add(f"{scope}/CAM_logit/kernel", (channel, 1))
    b.add(f"{scope}/CAM_logit/bias", (1,), kind="bias")
    b.layers_conv(f"{scope}/conv_1x1", 1, channel * 2, channel)
    mlp_in = channel if light else (image_size // 4) ** 2 * channel
    b.dense(f"{scope}/MLP/linear_0", mlp_in, channel)
    b.dense(f"{scope}/MLP/linear_1", channel, channel)
    b.dense(f"{scope}/MLP/gamma", channel, channel)
    b.dense(f"{scope}/MLP/beta", channel, channel)

    # Decoder: AdaLIN residual blocks, two upsampling steps, output conv.
    for i in range(n_res):
        for res in ("res1", "res2"):
            b.layers_conv(f"{scope}/adaptive_resblock{i}/{res}/conv_0", 3, channel, channel)
            b.add(f"{scope}/adaptive_resblock{i}/{res}/instance_layer_norm/rho", (channel,), kind="rho")

    for i in range(2):
        b.layers_conv(f"{scope}/up_conv_{i}", 3, channel, channel // 2)
        b.add(f"{scope}/layer_ins_norm_{i}/rho", (channel // 2,), kind="rho")
        b.add(f"{scope}/layer_ins_norm_{i}/gamma", (channel // 2,), kind="gamma")
        b.add(f"{scope}/layer_ins_norm_{i}/beta", (channel // 2,), kind="bias")
        channel //= 2
    b.layers_conv(f"{scope}/G_logit", 7, channel, 3)


def discriminator_variables(builder: _Builder, scope: str, *, ch: int, n_dis: int, local: bool) -> None:
    b = builder
    b.sn_conv(f"{scope}/conv_0", 4, 3, ch)
    channel = ch
    last = n_dis - 3 if local else n_dis - 1
    for i in range(1, last):
        b.sn_conv(f"{scope}/conv_{i}", 4, channel, channel * 2)
        channel *= 2
    b.sn_conv(f"{scope}/conv_last", 4, channel, channel * 2)
    channel *= 2
    b.add(f"{scope}/CAM_logit/kernel", (channel, 1))
    b.add(f"{scope}/CAM_logit/bias", (1,), kind="bias")
    b.add(f"{scope}/CAM_logit/u", (1, 1), kind="normal")
    b.layers_conv(f"{scope}/conv_1x1", 1, channel * 2, channel)
    b.sn_conv(f"{scope}/D_logit", 4, channel, 1)


def make_variables(
    *, ch: int, light: bool, image_size: int, n_res: int = 4, n_dis: int = 6, split_cam: bool = False, seed: int = 0
) -> Variables:
    """Random values for every trained variable of a U-GAT-IT checkpoint."""
    builder = _Builder(seed)
    for scope in ("generator_A", "generator_B"):
        generator_variables(
            builder, scope, ch=ch, n_res=n_res, light=light, image_size=image_size, split_cam=split_cam
        )
    for domain in ("A", "B"):
        discriminator_variables(builder, f"discriminator_{domain}/local", ch=ch, n_dis=n_dis, local=True)
        discriminator_variables(builder, f"discriminator_{domain}/global", ch=ch, n_dis=n_dis, local=False)
    return builder.values


def write_checkpoint(variables: Variables, prefix: Path, *, with_optimizer_state: bool = True) -> None:
    """Save `variables` as a TF1 name-based checkpoint, with Adam slots and counters like a training run."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        for name, value in variables.items():
            tf.Variable(value, name=name)
            if with_optimizer_state:
                tf.Variable(np.zeros_like(value), name=f"{name}/Adam")
                tf.Variable(np.zeros_like(value), name=f"{name}/Adam_1")
        if with_optimizer_state:
            tf.Variable(0.9, name="beta1_power")
            tf.Variable(0.999, name="beta2_power")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(prefix), global_step=1000)


# --- forward pass with TF ops, NHWC ------------------------------------------------------------


class Reference:
    """The TF original's forward pass over a variable dict."""

    def __init__(self, variables: Variables, *, smoothing: bool = True, split_cam: bool = False) -> None:
        self.v = {name: tf.constant(value) for name, value in variables.items()}
        self.smoothing = smoothing
        self.split_cam = split_cam

    @staticmethod
    def _pad(x: tf.Tensor, kernel: int, stride: int, pad: int) -> tf.Tensor:
        if pad == 0:
            return x
        if (kernel - stride) % 2 == 0:
            top = bottom = pad
        else:
            top, bottom = pad, kernel - stride - pad
        return tf.pad(x, [[0, 0], [top, bottom], [top, bottom], [0, 0]], mode="REFLECT")

    def _spectral_norm(self, kernel: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
        shape = kernel.shape
        w = tf.reshape(kernel, [-1, shape[-1]])
        v_hat = tf.nn.l2_normalize(tf.matmul(u, tf.transpose(w)))
        u_hat = tf.nn.l2_normalize(tf.matmul(v_hat, w))
        sigma = tf.matmul(tf.matmul(v_hat, w), tf.transpose(u_hat))
        return tf.reshape(w / sigma, shape)

    def conv(self, x: tf.Tensor, scope: str, *, kernel: int, stride: int = 1, pad: int = 0, sn: bool = False):
        x = self._pad(x, kernel, stride, pad)
        if sn:
            w = self._spectral_norm(self.v[f"{scope}/kernel"], self.v[f"{scope}/u"])
            bias = self.v[f"{scope}/bias"]
        else:
            w = self.v[f"{scope}/conv2d/kernel"]
            bias = self.v[f"{scope}/conv2d/bias"]
        return tf.nn.bias_add(tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding="VALID"), bias)

    def dense(self, x: tf.Tensor, scope: str) -> tf.Tensor:
        return tf.matmul(x, self.v[f"{scope}/dense/kernel"]) + self.v[f"{scope}/dense/bias"]

    def instance_norm(self, x: tf.Tensor, scope: str) -> tf.Tensor:
        mean, variance = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        return (x - mean) / tf.sqrt(variance + 1e-5) * self.v[f"{scope}/gamma"] + self.v[f"{scope}/beta"]

    @staticmethod
    def _mix(x: tf.Tensor, rho: tf.Tensor) -> tf.Tensor:
        ins_mean, ins_var = tf.nn.moments(x, axes=[1, 2], keepdims=True)
        ln_mean, ln_var = tf.nn.moments(x, axes=[1, 2, 3], keepdims=True)
        x_ins = (x - ins_mean) / tf.sqrt(ins_var + 1e-5)
        x_ln = (x - ln_mean) / tf.sqrt(ln_var + 1e-5)
        return rho * x_ins + (1 - rho) * x_ln

    def adalin(self, x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, scope: str) -> tf.Tensor:
        rho = self.v[f"{scope}/rho"]
        if self.smoothing:
            rho = tf.clip_by_value(rho - 0.1, 0.0, 1.0)
        return self._mix(x, rho) * gamma + beta

    def layer_instance_norm(self, x: tf.Tensor, scope: str) -> tf.Tensor:
        return self._mix(x, self.v[f"{scope}/rho"]) * self.v[f"{scope}/gamma"] + self.v[f"{scope}/beta"]

    def cam(self, x: tf.Tensor, scope: str, *, sn: bool, slope: float) -> tuple[tf.Tensor, tf.Tensor]:
        kernel = self.v[f"{scope}/CAM_logit/kernel"]
        bias = self.v[f"{scope}/CAM_logit/bias"]
        logit_kernel, logit_bias = kernel, bias
        if sn:
            logit_kernel = self._spectral_norm(kernel, self.v[f"{scope}/CAM_logit/u"])
        elif self.split_cam:
            logit_kernel = self.v[f"{scope}/CAM_logit/dense/kernel"]
            logit_bias = self.v[f"{scope}/CAM_logit/dense/bias"]
        # The split (pre-August 2019) code scaled the map by the kernel before spectral norm.
        map_kernel = kernel if (self.split_cam or not sn) else logit_kernel
        weights = tf.nn.bias_add(map_kernel, bias)[:, 0]

        gap = tf.reduce_mean(x, axis=[1, 2])
        gmp = tf.reduce_max(x, axis=[1, 2])
        logits = tf.concat([tf.matmul(gap, logit_kernel) + logit_bias, tf.matmul(gmp, logit_kernel) + logit_bias], -1)
        x = tf.concat([x * weights, x * weights], axis=-1)
        x = tf.nn.leaky_relu(self.conv(x, f"{scope}/conv_1x1", kernel=1), slope)
        return logits, x

    def generator(self, x: tf.Tensor, scope: str, *, light: bool) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        x = tf.nn.relu(self.instance_norm(self.conv(x, f"{scope}/conv", kernel=7, pad=3), f"{scope}/ins_norm"))
        for i in range(2):
            x = self.conv(x, f"{scope}/conv_{i}", kernel=3, stride=2, pad=1)
            x = tf.nn.relu(self.instance_norm(x, f"{scope}/ins_norm_{i}"))
        n_res = sum(1 for name in self.v if name.startswith(f"{scope}/resblock_") and name.endswith("res1/conv_0/conv2d/kernel"))
        for i in range(n_res):
            block = f"{scope}/resblock_{i}"
            y = tf.nn.relu(self.instance_norm(self.conv(x, f"{block}/res1/conv_0", kernel=3, pad=1), f"{block}/res1/instance_norm"))
            y = self.instance_norm(self.conv(y, f"{block}/res2/conv_0", kernel=3, pad=1), f"{block}/res2/instance_norm")
            x = x + y

        logits, x = self.cam(x, scope, sn=False, slope=0.0)
        heatmap = tf.reduce_sum(x, axis=-1)

        features = tf.reduce_mean(x, axis=[1, 2]) if light else tf.reshape(x, [x.shape[0], -1])
        for i in range(2):
            features = tf.nn.relu(self.dense(features, f"{scope}/MLP/linear_{i}"))
        gamma = self.dense(features, f"{scope}/MLP/gamma")[:, None, None, :]
        beta = self.dense(features, f"{scope}/MLP/beta")[:, None, None, :]

        for i in range(n_res):
            block = f"{scope}/adaptive_resblock{i}"
            y = self.conv(x, f"{block}/res1/conv_0", kernel=3, pad=1)
            y = tf.nn.relu(self.adalin(y, gamma, beta, f"{block}/res1/instance_layer_norm"))
            y = self.adalin(self.conv(y, f"{block}/res2/conv_0", kernel=3, pad=1), gamma, beta, f"{block}/res2/instance_layer_norm")
            x = x + y
        for i in range(2):
            height, width = x.shape[1], x.shape[2]
            x = tf.compat.v1.image.resize_nearest_neighbor(x, [height * 2, width * 2])
            x = self.conv(x, f"{scope}/up_conv_{i}", kernel=3, pad=1)
            x = tf.nn.relu(self.layer_instance_norm(x, f"{scope}/layer_ins_norm_{i}"))
        image = tf.tanh(self.conv(x, f"{scope}/G_logit", kernel=7, pad=3))
        return image, logits, heatmap

    def discriminator(self, x: tf.Tensor, scope: str) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        index = 0
        while f"{scope}/conv_{index}/kernel" in self.v:
            x = tf.nn.leaky_relu(self.conv(x, f"{scope}/conv_{index}", kernel=4, stride=2, pad=1, sn=True), 0.2)
            index += 1
        x = tf.nn.leaky_relu(self.conv(x, f"{scope}/conv_last", kernel=4, stride=1, pad=1, sn=True), 0.2)
        logits, x = self.cam(x, scope, sn=True, slope=0.2)
        heatmap = tf.reduce_sum(x, axis=-1)
        return self.conv(x, f"{scope}/D_logit", kernel=4, stride=1, pad=1, sn=True), logits, heatmap
