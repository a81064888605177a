"""Measure U-GAT-IT generator throughput: the upstream style against this project's inference path.

Both paths run the same generator in one process, next to a measurement of
the machine's ceiling, so the numbers are comparable:

- reference: a plain PyTorch port of the same generator, written the way
  upstream ports write it (`F.instance_norm`, `torch.var_mean` in AdaLIN and
  LIN, concatenated CAM branches). It runs eager in float32 at batch 1 in NCHW
  under `torch.no_grad`, as the upstream test loops run it;
- ours: `GanStylizer.forward` with batching, channels_last and the chosen
  precision (autocast on CUDA, bf16 weights on CPU);
- ceiling: a large matrix multiply through torch (float32 on CPU, bf16 on CUDA).

Achieved GFLOP/s counts the generator's FLOPs with `torch.utils.flop_counter`
(about 104.5 GFLOP per 256x256 image in light mode).

Usage:
    python benchmarks/generator.py                      # CPU, light mode, random weights
    python benchmarks/generator.py --device cuda        # GPU: bf16 autocast, batch 32
    python benchmarks/generator.py --weights-dir DIR    # installed TF-layout weights instead of random ones
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from container.model.config import UGATITConfig  # noqa: E402
from container.model.cpu_allocator import allocator_tuned  # noqa: E402
from container.model.inference import GanStylizer  # noqa: E402
from container.model.networks import build_generator  # noqa: E402

# Nominal work of one 256x256 image. It grows with the pixel count.
NOMINAL_GFLOP_PER_IMAGE = 105.0
NOMINAL_IMAGE_SIZE = 256
DEFAULT_MODE = "light"
DEFAULT_IMAGE_SIZE = 256
DEVICE_PATTERN = re.compile(r"cpu|cuda(:[0-9]+)?")


class UnusableWeightsError(Exception):
    """Installed weights that the benchmark cannot measure: missing, invalid, or in a layout the reference forward lacks."""


@dataclass
class Row:
    """One measured path."""

    path: str
    batch: int
    dtype: str
    layout: str
    seconds_per_image: float
    images_per_second: float
    gflops: float
    ceiling_fraction: float


def plain_forward(state: dict[str, torch.Tensor], x: torch.Tensor, config: UGATITConfig) -> torch.Tensor:
    """Run the TF-layout generator in `state` the straightforward way; returns the image."""

    def conv(x: torch.Tensor, key: str, pad: int, stride: int = 1) -> torch.Tensor:
        x = F.pad(x, (pad,) * 4, mode="reflect") if pad else x
        return F.conv2d(x, state[f"{key}.weight"], state[f"{key}.bias"], stride=stride)

    def instance_norm(x: torch.Tensor, key: str) -> torch.Tensor:
        return F.instance_norm(x, weight=state[f"{key}.weight"], bias=state[f"{key}.bias"], eps=1e-5)

    def mix(x: torch.Tensor, rho: torch.Tensor) -> torch.Tensor:
        in_var, in_mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        ln_var, ln_mean = torch.var_mean(x, dim=(1, 2, 3), keepdim=True, correction=0)
        rho = rho.reshape(1, -1, 1, 1)
        return rho * (x - in_mean) / torch.sqrt(in_var + 1e-5) + (1 - rho) * (x - ln_mean) / torch.sqrt(ln_var + 1e-5)

    x = F.relu(instance_norm(conv(x, "stem.conv.conv", 3), "stem.norm"))
    for i in range(2):
        x = F.relu(instance_norm(conv(x, f"down.{i}.conv.conv", 1, stride=2), f"down.{i}.norm"))
    for i in range(config.n_res):
        y = F.relu(instance_norm(conv(x, f"encoder.{i}.conv1.conv", 1), f"encoder.{i}.norm1"))
        x = x + instance_norm(conv(y, f"encoder.{i}.conv2.conv", 1), f"encoder.{i}.norm2")

    scale = (state["cam.weight"] + state["cam.bias"])[0].reshape(1, -1, 1, 1)
    x = F.relu(F.conv2d(torch.cat([x * scale, x * scale], 1), state["cam.fuse.weight"], state["cam.fuse.bias"]))
    features = x.mean(dim=(2, 3)) if config.light else x.permute(0, 2, 3, 1).flatten(1)
    features = F.relu(F.linear(features, state["mlp.fc1.weight"], state["mlp.fc1.bias"]))
    features = F.relu(F.linear(features, state["mlp.fc2.weight"], state["mlp.fc2.bias"]))
    gamma = F.linear(features, state["mlp.gamma.weight"], state["mlp.gamma.bias"])[:, :, None, None]
    beta = F.linear(features, state["mlp.beta.weight"], state["mlp.beta.bias"])[:, :, None, None]

    for i in range(config.n_res):
        rho1 = torch.clamp(state[f"decoder.{i}.norm1.rho"] - 0.1, 0, 1)
        rho2 = torch.clamp(state[f"decoder.{i}.norm2.rho"] - 0.1, 0, 1)
        y = F.relu(mix(conv(x, f"decoder.{i}.conv1.conv", 1), rho1) * gamma + beta)
        x = x + mix(conv(y, f"decoder.{i}.conv2.conv", 1), rho2) * gamma + beta
    for i in range(2):
        x = conv(F.interpolate(x, scale_factor=2, mode="nearest"), f"up.{i}.conv.conv", 1)
        x = mix(x, state[f"up.{i}.norm.rho"]) * state[f"up.{i}.norm.gamma"].reshape(1, -1, 1, 1)
        x = F.relu(x + state[f"up.{i}.norm.beta"].reshape(1, -1, 1, 1))
    return torch.tanh(conv(x, "head.conv", 3))


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_minimum(
    runs: dict[str, Callable[[], object]], device: torch.device, *, warmup: int, rounds: int
) -> dict[str, float]:
    """Return the shortest wall time in seconds of each run, timed in alternation for `rounds` rounds.

    Alternating the runs exposes them to the same background load. The
    minimum estimates what the hardware does when other processes share the
    machine, and on a quiet machine it is close to the median.
    """
    for run in runs.values():
        for _ in range(warmup):
            run()
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            _synchronize(device)
            start = time.perf_counter()
            run()
            _synchronize(device)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def matmul_run(device: torch.device, dtype: torch.dtype, size: int) -> Callable[[], object]:
    """Return a call that multiplies two random size x size matrices of `dtype`."""
    left = torch.randn(size, size, device=device).to(dtype)
    right = torch.randn(size, size, device=device).to(dtype)
    return lambda: torch.mm(left, right)


def count_gflop(generator: nn.Module, image_size: int) -> float:
    """Return the FLOPs of one forward pass on one image, in GFLOP."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        generator(torch.zeros(1, 3, image_size, image_size))
    return counter.get_total_flops() / 1e9


def load_generator(args: argparse.Namespace) -> tuple[nn.Module, UGATITConfig, str]:
    """Return the generator to measure, its config and a label for where its weights came from.

    Raises:
        UnusableWeightsError: the installed weights are missing, invalid or unreadable
            (the message is the project's weights error), or they are in the
            UGATIT-pytorch layout, which the plain reference forward does not cover.
    """
    if args.weights_dir:
        # The import is here so that runs on random weights do not load the weights package.
        from container.weights import WeightsError, load_gan_stylizer

        try:
            stylizer = load_gan_stylizer(args.weights_dir, precision="fp32", keep_cpu_memory=not args.default_allocator)
        except WeightsError as error:
            raise UnusableWeightsError(str(error)) from error
        config = stylizer.generator.config
        if config.layout != "tf":
            raise UnusableWeightsError(
                f"the weights in {args.weights_dir} are in the {config.layout} layout, but the benchmark's reference "
                "forward covers the TF layout only; install converted TensorFlow weights or omit --weights-dir"
            )
        return stylizer.generator.to(memory_format=torch.contiguous_format), config, f"installed ({args.weights_dir})"
    config = UGATITConfig(mode=args.mode, image_size=args.image_size)
    torch.manual_seed(0)
    return build_generator(config).eval(), config, "untrained, torch.manual_seed(0)"


def best_precision(device: torch.device) -> str:
    """Return bf16 where the hardware has native bf16 matrix support, else fp32 on CPU and fp16 on CUDA."""
    if device.type == "cuda":
        return "bf16" if torch.cuda.get_device_capability(device)[0] >= 8 else "fp16"
    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


def machine_description(device: torch.device, load_average: float | None) -> str:
    """Return a one-line description of the CPU or GPU, the torch build and the load before the run."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads"
    if load_average is not None:
        text += f", 1-minute load average {load_average:.2f} at start"
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def nominal_gflop(image_size: int) -> float:
    """Return the nominal GFLOP of one image, scaled from 256x256 by the pixel count."""
    return NOMINAL_GFLOP_PER_IMAGE * (image_size / NOMINAL_IMAGE_SIZE) ** 2


def parse_device(text: str) -> str:
    """Return `text` if it names the CPU or a CUDA device (cpu, cuda or cuda:N).

    Raises:
        argparse.ArgumentTypeError: it names anything else.
    """
    if DEVICE_PATTERN.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(f"invalid device {text!r}, expected cpu, cuda or cuda:N")
    return text


def parse_image_size(text: str) -> int:
    """Return `text` as an image side that UGATITConfig accepts.

    Raises:
        argparse.ArgumentTypeError: it is not an integer, or UGATITConfig rejects it.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    try:
        UGATITConfig(image_size=value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def at_least(minimum: int) -> Callable[[str], int]:
    """Return an argparse type that reads an integer and rejects values below `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"invalid value {value}, expected at least {minimum}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser; `parse_args` adds the checks that span several options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", type=parse_device, default="cpu", help="torch device: cpu (default), cuda or cuda:N")
    parser.add_argument("--mode", choices=("light", "full"),
                        help="generator mode of the random weights (default light); not with --weights-dir")  # fmt: skip
    parser.add_argument("--image-size", type=parse_image_size,
                        help="square input size in pixels, a multiple of 4 from 8 to 2048 (default 256); "
                             "not with --weights-dir")  # fmt: skip
    parser.add_argument("--batch-size", type=at_least(1), help="images per forward pass on our path (default 4 on CPU, 32 on CUDA)")
    parser.add_argument("--precision", choices=("best", "fp32", "bf16", "fp16"), default="best",
                        help="precision of our path; best is bf16 where the hardware supports it natively; "
                             "fp16 needs CUDA")  # fmt: skip
    parser.add_argument("--iterations", type=at_least(1), help="timed rounds; each path's fastest call is reported (default 5 on CPU, 20 on CUDA)")
    parser.add_argument("--warmup", type=at_least(0), default=1, help="untimed calls before timing each path (default 1)")
    parser.add_argument("--threads", type=at_least(1), help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--weights-dir", type=Path,
                        help="measure the weights installed in this directory instead of random ones; only the TF "
                             "layout (converted TensorFlow weights) is supported, and the installed manifest sets "
                             "the mode and image size")  # fmt: skip
    parser.add_argument("--ceiling-size", type=at_least(1), help="matrix side for the ceiling (default 4096 on CPU, 8192 on CUDA)")
    parser.add_argument("--default-allocator", action="store_true",
                        help="leave glibc's malloc thresholds at their defaults (the stylizer raises them on CPU)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse `argv`, check the options against each other and the machine, and fill in the defaults.

    A bad combination ends the process through `parser.error` (exit status 2).
    """
    args = parser.parse_args(argv)
    if args.weights_dir is not None:
        conflicting = [name for name, value in (("--mode", args.mode), ("--image-size", args.image_size)) if value is not None]
        if conflicting:
            parser.error(
                f"{' and '.join(conflicting)} cannot be used with --weights-dir because "
                "the installed weights set the mode and image size"
            )
    else:
        if args.mode is None:
            args.mode = DEFAULT_MODE
        if args.image_size is None:
            args.image_size = DEFAULT_IMAGE_SIZE
    device = torch.device(args.device)
    # NOTE: the CUDA checks below have run only with CUDA unavailable, never on a machine with a GPU.
    if device.type == "cuda":
        if not torch.cuda.is_available():
            parser.error(f"--device {args.device} was given but torch sees no CUDA device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            parser.error(f"--device {args.device} was given but torch sees {torch.cuda.device_count()} CUDA device(s)")
    elif args.precision == "fp16":
        parser.error("--precision fp16 is not supported on CPU, so use fp32, bf16 or best there, or run with --device cuda")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    device = torch.device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    on_cuda = device.type == "cuda"
    batch_size = args.batch_size
    if batch_size is None:
        batch_size = 32 if on_cuda else 4
    iterations = args.iterations
    if iterations is None:
        iterations = 20 if on_cuda else 5
    precision = best_precision(device) if args.precision == "best" else args.precision

    try:
        generator, config, origin = load_generator(args)
    except UnusableWeightsError as error:
        # Weights messages may span several lines, so they are joined into one.
        parser.error(" ".join(str(error).split()))
    gflop = count_gflop(generator, config.image_size)
    runs: dict[str, Callable[[], object]] = {}

    # --- ceilings: one large matrix multiply per round ---
    ceiling_dtype = torch.bfloat16 if on_cuda else torch.float32
    ceiling_size = args.ceiling_size
    if ceiling_size is None:
        ceiling_size = 8192 if on_cuda else 4096
    ceiling_dtypes = {"bf16" if on_cuda else "fp32": ceiling_dtype}
    if not on_cuda and precision == "bf16":
        ceiling_dtypes["bf16"] = torch.bfloat16
    for name, dtype in ceiling_dtypes.items():
        runs[f"matmul {name}"] = matmul_run(device, dtype, ceiling_size)

    # --- reference: plain port, eager fp32, batch 1, NCHW, with its own contiguous weights ---
    state = {name: tensor.detach().clone().to(device) for name, tensor in generator.state_dict().items()}
    single = (torch.rand(1, 3, config.image_size, config.image_size) * 2 - 1).to(device)

    def run_reference() -> torch.Tensor:
        with torch.no_grad():
            return plain_forward(state, single, config)

    runs["reference"] = run_reference

    # --- ours: one stylizer per precision; bf16 on CPU converts its own copy of the weights ---
    precisions = [precision] if on_cuda or precision == "fp32" else ["fp32", precision]
    # The batch waits on the device in channels_last, as the reference's input does, so no
    # host-to-device copy or layout change is timed.
    batch = (torch.rand(batch_size, 3, config.image_size, config.image_size) * 2 - 1).to(device)
    batch = batch.contiguous(memory_format=torch.channels_last)
    stylizers = {
        name: GanStylizer(
            generator if name == "fp32" else copy.deepcopy(generator),
            image_size=config.image_size, device=args.device, batch_size=batch_size, precision=name,  # type: ignore[arg-type]
            keep_cpu_memory=not args.default_allocator,
        )
        for name in precisions
    }  # fmt: skip
    for name, stylizer in stylizers.items():
        runs[f"ours {name}"] = functools.partial(stylizer.forward, batch)

    # Agreement is checked at the first precision, which is fp32 unless --precision selects another.
    agreement = float((stylizers[precisions[0]].forward(single).image.float() - run_reference()).abs().max())
    seconds = interleaved_minimum(runs, device, warmup=args.warmup, rounds=iterations)

    ceilings = {name: 2 * ceiling_size**3 / seconds[f"matmul {name}"] / 1e9 for name in ceiling_dtypes}
    main_ceiling = "bf16" if on_cuda else "fp32"
    ceiling = ceilings[main_ceiling]
    extra_ceilings = {name: value for name, value in ceilings.items() if name != main_ceiling}

    allocator = (
        "freed memory kept for reuse (glibc thresholds raised), for every path"
        if allocator_tuned()
        else "the C library's defaults"
    )
    rows: list[Row] = []

    def record(path: str, batch: int, dtype: str, layout: str, seconds: float) -> None:
        per_image = seconds / batch
        achieved = gflop / per_image
        rows.append(Row(path, batch, dtype, layout, per_image, 1 / per_image, achieved, achieved / ceiling))

    record("reference", 1, "fp32", "NCHW", seconds["reference"])
    for name in precisions:
        record("ours", batch_size, name, "channels_last", seconds[f"ours {name}"])

    best = max(rows[1:], key=lambda row: row.images_per_second)
    ratio = best.images_per_second / rows[0].images_per_second
    if args.json:
        print(json.dumps({
            "machine": machine_description(device, load_average), "device": str(device), "mode": config.mode,
            "image_size": config.image_size, "weights": origin, "gflop_per_image": gflop,
            "ceiling_gflops": ceiling, "ceiling_dtype": str(ceiling_dtype).removeprefix("torch."),
            "extra_ceilings_gflops": extra_ceilings, "rows": [asdict(row) for row in rows], "speedup": ratio,
            "max_abs_difference": agreement, "agreement_precision": precisions[0], "allocator": allocator,
        }, indent=2))  # fmt: skip
        return 0

    print(f"machine: {machine_description(device, load_average)}")
    print(f"generator: {config.mode} mode, {config.image_size}px, weights {origin}")
    if device.type == "cpu":
        print(f"allocator: {allocator}")
    nominal = nominal_gflop(config.image_size)
    decimals = 0 if nominal >= 10 else 1
    print(f"work: {gflop:.1f} GFLOP per image counted (about {nominal:.{decimals}f} nominal)")
    ceiling_name = str(ceiling_dtype).removeprefix("torch.")
    print(f"ceiling: {ceiling:.0f} GFLOP/s ({ceiling_name} matmul on {device.type})")
    for name, value in extra_ceilings.items():
        print(f"         {value:.0f} GFLOP/s ({name} matmul on {device.type}, for the bf16 row)")
    print()
    # Every row's fraction is of the main ceiling, so the header names its dtype.
    fraction_header = f"of {main_ceiling} ceiling"
    width = len(fraction_header)
    print(f"{'path':<10} {'batch':>5} {'dtype':<5} {'layout':<13} {'s/image':>8} {'images/s':>9} {'GFLOP/s':>8} {fraction_header}")
    for row in rows:
        print(
            f"{row.path:<10} {row.batch:>5} {row.dtype:<5} {row.layout:<13} {row.seconds_per_image:>8.3f} "
            f"{row.images_per_second:>9.2f} {row.gflops:>8.0f} {row.ceiling_fraction:>{width}.0%}"
        )
    print()
    print(f"speedup of ours ({best.dtype}, batch {best.batch}) over the reference: {ratio:.2f}x")
    print(
        f"ours in {precisions[0]} and the reference agree within {agreement:.1e} "
        "(max absolute difference, output in [-1, 1])"
    )
    for name, value in extra_ceilings.items():
        bf16_row = next(row for row in rows if row.dtype == name)
        print(f"ours {name} reaches {bf16_row.gflops / value:.0%} of the {name} matmul ceiling")
    return 0


if __name__ == "__main__":
    sys.exit(main())
