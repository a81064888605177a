"""benchmarks/generator.py runs end to end, reports consistent numbers and rejects bad arguments (tiny sizes, not a measurement)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "generator.py"


def load_benchmark(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Load benchmarks/generator.py as a module; `monkeypatch` removes it from sys.modules afterwards."""
    spec = importlib.util.spec_from_file_location("generator_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_benchmark_reports_both_paths(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_benchmark(monkeypatch)

    arguments = ["--image-size", "32", "--batch-size", "2", "--iterations", "1", "--warmup", "0", "--ceiling-size", "512"]
    status = module.main([*arguments, "--json"])
    report = json.loads(capsys.readouterr().out)

    assert status == 0
    assert report["rows"][0]["path"] == "reference"
    assert {row["path"] for row in report["rows"][1:]} == {"ours"}
    assert report["gflop_per_image"] == pytest.approx(104.5 / 64, rel=0.05)
    assert report["ceiling_gflops"] > 0
    assert report["speedup"] > 0
    assert report["agreement_precision"] == "fp32"
    assert report["max_abs_difference"] < 1e-4
    # The CPU stylizer keeps freed memory, and the report states that for every path.
    assert report["allocator"].startswith("freed memory kept for reuse")


@pytest.fixture
def benchmark(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The benchmark script loaded as a module, so tests can call its `main` in-process."""
    return load_benchmark(monkeypatch)


def rejected(benchmark: ModuleType, capsys: pytest.CaptureFixture[str], arguments: list[str]) -> str:
    """Run the benchmark with `arguments`, check that it stops with status 2, and return its error line."""
    with pytest.raises(SystemExit) as stopped:
        benchmark.main(arguments)
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines
    assert "error: " in lines[-1]
    return lines[-1]


@pytest.mark.parametrize("device", ["bogus", "mps", "meta", "cuda:x"])
def test_rejects_unsupported_devices(benchmark: ModuleType, capsys: pytest.CaptureFixture[str], device: str) -> None:
    assert f"invalid device {device!r}, expected cpu, cuda or cuda:N" in rejected(benchmark, capsys, ["--device", device])


def test_cuda_without_gpu_fails_cleanly(
    benchmark: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "torch sees no CUDA device" in rejected(benchmark, capsys, ["--device", "cuda:0"])


@pytest.mark.parametrize("size", ["63", "0", "4", "-8"])
def test_rejects_bad_image_sizes(benchmark: ModuleType, capsys: pytest.CaptureFixture[str], size: str) -> None:
    assert "multiple of 4 from 8 to 2048" in rejected(benchmark, capsys, ["--image-size", size])


def test_rejects_fp16_on_cpu(benchmark: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert "--precision fp16 is not supported on CPU" in rejected(benchmark, capsys, ["--device", "cpu", "--precision", "fp16"])


@pytest.mark.parametrize("folder", ["empty", "missing"])
def test_uninstalled_weights_fail_cleanly(
    benchmark: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path, folder: str
) -> None:
    (tmp_path / "empty").mkdir()
    line = rejected(benchmark, capsys, ["--weights-dir", str(tmp_path / folder)])
    assert "no weights installed" in line


def test_rejects_pytorch_layout_weights(
    benchmark: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path, light_checkpoint: Path
) -> None:
    from container.weights import install_weights

    install_weights(str(light_checkpoint), weights_dir=tmp_path / "weights")
    line = rejected(benchmark, capsys, ["--weights-dir", str(tmp_path / "weights")])
    assert "covers the TF layout only" in line


@pytest.mark.parametrize("option", [["--mode", "light"], ["--image-size", "256"]])
def test_weights_dir_excludes_mode_and_size(
    benchmark: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path, option: list[str]
) -> None:
    # The folder does not exist, so only a check made before loading can produce this message.
    line = rejected(benchmark, capsys, ["--weights-dir", str(tmp_path / "missing"), *option])
    assert f"{option[0]} cannot be used with --weights-dir because" in line
    assert "the installed weights set the mode and image size" in line


def test_mode_and_size_defaults(benchmark: ModuleType, tmp_path: Path) -> None:
    parser = benchmark.build_parser()
    random_weights = benchmark.parse_args(parser, [])
    assert (random_weights.mode, random_weights.image_size) == ("light", 256)
    installed = benchmark.parse_args(parser, ["--weights-dir", str(tmp_path)])
    assert (installed.mode, installed.image_size) == (None, None)


@pytest.mark.parametrize(
    ("option", "value", "minimum"),
    [("--batch-size", "0", 1), ("--iterations", "0", 1), ("--warmup", "-1", 0), ("--threads", "0", 1), ("--ceiling-size", "0", 1)],
)
def test_rejects_counts_below_minimum(
    benchmark: ModuleType, capsys: pytest.CaptureFixture[str], option: str, value: str, minimum: int
) -> None:
    line = rejected(benchmark, capsys, [option, value])
    assert f"argument {option}: invalid value {value}, expected at least {minimum}" in line


def test_nominal_work_scales_with_pixels(benchmark: ModuleType) -> None:
    assert benchmark.nominal_gflop(256) == pytest.approx(105.0)
    assert benchmark.nominal_gflop(32) == pytest.approx(105.0 / 64)
    assert benchmark.nominal_gflop(512) == pytest.approx(420.0)


def test_table_names_ceiling_dtype(benchmark: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["--image-size", "32", "--precision", "fp32", "--iterations", "1", "--warmup", "0", "--ceiling-size", "256"]
    assert benchmark.main(arguments) == 0
    table = capsys.readouterr().out
    assert "(about 1.6 nominal)" in table
    lines = table.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("path "))
    header, rows = lines[start], lines[start + 1 : start + 3]
    # The CPU table measures every row against the float32 matmul.
    assert header.endswith(" of fp32 ceiling")
    # Each percentage ends under the header's last column.
    assert rows[0].startswith("reference ")
    assert rows[1].startswith("ours ")
    for row in rows:
        assert len(row) == len(header)
        assert row.endswith("%")
