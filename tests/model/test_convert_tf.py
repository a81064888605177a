"""The TF checkpoint converter: official variable names in, a module matching TF's forward out.

Each case writes a small TensorFlow checkpoint (8 base channels, 32px
generators, 128px discriminator inputs) with TensorFlow itself, converts it,
and compares the PyTorch forward with a forward written with TF ops in
`tf_reference`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

tf = pytest.importorskip("tensorflow")

from container.model.convert_tf import convert_tf_checkpoint, main  # noqa: E402
from container.model.networks import NETWORK_NAMES  # noqa: E402
from container.weights import ConversionError, install_weights, load_gan_stylizer, verify_weights  # noqa: E402
from container.weights.files import sha256_file  # noqa: E402
from container.weights.loader import load_network  # noqa: E402
from container.weights.manifest import Manifest  # noqa: E402
from tests.model import tf_reference  # noqa: E402

CHANNELS = 8
GENERATOR_SIZE = 32
DISCRIMINATOR_SIZE = 128
TOLERANCE = 1e-4
SCOPES = {
    "genA2B": "generator_B",
    "genB2A": "generator_A",
    "disGA": "discriminator_A/global",
    "disGB": "discriminator_B/global",
    "disLA": "discriminator_A/local",
    "disLB": "discriminator_B/local",
}


@dataclass
class Converted:
    mode: str
    split_cam: bool
    variables: tf_reference.Variables
    checkpoint_root: Path
    output_dir: Path
    manifest: Manifest

    @property
    def weights(self) -> Path:
        return self.output_dir / self.manifest.file


def _model_dir(root: Path, *, light: bool, smoothing: bool = True) -> Path:
    # The directory layout and name of the official release; the name records AdaLIN smoothing.
    name = f"UGATIT{'_light' if light else ''}_selfie2anime_lsgan_4resblock_6dis_1_1_10_10_1000_sn"
    return root / "checkpoint" / (name + ("_smoothing" if smoothing else ""))


def _convert(root: Path, *, mode: str, split_cam: bool) -> Converted:
    light = mode == "light"
    variables = tf_reference.make_variables(ch=CHANNELS, light=light, image_size=GENERATOR_SIZE, split_cam=split_cam)
    tf_reference.write_checkpoint(variables, _model_dir(root, light=light) / "UGATIT.model")
    manifest = convert_tf_checkpoint(
        root / "checkpoint", root / "out", image_size=GENERATOR_SIZE if light else None
    )
    return Converted(mode, split_cam, variables, root / "checkpoint", root / "out", manifest)


@pytest.fixture(scope="module", params=[("light", False), ("full", False), ("light", True)], ids=["light", "full", "light-split-cam"])
def converted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Converted:
    mode, split_cam = request.param
    return _convert(tmp_path_factory.mktemp(f"tf-{mode}"), mode=mode, split_cam=split_cam)


def _inputs(size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(2, size, size, 3)).astype(np.float32)


def _nchw(array: np.ndarray, *, channels_last: bool = False) -> torch.Tensor:
    tensor = torch.from_numpy(array).permute(0, 3, 1, 2)
    return tensor.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def _max_difference(ours: torch.Tensor, reference: object) -> float:
    return float(np.abs(ours.numpy() - np.asarray(reference)).max())


def test_manifest_describes_checkpoint(converted: Converted) -> None:
    manifest = converted.manifest
    assert manifest.format == "ugatit-tf"
    assert manifest.mode == converted.mode
    assert manifest.image_size == GENERATOR_SIZE
    assert manifest.channels == CHANNELS
    assert manifest.n_res == 4
    assert manifest.smoothing is True
    assert manifest.cam_variant == ("split" if converted.split_cam else "shared")
    assert manifest.networks == NETWORK_NAMES
    assert manifest.sha256 == sha256_file(converted.weights)
    assert manifest.size_bytes == converted.weights.stat().st_size
    assert str(converted.checkpoint_root) in manifest.source


@pytest.mark.parametrize("network", ["genA2B", "genB2A"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels-last"])
def test_generator_matches_tf_forward(converted: Converted, network: str, channels_last: bool) -> None:
    images = _inputs(GENERATOR_SIZE, seed=1)
    reference = tf_reference.Reference(converted.variables, split_cam=converted.split_cam)
    expected_image, expected_logit, expected_heatmap = reference.generator(
        tf.constant(images), SCOPES[network], light=converted.mode == "light"
    )
    module = load_network(converted.weights, converted.manifest.to_config(), network)
    with torch.inference_mode():
        output = module(_nchw(images, channels_last=channels_last))

    assert _max_difference(output.image.permute(0, 2, 3, 1), expected_image) < TOLERANCE
    assert _max_difference(output.cam_logit, expected_logit) < TOLERANCE
    # The heatmap sums 32 channels of magnitude ~1, so float32 rounding allows a little more.
    assert _max_difference(output.heatmap[:, 0], expected_heatmap) < 10 * TOLERANCE


@pytest.mark.parametrize("network", ["disGA", "disGB", "disLA", "disLB"])
def test_discriminator_matches_tf_forward(converted: Converted, network: str) -> None:
    images = _inputs(DISCRIMINATOR_SIZE, seed=2)
    reference = tf_reference.Reference(converted.variables, split_cam=converted.split_cam)
    expected_logit, expected_cam_logit, expected_heatmap = reference.discriminator(tf.constant(images), SCOPES[network])
    module = load_network(converted.weights, converted.manifest.to_config(), network)
    with torch.inference_mode():
        output = module(_nchw(images))

    assert tuple(output.logit.shape) == (2, 1, *expected_logit.shape[1:3])
    assert _max_difference(output.logit.permute(0, 2, 3, 1), expected_logit) < TOLERANCE
    assert _max_difference(output.cam_logit, expected_cam_logit) < TOLERANCE
    assert _max_difference(output.heatmap[:, 0], expected_heatmap) < 10 * TOLERANCE


def test_reference_detects_smoothing_difference(converted: Converted) -> None:
    """Guards the comparison itself: turning off AdaLIN smoothing must change the output visibly."""
    images = tf.constant(_inputs(GENERATOR_SIZE, seed=1))
    light = converted.mode == "light"
    smoothed = tf_reference.Reference(converted.variables).generator(images, "generator_B", light=light)[0]
    plain = tf_reference.Reference(converted.variables, smoothing=False).generator(images, "generator_B", light=light)[0]
    assert float(np.abs(np.asarray(smoothed) - np.asarray(plain)).max()) > 100 * TOLERANCE


def test_smoothing_read_from_model_directory_name(tmp_path: Path) -> None:
    variables = tf_reference.make_variables(ch=4, light=True, image_size=GENERATOR_SIZE, seed=3)
    tf_reference.write_checkpoint(variables, _model_dir(tmp_path, light=True, smoothing=False) / "UGATIT_light.model")
    manifest = convert_tf_checkpoint(tmp_path / "checkpoint", tmp_path / "out", image_size=GENERATOR_SIZE)
    assert manifest.smoothing is False


def test_unknown_model_variable_rejected(tmp_path: Path) -> None:
    variables = tf_reference.make_variables(ch=4, light=True, image_size=GENERATOR_SIZE, seed=4)
    variables["generator_B/extra_block/conv2d/kernel"] = np.zeros((3, 3, 16, 16), np.float32)
    tf_reference.write_checkpoint(variables, _model_dir(tmp_path, light=True) / "UGATIT_light.model")

    with pytest.raises(ConversionError, match="generator_B/extra_block/conv2d/kernel"):
        convert_tf_checkpoint(tmp_path / "checkpoint", tmp_path / "out")
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_missing_model_variable_rejected(tmp_path: Path) -> None:
    variables = tf_reference.make_variables(ch=4, light=True, image_size=GENERATOR_SIZE, seed=5)
    del variables["generator_A/adaptive_resblock2/res1/instance_layer_norm/rho"]
    tf_reference.write_checkpoint(variables, _model_dir(tmp_path, light=True) / "UGATIT_light.model", with_optimizer_state=False)

    with pytest.raises(ConversionError, match="generator_A/adaptive_resblock2/res1/instance_layer_norm/rho"):
        convert_tf_checkpoint(tmp_path / "checkpoint", tmp_path / "out")


def test_install_accepts_tf_checkpoint_directory(tmp_path: Path) -> None:
    variables = tf_reference.make_variables(ch=4, light=True, image_size=GENERATOR_SIZE, seed=6)
    tf_reference.write_checkpoint(variables, _model_dir(tmp_path, light=True) / "UGATIT_light.model")
    weights_dir = tmp_path / "weights"

    manifest = install_weights(str(tmp_path / "checkpoint"), weights_dir=weights_dir)

    assert manifest.format == "ugatit-tf"
    assert verify_weights(weights_dir).sha256 == manifest.sha256
    # Light-mode TF checkpoints do not record the image size, so install assumes the TF default of 256px.
    stylizer = load_gan_stylizer(weights_dir)
    assert stylizer.image_size == 256


def test_converter_command_writes_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    variables = tf_reference.make_variables(ch=4, light=True, image_size=GENERATOR_SIZE, seed=7)
    tf_reference.write_checkpoint(variables, _model_dir(tmp_path, light=True) / "UGATIT_light.model")

    status = main([str(tmp_path / "checkpoint"), str(tmp_path / "out"), "--image-size", str(GENERATOR_SIZE)])

    assert status == 0
    assert (tmp_path / "out" / "manifest.json").is_file()
    assert "light mode" in capsys.readouterr().out


def test_converter_command_reports_missing_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    status = main([str(tmp_path / "empty"), str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert status == 1
    assert error.startswith("error: no TensorFlow checkpoint")
    assert "Traceback" not in error
