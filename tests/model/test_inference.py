"""The worker's inference path: batching, precision, golden outputs of fixed-seed models."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from container.model.config import UGATITConfig
from container.model.inference import GanStylizer, resolve_precision
from container.model.networks import build_generator
from tests.model.factories import seeded_network, small_config

GOLDEN_FILE = Path(__file__).parent / "golden" / "generator_outputs.json"
REGENERATE_ENV = "S2A_REGENERATE_GOLDEN"
GOLDEN_TOLERANCE = 1e-4
GOLDEN_CASES = {
    "tf-light": {"layout": "tf", "mode": "light"},
    "tf-full": {"layout": "tf", "mode": "full"},
    "pytorch-light": {"layout": "pytorch", "mode": "light"},
    "pytorch-full": {"layout": "pytorch", "mode": "full"},
}


def _faces(count: int, size: int = 32, seed: int = 0) -> list[Image.Image]:
    """Smooth gradients plus noise: stable inputs that are not flat."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size)
    faces = []
    for index in range(count):
        base = np.stack([np.add.outer(ramp, ramp) / 2, np.add.outer(ramp[::-1], ramp) / 2, np.full((size, size), 40.0 * index)], -1)
        pixels = np.clip(base + rng.normal(0, 20, size=base.shape), 0, 255).astype(np.uint8)
        faces.append(Image.fromarray(pixels))
    return faces


def _stylizer(config: UGATITConfig, *, seed: int = 0, **options: object) -> GanStylizer:
    return GanStylizer(seeded_network(config, "genA2B", seed=seed), image_size=config.image_size, **options)  # type: ignore[arg-type]


def _summary(stylizer: GanStylizer, faces: list[Image.Image]) -> dict[str, list[float]]:
    """A few hundred numbers that pin the generator's output: a 4x4 thumbnail, CAM logits, heatmap sums."""
    output = stylizer.forward(stylizer.to_tensor(faces))
    thumbnail = torch.nn.functional.adaptive_avg_pool2d(output.image.float(), 4)
    return {
        "image_thumbnail": [round(value, 6) for value in thumbnail.flatten().tolist()],
        "image_std": [round(value, 6) for value in output.image.float().std(dim=(1, 2, 3)).tolist()],
        "cam_logit": [round(value, 6) for value in output.cam_logit.float().flatten().tolist()],
        "heatmap_sum": [round(value, 4) for value in output.heatmap.float().sum(dim=(1, 2, 3)).tolist()],
    }


def _golden_actual() -> dict[str, dict[str, list[float]]]:
    faces = _faces(2)
    return {
        name: _summary(_stylizer(small_config(**case), seed=21, precision="fp32"), faces)  # type: ignore[arg-type]
        for name, case in GOLDEN_CASES.items()
    }


def _format_golden(values: dict[str, dict[str, list[float]]]) -> str:
    """JSON with one line per number list, so that a regenerated file diffs readably."""
    cases = []
    for case in sorted(values):
        lines = [f'    "{key}": {json.dumps(values[case][key])}' for key in sorted(values[case])]
        cases.append(f'  "{case}": {{\n' + ",\n".join(lines) + "\n  }")
    return "{\n" + ",\n".join(cases) + "\n}\n"


def test_golden_outputs() -> None:
    actual = _golden_actual()
    if os.environ.get(REGENERATE_ENV) == "1":
        GOLDEN_FILE.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_FILE.write_text(_format_golden(actual))
        pytest.skip(f"wrote {GOLDEN_FILE}; unset {REGENERATE_ENV} and run again to compare")
    if not GOLDEN_FILE.is_file():
        pytest.fail(f"{GOLDEN_FILE} is missing; create it with {REGENERATE_ENV}=1")

    golden = json.loads(GOLDEN_FILE.read_text())
    assert sorted(golden) == sorted(actual)
    for case, values in golden.items():
        for key, expected in values.items():
            tolerance = GOLDEN_TOLERANCE * (100 if key == "heatmap_sum" else 1)
            difference = np.abs(np.asarray(actual[case][key]) - np.asarray(expected)).max()
            assert difference < tolerance, f"{case} {key} differs by {difference}; if intended, regenerate with {REGENERATE_ENV}=1"


@pytest.mark.parametrize("layout", ["tf", "pytorch"])
def test_outputs_equal_across_batch_sizes(layout: str) -> None:
    config = small_config(layout=layout, mode="full")
    faces = _faces(5)
    results = {}
    for batch_size in (1, 2, 5):
        stylizer = _stylizer(config, batch_size=batch_size, precision="fp32")
        scored = stylizer.stylize_with_scores(faces)
        results[batch_size] = (
            np.stack([np.asarray(item.portrait, dtype=np.int16) for item in scored]),
            np.asarray([item.cam_logit for item in scored]),
        )
    for batch_size in (2, 5):
        assert np.abs(results[batch_size][0] - results[1][0]).max() <= 1
        assert np.abs(results[batch_size][1] - results[1][1]).max() < 1e-5


def test_batched_forward_equals_single_forward() -> None:
    stylizer = _stylizer(small_config(), precision="fp32")
    batch = stylizer.to_tensor(_faces(4))
    together = stylizer.forward(batch).image
    alone = torch.cat([stylizer.forward(batch[index : index + 1]).image for index in range(4)])
    assert (together - alone).abs().max() < 1e-5


def test_stylize_keeps_order_and_size() -> None:
    stylizer = _stylizer(small_config(), batch_size=2, precision="fp32")
    faces = _faces(3)
    portraits = stylizer.stylize(faces)
    singles = [stylizer.stylize([face])[0] for face in faces]
    assert [portrait.size for portrait in portraits] == [(32, 32)] * 3
    for portrait, single in zip(portraits, singles):
        # Rounding to 8 bits may land one level apart when a batch changes the convolution algorithm.
        assert np.abs(np.asarray(portrait, dtype=np.int16) - np.asarray(single, dtype=np.int16)).max() <= 1


def test_scores_are_generator_cam_logits() -> None:
    stylizer = _stylizer(small_config(), precision="fp32")
    faces = _faces(2)
    scored = stylizer.stylize_with_scores(faces)
    expected = stylizer.forward(stylizer.to_tensor(faces)).cam_logit
    assert np.allclose([item.cam_logit for item in scored], expected.numpy(), atol=1e-6)


def test_input_in_unit_range_and_channels_last() -> None:
    stylizer = _stylizer(small_config())
    batch = stylizer.to_tensor([Image.new("RGB", (32, 32), (0, 255, 128))])
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert batch[0, :, 0, 0].tolist() == pytest.approx([-1.0, 1.0, 128 / 127.5 - 1], abs=1e-6)


def test_rejects_wrong_face_size() -> None:
    stylizer = _stylizer(small_config())
    with pytest.raises(ValueError, match="face 1 is 40x32 pixels; the generator expects 32x32"):
        stylizer.stylize([Image.new("RGB", (32, 32)), Image.new("RGB", (40, 32))])


def test_accepts_non_rgb_faces() -> None:
    stylizer = _stylizer(small_config())
    portraits = stylizer.stylize([Image.new("RGBA", (32, 32)), Image.new("L", (32, 32))])
    assert [portrait.mode for portrait in portraits] == ["RGB", "RGB"]


def test_bf16_close_to_fp32() -> None:
    config = small_config(channels=8)
    faces = _faces(2)
    exact = _stylizer(config, precision="fp32")
    reduced = _stylizer(config, precision="bf16")
    difference = (exact.forward(exact.to_tensor(faces)).image - reduced.forward(reduced.to_tensor(faces)).image.float()).abs()
    # Measured on random weights: mean about 0.012 and max about 0.15 in [-1, 1] (1.5 and 19 of 255 levels).
    assert reduced.precision == "bf16"
    assert difference.mean() < 0.03
    assert difference.max() < 0.3


def test_precision_choices() -> None:
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    with pytest.raises(ValueError, match="fp16 autocast is not supported on CPU"):
        resolve_precision("fp16", torch.device("cpu"))
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("int8", torch.device("cpu"))  # type: ignore[arg-type]


def test_threads_option_sets_torch_threads() -> None:
    previous = torch.get_num_threads()
    try:
        _stylizer(small_config(), threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(previous)


@pytest.mark.parametrize("option", [{"batch_size": 0}, {"threads": 0}])
def test_rejects_invalid_options(option: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be at least 1"):
        _stylizer(small_config(), **option)


def test_full_size_light_generator_forward() -> None:
    config = UGATITConfig(mode="light")
    generator = seeded_network(config, "genA2B", seed=5)
    assert sum(parameter.numel() for parameter in generator.parameters()) == pytest.approx(10.6e6, rel=0.01)

    stylizer = GanStylizer(generator, image_size=256, precision="fp32")
    output = stylizer.forward(stylizer.to_tensor(_faces(1, size=256)))

    assert tuple(output.image.shape) == (1, 3, 256, 256)
    assert tuple(output.cam_logit.shape) == (1, 2)
    assert tuple(output.heatmap.shape) == (1, 1, 64, 64)
    assert torch.isfinite(output.image).all()
    assert 0.05 < float(output.image.std()) < 0.95


@pytest.mark.parametrize(("mode", "millions"), [("light", 10.6), ("full", 279.0)])
def test_generator_parameter_counts(mode: str, millions: float) -> None:
    with torch.device("meta"):
        generator = build_generator(UGATITConfig(mode=mode))  # type: ignore[arg-type]
    assert sum(parameter.numel() for parameter in generator.parameters()) / 1e6 == pytest.approx(millions, rel=0.01)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_autocast_close_to_cpu() -> None:
    config = small_config(channels=8)
    faces = _faces(3)
    cpu = _stylizer(config, precision="fp32")
    cuda = _stylizer(config, device="cuda", batch_size=3)
    assert cuda.precision in ("bf16", "fp16")
    difference = (cpu.forward(cpu.to_tensor(faces)).image - cuda.forward(cuda.to_tensor(faces)).image.float().cpu()).abs()
    assert difference.mean() < 0.03
    assert difference.max() < 0.3
