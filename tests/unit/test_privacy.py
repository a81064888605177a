"""Nothing about a photo leaves the machine or lands outside the places the product writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DETECT = (
    "from functions.core.faces.builtin import RetinaFaceDetector\n"
    "from skimage import data\n"
    "from PIL import Image\n"
    "assert len(RetinaFaceDetector().detect(Image.fromarray(data.astronaut()))) == 1\n"
)


def test_detector_writes_no_telemetry(tmp_path):
    home = tmp_path / "home"
    home.mkdir()

    result = subprocess.run([sys.executable, "-c", DETECT], cwd=ROOT, env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stderr
    assert [path for path in home.rglob("*") if path.is_file()] == []
