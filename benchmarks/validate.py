"""Time and peak memory of face validation on a phone-sized photo, against the Lambda's limits.

Runs prepare_face (decode, EXIF, detect, rules, align, quality checks) in a fresh child
process per photo, so each peak resident set size belongs to one photo alone, and prints
them beside validate_timeout_seconds and validate_memory_mb from cdk.json.

    .venv/bin/python benchmarks/validate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The child process: validate one photo file `repeat` times, print timings and peak RSS.
CHILD = r"""
import json, sys, time
from pathlib import Path
from functions.core.faces import FaceRules, RetinaFaceDetector, prepare_face

photo, repeat = Path(sys.argv[1]).read_bytes(), int(sys.argv[2])
detector = RetinaFaceDetector()
timings = []
for _ in range(repeat):
    started = time.perf_counter()
    prepared = prepare_face(photo, detector=detector, rules=FaceRules(), max_pixels=50_000_000)
    timings.append(time.perf_counter() - started)
# VmHWM belongs to this process image alone; ru_maxrss would also count the parent's peak,
# which Linux carries across fork and exec.
status = Path("/proc/self/status").read_text()
peak_mib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024
print(json.dumps({"seconds": timings, "peak_mib": peak_mib, "size": list(prepared.source_size)}))
"""


def phone_photo(width: int, height: int) -> bytes:
    """Return a JPEG of the astronaut portrait, large and slightly noisy, in a phone camera's size."""
    import numpy as np
    from PIL import Image
    from skimage import data

    face = Image.fromarray(data.astronaut())
    side = min(width, height) * 5 // 6
    face = face.resize((side, side), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", (width, height), (120, 130, 140))
    canvas.paste(face, ((width - side) // 2, (height - side) // 3))
    noise = np.random.default_rng(0).integers(0, 8, size=(height, width, 3), dtype=np.uint8)
    pixels = np.asarray(canvas, dtype=np.uint8)
    canvas = Image.fromarray(np.minimum(pixels.astype(np.uint16) + noise, 255).astype(np.uint8))
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


PHOTOS = [("12 MP phone photo", 4032, 3024), ("48 MP phone photo", 8064, 6048)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="validations per photo (default: 3)")
    args = parser.parse_args()

    context = json.loads((ROOT / "cdk.json").read_text())["context"]["selfie2anime"]
    timeout, memory = context["validate_timeout_seconds"], context["validate_memory_mb"]
    print(f"Lambda limits from cdk.json: {timeout} s, {memory} MB")
    print(f"{'photo':<20} {'JPEG MB':>8} {'first s':>8} {'best s':>8} {'peak MiB':>9} {'of limit':>9}")
    for name, width, height in PHOTOS:
        photo = phone_photo(width, height)
        with tempfile.NamedTemporaryFile(suffix=".jpg") as file:
            file.write(photo)
            file.flush()
            result = subprocess.run(
                [sys.executable, "-c", CHILD, file.name, str(args.repeat)],
                cwd=ROOT, capture_output=True, text=True,
            )
        if result.returncode != 0:
            print(f"{name}: the child process failed:\n{result.stderr}", file=sys.stderr)
            return 1
        numbers = json.loads(result.stdout.strip().splitlines()[-1])
        first, best = numbers["seconds"][0], min(numbers["seconds"])
        print(f"{name:<20} {len(photo) / 1e6:>8.1f} {first:>8.2f} {best:>8.2f} {numbers['peak_mib']:>9.0f} {numbers['peak_mib'] / memory:>8.0%}")
    print("Peak MiB is the child process's peak resident set: Python, numpy, onnxruntime, the file and its decode.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
