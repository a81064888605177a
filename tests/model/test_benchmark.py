"""benchmarks/generator.py runs end to end and reports consistent numbers (tiny sizes, not a measurement)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "generator.py"


def test_benchmark_reports_both_paths(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("generator_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)

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
