#!/usr/bin/env bash
# Run the generator checks that need an NVIDIA GPU. The machine's python3 must already have
# torch with CUDA, numpy, pillow, safetensors, pytest and pytest-timeout; nothing is installed.
#
# Usage: benchmarks/gpu_check.sh OUTPUT_DIR
# The script writes the test log and one JSON report per benchmark run into OUTPUT_DIR and
# prints a summary line per run. DEVICE (default cuda) and BENCHMARK_ARGS (extra arguments
# for benchmarks/generator.py) allow a quick trial of the script on a CPU.
set -euo pipefail

out="${1:?usage: benchmarks/gpu_check.sh OUTPUT_DIR}"
device="${DEVICE:-cuda}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1

if [[ "$device" == cuda* ]]; then
    python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else "error: torch sees no CUDA device")'
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
fi

# The CUDA autocast test runs with the CPU inference tests it is compared with. A failure
# still lets the benchmarks run, and the script exits with status 1 at the end.
status=0
python3 -m pytest -q -p no:cacheprovider tests/model/test_inference.py tests/model/test_tf_layers.py 2>&1 \
    | tee "$out/tests.log" || status=1

for mode in light full; do
    for batch in 32 128; do
        report="$out/generator-$mode-batch$batch.json"
        # shellcheck disable=SC2086 # BENCHMARK_ARGS is a list of arguments.
        python3 benchmarks/generator.py --device "$device" --mode "$mode" --batch-size "$batch" \
            ${BENCHMARK_ARGS:-} --json > "$report"
        python3 - "$report" <<'PYTHON'
import json
import sys

report = json.load(open(sys.argv[1]))
ours = max(report["rows"][1:], key=lambda row: row["images_per_second"])
print(
    f"{report['mode']} mode, {ours['dtype']}, batch {ours['batch']}: {ours['images_per_second']:.1f} images/s, "
    f"{ours['ceiling_fraction']:.0%} of the {report['ceiling_dtype']} matmul ceiling "
    f"({report['ceiling_gflops']:.0f} GFLOP/s), {report['speedup']:.2f}x the reference"
)
PYTHON
    done
done

exit "$status"
